"""Writing a bulk import in batches: ids reserved ahead, rows inserted many at a time.

The bulk import (``bot.bulk_import``) replays touches in memory (:mod:`coaching.imports.replay`)
and needs the ids of the rows it makes before they are written, because ledger keys name them
(``interaction:12:give``, ``promise:7:closed``, ``put_right:31``). :class:`Ids` reserves them:

- PostgreSQL: ``nextval`` of the table's own sequence, a block at a time, so nobody else can be
  given them, whatever runs alongside;
- SQLite: one past the largest id, counted on in this process. SQLite has one writer at a time
  and the import holds the write lock from its first insert (the new clients, whose ids the
  database gives) until it commits, so nobody else can take them either. (Another process
  taking an id first would make the insert fail, and the whole import with it; one process is
  the supported topology on SQLite.)

:class:`BulkWriter` inserts with one ``executemany`` (SQLite) or one ``COPY`` (PostgreSQL) per
table and batch, in the unit of work's own transaction, so a failure anywhere rolls back every
batch written before it. Rows go in foreign-key order. :meth:`BulkWriter.in_background` writes
each batch in a thread of its own while the caller replays the next one (the database works
while Python computes); the thread is the only user of the connection meanwhile, except
:class:`Ids`, which waits for it.
"""

from __future__ import annotations

import enum
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Callable, Iterator, Sequence

from sqlalchemy import Boolean, Date, DateTime, Table, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from coaching.errors import StorageUnavailable
from coaching.imports.replay import Batch
from coaching.model import Client, Kind, LedgerEntry, PromiseStatus, Purpose, Reason
from coaching.vocabulary import name_key
from storage.models import ClientRow, DealRow, InteractionRow, LedgerEntryRow, ProblemRow, PromiseRow
from storage.summary_upkeep import mark

COLUMNS: dict[str, tuple[str, ...]] = {
    "interactions": ("id", "workspace_id", "client_id", "rep_id", "occurred_on", "kind", "purpose", "note",
                     "proof_shown", "source", "external_id", "voided", "logged_at", "asked_for",
                     "demanded_justification"),
    "promises": ("id", "workspace_id", "client_id", "rep_id", "interaction_id", "text", "made_on", "due_on",
                 "status", "closed_on"),
    "problems": ("id", "workspace_id", "client_id", "rep_id", "interaction_id", "text", "raised_on",
                 "first_response_on", "resolved_on"),
    "deals": ("workspace_id", "client_id", "rep_id", "interaction_id", "won_on", "note"),
    "ledger_entries": ("id", "workspace_id", "client_id", "rep_id", "amount", "reason", "occurred_on", "key",
                       "cause", "detail", "reverses_id"),
}
TABLES: dict[str, Table] = {row.__table__.name: row.__table__ for row in (  # type: ignore[attr-defined]
    InteractionRow, PromiseRow, ProblemRow, DealRow, LedgerEntryRow)}
CODES: dict[enum.Enum, str] = {m: m.value for e in (Kind, Purpose, PromiseStatus, Reason) for m in e}
"""Each code's text (quicker than ``.value``, read hundreds of thousands of times)."""
ID_TABLES = ("interactions", "promises", "problems", "ledger_entries")
ID_BLOCK = 20_000  # most ids reserved per round trip on PostgreSQL
LOOKUP_CHUNK = {"postgresql": 20_000, "sqlite": 10_000}  # values per look-up (SQLite allows 32,766 parameters)


class Ids:
    """Fresh ids for rows of the big tables, in increasing order (see the module's docstring).
    ``lock`` is held while reserving more (a background writer holds it while it writes)."""

    def __init__(self, session: Session, lock: threading.Lock | None = None, block: int = ID_BLOCK) -> None:
        self.session = session
        self.lock = lock or threading.Lock()
        self.block = block
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self._free: dict[str, deque[int]] = {table: deque() for table in ID_TABLES}
        self._next: dict[str, int] = {}
        self._sequences: dict[str, str] = {}
        self._sizes: dict[str, int] = {}

    def prime(self) -> None:
        """Read now what the first ids need (on SQLite, the largest id of each table)."""
        if not self.postgres:
            for table in ID_TABLES:
                self._start(table)

    def take(self, table: str, count: int) -> list[int]:
        return [self(table) for _ in range(count)]

    def __call__(self, table: str) -> int:
        if not self.postgres:
            if table not in self._next:
                self._start(table)
            self._next[table] += 1
            return self._next[table] - 1
        free = self._free[table]
        if not free:
            self._reserve(table)
        return free.popleft()

    def _reserve(self, table: str) -> None:
        """The next block of the table's sequence: a small one first, then larger ones up to
        ``block`` (a small file leaves few numbers unused)."""
        with self.lock:
            if table not in self._sequences:
                self._sequences[table] = self.session.scalar(
                    text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table})
            size = self._sizes[table] = min(self._sizes.get(table, 50) * 4, self.block)
            self._free[table].extend(sorted(self.session.scalar(
                text("SELECT array(SELECT nextval(CAST(:sequence AS regclass)) FROM generate_series(1, :n))"),
                {"sequence": self._sequences[table], "n": size})))

    def _start(self, table: str) -> None:
        with self.lock:
            top = self.session.scalar(select(func.max(TABLES[table].c.id)))
        self._next[table] = (top or 0) + 1


@dataclass(frozen=True)
class NewClient:
    name: str
    team_id: int
    owner_id: int
    created_on: date


class BulkWriter:
    """Batched writes of one workspace's import, in the unit of work's transaction."""

    def __init__(self, session: Session, workspace_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.dialect = session.get_bind().dialect
        self.lock = threading.Lock()  # held while a batch is written
        self._convert = {name: self._processors(table) for name, table in TABLES.items()}

    def existing_external_ids(self, external_ids: Sequence[str]) -> set[str]:
        """Those of ``external_ids`` some touch of the workspace already carries."""
        return self._existing(InteractionRow.external_id, external_ids)

    def existing_keys(self, keys: Sequence[str]) -> set[str]:
        """Those of ``keys`` the workspace's ledger already holds."""
        return self._existing(LedgerEntryRow.key, keys)

    def _existing(self, column: Any, values: Sequence[str]) -> set[str]:
        """Those of ``values`` the workspace's rows already hold in ``column`` (a touch's
        ``external_id``, an entry's ``key``), looked up many at a time."""
        found: set[str] = set()
        chunk = LOOKUP_CHUNK.get(self.dialect.name, 1000)
        owner = column.class_.workspace_id
        for start in range(0, len(values), chunk):
            part = list(values[start:start + chunk])
            test = column == func.any(bindparam("values", part)) if self.dialect.name == "postgresql" \
                else column.in_(part)
            found.update(self.session.scalars(select(column).where(owner == self.workspace_id, test)))
        return found

    def add_clients(self, clients: Sequence[NewClient]) -> list[Client]:
        """The clients, created in the order given (their ids are the database's)."""
        if not clients:
            return []
        table: Table = ClientRow.__table__  # type: ignore[assignment]
        rows = [dict(workspace_id=self.workspace_id, name=c.name, name_key=name_key(c.name), team_id=c.team_id,
                     owner_id=c.owner_id, created_on=c.created_on) for c in clients]
        result = self.session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
        return [Client(new_id, self.workspace_id, c.name, c.team_id, c.owner_id, c.created_on)
                for new_id, c in zip(result.scalars(), clients, strict=True)]

    def write(self, batch: Batch) -> None:
        """Every row of ``batch``, parents first."""
        ws, now, code = self.workspace_id, datetime.now(UTC), CODES.__getitem__
        self._insert("interactions", [
            (t.id, ws, t.client_id, t.rep_id, t.occurred_on, code(t.kind), code(t.purpose), t.note, t.proof_shown,
             t.source, external_id, False, now, None if t.asked_for is None else int(t.asked_for),
             t.demanded_justification) for t, external_id in batch.interactions])
        self._insert("promises", [
            (p.id, ws, p.client_id, p.rep_id, p.interaction_id, p.text, p.made_on, p.due_on, code(p.status),
             p.closed_on) for p in batch.promises.values()])
        self._insert("problems", [
            (p.id, ws, p.client_id, p.rep_id, p.interaction_id, p.text, p.raised_on, p.first_response_on,
             p.resolved_on) for p in batch.problems.values()])
        self._insert("deals", [(ws, d.client_id, d.rep_id, d.interaction_id, d.won_on, d.note) for d in batch.deals])
        self.add_entries(batch.entries)
        self._mark([(t.client_id, t.occurred_on) for t, _ in batch.interactions]
                   + [(p.client_id, p.made_on) for p in batch.promises.values()]
                   + [(p.client_id, p.raised_on) for p in batch.problems.values()]
                   + [(d.client_id, d.won_on) for d in batch.deals])
        self._set_trust(list(batch.trust.values()))

    @contextmanager
    def in_background(self) -> Iterator[Callable[[Batch], None]]:
        """``submit(batch)`` writes ``batch`` in a thread of its own, after the batch before it
        (whose failure it raises). Leaving waits for the last one; its failure is raised then,
        unless the block is already raising one. On SQLite, whose work is done in this process
        (under the same interpreter lock), ``submit`` simply writes."""
        if self.dialect.name != "postgresql":
            yield self.write
            return
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-import")
        pending: list[Future[None]] = []

        def submit(batch: Batch) -> None:
            if pending:
                pending.pop().result()
            pending.append(pool.submit(self._write_locked, batch))

        try:
            yield submit
            if pending:
                pending.pop().result()
        finally:
            pool.shutdown(wait=True)  # never leave the connection to the thread while the caller rolls back

    def add_entries(self, entries: Sequence[LedgerEntry], ids: Sequence[int] | None = None) -> None:
        """The entries, with their own ids or with ``ids``."""
        ws, code = self.workspace_id, CODES.__getitem__
        self._insert("ledger_entries", [
            (i, ws, e.client_id, e.rep_id, e.amount, code(e.reason), e.occurred_on, e.key, e.cause, e.detail,
             e.reverses_id) for i, e in zip([e.id for e in entries] if ids is None else ids, entries, strict=True)])
        self._mark([(e.client_id, e.occurred_on) for e in entries])

    def _mark(self, records: Sequence[tuple[int, date]]) -> None:
        """The clients' summaries are recomputed at commit (:mod:`storage.summaries`)."""
        for client_id, day in records:
            mark(self.session, self.workspace_id, client_id, day)

    def close_promises(self, closed: Sequence[tuple[int, str, date]]) -> None:
        """(id, status, closed on) for each promise."""
        if closed:
            table: Table = PromiseRow.__table__  # type: ignore[assignment]
            self.session.execute(
                update(table).where(table.c.id == bindparam("pid"), table.c.workspace_id == self.workspace_id)
                .values(status=bindparam("new_status"), closed_on=bindparam("new_closed_on")),
                [{"pid": pid, "new_status": status, "new_closed_on": on} for pid, status, on in closed])

    def _write_locked(self, batch: Batch) -> None:
        with self.lock:
            self.write(batch)

    def _set_trust(self, clients: Sequence[Client]) -> None:
        table: Table = ClientRow.__table__  # type: ignore[assignment]
        rows = [{"cid": c.id, "level": None if c.trust_level is None else int(c.trust_level),
                 "on": c.trust_assessed_on, "asked": None if c.trust_asked_for is None else int(c.trust_asked_for),
                 "justify": c.trust_demanded_justification} for c in clients]
        if rows:
            self.session.execute(update(table).where(table.c.id == bindparam("cid")).values(
                trust_level=bindparam("level"), trust_assessed_on=bindparam("on"), trust_asked_for=bindparam("asked"),
                trust_demanded_justification=bindparam("justify")), rows)

    def _processors(self, table: Table) -> dict[int, Callable[[Any], Any]]:
        """What SQLAlchemy does to a value of each column before the driver sees it, by position
        (once per distinct value for dates and flags: a file has a few hundred days)."""
        found = {}
        for i, name in enumerate(COLUMNS[table.name]):
            kind = table.c[name].type
            if (process := kind.dialect_impl(self.dialect).bind_processor(self.dialect)) is not None:
                found[i] = _once_per_value(process) if isinstance(kind, (Date, DateTime, Boolean)) else process
        return found

    def _insert(self, name: str, rows: list[tuple[Any, ...]]) -> None:
        """``rows`` (values in the order of ``COLUMNS[name]``) in one ``executemany`` (SQLite) or
        one ``COPY`` (PostgreSQL), each value turned into what the column stores as SQLAlchemy would."""
        if not rows:
            return
        if convert := self._convert[name]:  # column by column: a C loop over the values of each
            values = [list(map(convert[i], column)) if i in convert else column for i, column in enumerate(zip(*rows))]
            rows = list(zip(*values))
        columns = ", ".join(COLUMNS[name])
        connection = self.session.connection()
        if self.dialect.name != "postgresql":
            marks = ", ".join("?" * len(COLUMNS[name]))
            connection.exec_driver_sql(f"INSERT INTO {name} ({columns}) VALUES ({marks})", rows)
            return
        dbapi = self.dialect.dbapi
        try:
            with connection.connection.driver_connection.cursor() as cursor, \
                    cursor.copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        except (dbapi.OperationalError, dbapi.InterfaceError) as error:  # as storage.errors does for the rest
            raise StorageUnavailable(str(error).strip().splitlines()[0] if str(error).strip() else "?") from error


def _once_per_value(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    done: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        if value not in done:
            done[value] = process(value)
        return done[value]
    return convert
