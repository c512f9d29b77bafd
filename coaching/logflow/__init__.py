"""The /logmeeting conversation as a pure state machine.

``start`` and ``answer`` take the saved state (a JSON-able dict), the rep's answer and their
local date, and return the next state with the reply to show. Nothing here touches storage:
client names are looked up in a :class:`~coaching.clientbook.ClientBook`, a value the service
layer reads before the turn.
When the rep confirms, :attr:`Turn.finished` holds the :class:`LogRequest` to record.

Only what is still open is asked. Step by step: the client, the note (a reader picks promises,
a problem, a track record and the trust signals out of it), how they met and the purpose if the
note did not say, then the summary. With text after the command (the quick form, a sentence,
a message logged as a touch): only what the text left open, then the summary. The summary is
also "anything else?" (save, + promise, + problem, a track-record toggle, edit, cancel). What the
client asked of the rep is asked only when the note hints at it or the client's trust is due
for assessment, and only while the log stays within its budget of prompts.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from coaching import vocabulary as vocab
from coaching.clientbook import ClientBook
from coaching.logflow import prompts, steps
from coaching.logflow.asking import ask, retry
from coaching.logflow.quick import MAX_NAME, apply, hint, is_sentence, proposed, scan, warned
from coaching.logflow.state import QUICK_BUDGET, Ctx, LogRequest, State, Turn, new, settle
from coaching.logflow.steps import name_problem
from coaching.messages import Msg, msg
from coaching.model import Kind, Source
from coaching.reading import NoteReader, Proposal, RuleReader
from coaching.replies import Reply
from coaching.rules import Conversations

__all__ = ["ClientBook", "LogRequest", "MAX_NAME", "Turn", "answer", "from_message", "name_problem", "start",
           "storable", "tap"]
_UNSTORABLE = re.compile(r"\x00|[\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` without what no database column can hold: NUL bytes (PostgreSQL refuses them)
    and halves of surrogate pairs (not UTF-8), which only a broken client sends."""
    return _UNSTORABLE.sub(lambda m: "" if m[0] == "\x00" else "\ufffd", text)


def start(today: date, book: ClientBook, rules: Conversations, quick: str = "",
          proposal: Proposal | None = None) -> Turn:
    """Begin logging; ``quick`` is text typed after the command: the quick form ("Acme call
    give: sent the report") or a free sentence. ``proposal`` is what a reader made of that text;
    the explicit words of the quick form win, the proposal fills the gaps, and the conversation
    asks for whatever is still missing before the rep confirms the summary."""
    ctx, state = Ctx(today, book, rules), new(today)
    quick = unicodedata.normalize("NFKC", quick).strip()
    if not quick:
        return ask(state, ctx)
    state["budget"] = QUICK_BUDGET
    hint(state, quick)
    head, colon, note = quick.partition(":")
    scanned, rest = scan(state, head.split(), today, book)
    # A sentence ("Acme Corp promised a quote by Wednesday") is not the quick form: its single
    # words mean nothing alone ("Wednesday" is the due date, not the day of the touch).
    sentence = proposal is not None and not colon and is_sentence(rest)
    for key, value in ([] if sentence else scanned):
        if key == "on":
            state["d"]["on"] = value
        else:
            settle(state, key, value)
    warnings = _typed_note(state, note.strip(), rules)
    name = "" if sentence or vocab.is_word(" ".join(rest), vocab.NOT_A_CLIENT) else " ".join(rest)
    if proposal is not None:
        name = proposed(state, proposal, name, warnings, ctx)
    turn = steps.client(state, name, ctx) if name and "client" not in state["done"] else ask(state, ctx)
    return Turn(turn.state, warned(warnings, turn.reply), turn.finished) if warnings else turn


def _typed_note(state: State, note: str, rules: Conversations) -> list[Msg]:
    """The quick form's note, after the colon: taken, or left out (and asked for again rather
    than cut) when too long; returns the warning to show."""
    if len(note) > rules.max_note_chars:
        return [msg("log.note_left_out", length=len(note), limit=rules.max_note_chars)]
    if note:
        settle(state, "note", note)
    return []


# What a check-in tap already knows: the client, and that nothing more needs telling tonight.
_TAP_KNOWN = {"kind": Kind.MEETING.value, "note": "", "proof": False, "problem": None,
              "asked_for": None, "justification": None}


def tap(today: date, client_id: int | None, client_name: str, book: ClientBook, rules: Conversations) -> Turn:
    """One tap in the end-of-day check-in: the client is known, so ask only what must be asked
    (why: the purpose; and whether a promise was made), then save with no summary to confirm.
    The rest (a note, proof, the client's signals) can be told later with /logmeeting."""
    ctx, state = Ctx(today, book, rules), new(today, source=Source.CHECKIN)
    state["tap"] = True
    state["d"].update(_TAP_KNOWN)
    state["done"] = list(_TAP_KNOWN)
    if client_id is None and client_name and (problem := name_problem(client_name)):
        return retry(state, "client", ctx, problem)
    if client_name:  # else "someone else": the client is asked first
        state["d"].update(client_id=client_id, client_name=client_name.strip())
        state["done"].insert(0, "client")
    return ask(state, ctx)


def from_message(today: date, on: date, text: str, book: ClientBook, rules: Conversations,
                 client: tuple[int, str] | None = None, proposal: Proposal | None = None) -> Turn:
    """Log a message as a touch (a Slack shortcut, a Teams message action): its text is the
    note, its day the touch's date, its client ``client`` (a channel mapped to one) or what a
    reader found in the text; what is still open is asked, and the rep confirms."""
    ctx, state = Ctx(today, book, rules), new(today, min(on, today), Source.SHORTCUT)
    state["budget"] = QUICK_BUDGET
    if client is not None:
        state["d"].update(client_id=client[0], client_name=client[1])
        state["done"].append("client")
    if proposal is not None:
        apply(state, proposal, ctx)
    note = unicodedata.normalize("NFKC", text).strip()
    hint(state, note)
    if note:
        settle(state, "note", note[: rules.max_note_chars])
        state["read"] = proposal is not None
    if "client" not in state["done"] and proposal is not None and proposal.client_name:
        return steps.client(state, proposal.client_name, ctx)
    return ask(state, ctx)


def answer(state: dict[str, Any], text: str, today: date, book: ClientBook, rules: Conversations,
           reader: NoteReader | None = None, language: str = "en") -> Turn:
    """Apply the rep's answer to the current step and ask the next question. ``reader`` reads
    the note typed step by step (promises, a problem, trust signals; the rules when ``None``),
    ``language`` is the rep's, a hint for it."""
    text = prompts.chosen(state, text.strip())
    if vocab.is_word(text, vocab.CANCEL):
        return Turn(None, Reply.of(msg("log.cancelled")))
    ctx = Ctx(today, book, rules, reader or RuleReader(), language)
    return steps.HANDLERS[state["step"]](state, text, ctx)
