"""Writing the touches of ``coach import interactions``: one by one, or in bulk.

**Row by row** (:func:`record_rows`): each touch goes through the service path a logged touch
takes, ``services.ensure_client`` then ``services.record_touch``, against the database: about
five statements a row. It is the reference, and what ``--row-by-row`` runs.

**In bulk** (:func:`import_in_bulk`, the default), the same result with a few statements per
thousand rows:

1. *plan*, in date order as the row-by-row import goes: each row's client (created by its first
   row, for that rep's team; a client of a team the rep cannot see stops the import on that
   line, as ``ensure_client`` would), and the rows already imported (their ``external_id`` is in
   the database, looked up a thousand at a time, or earlier in the file): counted, nothing more;
2. *replay*, client by client, each client's rows in date order: clients new to the database are
   created in one statement, then their touches go through ``services.record_touch`` itself, run
   over an in-memory store (:mod:`coaching.imports.replay`) with ids reserved in the database
   (:class:`storage.bulk.Ids`), and are written a batch of clients at a time
   (:class:`storage.bulk.BulkWriter`). Clients never affect each other's entries, so replaying
   them one after the other gives each client what the date-ordered row-by-row import gives it;
3. rows of clients the database already had (a file that adds to their history) go through
   :func:`record_rows`: their waiting problems, open setbacks and balances are in the database,
   and the service path reads them there. Slower, and exactly what the row-by-row import does;
4. the daily rules, as of the coach's today, over the whole workspace: the same
   ``daily.apply_daily_rules``, its writes batched (:class:`storage.bulk_upkeep.BatchedUpkeep`).

Everything happens in the caller's unit of work, committed once by the caller: a failure
anywhere leaves nothing written. :func:`collector_aside` keeps Python's cycle collector out of the
way of the rows read (either path).
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Callable, Iterator, Sequence, cast

from coaching import access, daily, imports, services
from coaching.daily import UpkeepResult
from coaching.imports.replay import ReplayStore
from coaching.messages import Msg
from coaching.model import Client, Person
from coaching.ports import UnitOfWork
from coaching.rules import Rules
from coaching.vocabulary import name_key
from storage.bulk import BulkWriter, Ids, NewClient
from storage.bulk_upkeep import BatchedUpkeep
from storage.uow import SqlAlchemyUnitOfWork

BATCH_ROWS = 5_000  # touches replayed before their rows are written
client_key = lru_cache(maxsize=8192)(name_key)  # what a client is known by; a file names each many times
Ready = Sequence[tuple[imports.TouchLine, Person]]
Advance = Callable[[int], None]


class ClientRefused(Exception):
    """A row names a client its rep may not reach (or cannot create): the import stops there."""

    def __init__(self, line: int, message: Msg) -> None:
        super().__init__(message.key)
        self.line, self.message = line, message


@dataclass(frozen=True)
class Outcome:
    added: int
    already: int
    entries: int
    upkeep: UpkeepResult


def record_rows(uow: UnitOfWork, ready: Ready, rules: Rules, advance: Advance) -> tuple[int, int, int]:
    """Each touch through the service path, in the order given: (added, already, entries)."""
    added = already = entries = 0
    for touch, rep in ready:
        try:
            client = services.ensure_client(uow, rep, touch.client, touch.occurred_on)
            # As of the touch's own day: a problem answered in a later row must not be booked
            # as unanswered first. What time alone earns comes from the daily rules.
            result = services.record_touch(uow, rep, client, touch.draft(client.id), rules, touch.occurred_on)
        except access.CoachError as error:
            raise ClientRefused(touch.line, error.message) from None
        if result.interaction is None:
            already += 1
        else:
            added, entries = added + 1, entries + len(result.entries)
        advance(1)
    return added, already, entries


def import_row_by_row(uow: UnitOfWork, ws: str, ready: Ready, rules: Rules, today: date,
                      advance: Advance) -> Outcome:
    added, already, entries = record_rows(uow, ready, rules, advance)
    return Outcome(added, already, entries, daily.apply_daily_rules(uow, ws, today, rules))


@dataclass
class _Plan:
    new_clients: list[NewClient] = field(default_factory=list)  # in the order they are created
    fresh: list[list[tuple[imports.TouchLine, Person]]] = field(default_factory=list)  # each new client's rows
    existing: list[tuple[imports.TouchLine, Person]] = field(default_factory=list)  # rows of known clients
    already: int = 0


class _Planner:
    """Step 1: who each row's client is, and which rows are already in."""

    def __init__(self, uow: UnitOfWork, ws: str, writer: BulkWriter, ready: Ready) -> None:
        self.uow = uow
        self.known = {name_key(c.name): c for c in uow.clients.list(ws)}
        self.taken = writer.existing_external_ids([t.external_id for t, _ in ready])
        self.new: dict[str, int] = {}  # name key -> index in plan.new_clients
        self.sight: dict[int, tuple[int, ...]] = {}  # rep id -> the teams they see
        self.plan = _Plan()

    def place(self, touch: imports.TouchLine, rep: Person) -> None:
        key = client_key(touch.client)
        known = self.known.get(key)
        if known is None and key not in self.new:
            if not rep.team_ids:
                raise ClientRefused(touch.line, Msg("error.no_team", {}))
            self.new[key] = len(self.plan.new_clients)
            self.plan.new_clients.append(NewClient(touch.client.strip(), rep.team_ids[0], rep.id, touch.occurred_on))
            self.plan.fresh.append([])
        team_id, name = ((known.team_id, known.name) if known is not None
                         else (self.plan.new_clients[self.new[key]].team_id, self.plan.new_clients[self.new[key]].name))
        if rep.id not in self.sight:
            self.sight[rep.id] = access.visible_team_ids(self.uow, rep)
        if team_id not in self.sight[rep.id]:
            raise ClientRefused(touch.line, Msg("error.client_other_team", {"name": name}))
        if touch.external_id in self.taken:
            self.plan.already += 1
            return
        self.taken.add(touch.external_id)
        if known is not None:
            self.plan.existing.append((touch, rep))
        else:
            self.plan.fresh[self.new[key]].append((touch, rep))


def import_in_bulk(uow: UnitOfWork, ws: str, ready: Ready, rules: Rules, today: date, advance: Advance,
                   batch_rows: int | None = None) -> Outcome:
    """The bulk path (see the module's docstring); ``ready`` in date order, emptied once planned.
    A unit of work that is not SQL gets the row-by-row path."""
    if not isinstance(uow, SqlAlchemyUnitOfWork):
        return import_row_by_row(uow, ws, ready, rules, today, advance)
    writer = BulkWriter(uow.session, ws)
    planner = _Planner(uow, ws, writer, ready)
    for touch, rep in ready:
        planner.place(touch, rep)
    if isinstance(ready, list):
        ready.clear()  # the plan holds the rows now, and lets each go once it is replayed
    plan = planner.plan
    advance(plan.already)
    clients = writer.add_clients(plan.new_clients)
    added, already, entries = _replay(writer, ws, clients, plan.fresh, rules, advance, batch_rows or BATCH_ROWS)
    more = record_rows(uow, plan.existing, rules, advance)
    upkeep = BatchedUpkeep(uow, ws)
    daily.apply_daily_rules(cast(UnitOfWork, upkeep), ws, today, rules)
    return Outcome(added + more[0], plan.already + already + more[1], entries + more[2], upkeep.flush())


def _replay(writer: BulkWriter, ws: str, clients: list[Client], rows: list[list[tuple[imports.TouchLine, Person]]],
            rules: Rules, advance: Advance, batch_rows: int) -> tuple[int, int, int]:
    """Step 2: each new client's touches through ``record_touch`` in memory, written in batches."""
    ids = Ids(writer.session, writer.lock)
    ids.prime()
    store = ReplayStore(ws, ids)
    added = already = entries = 0
    with writer.in_background() as write:  # PostgreSQL writes a batch while the next is replayed
        for client, touches in zip(clients, rows, strict=True):
            store.begin(client)
            for touch, rep in touches:
                current = store.client(client.id)
                result = services.record_touch(cast(UnitOfWork, store), rep, current, touch.draft(client.id), rules,
                                               touch.occurred_on)
                if result.interaction is None:  # never: the plan left repeated rows out
                    already += 1
                else:
                    added, entries = added + 1, entries + len(result.entries)
            touches.clear()  # what was read of the file goes as soon as it is replayed
            if len(store.batch) >= batch_rows:
                advance(len(store.batch))
                write(store.drain())
        advance(len(store.batch))
        write(store.drain())
    return added, already, entries


@contextmanager
def collector_aside() -> Iterator[Callable[[], None]]:
    """Python's cycle collector kept out of the way of a large file's hundreds of thousands of
    live values (none in a cycle), which every full collection would walk again: it is paused
    while the file is read; ``read()`` then freezes what was read out of its sight
    (``gc.freeze``) and lets it work while the touches are written, so it still collects what
    writing leaves in cycles (the ORM's, row by row)."""
    enabled = gc.isenabled()
    gc.disable()

    def read() -> None:
        gc.freeze()
        if enabled:
            gc.enable()

    try:
        yield read
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()
