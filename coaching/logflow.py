"""The /logmeeting conversation as a pure state machine.

``start`` and ``answer`` take the saved state (a JSON-able dict), the rep's answer and their
local date, and return the next state with the reply to show. Nothing here touches storage:
client names are looked up through a :class:`ClientDirectory` that the service layer provides.
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

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from coaching import logflow_prompts as prompts
from coaching import vocabulary as vocab
from coaching.commands import record_id
from coaching.dates import find_date, parse_date
from coaching.messages import Msg, msg
from coaching.model import Kind, PromiseDraft, Purpose, Source, TrustLevel
from coaching.reading import NoteReader, Proposal, RuleReader
from coaching.replies import Choice, Reply
from coaching.rules import Conversations

STEPS = ("client", "note", "kind", "purpose")  # asked in this order, each only while the text left it open
TAP_STEPS = ("client", "purpose", "promise")  # the end-of-day check-in: then saved with no summary
QUICK_BUDGET = 3  # prompts a log with text after the command may cost, its summary included
STEP_BUDGET = 5  # and a bare /logmeeting: client, note, kind, purpose, summary
MAX_NAME = 200
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


class ClientDirectory(Protocol):
    """The clients a rep may log against, as ``(id, name)`` pairs."""

    def exact(self, name: str) -> tuple[int, str] | None: ...
    def by_id(self, client_id: int) -> tuple[int, str] | None: ...
    def similar(self, name: str, limit: int) -> list[tuple[int, str]]: ...
    def recent(self, limit: int) -> list[tuple[int, str]]: ...
    def assessed_on(self, client_id: int) -> date | None:
        """When the client's trust level was last assessed; ``None``: never."""


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
    state["budget"] = QUICK_BUDGET
    _hint(state, quick)
    head, colon, note = quick.partition(":")
    scanned, rest = _scan(state, head.split(), today, directory)
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
    name = "" if sentence or vocab.is_word(" ".join(rest), vocab.NOT_A_CLIENT) else " ".join(rest)
    if proposal is not None:
        name = _proposed(state, proposal, name, warnings, today, rules)
    if name and "client" not in state["done"]:
        turn = _answer_client(state, name, today, directory, rules)
    else:
        turn = _ask(state, directory, rules)
    return Turn(turn.state, _warned(warnings, turn.reply), turn.finished) if warnings else turn


def _scan(state: dict[str, Any], words: list[str], today: date,
          directory: ClientDirectory) -> tuple[list[tuple[str, str]], list[str]]:
    """The quick form's words before the colon: a known client's name (it wins over reading its
    words as a date or a kind: "Sun Corp", "Line Co"), then what single words say: ``("kind",
    "call")``, ``("on", date)``; and the words left over."""
    words = _known_client(state, words, directory)
    scanned: list[tuple[str, str]] = []
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
    return scanned, rest


def _known_client(state: dict[str, Any], words: list[str], directory: ClientDirectory) -> list[str]:
    """Set the client when the first words name a known one; returns the words after it."""
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
            return words[size:]
    if fits and (joined := _joined_client(words[0], directory)):
        (client_id, name), word = joined
        state["d"].update(client_id=client_id, client_name=name)
        state["done"].append("client")
        return [word, *words[1:]]
    return words


_JOINED = tuple(sorted({w for words in (*vocab.KIND_WORDS.values(), *vocab.PURPOSE_WORDS.values())
                         for w in words if not w.isascii()}, key=len, reverse=True))
_JOINT = re.compile(r"(?:様|さん)?(?:と|へ|に|で|を)?$")


def _joined_client(word: str, directory: ClientDirectory) -> tuple[tuple[int, str], str] | None:
    """A known client's name written together with how they met or why, as Japanese is written
    without spaces ("田中商事訪問", "田中商事様と打ち合わせ"): the client, and the word after it."""
    for tail in (t for t in _JOINED if word.endswith(t) and len(word) > len(t)):
        head = _JOINT.sub("", word[: -len(tail)])
        if head and (found := directory.exact(head)):
            return found, tail
    return None


def _proposed(state: dict[str, Any], proposal: Proposal, name: str, warnings: list[Msg], today: date,
              rules: Conversations) -> str:
    """Apply a reader's proposal to a quick form; returns the client's name still to look up."""
    _apply(state, proposal, today, rules, typed=name)
    summary = (proposal.summary or "").strip()
    if "note" not in state["done"] and len(summary) > rules.max_note_chars and not warnings:
        warnings.append(msg("log.note_left_out", length=len(summary), limit=rules.max_note_chars))
    # The note was read (a long one left out too): the one typed when asked is not read again.
    state["read"] = "note" in state["done"] or bool(warnings)
    if "client" not in state["done"] and proposal.client_name and not name:
        return proposal.client_name  # a name typed before the colon wins over the reader's
    if "client" in state["done"] and "note" not in state["done"] and name:
        if len(name) <= rules.max_note_chars:  # "Acme met them about X": the rest is the note
            _set(state, "note", name)
        return ""
    return name


def _warned(warnings: list[Msg], reply: Reply) -> Reply:
    counts = (0,) * len(warnings) + reply.line_choices if reply.line_choices else ()
    return dataclasses.replace(reply, lines=tuple(warnings) + reply.lines, line_choices=counts)


def _new(today: date, on: date | None = None, source: Source = Source.COMMAND) -> dict[str, Any]:
    return {"flow": "logmeeting", "d": {"on": (on or today).isoformat(), "promises": []}, "done": [],
            "source": source.value, "today": today.isoformat(), "budget": STEP_BUDGET, "asked": 0}


# What a check-in tap already knows: the client, and that nothing more needs telling tonight.
_TAP_KNOWN = {"kind": Kind.MEETING.value, "note": "", "proof": False, "problem": None,
              "asked_for": None, "justification": None}


def tap(today: date, client_id: int | None, client_name: str, directory: ClientDirectory,
        rules: Conversations) -> Turn:
    """One tap in the end-of-day check-in: the client is known, so ask only what must be asked
    (why: the purpose; and whether a promise was made), then save with no summary to confirm.
    The rest (a note, proof, the client's signals) can be told later with /logmeeting."""
    state = _new(today, source=Source.CHECKIN)
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
    reader found in the text; what is still open is asked, and the rep confirms."""
    state = _new(today, min(on, today), Source.SHORTCUT)
    state["budget"] = QUICK_BUDGET
    if client is not None:
        state["d"].update(client_id=client[0], client_name=client[1])
        state["done"].append("client")
    if proposal is not None:
        _apply(state, proposal, today, rules)
    note = unicodedata.normalize("NFKC", text).strip()
    _hint(state, note)
    if note:
        _set(state, "note", note[: rules.max_note_chars])
        state["read"] = proposal is not None
    if "client" not in state["done"] and proposal is not None and proposal.client_name:
        return _answer_client(state, proposal.client_name, today, directory, rules)
    return _ask(state, directory, rules)


def _is_sentence(words: list[str]) -> bool:
    """More than a client's name: several words, or sentence punctuation (Japanese has no spaces)."""
    text = " ".join(words)
    return len(words) >= 3 or any(mark in text for mark in "。、,.!?")


def _hint(state: dict[str, Any], text: str) -> None:
    """Note whether ``text`` hints that the client asked something of the rep, or wanted every
    step justified: if the reader cannot tell what, the trust question is asked."""
    hint = state.setdefault("hint", {})
    hint["asked"] = hint.get("asked", False) or vocab.mentions(text, vocab.TRUST_HINT_WORDS)
    hint["justify"] = hint.get("justify", False) or vocab.mentions(text, vocab.JUSTIFY_HINT_WORDS)


def _apply(state: dict[str, Any], proposal: Proposal, today: date, rules: Conversations, typed: str = "") -> None:
    """Fill what the quick form left open from a reader's proposal. Only values that pass the
    same checks as typed answers are taken; anything else stays open and is asked for.
    ``typed``: the client's name as typed, which is no note either."""
    d, before, on = state["d"], set(state["done"]), proposal.occurred_on
    if on is not None and on <= today and d["on"] == today.isoformat():
        d["on"] = on.isoformat()
    for field, chosen in (("kind", proposal.kind), ("purpose", proposal.purpose)):
        if chosen is not None and field not in before:
            _set(state, field, chosen.value)
    if "note" not in before and (note := _proposed_note(proposal, rules, typed)):
        _set(state, "note", note)
    if proposal.proof_shown:  # a "no" is the default: the summary's toggle says otherwise
        _set(state, "proof", True)
    _apply_promises(state, proposal, rules)
    if proposal.problem and not d.get("problem"):
        _set(state, "problem", proposal.problem.strip()[: rules.max_note_chars])
    if proposal.asked_for is not None:
        _set(state, "asked_for", int(proposal.asked_for))
    if proposal.demanded_justification is not None:
        _set(state, "justification", proposal.demanded_justification)
    if set(state["done"]) - before or d["promises"] or state.get("undated"):
        state["proposed"] = proposal.source


def _proposed_note(proposal: Proposal, rules: Conversations, typed: str) -> str | None:
    """The reader's tidied note, if it fits and says more than the client's name and the quick
    form's words ("Acme call give", "大和ソリューションズ訪問" are no note: it is asked for)."""
    note = (proposal.summary or "").strip()
    fits = len(note) <= rules.max_note_chars
    return note if fits and _says_more(note, proposal.client_name, typed) else None


def _apply_promises(state: dict[str, Any], proposal: Proposal, rules: Conversations) -> None:
    """The proposal's promises: with a due date on or after the touch, taken; else their dates are
    asked, all in one question."""
    d = state["d"]
    on = date.fromisoformat(d["on"])
    dated = [(p.text.strip()[: rules.max_note_chars], p.due_on) for p in proposal.promises if p.text.strip()]
    for what, due in dated[: max(0, rules.max_promises - len(d["promises"]))]:
        if due is not None and due >= on:
            d["promises"].append([what, due.isoformat()])
        else:
            state.setdefault("undated", []).append(what)


def answer(state: dict[str, Any], text: str, today: date, directory: ClientDirectory, rules: Conversations,
           reader: NoteReader | None = None, language: str = "en") -> Turn:
    """Apply the rep's answer to the current step and ask the next question. ``reader`` reads
    the note typed step by step (promises, a problem, trust signals; the rules when ``None``),
    ``language`` is the rep's, a hint for it."""
    text = prompts.chosen(state, text.strip())
    if vocab.is_word(text, vocab.CANCEL):
        return Turn(None, Reply.of(msg("log.cancelled")))
    if state["step"] == "note":
        return _answer_note(state, text, today, directory, rules, reader or RuleReader(), language)
    return _HANDLERS[state["step"]](state, text, today, directory, rules)


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


def _answer_note(state, text, today, directory, rules, reader: NoteReader, language: str):
    if len(text) > rules.max_note_chars:
        return _reply(state, Reply.of(msg("log.retry.too_long", limit=rules.max_note_chars), msg("log.ask.note"),
                                      choices=prompts.prompt("note", state, directory, rules).choices))
    note = "" if vocab.is_word(text, vocab.SKIP + vocab.NO) else text
    _set(state, "note", note)
    if note and not state.get("read"):  # the first note only: an edited one is not read again
        state["read"] = True
        _hint(state, note)
        _apply(state, reader.read(note, today, [state["d"].get("client_name") or ""], language), today, rules)
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
    if due is None or due < date.fromisoformat(state["d"]["on"]):
        state["pending"] = [what]
        state["step"] = "promise_due"
        return _reply(state, prompts.promise_due([what], due and msg("log.retry.due_past", due=due)))
    return _add_promises(state, [what], [due], directory, rules)


def _answer_promise_due(state, text, today, directory, rules):
    pending = state.get("pending") or []
    pending = [pending] if isinstance(pending, str) else pending  # a state saved by an older version
    if vocab.is_word(text, vocab.SKIP + vocab.NO) or not pending:  # not really promises, or no date to give
        state.pop("pending", None)
        return _mark_and_ask(state, "promise", directory, rules)
    dues = _due_dates(text, len(pending), today)
    if dues is None:
        return _reply(state, prompts.promise_due(pending, msg("log.retry.date")))
    if (early := min(dues)) < date.fromisoformat(state["d"]["on"]):
        return _reply(state, prompts.promise_due(pending, msg("log.retry.due_past", due=early)))
    state.pop("pending")
    return _add_promises(state, pending, dues, directory, rules)


def _due_dates(text: str, count: int, today: date) -> list[date] | None:
    """One date for every pending promise, or one each, in order ("Friday, 12/3")."""
    if (one := parse_date(text, today)) is not None:
        return [one] * count
    parts = [p for p in re.split(r"[,、;;]", text) if p.strip()]
    dues = [parse_date(p, today) for p in parts]
    if count > 1 and len(dues) == count and all(dues):
        return dues  # type: ignore[return-value]
    return None


def _add_promises(state, whats: list[str], dues: list[date], directory, rules):
    promises = state["d"]["promises"]
    for what, due in zip(whats, dues):
        if len(promises) < rules.max_promises:
            promises.append([what, due.isoformat()])
    if not state.get("tap") or len(promises) >= rules.max_promises:
        return _mark_and_ask(state, "promise", directory, rules)
    state["step"] = "promise"  # the check-in: one more?
    return _reply(state, Reply.of(msg("log.noted.promise", promise=whats[-1], due=dues[-1]), msg("log.ask.promise_more"),
                                  choices=(Choice("no", msg("log.choice.no_more")),)))


def _answer_problem(state, text, today, directory, rules):
    if len(text) > rules.max_note_chars:
        return _retry(state, "problem", directory, rules)
    _set(state, "problem", None if vocab.is_word(text, vocab.NO + vocab.SKIP) else text)
    return _ask(state, directory, rules)


def _answer_asked_for(state, text, today, directory, rules):
    d = state["d"]
    if text == "justify" and state.get("toggle"):  # the toggle: the same question again, ticked or not
        d["justification"] = None if d.get("justification") else True
        return _reply(state, prompts.prompt("asked_for", state, directory, rules))
    if vocab.is_word(text, vocab.SKIP):
        _set(state, "asked_for", None)
    elif re.fullmatch(r"level:[1-4]", text):
        _set(state, "asked_for", int(text[-1]))
    else:
        return _retry(state, "asked_for", directory, rules)
    if state.pop("toggle", None) and d.get("justification"):
        _set(state, "justification", True)
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
    """The summary: save, add what the note left out, toggle the track record, edit, or type a
    correction for the day, how they met or the purpose."""
    d = state["d"]
    if text == "save" or vocab.is_word(text, vocab.YES + vocab.SAVE):
        return Turn(None, Reply(()), finished=_request(state))
    if text == "edit" or vocab.is_word(text, vocab.EDIT):
        state["step"] = "edit"
        return _reply(state, prompts.prompt("edit", state, directory, rules))
    if text.startswith("edit:"):
        return _answer_edit(state, text, today, directory, rules)
    if text in ("promise", "problem") and text in state.get("choices", ()):
        state["step"] = text
        return _reply(state, prompts.prompt(text, state, directory, rules))
    if text == "proof":
        d["proof"] = not d.get("proof")
    elif kind := vocab.kind_of(text):
        d["kind"] = kind.value
    elif purpose := vocab.purpose_of(text):
        d["purpose"] = purpose.value
    elif not text.isdecimal() and (on := parse_date(text, today, prefer="past")) and on <= today:
        d["on"] = on.isoformat()
    else:
        confirm = prompts.prompt("confirm", state, directory, rules)
        return _reply(state, Reply.of(msg("log.retry.confirm"), *confirm.lines, choices=confirm.choices))
    return _ask(state, directory, rules)


def _answer_edit(state, text, today, directory, rules):
    field = text[5:] if text.startswith("edit:") else ""
    if text == "back" or vocab.is_word(text, vocab.NO + vocab.SKIP):
        return _ask(state, directory, rules)
    if field not in prompts.EDITABLE:
        state["step"] = "edit"
        return _reply(state, prompts.prompt("edit", state, directory, rules))
    if field in STEPS:
        state["done"] = [s for s in state["done"] if s != field]
        return _ask(state, directory, rules)
    if field == "promise":
        state["d"]["promises"] = []
    state["step"] = field
    return _reply(state, prompts.prompt(field, state, directory, rules))


def _answer_date(state, text, today, directory, rules):
    on = parse_date(text, today, prefer="past")
    if on is None or on > today:
        return _reply(state, Reply.of(msg("log.retry.date_past"), msg("log.ask.date")))
    state["d"]["on"] = on.isoformat()
    return _ask(state, directory, rules)


_HANDLERS = {
    "client": _answer_client, "client_pick": _answer_client, "kind": _answer_kind,
    "purpose": _answer_purpose, "proof": _answer_proof,
    "promise": _answer_promise, "promise_due": _answer_promise_due, "problem": _answer_problem,
    "asked_for": _answer_asked_for, "justification": _answer_justification,
    "confirm": _answer_confirm, "edit": _answer_edit, "date": _answer_date,
}


# --- what to ask next ----------------------------------------------------------------------

_NAME_PARTS = re.compile(r"株式会社|有限会社|\(株\)|様|さん|御中|[\s、。,.:・]+")
_ANY_DAY = date(2000, 1, 1)  # a day to tell whether a word is a date at all


def _says_more(summary: str, *names: str | None) -> bool:
    """Whether a note says anything beyond the client's name and the words of a quick form: how
    they met, the purpose, a day ("田中商事様" or "Acme yesterday call give" alone do not)."""
    left = unicodedata.normalize("NFKC", summary).casefold()
    for name in filter(None, names):
        left = left.replace(unicodedata.normalize("NFKC", name).casefold(), " ")
    words = [w for w in _NAME_PARTS.split(left) if w]
    return any(not (vocab.kind_of(w) or vocab.purpose_of(w) or parse_date(w, _ANY_DAY)) for w in words)


def _ask(state, directory, rules) -> Turn:
    steps = TAP_STEPS if state.get("tap") else STEPS
    step = next((s for s in steps if s not in state["done"]), None)
    if step is None and state.get("undated"):  # promises read from the note, with no date: one question
        state["pending"] = state.pop("undated")
        state["step"] = "promise_due"
        return _reply(state, prompts.promise_due(state["pending"]))
    if step is None and state.get("tap"):  # a check-in tap saves as soon as it knows enough
        return Turn(None, Reply(()), finished=_request(state))
    step = step or _trust_step(state, directory, rules) or "confirm"
    state["step"] = step
    return _reply(state, prompts.prompt(step, state, directory, rules))


def _trust_step(state, directory, rules) -> str | None:
    """Whether to ask what the client asked of the rep (and, if hinted, whether they wanted each
    step justified), once per log: when the note hints at it and the reader could not tell, or
    when an existing client's trust is due for assessment; and only if asking keeps the log
    within its budget of prompts (else it stays due for the next log)."""
    if state.get("trust_checked"):
        return None
    state["trust_checked"] = True
    level, justify = _trust_open(state, directory, rules)
    room = state.get("budget", STEP_BUDGET) - state.get("asked", 0) - 1  # prompts left before the summary
    if level and justify and room >= 2:
        state["toggle"] = True  # both in one prompt; ticking the toggle shows it once more
    if level and room >= 1:
        return "asked_for"
    return "justification" if justify and room >= 1 else None


def _trust_open(state, directory, rules) -> tuple[bool, bool]:
    """Whether the level, and whether the demand for justification, should be asked."""
    done, hint = set(state["done"]), state.get("hint") or {}
    due = _assessment_due(state, directory, rules)
    # "They kept asking for evidence": a request the reader already read as a demand for justification.
    hinted = bool(hint.get("asked")) and "justification" not in done
    state["trust_why"] = "hint" if hinted or due is None else due
    return "asked_for" not in done and (hinted or due is not None), "justification" not in done and bool(hint.get("justify"))


def _assessment_due(state, directory, rules) -> str | None:
    """``"never"`` or ``"due"`` when an existing client's trust was never assessed or not for
    ``trust_reassess_days``; ``None`` otherwise (a new client has nothing to reassess)."""
    client_id = state["d"].get("client_id")
    if client_id is None:
        return None
    assessed = directory.assessed_on(client_id)
    if assessed is None:
        return "never"
    today = date.fromisoformat(state.get("today") or state["d"]["on"])
    return "due" if (today - assessed).days > rules.trust_reassess_days else None


def _mark_and_ask(state, step, directory, rules) -> Turn:
    if step not in state["done"]:
        state["done"].append(step)
    return _ask(state, directory, rules)


def _retry(state, step, directory, rules) -> Turn:
    prompt = prompts.prompt(step, state, directory, rules)
    state["step"] = step
    return _reply(state, Reply.of(msg(f"log.retry.{step}"), *prompt.lines, choices=prompt.choices))


def _name_retry(state, problem: Msg, directory, rules) -> Turn:
    prompt = prompts.prompt("client", state, directory, rules)
    state["step"] = "client"
    return _reply(state, Reply.of(problem, *prompt.lines, choices=prompt.choices, picker=prompt.picker))


def _reply(state, reply: Reply) -> Turn:
    state["choices"] = [c.value for c in reply.choices]
    state["labels"] = prompts.labels(reply.choices)
    state["asked"] = state.get("asked", 0) + 1
    return Turn(state, reply)


def _set(state, step, value) -> None:
    state["d"][step] = value
    if step not in state["done"]:
        state["done"].append(step)


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
