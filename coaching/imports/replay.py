"""Replaying touches in memory: the bulk import's stand-in for the unit of work.

The bulk import hands every touch of a client that is new to the database to
:func:`coaching.services.record_touch` itself, run over a :class:`ReplayStore` instead of the
database. Nothing of the per-touch rules is written again here: which entries a touch earns, in
which order, the problems a service touch answers, the setback a false claim resets (from the
balance as it stands), the correction that puts the open setback right, promises settled in the
file, won deals, trust moves: all of it is ``record_touch``'s own code. The store only answers
    Purpose,
the few questions ``record_touch`` asks (a client's balance, its waiting problems, its ledger,
its latest touches) from what was replayed so far, exactly as the repositories would answer
them from the rows written so far.

Rows get the ids storage reserved for them (``ids``, one call per row), so every key
(``interaction:12:give``, ``promise:7:closed``, ``put_right:31``) is the one the row-by-row
import gives a row with that id. What to write piles up in a :class:`Batch`; :meth:`ReplayStore.drain`
hands it over and forgets the clients replayed so far. A client's touches are replayed together,
in date order, before the batch is drained (clients never affect each other's entries).

Pure: no I/O, no clock.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Callable

from coaching.model import (
    Client,
    EntryDraft,
    Interaction,
    InteractionDraft,
    LedgerEntry,
    Problem,
    Promise,
    PromiseStatus,
    Purpose,
    TrustLevel,
)
from coaching.trust import Signal, assess

IdSource = Callable[[str], int]
"""A fresh id for a row of the named table (``interactions``, ``promises``, ``problems``,
``ledger_entries``), never handed out before."""


@dataclass(frozen=True)
class Deal:
    client_id: int
    rep_id: int
    interaction_id: int | None
    won_on: date
    note: str


@dataclass
class Batch:
    """What the replayed touches leave to write: every row in its final state."""

    interactions: list[tuple[Interaction, str | None]] = field(default_factory=list)  # with the external id
    promises: dict[int, Promise] = field(default_factory=dict)
    problems: dict[int, Problem] = field(default_factory=dict)
    deals: list[Deal] = field(default_factory=list)
    entries: list[LedgerEntry] = field(default_factory=list)
    trust: dict[int, Client] = field(default_factory=dict)  # clients whose trust was set

    def __len__(self) -> int:
        return len(self.interactions)


class _Book:
    """One client's record as replayed so far."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.touches: list[tuple[date, int, Interaction]] = []  # oldest first
        self.external_ids: set[str] = set()
        self.entries: list[LedgerEntry] = []
        self.keys: set[str] = set()
        self.balance = 0
        self.waiting: list[Problem] = []  # unanswered, in the order raised


class ReplayStore:
    """The part of a unit of work :func:`coaching.services.record_touch` uses, in memory, for
    clients the database does not know yet (their whole record is here)."""

    def __init__(self, workspace_id: str, ids: IdSource) -> None:
        self.workspace_id = workspace_id
        self.ids = ids
        self.books: dict[int, _Book] = {}
        self.batch = Batch()
        self.clients = _Clients(self)
        self.interactions = _Interactions(self)
        self.promises = _Promises(self)
        self.problems = _Problems(self)
        self.deals = _Deals(self)
        self.ledger = _Ledger(self)

    def begin(self, client: Client) -> None:
        """Replay ``client``'s touches from here on (a client new to the database)."""
        self.books[client.id] = _Book(client)

    def client(self, client_id: int) -> Client:
        """The client as it stands now (its trust may have moved)."""
        return self.books[client_id].client

    def book(self, workspace_id: str, client_id: int) -> _Book:
        if workspace_id != self.workspace_id or client_id not in self.books:
            raise LookupError(f"client {client_id} is not being replayed")
        return self.books[client_id]

    def drain(self) -> Batch:
        """What to write for the clients replayed so far; they are forgotten."""
        batch, self.batch, self.books = self.batch, Batch(), {}
        return batch


class _Part:
    def __init__(self, store: ReplayStore) -> None:
        self.store = store


class _Clients(_Part):
    def set_trust(self, workspace_id: str, client_id: int, level: TrustLevel | None, on: date,
                  asked_for: TrustLevel | None, demanded_justification: bool | None) -> None:
        book = self.store.book(workspace_id, client_id)
        book.client = replace(book.client, trust_level=level, trust_assessed_on=on, trust_asked_for=asked_for,
                              trust_demanded_justification=demanded_justification)
        self.store.batch.trust[client_id] = book.client


class _Interactions(_Part):
    def add(self, workspace_id: str, rep_id: int, draft: InteractionDraft) -> Interaction | None:
        book = self.store.book(workspace_id, draft.client_id)
        if draft.external_id is not None:
            if draft.external_id in book.external_ids:
                return None
            book.external_ids.add(draft.external_id)
        touch = Interaction(
            self.store.ids("interactions"), workspace_id, draft.client_id, rep_id, draft.occurred_on, draft.kind,
            draft.purpose, note=draft.note, proof_shown=draft.proof_shown, source=draft.source,
            asked_for=draft.asked_for, demanded_justification=draft.demanded_justification,
        )
        bisect.insort(book.touches, (touch.occurred_on, touch.id, touch), key=lambda t: (t[0], t[1]))
        self.store.batch.interactions.append((touch, draft.external_id))
        return touch

    def for_client(self, workspace_id: str, client_id: int, limit: int = 20) -> list[Interaction]:
        """Newest first (replayed touches are never voided)."""
        touches = self.store.book(workspace_id, client_id).touches
        return [t for _, _, t in touches[max(len(touches) - limit, 0):][::-1]]

    def recent_purposes(self, workspace_id: str, client_id: int, limit: int) -> list[Purpose]:
        return [t.purpose for t in self.for_client(workspace_id, client_id, limit)]

    def trust_signals(self, workspace_id: str, client_id: int, after: date | None, limit: int) -> list[Signal]:
        newest_first = self.store.book(workspace_id, client_id).touches[::-1]
        said = [t for _, _, t in newest_first if t.asked_for is not None and (after is None or t.occurred_on > after)]
        return [Signal(t.occurred_on, assess(t.asked_for, t.demanded_justification))  # type: ignore[arg-type]
                for t in said[:limit]]


class _Promises(_Part):
    def add(self, workspace_id: str, client_id: int, rep_id: int, interaction_id: int | None,
            text: str, made_on: date, due_on: date) -> Promise:
        self.store.book(workspace_id, client_id)
        promise = Promise(self.store.ids("promises"), workspace_id, client_id, rep_id, interaction_id, text,
                          made_on, due_on, status=PromiseStatus.OPEN)
        self.store.batch.promises[promise.id] = promise
        return promise

    def close(self, workspace_id: str, promise_id: int, status: PromiseStatus, closed_on: date) -> Promise:
        promises = self.store.batch.promises
        if promise_id not in promises or workspace_id != self.store.workspace_id:
            raise LookupError(f"no promise {promise_id} in workspace {workspace_id!r}")
        promises[promise_id] = replace(promises[promise_id], status=status, closed_on=closed_on)
        return promises[promise_id]


class _Problems(_Part):
    def add(self, workspace_id: str, client_id: int, rep_id: int, interaction_id: int | None,
            text: str, raised_on: date, first_response_on: date | None = None) -> Problem:
        book = self.store.book(workspace_id, client_id)
        problem = Problem(self.store.ids("problems"), workspace_id, client_id, rep_id, interaction_id, text,
                          raised_on, first_response_on=first_response_on)
        self.store.batch.problems[problem.id] = problem
        if first_response_on is None:
            book.waiting.append(problem)
        return problem

    def unanswered(self, workspace_id: str, client_id: int | None = None) -> list[Problem]:
        """Longest waiting first."""
        if client_id is None:
            raise NotImplementedError("a replay answers for one client at a time")
        return sorted(self.store.book(workspace_id, client_id).waiting, key=lambda p: (p.raised_on, p.id))

    def answer(self, workspace_id: str, problem_id: int, on: date) -> Problem:
        """Records the first response; answering again keeps the first date."""
        problems = self.store.batch.problems
        if problem_id not in problems or workspace_id != self.store.workspace_id:
            raise LookupError(f"no problem {problem_id} in workspace {workspace_id!r}")
        problem = problems[problem_id]
        if problem.first_response_on is None:
            problem = problems[problem_id] = replace(problem, first_response_on=on)
            book = self.store.book(workspace_id, problem.client_id)
            book.waiting = [p for p in book.waiting if p.id != problem_id]
        return problem


class _Deals(_Part):
    def add(self, workspace_id: str, client_id: int, rep_id: int, interaction_id: int | None, won_on: date,
            note: str) -> None:
        self.store.book(workspace_id, client_id)
        self.store.batch.deals.append(Deal(client_id, rep_id, interaction_id, won_on, note))


class _Ledger(_Part):
    def add(self, workspace_id: str, draft: EntryDraft) -> LedgerEntry | None:
        """Once per key, like ``INSERT ... ON CONFLICT (workspace_id, key) DO NOTHING``: every
        key a touch books names a row of this client, so the client's own keys are all there is
        to collide with."""
        book = self.store.book(workspace_id, draft.client_id)
        if draft.key in book.keys:
            return None
        entry = LedgerEntry(
            self.store.ids("ledger_entries"), workspace_id, draft.client_id, draft.rep_id, draft.amount,
            draft.reason, draft.occurred_on, draft.key, cause=draft.cause, detail=dict(draft.detail),
            reverses_id=draft.reverses_id,
        )
        book.keys.add(entry.key)
        book.entries.append(entry)
        book.balance += entry.amount
        self.store.batch.entries.append(entry)
        return entry

    def for_client(self, workspace_id: str, client_id: int) -> list[LedgerEntry]:
        return sorted(self.store.book(workspace_id, client_id).entries, key=lambda e: (e.occurred_on, e.id))

    def balance(self, workspace_id: str, client_id: int) -> int:
        return self.store.book(workspace_id, client_id).balance
