"""The /logmeeting conversation as a pure state machine.

``start`` and ``answer`` take the saved state (a JSON-able dict), the rep's answer and their
local date, and return the next state with the reply to show. Nothing here touches storage:
client names are looked up through a :class:`ClientDirectory` that the service layer provides.
When the rep confirms, :attr:`Turn.finished` holds the :class:`LogRequest` to record.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from coaching import vocabulary as vocab
from coaching.dates import find_date, parse_date
from coaching.messages import Msg, msg
from coaching.model import Kind, PromiseDraft, Purpose, Source, TrustLevel
from coaching.reading import Proposal
from coaching.replies import Choice, Reply
from coaching.rules import Conversations

STEPS = ("client", "kind", "purpose", "note", "proof", "promise", "problem", "asked_for", "justification")
EDITABLE = ("client", "date", "kind", "purpose", "note", "proof", "promise", "problem", "asked_for", "justification")
MAX_NAME = 200
MAX_ID = 2**31 - 1  # record ids are 32-bit in the database (touches: 64-bit)
MAX_BIG_ID = 2**63 - 1
_UNSTORABLE = re.compile(r"\x00|[\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` without what no database column can hold: NUL bytes (PostgreSQL refuses them)
    and halves of surrogate pairs (not UTF-8), which only a broken client sends."""
    return _UNSTORABLE.sub(lambda m: "" if m[0] == "\x00" else "\ufffd", text)


def name_problem(name: str) -> Msg | None:
    """Why ``name`` can't be a new client's name, or ``None``: it needs a letter or a digit,
    and both it and its key (:func:`vocabulary.name_key`) must fit the database's column."""
    key = vocab.name_key(name)
    if not any(ch.isalnum() for ch in key) or max(len(name.strip()), len(key)) > MAX_NAME:
        return msg("log.retry.client")
    return None


def record_id(text: str, largest: int = MAX_ID) -> int | None:
    """The id a button or a typed ``client:12`` names; ``None`` when no record can have it
    (a larger number would overflow the database's column instead of finding nothing)."""
    if not text.isdecimal() or len(text) > 19:
        return None
    number = int(text)
    return number if 1 <= number <= largest else None


class ClientDirectory(Protocol):
    """The clients a rep may log against, as ``(id, name)`` pairs."""

    def exact(self, name: str) -> tuple[int, str] | None: ...
    def by_id(self, client_id: int) -> tuple[int, str] | None: ...
    def similar(self, name: str, limit: int) -> list[tuple[int, str]]: ...
    def recent(self, limit: int) -> list[tuple[int, str]]: ...


@dataclass(frozen=True)
class LogRequest:
    """A confirmed touch, ready for the service layer to record."""

    client_id: int | None  # None: create ``client_name``
    client_name: str
    occurred_on: date
    kind: Kind
    purpose: Purpose
    note: str
    proof_shown: bool
    promises: tuple[PromiseDraft, ...]
    problem: str | None
    asked_for: TrustLevel | None
    demanded_justification: bool | None
    source: str = Source.COMMAND.value


@dataclass(frozen=True)
class Turn:
    state: dict[str, Any] | None  # None: the conversation is over
    reply: Reply
    finished: LogRequest | None = None


def start(today: date, directory: ClientDirectory, rules: Conversations, quick: str = "",
          proposal: Proposal | None = None) -> Turn:
    """Begin logging; ``quick`` is text typed after the command: the quick form ("Acme call
    give: sent the report") or a free sentence. ``proposal`` is what a reader made of that text;
    the explicit words of the quick form win, the proposal fills the gaps, and the conversation
    asks for whatever is still missing before the rep confirms the summary."""
    state = _new(today)
    quick = unicodedata.normalize("NFKC", quick).strip()
    if not quick:
        return _ask(state, directory, rules)
    head, colon, note = quick.partition(":")
    words = head.split()
    # A known client's name wins over reading its words as a date or a kind ("Sun Corp", "Line Co").
    # Only the first words that fit in a name are looked up: one query each, however long the text.
    fits, length = 0, -1
    for word in words:
        length += len(word) + 1
        if length > MAX_NAME:
            break
        fits += 1
    for size in range(fits, 0, -1):
        if found := directory.exact(" ".join(words[:size])):
            state["d"].update(client_id=found[0], client_name=found[1])
            state["done"].append("client")
            words = words[size:]
            break
    scanned: list[tuple[str, str]] = []  # what single words say: ("kind", "call"), ("on", date)
    rest = []
    for word in words:
        if (kind := vocab.kind_of(word)) and "kind" not in {k for k, _ in scanned}:
            scanned.append(("kind", kind.value))
        elif (purpose := vocab.purpose_of(word)) and "purpose" not in {k for k, _ in scanned}:
            scanned.append(("purpose", purpose.value))
        elif (on := parse_date(word, today, prefer="past")) and on <= today:
            scanned.append(("on", on.isoformat()))
        else:
            rest.append(word)
    # A sentence ("Acme Corp promised a quote by Wednesday") is not the quick form: its single
    # words mean nothing alone ("Wednesday" is the due date, not the day of the touch).
    sentence = proposal is not None and not colon and _is_sentence(rest)
    for key, value in ([] if sentence else scanned):
        if key == "on":
            state["d"]["on"] = value
        else:
            _set(state, key, value)
    warnings: list[Msg] = []
    if len(note.strip()) > rules.max_note_chars:  # asked for again rather than cut
        warnings.append(msg("log.note_left_out", length=len(note.strip()), limit=rules.max_note_chars))
    elif note.strip():
        _set(state, "note", note.strip())
    name = "" if sentence else " ".join(rest)
    if proposal is not None:
        _apply(state, proposal, today, rules)
        summary = (proposal.summary or "").strip()
        if "note" not in state["done"] and len(summary) > rules.max_note_chars and not warnings:
            warnings.append(msg("log.note_left_out", length=len(summary), limit=rules.max_note_chars))
        if "client" not in state["done"] and proposal.client_name and not name:
            name = proposal.client_name  # a name typed before the colon wins over the reader's
        elif "client" in state["done"] and "note" not in state["done"] and name:
            if len(name) <= rules.max_note_chars:  # "Acme met them about X": the rest is the note
                _set(state, "note", name)
            name = ""
    if name and "client" not in state["done"]:
        turn = _answer_client(state, name, today, directory, rules)
    else:
        turn = _ask(state, directory, rules)
    return Turn(turn.state, _warned(warnings, turn.reply), turn.finished) if warnings else turn


def _warned(warnings: list[Msg], reply: Reply) -> Reply:
    counts = (0,) * len(warnings) + reply.line_choices if reply.line_choices else ()
    return dataclasses.replace(reply, lines=tuple(warnings) + reply.lines, line_choices=counts)


def _new(on: date, source: Source = Source.COMMAND) -> dict[str, Any]:
    return {"flow": "logmeeting", "d": {"on": on.isoformat(), "promises": []}, "done": [], "source": source.value}


# What a check-in tap already knows: the client, and that nothing more needs telling tonight.
_TAP_KNOWN = {"kind": Kind.MEETING.value, "note": "", "proof": False, "problem": None,
              "asked_for": None, "justification": None}


def tap(today: date, client_id: int | None, client_name: str, directory: ClientDirectory,
        rules: Conversations) -> Turn:
    """One tap in the end-of-day check-in: the client is known, so ask only what must be asked
    (why: the purpose; and whether a promise was made), then save with no summary to confirm.
    The rest (a note, proof, the client's signals) can be told later with /logmeeting."""
    state = _new(today, Source.CHECKIN)
    state["tap"] = True
    state["d"].update(_TAP_KNOWN)
    state["done"] = list(_TAP_KNOWN)
    if client_id is None and client_name and (problem := name_problem(client_name)):
        return _name_retry(state, problem, directory, rules)
    if client_name:  # else "someone else": the client is asked first
        state["d"].update(client_id=client_id, client_name=client_name.strip())
        state["done"].insert(0, "client")
    return _ask(state, directory, rules)


def from_message(today: date, on: date, text: str, directory: ClientDirectory, rules: Conversations,
                 client: tuple[int, str] | None = None, proposal: Proposal | None = None) -> Turn:
    """Log a message as a touch (a Slack shortcut, a Teams message action): its text is the
    note, its day the touch's date, its client ``client`` (a channel mapped to one) or what a
    reader found in the text; the usual questions fill the rest, and the rep confirms."""
    state = _new(min(on, today), Source.SHORTCUT)
    if client is not None:
        state["d"].update(client_id=client[0], client_name=client[1])
        state["done"].append("client")
    if proposal is not None:
        _apply(state, proposal, today, rules)
    note = unicodedata.normalize("NFKC", text).strip()
    if note:
        _set(state, "note", note[: rules.max_note_chars])
    if "client" not in state["done"] and proposal is not None and proposal.client_name:
        return _answer_client(state, proposal.client_name, today, directory, rules)
    return _ask(state, directory, rules)


def _is_sentence(words: list[str]) -> bool:
    """More than a client's name: several words, or sentence punctuation (Japanese has no spaces)."""
    text = " ".join(words)
    return len(words) >= 3 or any(mark in text for mark in "。、,.!?")


def _apply(state: dict[str, Any], proposal: Proposal, today: date, rules: Conversations) -> None:
    """Fill what the quick form left open from a reader's proposal. Only values that pass the
    same checks as typed answers are taken; anything else stays open and is asked for."""
    d, before = state["d"], set(state["done"])
    if proposal.occurred_on is not None and proposal.occurred_on <= today and d["on"] == today.isoformat():
        d["on"] = proposal.occurred_on.isoformat()
    if proposal.kind is not None and "kind" not in state["done"]:
        _set(state, "kind", proposal.kind.value)
    if proposal.purpose is not None and "purpose" not in state["done"]:
        _set(state, "purpose", proposal.purpose.value)
    if (proposal.summary and "note" not in state["done"] and len(proposal.summary.strip()) <= rules.max_note_chars
            and _says_more(proposal.summary, proposal.client_name)):
        _set(state, "note", proposal.summary.strip())
    if proposal.proof_shown:  # a "no" is asked, not assumed: the summary shows only a yes
        _set(state, "proof", True)
    on = date.fromisoformat(d["on"])
    dated = [(p.text.strip()[: rules.max_note_chars], p.due_on) for p in proposal.promises if p.text.strip()]
    dated = dated[: rules.max_promises]
    for what, due in dated:
        if due is not None and due >= on:
            d["promises"].append([what, due.isoformat()])
        else:
            state.setdefault("undated", []).append(what)  # asked for, one by one
    if dated and not state.get("undated"):
        _set(state, "promise", None)
    if proposal.problem:
        _set(state, "problem", proposal.problem.strip()[: rules.max_note_chars])
    if proposal.asked_for is not None:
        _set(state, "asked_for", int(proposal.asked_for))
    if proposal.demanded_justification is not None:
        _set(state, "justification", proposal.demanded_justification)
    if set(state["done"]) - before or d["promises"] or state.get("undated"):
        state["proposed"] = proposal.source


def answer(state: dict[str, Any], text: str, today: date, directory: ClientDirectory, rules: Conversations) -> Turn:
    """Apply the rep's answer to the current step and ask the next question."""
    text = _chosen(state, text.strip())
    if vocab.is_word(text, vocab.CANCEL):
        return Turn(None, Reply.of(msg("log.cancelled")))
    step = state["step"]
    handler = _HANDLERS[step]
    return handler(state, text, today, directory, rules)


# --- steps -------------------------------------------------------------------------------

def _answer_client(state, text, today, directory, rules):
    if text.startswith("client:") and text[7:].isdecimal():
        if (client_id := record_id(text[7:])) and (found := directory.by_id(client_id)):
            return _client_chosen(state, found[0], found[1], directory, rules)
        return _retry(state, "client", directory, rules)
    name = text[4:].strip() if text.startswith("new:") else text.strip()
    if problem := name_problem(name):
        return _name_retry(state, problem, directory, rules)
    if text.startswith("new:"):
        return _client_chosen(state, None, name, directory, rules)
    if found := directory.exact(name):
        return _client_chosen(state, found[0], found[1], directory, rules)
    similar = directory.similar(name, rules.client_choices - 1)
    state["step"] = "client_pick"
    state["candidates"] = [list(c) for c in similar]
    choices = tuple(Choice(f"client:{cid}", cname) for cid, cname in similar)
    choices += (Choice(f"new:{name}", msg("log.choice.new_client", name=name)),)
    key = "log.ask.client_pick" if similar else "log.ask.client_new"
    return _reply(state, Reply.of(msg(key, name=name), choices=choices))


def _client_chosen(state, client_id, name, directory, rules):
    state["d"].update(client_id=client_id, client_name=name)
    state.pop("candidates", None)
    return _mark_and_ask(state, "client", directory, rules)


def _answer_kind(state, text, today, directory, rules):
    kind = vocab.kind_of(text)
    if kind is None:
        return _retry(state, "kind", directory, rules)
    _set(state, "kind", kind.value)
    return _ask(state, directory, rules)


def _answer_purpose(state, text, today, directory, rules):
    purpose = vocab.purpose_of(text)
    if purpose is None:
        return _retry(state, "purpose", directory, rules)
    _set(state, "purpose", purpose.value)
    return _ask(state, directory, rules)


def _answer_note(state, text, today, directory, rules):
    if len(text) > rules.max_note_chars:
        return _reply(state, Reply.of(msg("log.retry.too_long", limit=rules.max_note_chars), msg("log.ask.note")))
    _set(state, "note", "" if vocab.is_word(text, vocab.SKIP + vocab.NO) else text)
    return _ask(state, directory, rules)


def _answer_proof(state, text, today, directory, rules):
    value = _yes_no(text)
    if value is None:
        return _retry(state, "proof", directory, rules)
    _set(state, "proof", value)
    return _ask(state, directory, rules)


def _answer_promise(state, text, today, directory, rules):
    if vocab.is_word(text, vocab.NO + vocab.SKIP):
        return _mark_and_ask(state, "promise", directory, rules)
    if len(text) > rules.max_note_chars:
        return _retry(state, "promise", directory, rules)
    due, what = find_date(text, today)
    what = what or text
    if due is None:
        state["pending"] = what
        state["step"] = "promise_due"
        return _reply(state, Reply.of(msg("log.ask.promise_due", promise=what), choices=_SKIP_DUE))
    return _add_promise(state, what, due, today, directory, rules)


def _answer_promise_due(state, text, today, directory, rules):
    if vocab.is_word(text, vocab.SKIP + vocab.NO):  # not really a promise, or no date to give
        state.pop("pending", None)
        return _ask(state, directory, rules) if state.get("undated") or "promise" in state["done"] \
            else _mark_and_ask(state, "promise", directory, rules)
    due = parse_date(text, today)
    if due is None:
        return _reply(state, Reply.of(msg("log.retry.date"), msg("log.ask.promise_due", promise=state["pending"]),
                                      choices=_SKIP_DUE))
    return _add_promise(state, state.pop("pending"), due, today, directory, rules)


def _add_promise(state, what, due, today, directory, rules):
    if due < date.fromisoformat(state["d"]["on"]):
        state["pending"] = what
        state["step"] = "promise_due"
        return _reply(state, Reply.of(msg("log.retry.due_past", due=due), msg("log.ask.promise_due", promise=what)))
    state["d"]["promises"].append([what, due.isoformat()])
    if len(state["d"]["promises"]) >= rules.max_promises:
        return _mark_and_ask(state, "promise", directory, rules)
    if state.get("undated"):  # more promises read from the note still need their dates
        return _ask(state, directory, rules)
    state["step"] = "promise"
    return _reply(state, Reply.of(msg("log.noted.promise", promise=what, due=due), msg("log.ask.promise_more"),
                                  choices=(Choice("no", msg("log.choice.no_more")),)))


def _answer_problem(state, text, today, directory, rules):
    if len(text) > rules.max_note_chars:
        return _retry(state, "problem", directory, rules)
    _set(state, "problem", None if vocab.is_word(text, vocab.NO + vocab.SKIP) else text)
    return _ask(state, directory, rules)


def _answer_asked_for(state, text, today, directory, rules):
    if vocab.is_word(text, vocab.SKIP):
        _set(state, "asked_for", None)
    elif re.fullmatch(r"level:[1-4]", text):
        _set(state, "asked_for", int(text[-1]))
    else:
        return _retry(state, "asked_for", directory, rules)
    return _ask(state, directory, rules)


def _answer_justification(state, text, today, directory, rules):
    if vocab.is_word(text, vocab.SKIP):
        _set(state, "justification", None)
    elif (value := _yes_no(text)) is not None:
        _set(state, "justification", value)
    else:
        return _retry(state, "justification", directory, rules)
    return _ask(state, directory, rules)


def _answer_confirm(state, text, today, directory, rules):
    if text == "save" or vocab.is_word(text, vocab.YES + ("save", "保存", "登録")):
        return Turn(None, Reply(()), finished=_request(state))
    if text == "edit" or vocab.is_word(text, ("edit", "change", "修正", "変更", "編集")):
        state["step"] = "edit"
        choices = tuple(Choice(f"edit:{f}", msg(f"log.field.{f}")) for f in EDITABLE)
        return _reply(state, Reply.of(msg("log.ask.edit"), choices=choices))
    return _reply(state, Reply.of(msg("log.retry.confirm"), *_summary(state), msg("log.ask.confirm"),
                                  choices=_confirm_choices()))


def _answer_edit(state, text, today, directory, rules):
    field = text[5:] if text.startswith("edit:") else ""
    if field not in EDITABLE:
        return _answer_confirm(state, "edit", today, directory, rules)
    if field == "date":
        state["step"] = "date"
        return _reply(state, Reply.of(msg("log.ask.date")))
    if field == "promise":
        state["d"]["promises"] = []
    state["done"] = [s for s in state["done"] if s != field]
    return _ask(state, directory, rules)


def _answer_date(state, text, today, directory, rules):
    on = parse_date(text, today, prefer="past")
    if on is None or on > today:
        return _reply(state, Reply.of(msg("log.retry.date_past"), msg("log.ask.date")))
    state["d"]["on"] = on.isoformat()
    return _ask(state, directory, rules)


_HANDLERS = {
    "client": _answer_client, "client_pick": _answer_client, "kind": _answer_kind,
    "purpose": _answer_purpose, "note": _answer_note, "proof": _answer_proof,
    "promise": _answer_promise, "promise_due": _answer_promise_due, "problem": _answer_problem,
    "asked_for": _answer_asked_for, "justification": _answer_justification,
    "confirm": _answer_confirm, "edit": _answer_edit, "date": _answer_date,
}


# --- questions ---------------------------------------------------------------------------

def _prompt(step: str, state: dict[str, Any], directory: ClientDirectory, rules: Conversations) -> Reply:
    yes_no = (Choice("yes", msg("word.yes")), Choice("no", msg("word.no")))
    skip = Choice("skip", msg("word.skip"))
    if step == "client":
        recent = directory.recent(rules.client_choices)
        return Reply.of(msg("log.ask.client"), choices=tuple(Choice(f"client:{cid}", name) for cid, name in recent),
                        picker="client")
    if step == "kind":
        return Reply.of(msg("log.ask.kind"), choices=tuple(Choice(k.value, msg(f"kind.{k.value}")) for k in Kind))
    if step == "purpose":
        return Reply.of(msg("log.ask.purpose"), choices=tuple(Choice(p.value, msg(f"purpose.{p.value}.choice")) for p in Purpose.stated()))
    if step == "note":
        return Reply.of(msg("log.ask.note"), choices=(skip,))
    if step == "proof":
        return Reply.of(msg("log.ask.proof"), choices=yes_no)
    if step == "promise":
        return Reply.of(msg("log.ask.promise"), choices=(Choice("no", msg("log.choice.no_promise")),))
    if step == "problem":
        return Reply.of(msg("log.ask.problem"), choices=(Choice("no", msg("log.choice.no_problem")),))
    if step == "asked_for":
        levels = tuple(Choice(f"level:{lv.value}", msg(f"trust.asked.{lv.value}")) for lv in TrustLevel)
        return Reply.of(msg("log.ask.asked_for"), choices=levels + (skip,))
    if step == "justification":
        return Reply.of(msg("log.ask.justification"), choices=yes_no + (skip,))
    return Reply.of(*_summary(state), msg("log.ask.confirm"), choices=_confirm_choices())


def _confirm_choices() -> tuple[Choice, ...]:
    return (Choice("save", msg("log.choice.save")), Choice("edit", msg("log.choice.edit")),
            Choice("cancel", msg("log.choice.cancel")))


def _summary(state: dict[str, Any]) -> list[Msg]:
    d = state["d"]
    lines = [
        msg("log.summary.title_proposed" if state.get("proposed") else "log.summary.title"),
        msg("log.summary.client", client=d["client_name"]) if d.get("client_id") is not None
        else msg("log.summary.new_client", client=d["client_name"]),
        msg("log.summary.when", on=date.fromisoformat(d["on"]), kind=msg(f"kind.{d['kind']}")),
        msg("log.summary.purpose", purpose=msg(f"purpose.{d['purpose']}.label")),
    ]
    if d.get("note"):
        lines.append(msg("log.summary.note", note=d["note"]))
    if d.get("proof"):
        lines.append(msg("log.summary.proof"))
    for what, due in d["promises"]:
        lines.append(msg("log.summary.promise", promise=what, due=date.fromisoformat(due)))
    if d.get("problem"):
        lines.append(msg("log.summary.problem", problem=d["problem"]))
    if d.get("asked_for"):
        lines.append(msg("log.summary.asked_for", asked=msg(f"trust.asked.{d['asked_for']}")))
    if d.get("justification") is not None:
        lines.append(msg("log.summary.justification", value=bool(d["justification"])))
    return lines


_SKIP_DUE = (Choice("skip", msg("log.choice.drop_promise")),)
_NAME_PARTS = re.compile(r"株式会社|有限会社|\(株\)|様|さん|御中|[\s、。,.:・]+")


def _says_more(summary: str, client: str | None) -> bool:
    """Whether a note says anything beyond the client's name ("田中商事様" alone does not)."""
    left = unicodedata.normalize("NFKC", summary).casefold()
    if client:
        left = left.replace(unicodedata.normalize("NFKC", client).casefold(), "")
    return bool(_NAME_PARTS.sub("", left))


def _ask(state, directory, rules) -> Turn:
    step = next((s for s in STEPS if s not in state["done"]), "confirm")
    if step == "confirm" and state.get("tap"):  # a check-in tap saves as soon as it knows enough
        return Turn(None, Reply(()), finished=_request(state))
    if step == "promise" and state.get("undated"):  # a promise read from the note, with no date
        state["pending"] = state["undated"].pop(0)
        state["step"] = "promise_due"
        return _reply(state, Reply.of(msg("log.ask.promise_due", promise=state["pending"]), choices=_SKIP_DUE))
    state["step"] = step
    return _reply(state, _prompt(step, state, directory, rules))


def _mark_and_ask(state, step, directory, rules) -> Turn:
    if step not in state["done"]:
        state["done"].append(step)
    return _ask(state, directory, rules)


def _retry(state, step, directory, rules) -> Turn:
    prompt = _prompt(step, state, directory, rules)
    state["step"] = step
    return _reply(state, Reply.of(msg(f"log.retry.{step}"), *prompt.lines, choices=prompt.choices))


def _name_retry(state, problem: Msg, directory, rules) -> Turn:
    prompt = _prompt("client", state, directory, rules)
    state["step"] = "client"
    return _reply(state, Reply.of(problem, *prompt.lines, choices=prompt.choices, picker=prompt.picker))


def _reply(state, reply: Reply) -> Turn:
    state["choices"] = [c.value for c in reply.choices]
    return Turn(state, reply)


def _set(state, step, value) -> None:
    state["d"][step] = value
    if step not in state["done"]:
        state["done"].append(step)


def _chosen(state: dict[str, Any], text: str) -> str:
    """A typed number picks the numbered choice (the console and plain-text channels)."""
    choices = state.get("choices") or []
    if text.isdecimal() and len(text) <= 3 and 1 <= int(text) <= len(choices):
        return choices[int(text) - 1]
    return text


def _yes_no(text: str) -> bool | None:
    if vocab.is_word(text, vocab.YES):
        return True
    if vocab.is_word(text, vocab.NO):
        return False
    return None


def _request(state: dict[str, Any]) -> LogRequest:
    d = state["d"]
    return LogRequest(
        client_id=d.get("client_id"), client_name=d["client_name"],
        occurred_on=date.fromisoformat(d["on"]), kind=Kind(d["kind"]), purpose=Purpose(d["purpose"]),
        note=d.get("note") or "", proof_shown=bool(d.get("proof")),
        promises=tuple(PromiseDraft(what, date.fromisoformat(due)) for what, due in d["promises"]),
        problem=d.get("problem") or None,
        asked_for=TrustLevel(d["asked_for"]) if d.get("asked_for") else None,
        demanded_justification=d.get("justification"),
        source=state.get("source", Source.COMMAND.value),
    )
