"""``coach import roster|interactions FILE.csv``: read, check every row, then write in one go.

Nothing is written until the whole file has been checked. A bad row stops the import, with
every problem and its line number, unless ``skip_invalid`` is set; then the good rows go in and
the bad ones are reported. Writing happens in one unit of work, committed once: a database error
half-way leaves the database as it was. Re-importing a file changes nothing (people are upserted
by e-mail, touches carry an ``external_id`` made from the row's values). Touches are replayed
in date order, each as of its own day; then the daily rules book, as of the coach's today, what
time alone earns (overdue promises, problems left waiting, silence).
"""

from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bot.bootstrap import Coach
from coaching import access, daily, imports, services
from coaching.messages import Msg, msg
from coaching.model import Person, Team, Workspace
from coaching.ports import UnitOfWork
from coaching.records import PersonDraft
from storage.repositories import name_key

MAX_FILE_BYTES = 50 * 1024 * 1024
FileProblem = tuple[int | None, Msg]


class ImportFailed(Exception):
    """Nothing was imported; ``problems`` says why, as (line number or ``None``, message)."""

    def __init__(self, problems: Sequence[FileProblem]) -> None:
        self.problems: list[FileProblem] = sorted(problems, key=lambda p: -1 if p[0] is None else p[0])
        super().__init__("; ".join(f"{line}: {m.key}" for line, m in self.problems))


@dataclass(frozen=True)
class ImportReport:
    rows: int  # data rows in the file
    added: int
    already: int  # already imported (or, for the roster, already up to date)
    skipped: list[tuple[int, Msg]] = field(default_factory=list)  # problems of the rows left out
    extra: dict[str, int] = field(default_factory=dict)


def describe(problems: Sequence[FileProblem]) -> list[Msg]:
    """Each problem as one message, prefixed with its line when it has one."""
    return [m if line is None else msg("import.at_line", line=line, problem=m) for line, m in problems]


def summary(report: ImportReport, kind: str) -> Msg:
    """One sentence for the whole run: ``kind`` is ``roster`` or ``interactions``."""
    common = dict(rows=report.rows, added=report.added, already=report.already,
                  skipped=len({line for line, _ in report.skipped}))
    if kind == "roster":
        return msg("import.summary.roster", updated=report.extra.get("updated", 0),
                   teams=report.extra.get("teams_created", 0), **common)
    if kind == "interactions":
        x = report.extra
        return msg("import.summary.interactions", clients=x.get("clients_created", 0),
                   broken=x.get("promises_broken", 0), unanswered=x.get("problems_unanswered", 0),
                   silence=x.get("silence_entries", 0), **common)
    raise ValueError(f"unknown import kind {kind!r}")


# --- reading --------------------------------------------------------------------------------

def _decode(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImportFailed([(None, msg("import.too_big", path=str(path), limit=MAX_FILE_BYTES // (1024 * 1024)))])
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImportFailed([(None, msg("import.no_file", path=str(path)))]) from None
    except OSError as error:
        raise ImportFailed([(None, msg("import.unreadable", path=str(path), reason=error.strerror or str(error)))]) from None
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):  # a workbook (xlsx, xls), not text
        raise ImportFailed([(None, msg("import.not_csv", path=str(path)))])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportFailed([(None, msg("import.encoding", path=str(path), line=line))]) from None
    if (nul := text.find("\x00")) >= 0:  # UTF-16 (Excel's "Unicode text") or a binary file
        raise ImportFailed([(None, msg("import.nul_byte", path=str(path), line=text.count("\n", 0, nul) + 1))])
    if not text.strip():
        raise ImportFailed([(None, msg("import.empty", path=str(path)))])
    return text


def _read(path: Path, columns: imports.Columns) -> tuple[list[tuple[int, dict[str, str]]], list[imports.Problem]]:
    """The file's data rows with their first line numbers, and the problems of their cells.
    Problems with the file itself or its header raise :class:`ImportFailed`."""
    reader = csv.reader(io.StringIO(_decode(path), newline=""))
    names: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[imports.Problem] = []
    end = 0
    try:
        for cells in reader:
            start, end = end + 1, reader.line_num
            if imports.is_blank(cells):
                continue
            if names is None:
                names, wrong = imports.check_header(cells, columns)
                if wrong:
                    raise ImportFailed([(start, m) for m in wrong])
                continue
            row, wrong = imports.row_of(names, cells)
            if wrong:
                problems += [(start, m) for m in wrong]
            else:
                rows.append((start, row))
    except csv.Error as error:
        line = reader.line_num or end + 1
        failure = (msg("import.value_too_long", limit=imports.MAX_FIELD_CHARS) if "field larger" in str(error)
                   else msg("import.bad_csv"))
        raise ImportFailed([(line, failure)]) from None
    if names is None:
        raise ImportFailed([(None, msg("import.empty", path=str(path)))])
    if not rows and not problems:
        raise ImportFailed([(None, msg("import.no_rows", path=str(path)))])
    return rows, problems


def _settle(problems: list[imports.Problem], skip_invalid: bool) -> list[tuple[int, Msg]]:
    if problems and not skip_invalid:
        raise ImportFailed(problems)
    return sorted(problems, key=lambda p: p[0])


@contextmanager
def _bar(coach: Coach, enabled: bool, total: int) -> Iterator[Callable[[], None]]:
    label = coach.catalog.render(msg("import.progress"), coach.settings.language)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True, disable=not enabled) as progress:
        task = progress.add_task(label, total=total)
        yield lambda: progress.advance(task)


# --- the roster -----------------------------------------------------------------------------

def _unchanged(person: Person, draft: PersonDraft) -> bool:
    return (person.name, person.role, person.timezone, person.team_ids) == (
        draft.name, draft.role, draft.timezone, draft.team_ids) and all(
        getattr(draft, a) is None or getattr(draft, a) == getattr(person, a)
        for a in ("locale", "slack_user_id", "teams_user_id", "on_leave"))


def import_roster(coach: Coach, path: Path, *, skip_invalid: bool = False, progress: bool = True) -> ImportReport:
    rows, problems = _read(path, imports.ROSTER)
    lines, found = imports.check_roster(rows)
    skipped = _settle(problems + found, skip_invalid)
    ws = coach.workspace
    added = already = updated = teams_created = 0
    with coach.uow_factory() as uow:
        if uow.workspaces.get(ws) is None:
            uow.workspaces.add(Workspace(ws, ws))
        teams: dict[str, Team] = {}
        with _bar(coach, progress, len(lines)) as advance:
            for line in lines:
                team_ids = []
                for name in line.teams:
                    team = teams.get(name) or uow.teams.by_name(ws, name)
                    if team is None:
                        team, teams_created = uow.teams.add(ws, name), teams_created + 1
                    teams[name] = team
                    team_ids.append(team.id)
                draft = PersonDraft(line.email, line.name, line.role, tuple(team_ids), line.timezone,
                                    line.locale, line.slack_user_id, line.teams_user_id, line.on_leave)
                before = uow.people.by_email(ws, line.email)
                if before is not None and _unchanged(before, draft):
                    already += 1
                else:
                    uow.people.upsert(ws, draft)
                    added, updated = (added + 1, updated) if before is None else (added, updated + 1)
                advance()
        uow.commit()
    return ImportReport(len(rows) + len({p[0] for p in problems}), added, already, skipped,
                        {"updated": updated, "teams_created": teams_created})


# --- interactions ---------------------------------------------------------------------------

def _reps(uow: UnitOfWork, ws: str, rows: list[tuple[int, dict[str, str]]]) -> tuple[
        dict[str, Person | None], list[imports.Problem]]:
    """The roster entry of every well-formed ``rep`` address, and a problem for each unknown one
    (on rows with other problems too, so one run lists them all)."""
    people: dict[str, Person | None] = {}
    problems = []
    for line, row in rows:
        if (email := imports.email_of(row.get("rep", ""))) is None:
            continue
        if email not in people:
            people[email] = uow.people.by_email(ws, email)
        if people[email] is None:
            problems.append((line, msg("import.unknown_rep", email=email)))
    return people, problems


def _resolve(uow: UnitOfWork, ws: str, lines: list[imports.TouchLine], people: dict[str, Person | None]) -> tuple[
        list[tuple[imports.TouchLine, Person]], list[imports.Problem], int]:
    """Each touch with its rep, in date order (a replay: service touches answer the problems
    raised before them, clients are created on their first touch);
    problems for new clients nobody can own; how many clients are new."""
    known = {name_key(c.name) for c in uow.clients.list(ws)}  # one query, not one per client
    new: set[str] = set()
    ready, problems = [], []
    for touch in sorted(lines, key=lambda t: (t.occurred_on, t.line)):
        if (rep := people.get(touch.rep_email)) is None:
            continue  # already reported by _reps
        key = name_key(touch.client)
        if key not in known and key not in new:
            if not rep.team_ids:
                problems.append((touch.line, msg("import.rep_without_team", email=rep.email, client=touch.client)))
                continue
            else:
                new.add(key)
        ready.append((touch, rep))
    return ready, problems, len(new)


def import_interactions(coach: Coach, path: Path, *, skip_invalid: bool = False, progress: bool = True) -> ImportReport:
    today = coach.clock().date()
    rows, problems = _read(path, imports.INTERACTIONS)
    lines, found = imports.check_interactions(rows, today)
    ws, rules = coach.workspace, coach.rules
    added = already = entries = 0
    with coach.uow_factory() as uow:
        people, unknown = _reps(uow, ws, rows)
        ready, unresolved, new_clients = _resolve(uow, ws, lines, people)
        skipped = _settle(problems + found + unknown + unresolved, skip_invalid)
        with _bar(coach, progress, len(ready)) as advance:
            for touch, rep in ready:
                try:
                    client = services.ensure_client(uow, rep, touch.client, touch.occurred_on)
                    # As of the touch's own day: a problem answered in a later row must not be
                    # booked as unanswered first. What time alone earns comes from the daily rules.
                    result = services.record_touch(uow, rep, client, touch.draft(client.id), rules, touch.occurred_on)
                except access.CoachError as error:
                    raise ImportFailed([(touch.line, error.message)]) from None
                if result.interaction is None:
                    already += 1
                else:
                    added, entries = added + 1, entries + len(result.entries)
                advance()
        upkeep = daily.apply_daily_rules(uow, ws, today, rules)
        uow.commit()
    extra = {"clients_created": new_clients, "entries": entries, "promises_broken": upkeep.promises_broken,
             "problems_unanswered": upkeep.problems_unanswered, "silence_entries": upkeep.silence_entries}
    return ImportReport(len(rows) + len({p[0] for p in problems}), added, already, skipped, extra)
