"""Finding and blanking words in the text the coach keeps: what an erasure, an export and the
retention period share.

Free text lives in a few columns (:data:`FREE_TEXT`) and in the ledger's ``detail``, whose
:data:`WORDS` quote what people wrote; a setback's ``key`` and ``cause`` carry its words too. A
*needle* (an e-mail, a full name, a platform id, a client's name) is found case-insensitively, as
a whole word where it begins or ends with a letter or digit, in any of the forms it is stored in
(:func:`forms`: as typed, JSON-escaped, URL-encoded). The database narrows the rows with LIKE;
Python decides and rewrites.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Sequence
from urllib.parse import quote, quote_plus

from sqlalchemy import ColumnElement, Text, cast, false, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from coaching.model import Reason
from coaching.privacy import REDACTED
from storage.models import DealRow, InteractionRow, LedgerEntryRow, ProblemRow, PromiseRow

# (column, what it becomes when blanked whole): a note is emptied, a quoted text becomes "…"
FREE_TEXT: tuple[tuple[InstrumentedAttribute[str], str], ...] = (
    (InteractionRow.note, ""), (PromiseRow.text, REDACTED), (ProblemRow.text, REDACTED), (DealRow.note, ""))
WORDS = ("promise", "problem", "what", "why")  # the ledger detail's quotations
MARK = "_redacted"  # set in a detail whose quotations were blanked whole (retention skips it)
QUOTING = tuple(r.value for r in (
    Reason.PROMISE_KEPT, Reason.PROMISE_KEPT_LATE, Reason.PROMISE_BROKEN, Reason.PROBLEM_ANSWERED_FAST,
    Reason.PROBLEM_UNANSWERED, Reason.HONESTY_BREACH, Reason.MISUNDERSTANDING, Reason.PUT_RIGHT,
    Reason.CORRECTION))
SETBACKS = (Reason.HONESTY_BREACH.value, Reason.MISUNDERSTANDING.value)  # key and cause hold the words
MIN_NEEDLE = 3  # shorter needles (a two-letter name) would blank far too much of others' text
_EDGE = "[A-Za-z0-9_]"


def needles(values: Iterable[str | None]) -> list[str]:
    """The values worth looking for, longest first."""
    found = {v.strip() for v in values if v and len(v.strip()) >= MIN_NEEDLE}
    return sorted(found, key=lambda v: (-len(v), v))


def pattern(found: Sequence[str]) -> re.Pattern[str] | None:
    """One regular expression for every needle, whole words where a needle's edge is a word."""
    parts = []
    for needle in found:
        body = re.escape(needle)
        if re.match(_EDGE, needle[0]):
            body = f"(?<!{_EDGE}){body}"
        if re.match(_EDGE, needle[-1]):
            body = f"{body}(?!{_EDGE})"
        parts.append(body)
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def forms(needle: str) -> set[str]:
    """How a needle may be stored: as typed, JSON-escaped (the JSON columns, request bodies), and
    URL-encoded (form-encoded request bodies), each in lower case."""
    escaped = json.dumps(needle)[1:-1]
    return {f.lower() for f in (needle, escaped, quote_plus(needle), quote(needle), quote_plus(escaped))}


def mentions(column: ColumnElement[Any], found: Sequence[str]) -> ColumnElement[bool]:
    """SQL: ``column`` (text, or JSON read as text) may hold one of the needles."""
    text = func.lower(cast(column, Text))
    tests = [text.contains(form, autoescape=True) for needle in found for form in sorted(forms(needle))]
    return or_(*tests) if tests else false()


def holds(text: str | None, found: Sequence[str]) -> bool:
    """Python: ``text`` holds one of the needles in one of its forms."""
    lowered = (text or "").lower()
    return any(form in lowered for needle in found for form in forms(needle))


def blank_words(detail: dict[str, Any]) -> dict[str, Any]:
    """A ledger detail with its quotations blanked whole, and marked so."""
    return {k: REDACTED if k in WORDS and isinstance(v, str) and v else v for k, v in detail.items()} | {MARK: "1"}


def rewrite_entries(session: Session, rows: Sequence[Any], change) -> int:
    """Write ``change(detail)`` into each ledger row (id, reason, detail) it alters; a setback's
    key and cause (which carry its words) become ``redacted:<id>``. How many were written."""
    updates = [{"id": row.id, "detail": change(dict(row.detail or {})), "setback": row.reason in SETBACKS}
               for row in rows]
    updates = [u for u, row in zip(updates, rows) if u["detail"] != dict(row.detail or {})]
    plain = [{"id": u["id"], "detail": u["detail"]} for u in updates if not u["setback"]]
    setbacks = [{"id": u["id"], "detail": u["detail"], "key": f"redacted:{u['id']}", "cause": f"redacted:{u['id']}"}
                for u in updates if u["setback"]]
    for same_columns in (plain, setbacks):  # one statement per set of columns
        if same_columns:
            session.execute(update(LedgerEntryRow), same_columns)
    return len(updates)


def texts_naming(session: Session, workspace_id: str, found: Sequence[str]) -> list[tuple[Any, Any, str]]:
    """Every free-text value of the workspace that names a needle: (row, its column, the text),
    each row with ``id`` and ``client_id``."""
    regex = pattern(found)
    named = []
    for column, _ in FREE_TEXT if regex else ():
        row = column.class_
        named += [(r, column, r.text) for r in session.execute(select(
            row.id, row.client_id, column.label("text")).where(row.workspace_id == workspace_id,
                                                              mentions(column, found))) if regex.search(r.text or "")]
    return named


def entries_naming(session: Session, workspace_id: str, found: Sequence[str]) -> list[Any]:
    """The ledger entries whose quotations name a needle: rows of id, client_id, reason, detail."""
    regex, le = pattern(found), LedgerEntryRow
    if regex is None:
        return []
    rows = session.execute(select(le.id, le.client_id, le.reason, le.detail).where(
        le.workspace_id == workspace_id, le.reason.in_(QUOTING), mentions(le.detail, found))).all()
    return [r for r in rows if any(isinstance(v, str) and regex.search(v) for k, v in (r.detail or {}).items()
                                   if k in WORDS)]


def scrub_mentions(session: Session, workspace_id: str, found: Sequence[str]) -> tuple[dict[str, int], set[int]]:
    """Blank every mention of the needles in the workspace's free text and ledger quotations:
    rows changed per table, and the clients whose rows changed (their summaries follow)."""
    regex = pattern(found)
    if regex is None:
        return {}, set()
    counts: dict[str, int] = {}
    named = texts_naming(session, workspace_id, found)
    for column, _ in FREE_TEXT:
        changed = [{"id": r.id, column.key: regex.sub(REDACTED, text)} for r, c, text in named if c is column]
        if changed:
            session.execute(update(column.class_), changed)
            counts[column.class_.__tablename__] = len(changed)
    quoted = entries_naming(session, workspace_id, found)
    written = rewrite_entries(session, quoted, lambda d: {
        k: regex.sub(REDACTED, v) if k in WORDS and isinstance(v, str) else v for k, v in d.items()})
    if written:
        counts["ledger_entries"] = written
    return counts, {r.client_id for r, _, _ in named} | {r.client_id for r in quoted}


def add(counts: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    for table, n in more.items():
        if n:
            counts[table] = counts.get(table, 0) + n
    return counts
