"""``coach import roster|interactions FILE.csv``: read, check every row, then write in one go.

Nothing is written until the whole file has been checked. A bad row stops the import, with
every problem and its line number, unless ``skip_invalid`` is set; then the good rows go in and
the bad ones are reported. Writing happens in one unit of work, committed once: a database error
half-way leaves the database as it was. Re-importing a file changes nothing (people are upserted
by e-mail, touches carry an ``external_id`` made from the row's values). Touches are replayed
in date order, each as of its own day; then the daily rules book, as of the coach's today, what
time alone earns (overdue promises, problems left waiting, silence). They are written in bulk,
or one by one through the service path with ``row_by_row``: the same result either way
(:mod:`bot.bulk_import`). An interactions file is read a row at a time, and only its checked
touches are kept, so a large file takes little more memory than its touches.
"""

from __future__ import annotations

import csv
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterator, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bot import bulk_import
from bot.bootstrap import Coach
from coaching import imports, privacy
from coaching.messages import Msg, msg
from coaching.model import Person, Team, Workspace
from coaching.ports import UnitOfWork
from coaching.records import PersonDraft
from storage.repositories import name_key

MAX_FILE_BYTES = 50 * 1024 * 1024
BAR_ROWS = 1_000  # a file this large shows a progress bar (when asked for: on a terminal)
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

def decode(path: Path) -> str:
    """The file's text: UTF-8 (with or without a BOM), else cp932 (Shift_JIS as Excel saves "CSV"
    in Japan); anything else, a workbook, UTF-16 or an empty file is refused with what to do."""
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
        try:
            text = data.decode("cp932")
        except UnicodeDecodeError:
            line = data[: error.start].count(b"\n") + 1  # where it stopped being UTF-8
            raise ImportFailed([(None, msg("import.encoding", path=str(path), line=line))]) from None
    if (nul := text.find("\x00")) >= 0:  # UTF-16 (Excel's "Unicode text") or a binary file
        raise ImportFailed([(None, msg("import.nul_byte", path=str(path), line=text.count("\n", 0, nul) + 1))])
    if not text.strip():
        raise ImportFailed([(None, msg("import.empty", path=str(path)))])
    return text


_LINE_END = re.compile(r"\r\n|\r|\n")


def lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their ends, split where ``io.StringIO(text, newline="")`` splits
    them (``\r\n``, ``\r`` or ``\n``), without a second copy of a large file."""
    start = 0
    for end in _LINE_END.finditer(text):
        yield text[start:end.end()]
        start = end.end()
    if start < len(text):
        yield text[start:]


def _records(path: Path, columns: imports.Columns) -> Iterator[tuple[int, dict[str, str], list[Msg]]]:
    """The file's data rows, one at a time: first line number, ``{column: value}`` and the
    problems of its cells. Problems with the file itself or its header raise :class:`ImportFailed`."""
    reader = csv.reader(lines(decode(path)))
    names: list[str] | None = None
    end, any_row = 0, False
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
            any_row = True
            yield (start, *imports.row_of(names, cells))
    except csv.Error as error:
        line = reader.line_num or end + 1
        failure = (msg("import.value_too_long", limit=imports.MAX_FIELD_CHARS) if "field larger" in str(error)
                   else msg("import.bad_csv"))
        raise ImportFailed([(line, failure)]) from None
    if names is None:
        raise ImportFailed([(None, msg("import.empty", path=str(path)))])
    if not any_row:
        raise ImportFailed([(None, msg("import.no_rows", path=str(path)))])


def _read(path: Path, columns: imports.Columns) -> tuple[list[tuple[int, dict[str, str]]], list[imports.Problem]]:
    """The file's data rows with their first line numbers, and the problems of their cells."""
    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[imports.Problem] = []
    for line, row, wrong in _records(path, columns):
        if wrong:
            problems += [(line, m) for m in wrong]
        else:
            rows.append((line, row))
    return rows, problems


def _settle(problems: list[imports.Problem], skip_invalid: bool) -> list[tuple[int, Msg]]:
    if problems and not skip_invalid:
        raise ImportFailed(problems)
    return sorted(problems, key=lambda p: p[0])


@contextmanager
def bar(coach: Coach, enabled: bool, total: int, label_key: str = "import.progress") -> Iterator[Callable[..., None]]:
    """A bar on the terminal (stderr) while rows are read or written; ``advance(n)`` after ``n``."""
    label = coach.catalog.render(msg(label_key), coach.settings.language)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True, disable=not enabled) as progress:
        task = progress.add_task(label, total=total)
        yield lambda done=1: progress.advance(task, done)


# --- the roster -----------------------------------------------------------------------------

def _unchanged(person: Person, draft: PersonDraft) -> bool:
    return (person.name, person.role, person.timezone, person.team_ids) == (
        draft.name, draft.role, draft.timezone, draft.team_ids) and all(
        getattr(draft, a) is None or getattr(draft, a) == getattr(person, a)
        for a in ("locale", "slack_user_id", "teams_user_id", "on_leave"))


def import_roster(coach: Coach, path: Path, *, skip_invalid: bool = False, progress: bool = True,
                  deactivate_missing: bool = False) -> ImportReport:
    """``deactivate_missing``: the file is the whole roster, so whoever it does not list is
    deactivated and whoever it lists is active (:func:`coaching.privacy.sync_active`). A file
    with no rows is refused before that, like any other."""
    rows, problems = _read(path, imports.ROSTER)
    lines, found = imports.check_roster(rows)
    skipped = _settle(problems + found, skip_invalid)
    ws = coach.workspace
    added = already = updated = teams_created = 0
    with coach.uow_factory() as uow:
        if uow.workspaces.get(ws) is None:
            uow.workspaces.add(Workspace(ws, ws))
        teams: dict[str, Team] = {}
        with bar(coach, progress, len(lines)) as advance:
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
        off, back = privacy.sync_active(uow, ws, {line.email for line in lines}) if deactivate_missing else (0, 0)
        uow.commit()
    return ImportReport(len(rows) + len({p[0] for p in problems}), added, already, skipped,
                        {"updated": updated, "teams_created": teams_created,
                         **({"deactivated": off, "reactivated": back} if deactivate_missing else {})})


# --- interactions ---------------------------------------------------------------------------

def _touch_rows(path: Path, today: date) -> tuple[int, list[imports.TouchLine], list[imports.Problem],
                                                  list[imports.Problem], dict[str, list[int]]]:
    """Read and check the file a row at a time (only the checked touches are kept): how many
    rows, the touches, the problems of cells, the problems of values, and the lines of every
    well-formed ``rep`` address (rows with problems of values too, so one run lists them all)."""
    count, touches, cell_problems, found = 0, [], [], []
    reps: dict[str, list[int]] = {}
    for line, row, wrong in _records(path, imports.INTERACTIONS):
        count += 1
        if wrong:
            cell_problems += [(line, m) for m in wrong]
            continue
        if (email := imports.email_of(row.get("rep", ""))) is not None:
            reps.setdefault(email, []).append(line)
        touch, problems = imports.parse_interaction_row(line, row, today)
        if touch is not None:
            touches.append(touch)
        found += [(line, m) for m in problems]
    return count, touches, cell_problems, found, reps


def _reps(uow: UnitOfWork, ws: str, reps: dict[str, list[int]]) -> tuple[dict[str, Person | None], list[imports.Problem]]:
    """The roster entry of every address, and a problem on each line naming an unknown one."""
    people = {email: uow.people.by_email(ws, email) for email in reps}
    return people, [(line, msg("import.unknown_rep", email=email))
                    for email, lines in reps.items() if people[email] is None for line in lines]


def _resolve(uow: UnitOfWork, ws: str, lines: list[imports.TouchLine], people: dict[str, Person | None]) -> tuple[
        list[tuple[imports.TouchLine, Person]], list[imports.Problem], int]:
    """Each touch with its rep, in date order (a replay: service touches answer the problems
    raised before them, clients are created on their first touch);
    problems for new clients nobody can own; how many clients are new."""
    known = {name_key(c.name) for c in uow.clients.list(ws)}  # one query, not one per client
    new: set[str] = set()
    unowned: dict[str, tuple[int, str]] = {}  # a new client whose first row's rep has no team
    ready, problems = [], []
    for touch in sorted(lines, key=lambda t: (t.occurred_on, t.line)):
        if (rep := people.get(touch.rep_email)) is None:
            continue  # already reported by _reps
        key = bulk_import.client_key(touch.client)
        if key in unowned:  # its later rows go with it: else a re-import would add them once it exists
            first, email = unowned[key]
            problems.append((touch.line, msg("import.client_not_created", client=touch.client, line=first, email=email)))
            continue
        if key not in known and key not in new:
            if not rep.team_ids:
                unowned[key] = (touch.line, rep.email)
                problems.append((touch.line, msg("import.rep_without_team", email=rep.email, client=touch.client)))
                continue
            new.add(key)
        ready.append((touch, rep))
    return ready, problems, len(new)


def import_interactions(coach: Coach, path: Path, *, skip_invalid: bool = False, progress: bool = True,
                        row_by_row: bool = False) -> ImportReport:
    """Check the whole file, then write it in one transaction: in bulk (the default), or each
    touch through the service path (``row_by_row``); both give the same result
    (:mod:`bot.bulk_import`)."""
    today = coach.clock().date()
    with bulk_import.collector_aside() as read:
        count, touches, cell_problems, found, reps = _touch_rows(path, today)
        read()
        return write_touches(coach, today, (count, touches, cell_problems + found, reps), skip_invalid, progress,
                              row_by_row)


def write_touches(coach: Coach, today: date, read: tuple[int, list[imports.TouchLine], list[imports.Problem],
                   dict[str, list[int]]], skip_invalid: bool, progress: bool, row_by_row: bool) -> ImportReport:
    count, touches, problems, reps = read
    ws, rules = coach.workspace, coach.rules
    with coach.uow_factory() as uow:
        people, unknown = _reps(uow, ws, reps)
        ready, unresolved, new_clients = _resolve(uow, ws, touches, people)
        touches.clear()  # they live on in ``ready`` only, which the bulk path empties as it goes
        skipped = _settle(problems + unknown + unresolved, skip_invalid)
        run = bulk_import.import_row_by_row if row_by_row else bulk_import.import_in_bulk
        with bar(coach, progress and len(ready) >= BAR_ROWS, len(ready)) as advance:
            try:
                done = run(uow, ws, ready, rules, today, advance)
            except bulk_import.ClientRefused as refused:
                raise ImportFailed([(refused.line, refused.message)]) from None
        uow.commit()
    upkeep = done.upkeep
    extra = {"clients_created": new_clients, "entries": done.entries, "promises_broken": upkeep.promises_broken,
             "problems_unanswered": upkeep.problems_unanswered, "silence_entries": upkeep.silence_entries}
    return ImportReport(count, done.added, done.already, skipped, extra)
