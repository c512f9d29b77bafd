"""Checking CSV imports: rows of text in, plain values or problems out.

Pure: no I/O, no clock (``today`` is passed in). :mod:`bot.importer` reads the file, hands the
header and each row here, and writes only what passed. A problem is a :class:`Msg`; the caller
pairs it with the CSV line number (the header is line 1).

Promise outcomes follow the dates: a promise marked ``kept`` or ``kept_late`` counts as kept on
time when ``promise_closed_on`` is on or before ``promise_due`` and as kept late after it, so the
points always match the dates written in the file.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
import unicodedata
import zoneinfo
from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Callable, Iterable, Mapping, Sequence, TypeVar

from coaching.ledger import promise_outcome
from coaching.messages import LANGUAGES, Msg, language_of, msg
from coaching.model import InteractionDraft, Kind, ProblemDraft, PromiseDraft, PromiseStatus, Purpose, Role
from coaching.vocabulary import kind_of, name_key, norm, purpose_of

MAX_FIELD_CHARS = 10_000
MAX_NAME_CHARS = 200  # client, person and team names (the database's limit)
MAX_EMAIL_CHARS = 320
MAX_ID_CHARS = 64  # time zones, Slack and Teams user ids
SHOWN_CHARS = 60  # of a wrong value quoted back in a problem
SHOWN_COLUMNS = 10  # column names listed in a problem with the header

Problem = tuple[int, Msg]
T = TypeVar("T")
Row = Mapping[str, str]

_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]+$")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_DAY = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")

OUTCOME_WORDS: dict[PromiseStatus, tuple[str, ...]] = {
    PromiseStatus.OPEN: ("open", "未完了"),
    PromiseStatus.KEPT: ("kept", "守った"),
    PromiseStatus.KEPT_LATE: ("kept_late", "kept late", "kept-late", "遅れて守った"),
    PromiseStatus.BROKEN: ("broken", "守れなかった"),
}
WON_WORDS = ("yes", "y", "true", "1", "won", "はい", "受注")
YES_WORDS = ("yes", "y", "true", "1", "はい", "休暇", "休暇中")
NO_WORDS = ("no", "n", "false", "0", "いいえ")
NOT_WON_WORDS = ("no", "n", "false", "0", "-", "いいえ", "なし")


@dataclass(frozen=True)
class Columns:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def known(self) -> tuple[str, ...]:
        return self.required + self.optional


ROSTER = Columns(("email", "name", "role", "team"), ("timezone", "locale", "slack_user_id", "teams_user_id", "on_leave"))
INTERACTIONS = Columns(
    ("date", "rep", "client", "kind", "purpose", "note"),
    ("promise", "promise_due", "promise_outcome", "promise_closed_on", "problem", "problem_answered_on", "won_deal"),
)


# --- the shape of the file ----------------------------------------------------------------

def shown(value: str) -> str:
    """A value as quoted back in a problem: enough to find it, never the whole of a huge cell."""
    return value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…"


def _listed(names: Sequence[str]) -> list[str]:
    """The first few of ``names`` (a file may have thousands of columns)."""
    return [shown(n) for n in names[:SHOWN_COLUMNS]] + (["…"] if len(names) > SHOWN_COLUMNS else [])


def check_header(cells: Sequence[str], columns: Columns) -> tuple[list[str], list[Msg]]:
    """Column names as used by the rows (trimmed, lower case) and what is wrong with them."""
    # a second BOM (two files pasted together) or a zero-width space is no part of a name
    names = [unicodedata.normalize("NFKC", c).strip().strip("\ufeff\u200b").strip().lower() for c in cells]
    counts = Counter(names)
    problems = []
    if missing := [c for c in columns.required if c not in counts]:
        problems.append(msg("import.missing_columns", columns=missing, expected=list(columns.required)))
    if unknown := [n for n in counts if n and n not in columns.known]:
        problems.append(msg("import.unknown_columns", columns=_listed(unknown), known=list(columns.known)))
    if repeated := [n for n, seen in counts.items() if n and seen > 1]:
        problems.append(msg("import.duplicate_columns", columns=_listed(repeated)))
    return names, problems


def is_blank(cells: Sequence[str]) -> bool:
    return not any(c.strip() for c in cells)


def row_of(names: Sequence[str], cells: Sequence[str]) -> tuple[dict[str, str], list[Msg]]:
    """One record as ``{column: trimmed value}``; missing trailing values count as empty."""
    problems = []
    if len(cells) > len(names) and not is_blank(cells[len(names):]):
        problems.append(msg("import.extra_values", found=len(cells), expected=len(names)))
    for name, value in zip(names, cells):
        if len(value) > MAX_FIELD_CHARS:
            problems.append(msg("import.too_long", column=name, limit=MAX_FIELD_CHARS))
    row = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(names) if name}
    return row, problems


def _text(row: Row, column: str, problems: list[Msg], required: bool = False, limit: int = MAX_FIELD_CHARS) -> str:
    value = row.get(column, "")
    if required and not value:
        problems.append(msg("import.required", column=column))
    elif len(value) > limit:
        problems.append(msg("import.too_long", column=column, limit=limit))
    return value


def email_of(text: str) -> str | None:
    """The address in lower case, if ``text`` has the shape of one."""
    value = unicodedata.normalize("NFKC", text).strip().lower()
    return value if len(value) <= MAX_EMAIL_CHARS and _EMAIL.match(value) else None


def _email(row: Row, column: str, problems: list[Msg]) -> str:
    value = _text(row, column, problems, required=True)
    if value and email_of(value) is None:
        problems.append(msg("import.bad_email", column=column, value=shown(value)))
    return email_of(value) or ""


# --- the roster ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RosterLine:
    line: int
    email: str  # lower case
    name: str
    role: Role
    teams: tuple[str, ...]
    timezone: str
    locale: str | None
    slack_user_id: str | None
    teams_user_id: str | None
    on_leave: bool | None = None  # empty column: keep what is recorded


@lru_cache(maxsize=1)
def _zones() -> dict[str, str]:
    return {z.lower(): z for z in zoneinfo.available_timezones()}


def parse_roster_row(line: int, row: Row) -> tuple[RosterLine | None, list[Msg]]:
    problems: list[Msg] = []
    email = _email(row, "email", problems)
    name = _text(row, "name", problems, required=True, limit=MAX_NAME_CHARS)
    role_text = unicodedata.normalize("NFKC", _text(row, "role", problems, required=True)).lower()
    role = next((r for r in Role if r.value == role_text), None)
    if role_text and role is None:
        problems.append(msg("import.bad_role", value=shown(row["role"]), allowed=[r.value for r in Role]))
    teams = tuple(dict.fromkeys(
        t.strip() for t in unicodedata.normalize("NFKC", row.get("team", "")).split(";") if t.strip()))
    if not teams and role in (Role.REP, Role.MANAGER):
        problems.append(msg("import.no_team"))
    if any(len(team) > MAX_NAME_CHARS for team in teams):
        problems.append(msg("import.too_long", column="team", limit=MAX_NAME_CHARS))
    zone_text = row.get("timezone", "")
    zone = _zones().get(zone_text.lower()) if zone_text else "UTC"
    if zone is None:
        problems.append(msg("import.bad_timezone", value=shown(zone_text)))
    locale = row.get("locale", "") or None
    if locale is not None and (len(locale) > 16 or not _LOCALE.match(locale) or language_of(locale, "") not in LANGUAGES):
        problems.append(msg("import.bad_locale", value=shown(locale), allowed=list(LANGUAGES)))
    slack = _text(row, "slack_user_id", problems, limit=MAX_ID_CHARS) or None
    teams_id = _text(row, "teams_user_id", problems, limit=MAX_ID_CHARS) or None
    leave_text = unicodedata.normalize("NFKC", row.get("on_leave", "") or "").strip().lower()
    on_leave = True if leave_text in YES_WORDS else False if leave_text in NO_WORDS else None
    if leave_text and on_leave is None:
        problems.append(msg("import.bad_on_leave", value=shown(row["on_leave"])))
    if problems:
        return None, problems
    assert role is not None and zone is not None
    return RosterLine(line, email, name, role, teams, zone, locale, slack, teams_id, on_leave), []


def check_roster(rows: Iterable[tuple[int, Row]]) -> tuple[list[RosterLine], list[Problem]]:
    """Every row parsed; an e-mail seen on an earlier line is a problem on the later one."""
    good: list[RosterLine] = []
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    for line, row in rows:
        parsed, found = parse_roster_row(line, row)
        if parsed is not None and parsed.email in first_line:
            found = [msg("import.duplicate_email", email=parsed.email, first=first_line[parsed.email])]
        elif parsed is not None:
            first_line[parsed.email] = line
            good.append(parsed)
        problems += [(line, m) for m in found]
    return good, problems


# --- interactions -------------------------------------------------------------------------

@dataclass(frozen=True)
class TouchLine:
    """One valid row of an interactions file."""

    line: int
    rep_email: str  # lower case
    client: str
    occurred_on: date
    kind: Kind
    purpose: Purpose
    note: str
    promise: PromiseDraft | None
    problem: ProblemDraft | None
    won_deal: str | None  # None: no deal; "": won, with nothing more said
    external_id: str

    def draft(self, client_id: int) -> InteractionDraft:
        """The touch for :func:`coaching.services.record_touch`."""
        return InteractionDraft(
            client_id=client_id, occurred_on=self.occurred_on, kind=self.kind, purpose=self.purpose,
            note=self.note, promises=(self.promise,) if self.promise else (), problem=self.problem,
            won_deal=self.won_deal, source="import", external_id=self.external_id,
        )


def parse_day(text: str) -> date | None:
    """``YYYY-MM-DD`` or ``YYYY/MM/DD`` (full-width digits too); ``None`` otherwise."""
    found = _DAY.match(unicodedata.normalize("NFKC", text).strip())
    try:
        return date(*map(int, found.groups())) if found else None
    except ValueError:
        return None


def _day(row: Row, column: str, problems: list[Msg], today: date | None, after: date | None = None,
         required: bool = False) -> date | None:
    """A date column, on or before ``today`` (when given) and not before ``after``: ``None``
    when empty or wrong (wrong, or empty when required, adds a problem)."""
    if not (text := _text(row, column, problems, required)):
        return None
    day = parse_day(text)
    if day is None:
        problems.append(msg("import.bad_date", column=column, value=shown(text)))
    elif today is not None and day > today:
        problems.append(msg("import.future_date", column=column, value=day, today=today))
    elif after is not None and day < after:
        problems.append(msg("import.before_touch", column=column, value=day, touch=after))
    return day


def _outcome(text: str) -> PromiseStatus | None:
    return next((s for s, words in OUTCOME_WORDS.items() if norm(text) in words), None)


def _requires(row: Row, columns: Sequence[str], needed: str, problems: list[Msg]) -> None:
    for column in columns:
        if row.get(column) and not row.get(needed):
            problems.append(msg("import.needs", column=column, needed=needed))


def _promise(row: Row, on: date | None, today: date, problems: list[Msg]) -> PromiseDraft | None:
    if not (text := row.get("promise", "")):
        _requires(row, ("promise_due", "promise_outcome", "promise_closed_on"), "promise", problems)
        return None
    before = len(problems)
    due = _day(row, "promise_due", problems, None, on, required=True)
    status = _outcome(row.get("promise_outcome", "") or "open")
    if status is None:
        problems.append(msg("import.bad_outcome", value=shown(row["promise_outcome"]),
                            allowed=[s.value for s in PromiseStatus]))
    closed = _day(row, "promise_closed_on", problems, today, on)
    if status is PromiseStatus.OPEN and row.get("promise_closed_on"):
        problems.append(msg("import.open_but_closed"))
    elif status not in (None, PromiseStatus.OPEN) and not row.get("promise_closed_on"):
        problems.append(msg("import.needs_closed_on", outcome=status.value))
    if len(problems) > before or due is None or status is None:
        return None
    if status in (PromiseStatus.KEPT, PromiseStatus.KEPT_LATE) and closed is not None:
        status = promise_outcome(due, closed)
    return PromiseDraft(text, due, status, closed)


def _won(text: str) -> str | None:
    if not text or norm(text) in NOT_WON_WORDS:
        return None
    return "" if norm(text) in WON_WORDS else text


def external_id(values: Sequence[object]) -> str:
    """``csv:`` and the SHA-256 of the row's normalised values: the same row imported twice
    is the same touch, whatever the spelling of its dates, codes or e-mail."""
    text = json.dumps([v if v is None else unicodedata.normalize("NFKC", str(v)) for v in values], ensure_ascii=False)
    return "csv:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _word(row: Row, column: str, read: Callable[[str], T | None], allowed: Iterable[enum.Enum],
          problems: list[Msg]) -> T | None:
    """A kind or purpose: its code, or an English or Japanese word for it."""
    text = _text(row, column, problems, required=True)
    found = read(text) if text else None
    if text and found is None:
        problems.append(msg(f"import.bad_{column}", value=shown(text), allowed=[a.value for a in allowed]))
    return found


def parse_interaction_row(line: int, row: Row, today: date) -> tuple[TouchLine | None, list[Msg]]:
    problems: list[Msg] = []
    on = _day(row, "date", problems, today, required=True)
    rep = _email(row, "rep", problems)
    client = _text(row, "client", problems, required=True, limit=MAX_NAME_CHARS)
    if client and len(client) <= MAX_NAME_CHARS < len(name_key(client)):  # "㍿" is stored as "株式会社"
        problems.append(msg("import.too_long", column="client", limit=MAX_NAME_CHARS))
    kind = _word(row, "kind", kind_of, Kind, problems)
    purpose = _word(row, "purpose", purpose_of, Purpose.stated(), problems)
    note = row.get("note", "")
    promise = _promise(row, on, today, problems)
    problem = None
    if problem_text := row.get("problem", ""):
        problem = ProblemDraft(problem_text, _day(row, "problem_answered_on", problems, today, on))
    else:
        _requires(row, ("problem_answered_on",), "problem", problems)
    won = _won(row.get("won_deal", ""))
    if problems:
        return None, problems
    assert on is not None and kind is not None and purpose is not None
    key = external_id([
        on.isoformat(), rep, norm(client), kind.value, purpose.value, note.strip(),
        promise and promise.text, promise and promise.due_on.isoformat(), promise and promise.status.value,
        promise and promise.closed_on and promise.closed_on.isoformat(), problem and problem.text,
        problem and problem.first_response_on and problem.first_response_on.isoformat(), won,
    ])
    return TouchLine(line, rep, client, on, kind, purpose, note, promise, problem, won, key), []


def check_interactions(rows: Iterable[tuple[int, Row]], today: date) -> tuple[list[TouchLine], list[Problem]]:
    parsed = [(line, parse_interaction_row(line, row, today)) for line, row in rows]
    return ([t for _, (t, _) in parsed if t is not None],
            [(line, m) for line, (_, found) in parsed for m in found])
