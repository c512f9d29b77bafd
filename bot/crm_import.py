"""``coach import salesforce|hubspot|mapped``: a CRM's or an SFA's activity history into the coach.

The files are read (UTF-8 with or without a BOM, or cp932 as Excel saves "CSV" in Japan), each
row turned into an activity by its source (:mod:`coaching.imports.salesforce`,
:mod:`~coaching.imports.hubspot`, :mod:`~coaching.imports.mapped`), each activity into a touch by
the note reader (:mod:`coaching.imports.activities`), and the touches written as ``coach import
interactions`` writes its own (:func:`bot.importer.write_touches`: in bulk, in one transaction,
each once). With ``dry_run`` nothing is written: the report says what would be.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable, Iterator, Sequence

from bot import importer
from bot.bootstrap import Coach
from coaching.imports import activities as act
from coaching.imports import hubspot, mapped, salesforce
from coaching.imports.activities import Activity, Context, Record, Tally
from coaching.imports.interactions import TouchLine
from coaching.imports.shape import MAX_FIELD_CHARS
from coaching.messages import msg
from coaching.reading.rules import RuleReader
from storage.bulk import BulkWriter
from storage.repositories import name_key


@dataclass
class CrmReport:
    rows: int
    tally: Tally
    unrostered: dict[str, int]
    clients_new: int = 0
    clients_existing: int = 0
    already: int = 0  # touches imported before (their external id is there)
    written: importer.ImportReport | None = None  # None: a dry run


@dataclass(frozen=True)
class Table:
    name: str
    headers: tuple[str, ...]  # header keys
    records: list[Record]


def read_table(path: Path) -> Table:
    """Every data row of a CSV export, keyed by :func:`act.header_key`; a multi-line quoted cell
    keeps its line breaks, and each row its first line's number."""
    text = importer.decode(path)
    reader = csv.reader(importer.lines(text))
    headers: list[str] | None = None
    records: list[Record] = []
    end = 0
    try:
        for cells in reader:
            start, end = end + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if headers is None:
                headers = [act.header_key(c) for c in cells]
                continue
            if max(map(len, cells), default=0) > MAX_FIELD_CHARS:
                raise importer.ImportFailed([(start, msg("import.value_too_long", limit=MAX_FIELD_CHARS))])
            records.append(Record(path.name, start, {h: c.strip() for h, c in zip(headers, cells) if h}))
    except csv.Error as error:
        failure = (msg("import.value_too_long", limit=MAX_FIELD_CHARS) if "field larger" in str(error)
                   else msg("import.bad_csv"))
        raise importer.ImportFailed([(reader.line_num or end + 1, failure)]) from None
    if headers is None:
        raise importer.ImportFailed([(None, msg("import.empty", path=str(path)))])
    return Table(path.name, tuple(headers), records)


def _require(table: Table, needed: Sequence[str | tuple[str, ...]]) -> None:
    """Each of ``needed`` (a header key, or a choice of them) must be a column of ``table``."""
    present = set(table.headers)
    missing = [n if isinstance(n, str) else " / ".join(n) for n in needed
               if not (n in present if isinstance(n, str) else present.intersection(n))]
    if missing:
        raise importer.ImportFailed([(1, msg("import.crm_missing_columns", file=table.name, columns=missing))])


def _context(coach: Coach, today: date) -> Context:
    with coach.uow_factory() as uow:
        people = uow.people.list(coach.workspace)
    return Context(frozenset(p.email for p in people), {act.person_key(p.name): p.email for p in people}, today)


# --- the sources -----------------------------------------------------------------------------

Source = Callable[[Context], tuple[list[Activity], int, dict[str, int]]]


def salesforce_source(tasks: Path | None, events: Path | None, accounts: Path, users: Path) -> Source:
    def read(ctx: Context) -> tuple[list[Activity], int, dict[str, int]]:
        account_table, user_table = read_table(accounts), read_table(users)
        _require(account_table, salesforce.REQUIRED["accounts"])
        _require(user_table, salesforce.REQUIRED["users"])
        names, emails = salesforce.ids(account_table.records, "name"), salesforce.ids(user_table.records, "email")
        found: list[Activity] = []
        files: dict[str, int] = {}
        for path, kind, read_rows in ((tasks, "tasks", salesforce.tasks), (events, "events", salesforce.events)):
            if path is not None:
                table = read_table(path)
                _require(table, salesforce.REQUIRED[kind])
                files[table.name] = len(table.records)
                found += read_rows(table.records, names, emails, ctx)
        return found, sum(files.values()), files
    return read


def hubspot_source(exports: dict[str, Path], owners: Path | None, companies: Path | None) -> Source:
    def read(ctx: Context) -> tuple[list[Activity], int, dict[str, int]]:
        owner_ids = hubspot.owners(read_table(owners).records) if owners else {}
        company_ids = hubspot.companies(read_table(companies).records) if companies else {}
        found: list[Activity] = []
        files: dict[str, int] = {}
        for kind, path in exports.items():
            table = read_table(path)
            _require(table, hubspot.REQUIRED[kind])
            files[table.name] = len(table.records)
            found += hubspot.activities(kind, table.records, owner_ids, company_ids, ctx)
        return found, sum(files.values()), files
    return read


def mapped_source(path: Path, mapping: mapped.ColumnMap, name: str) -> Source:
    def read(ctx: Context) -> tuple[list[Activity], int, dict[str, int]]:
        table = read_table(path)
        try:
            headers = mapping.resolve(table.headers)
        except mapped.MappingError as error:
            raise importer.ImportFailed([(1, msg("import.crm_missing_columns", file=table.name,
                                                 columns=[error.detail]))]) from None
        return mapped.activities(table.records, mapping, headers, ctx, name), len(table.records), {
            table.name: len(table.records)}
    return read


# --- reading the notes, and writing ----------------------------------------------------------

PARALLEL_FROM = 5_000  # activities: fewer are read in this process (a worker costs its start-up)
CHUNK = 2_000


def _touches(found: list[Activity], ctx: Context, bar: Callable[..., None], parallel_from: int) -> list[TouchLine]:
    """Each activity's touch, in date order; an activity named twice (the same record in two
    files) once. Many are read in worker processes, one per core: the rule reader is pure
    Python (0.3 ms a note), so 100,000 notes are 30 s on one core."""
    seen: set[str] = set()
    unique = []
    for activity in sorted(found, key=lambda a: (a.on, a.file, a.line)):
        if activity.external_id not in seen:
            seen.add(activity.external_id)
            unique.append(activity)
    size = CHUNK if len(unique) >= PARALLEL_FROM else max(1, len(unique) // 2)
    chunks = [unique[i:i + size] for i in range(0, len(unique), size)]
    workers = min(os.cpu_count() or 1, len(chunks)) if len(unique) >= parallel_from else 1
    touches: list[TouchLine] = []
    if workers <= 1:
        for chunk in chunks:
            touches += _read(chunk, ctx.today, ctx.tally)
            bar(len(chunk))
        return touches
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for chunk, (read, tally) in zip(chunks, pool.map(_read_apart, chunks, [ctx.today] * len(chunks))):
            touches += read
            ctx.tally.merge(tally)
            bar(len(chunk))
    return touches


def _read(chunk: list[Activity], today: date, tally: Tally) -> list[TouchLine]:
    reader = _CachedReader(RuleReader())
    return [act.touch_of(activity, reader, today, tally) for activity in chunk]


def _read_apart(chunk: list[Activity], today: date) -> tuple[list[TouchLine], Tally]:
    """:func:`_read` in a worker process, with a tally of its own."""
    tally = Tally()
    return _read(chunk, today, tally), tally


class _CachedReader:
    """The rule reader, once per distinct short note and day: exports repeat "Call", "Sent email"
    thousands of times, while long notes are each their own (keeping them would only hold memory)."""

    SHORT = 64

    def __init__(self, reader: RuleReader) -> None:
        self.reader, self.seen = reader, {}

    def read(self, text, today, clients, language):
        if len(text) > self.SHORT:
            return self.reader.read(text, today, clients, language)
        key = (text, today, tuple(clients))
        if (found := self.seen.get(key)) is None:
            found = self.seen[key] = self.reader.read(text, today, clients, language)
        return found


def run(coach: Coach, source: Source, *, dry_run: bool, progress: bool = False,
        skip_invalid: bool = False, parallel_from: int = PARALLEL_FROM) -> CrmReport:
    today = coach.clock().date()
    ctx = _context(coach, today)
    found, rows, _ = source(ctx)
    with importer.bar(coach, progress and len(found) >= importer.BAR_ROWS, len(found), "import.reading") as advance:
        touches = _touches(found, ctx, advance, parallel_from)
    report = CrmReport(rows, ctx.tally, dict(ctx.unrostered))
    _preview(coach, touches, report)
    if dry_run:
        return report
    reps: dict[str, list[int]] = {}
    for touch in touches:
        reps.setdefault(touch.rep_email, []).append(touch.line)
    report.written = importer.write_touches(coach, today, (rows, touches, [], reps), skip_invalid, progress, False)
    return report


def _preview(coach: Coach, touches: list[TouchLine], report: CrmReport) -> None:
    """Clients new and existing, and touches already imported, as the database stands."""
    keys = {name_key(t.client) for t in touches}
    with coach.uow_factory() as uow:
        known = {name_key(c.name) for c in uow.clients.list(coach.workspace)}
        report.already = len(BulkWriter(uow.session, coach.workspace).existing_external_ids(
            sorted({t.external_id for t in touches})))
    report.clients_existing = len(keys & known)
    report.clients_new = len(keys - known)


def lines_of(report: CrmReport) -> Iterator:
    """The report's lines (messages), for the terminal."""
    t = report.tally
    if report.written is None:
        yield msg("import.crm_dry_run", touches=t.touches, rows=report.rows, already=report.already)
    else:
        w = report.written
        yield msg("import.crm_done", added=w.added, already=w.already, rows=report.rows,
                  clients=w.extra.get("clients_created", 0), entries=w.extra.get("entries", 0))
    yield msg("import.crm_reps", count=len(t.by_rep),
              reps=[msg("import.crm_counted", name=email, count=n)
                    for email, n in sorted(t.by_rep.items(), key=lambda x: (-x[1], x[0]))])
    if report.unrostered:
        yield msg("import.crm_unrostered", owners=[msg("import.crm_counted", name=o, count=n)
                                                   for o, n in sorted(report.unrostered.items())])
    yield msg("import.crm_clients", new=report.clients_new, existing=report.clients_existing)
    p = t.by_purpose
    yield msg("import.crm_purposes", give=p["give"], ask=p["ask"], service=p["service"], contact=p["contact"],
              unread=t.unread)
    if t.promises or t.promises_past or t.problems or t.problems_old:
        yield msg("import.crm_promises", promises=t.promises, past=t.promises_past, problems=t.problems,
                  old=t.problems_old)
    for reason, where in sorted(t.skipped.items(), key=lambda x: -len(x[1])):
        yield msg("import.crm_skipped", count=len(where), reason=msg(f"import.skip.{reason.value}"))


def skipped_rows(report: CrmReport) -> list[tuple[str, int, object]]:
    """Every skipped row (file, line, why), in file and line order."""
    rows = [(file, line, msg(f"import.skip.{reason.value}")) for reason, where in report.tally.skipped.items()
            for file, line in where]
    return sorted(rows, key=lambda r: (r[0], r[1]))
