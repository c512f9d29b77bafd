"""Reading one cell of a row: text, an e-mail address, a date. A wrong or missing value adds a
problem to the list passed in, so a row reports every problem at once."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache

from coaching.imports.shape import MAX_EMAIL_CHARS, MAX_FIELD_CHARS, Row, shown
from coaching.messages import Msg, msg

_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]+$")
_DAY = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")


def text(row: Row, column: str, problems: list[Msg], required: bool = False, limit: int = MAX_FIELD_CHARS) -> str:
    value = row.get(column, "")
    if required and not value:
        problems.append(msg("import.required", column=column))
    elif len(value) > limit:
        problems.append(msg("import.too_long", column=column, limit=limit))
    return value


@lru_cache(maxsize=4096)  # a file names the same reps (and dates, below) over and over
def email_of(text: str) -> str | None:
    """The address in lower case, if ``text`` has the shape of one."""
    value = unicodedata.normalize("NFKC", text).strip().lower()
    return value if len(value) <= MAX_EMAIL_CHARS and _EMAIL.match(value) else None


def email(row: Row, column: str, problems: list[Msg]) -> str:
    value = text(row, column, problems, required=True)
    found = email_of(value) if value else None
    if value and found is None:
        problems.append(msg("import.bad_email", column=column, value=shown(value)))
    return found or ""


@lru_cache(maxsize=4096)
def parse_day(text: str) -> date | None:
    """``YYYY-MM-DD`` or ``YYYY/MM/DD`` (full-width digits too); ``None`` otherwise."""
    found = _DAY.match(unicodedata.normalize("NFKC", text).strip())
    try:
        return date(*map(int, found.groups())) if found else None
    except ValueError:
        return None


def day(row: Row, column: str, problems: list[Msg], today: date | None, after: date | None = None,
        required: bool = False) -> date | None:
    """A date column, on or before ``today`` (when given) and not before ``after``: ``None``
    when empty or wrong (wrong, or empty when required, adds a problem)."""
    if not (written := text(row, column, problems, required)):
        return None
    found = parse_day(written)
    if found is None:
        problems.append(msg("import.bad_date", column=column, value=shown(written)))
    elif today is not None and found > today:
        problems.append(msg("import.future_date", column=column, value=found, today=today))
    elif after is not None and found < after:
        problems.append(msg("import.before_touch", column=column, value=found, touch=after))
    return found
