"""Checking a roster file: one person a row, with their role, teams, time zone and locale."""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from coaching.imports import cells
from coaching.imports.shape import MAX_ID_CHARS, MAX_NAME_CHARS, Problem, Row, shown
from coaching.messages import LANGUAGES, Msg, language_of, msg
from coaching.model import Role

YES_WORDS = ("yes", "y", "true", "1", "はい", "休暇", "休暇中")
NO_WORDS = ("no", "n", "false", "0", "いいえ")

_LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


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
    email = cells.email(row, "email", problems)
    name = cells.text(row, "name", problems, required=True, limit=MAX_NAME_CHARS)
    role = _role(row, problems)
    teams = _teams(row, role, problems)
    zone = _zone(row, problems)
    locale = _locale(row, problems)
    slack = cells.text(row, "slack_user_id", problems, limit=MAX_ID_CHARS) or None
    teams_id = cells.text(row, "teams_user_id", problems, limit=MAX_ID_CHARS) or None
    on_leave = _on_leave(row, problems)
    if problems:
        return None, problems
    assert role is not None and zone is not None
    return RosterLine(line, email, name, role, teams, zone, locale, slack, teams_id, on_leave), []


def _role(row: Row, problems: list[Msg]) -> Role | None:
    role_text = unicodedata.normalize("NFKC", cells.text(row, "role", problems, required=True)).lower()
    role = next((r for r in Role if r.value == role_text), None)
    if role_text and role is None:
        problems.append(msg("import.bad_role", value=shown(row["role"]), allowed=[r.value for r in Role]))
    return role


def _teams(row: Row, role: Role | None, problems: list[Msg]) -> tuple[str, ...]:
    """The ``;``-separated team names, each once; reps and managers need one."""
    teams = tuple(dict.fromkeys(
        t.strip() for t in unicodedata.normalize("NFKC", row.get("team", "")).split(";") if t.strip()))
    if not teams and role in (Role.REP, Role.MANAGER):
        problems.append(msg("import.no_team"))
    if any(len(team) > MAX_NAME_CHARS for team in teams):
        problems.append(msg("import.too_long", column="team", limit=MAX_NAME_CHARS))
    return teams


def _zone(row: Row, problems: list[Msg]) -> str | None:
    """The zone's name as the zone database spells it (any case in the file); empty: UTC."""
    zone_text = row.get("timezone", "")
    zone = _zones().get(zone_text.lower()) if zone_text else "UTC"
    if zone is None:
        problems.append(msg("import.bad_timezone", value=shown(zone_text)))
    return zone


def _locale(row: Row, problems: list[Msg]) -> str | None:
    locale = row.get("locale", "") or None
    if locale is not None and (len(locale) > 16 or not _LOCALE.match(locale)
                               or language_of(locale, "") not in LANGUAGES):
        problems.append(msg("import.bad_locale", value=shown(locale), allowed=list(LANGUAGES)))
    return locale


def _on_leave(row: Row, problems: list[Msg]) -> bool | None:
    """Yes or no; empty keeps what is recorded."""
    leave_text = unicodedata.normalize("NFKC", row.get("on_leave", "") or "").strip().lower()
    on_leave = True if leave_text in YES_WORDS else False if leave_text in NO_WORDS else None
    if leave_text and on_leave is None:
        problems.append(msg("import.bad_on_leave", value=shown(row["on_leave"])))
    return on_leave


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
