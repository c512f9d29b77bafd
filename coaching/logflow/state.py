"""The conversation's saved state and what one turn knows.

The state is a JSON-able dict saved between turns (``d``: the touch as told so far; ``done``:
the fields settled; ``step``: the question waiting for an answer; ``asked``: prompts shown;
``budget``: prompts this log may cost). A :class:`Ctx` is what a turn reads besides it: the
rep's local date, the clients they may log against, the rules, and how to read a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from coaching import vocabulary as vocab
from coaching.clientbook import ClientBook
from coaching.logflow.prompts import labels
from coaching.model import Kind, PromiseDraft, Purpose, Source, TrustLevel
from coaching.reading import NoteReader, RuleReader
from coaching.replies import Reply
from coaching.rules import Conversations

State = dict[str, Any]
STEPS = ("client", "note", "kind", "purpose")  # asked in this order, each only while the text left it open
TAP_STEPS = ("client", "purpose", "promise")  # the end-of-day check-in: then saved with no summary
QUICK_BUDGET = 3  # prompts a log with text after the command may cost, its summary included
STEP_BUDGET = 5  # and a bare /logmeeting: client, note, kind, purpose, summary


@dataclass(frozen=True)
class Ctx:
    """What a turn reads besides the state: nothing here is written."""

    today: date
    book: ClientBook
    rules: Conversations
    reader: NoteReader = RuleReader()
    language: str = "en"


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
    won: bool = False  # a deal won with this touch
    trust_skipped: bool = False  # the trust question was put and skipped: not asked again for a while


@dataclass(frozen=True)
class Turn:
    state: State | None  # None: the conversation is over
    reply: Reply
    finished: LogRequest | None = None


def new(today: date, on: date | None = None, source: Source = Source.COMMAND) -> State:
    return {"flow": "logmeeting", "d": {"on": (on or today).isoformat(), "promises": []}, "done": [],
            "source": source.value, "today": today.isoformat(), "budget": STEP_BUDGET, "asked": 0}


def settle(state: State, step: str, value: Any) -> None:
    """Set a field of the touch and mark it told."""
    state["d"][step] = value
    if step not in state["done"]:
        state["done"].append(step)


def reply(state: State, shown: Reply) -> Turn:
    """Show ``shown`` and wait: its choices are remembered so a typed label or number picks one."""
    state["choices"] = [c.value for c in shown.choices]
    state["labels"] = labels(shown.choices)
    state["asked"] = state.get("asked", 0) + 1
    return Turn(state, shown)


def yes_no(text: str) -> bool | None:
    if vocab.is_word(text, vocab.YES):
        return True
    if vocab.is_word(text, vocab.NO):
        return False
    return None


def request(state: State) -> LogRequest:
    d = state["d"]
    return LogRequest(
        client_id=d.get("client_id"), client_name=d["client_name"],
        occurred_on=date.fromisoformat(d["on"]), kind=Kind(d["kind"]), purpose=Purpose(d["purpose"]),
        note=d.get("note") or "", proof_shown=bool(d.get("proof")),
        promises=tuple(PromiseDraft(what, date.fromisoformat(due)) for what, due in d["promises"]),
        problem=d.get("problem") or None,
        asked_for=TrustLevel(d["asked_for"]) if d.get("asked_for") else None,
        demanded_justification=d.get("justification"),
        source=state.get("source", Source.COMMAND.value), won=bool(d.get("won")),
        trust_skipped=bool(state.get("trust_skipped")) and d.get("asked_for") is None,
    )
