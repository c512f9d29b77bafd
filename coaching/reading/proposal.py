"""What a reader proposes from one note, and the interface every reader implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, Sequence

from coaching.model import Kind, Purpose, TrustLevel


@dataclass(frozen=True)
class ProposedPromise:
    text: str
    due_on: date | None  # None: the reader found no due date; the conversation asks


@dataclass(frozen=True)
class Proposal:
    """What a reader understood from one note; every field may be missing."""

    client_name: str | None = None  # one of the known client names when matched, else as typed
    occurred_on: date | None = None  # a past date mentioned ("yesterday", "11/20"); None: today
    kind: Kind | None = None
    purpose: Purpose | None = None
    summary: str | None = None  # the note itself, tidied (what gets stored as the note)
    proof_shown: bool | None = None
    promises: tuple[ProposedPromise, ...] = ()
    problem: str | None = None  # a problem the client raised, in a few words
    asked_for: TrustLevel | None = None  # what the client asked of the rep (the trust signal)
    demanded_justification: bool | None = None
    source: str = "rules"  # "rules" or "llm": who proposed it (shown to nobody; for metrics)
    notes: tuple[str, ...] = field(default=())  # why a field was left out (for the accuracy report)


class NoteReader(Protocol):
    def read(self, text: str, today: date, clients: Sequence[str], language: str) -> Proposal:
        """Read ``text`` written by a rep whose local date is ``today``. ``clients`` are the
        names the rep may log against (a reader picks one of them or proposes a new name)."""
