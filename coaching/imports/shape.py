"""The shape of an import file: its columns, its header, and one row as ``{column: value}``."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Mapping, Sequence

from coaching.messages import Msg, msg

MAX_FIELD_CHARS = 10_000
MAX_NAME_CHARS = 200  # client, person and team names (the database's limit)
MAX_EMAIL_CHARS = 320
MAX_ID_CHARS = 64  # time zones, Slack and Teams user ids
SHOWN_CHARS = 60  # of a wrong value quoted back in a problem
SHOWN_COLUMNS = 10  # column names listed in a problem with the header

Problem = tuple[int, Msg]
Row = Mapping[str, str]


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
    ("promise", "promise_due", "promise_outcome", "promise_closed_on", "problem", "problem_answered_on", "won_deal",
     "setback", "correction"),
)


def shown(value: str) -> str:
    """A value as quoted back in a problem: enough to find it, never the whole of a huge cell."""
    return value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…"


def _listed(names: Sequence[str]) -> list[str]:
    """The first few of ``names`` (a file may have thousands of columns)."""
    return [shown(n) for n in names[:SHOWN_COLUMNS]] + (["…"] if len(names) > SHOWN_COLUMNS else [])


def check_header(cells: Sequence[str], columns: Columns) -> tuple[list[str], list[Msg]]:
    """Column names as used by the rows (trimmed, lower case) and what is wrong with them."""
    names = [_column_name(c) for c in cells]
    return names, _header_problems(Counter(names), columns)


def _column_name(cell: str) -> str:
    # a second BOM (two files pasted together) or a zero-width space is no part of a name
    return unicodedata.normalize("NFKC", cell).strip().strip("\ufeff\u200b").strip().lower()


def _header_problems(counts: Counter[str], columns: Columns) -> list[Msg]:
    problems = []
    if missing := [c for c in columns.required if c not in counts]:
        problems.append(msg("import.missing_columns", columns=missing, expected=list(columns.required)))
    if unknown := [n for n in counts if n and n not in columns.known]:
        problems.append(msg("import.unknown_columns", columns=_listed(unknown), known=list(columns.known)))
    if repeated := [n for n, seen in counts.items() if n and seen > 1]:
        problems.append(msg("import.duplicate_columns", columns=_listed(repeated)))
    return problems


def is_blank(cells: Sequence[str]) -> bool:
    return not any(c.strip() for c in cells)


def row_of(names: Sequence[str], cells: Sequence[str]) -> tuple[dict[str, str], list[Msg]]:
    """One record as ``{column: trimmed value}``; missing trailing values count as empty."""
    problems = []
    if len(cells) > len(names) and not is_blank(cells[len(names):]):
        problems.append(msg("import.extra_values", found=len(cells), expected=len(names)))
    if max(map(len, cells[:len(names)]), default=0) > MAX_FIELD_CHARS:
        problems += [msg("import.too_long", column=name, limit=MAX_FIELD_CHARS)
                     for name, value in zip(names, cells) if len(value) > MAX_FIELD_CHARS]
    if len(cells) >= len(names) and "" not in names:  # the usual row, the quick way (a file has many)
        return dict(zip(names, map(str.strip, cells))), problems
    row = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(names) if name}
    return row, problems
