"""Per-client summaries, kept in the write path.

The daily scan and team health used to rank every client's touches and sum its whole ledger on
each read. ``client_summaries`` holds, per client, what those reads need (the latest touches,
the last note, the balance and the entries of its last four weeks, the dates of the last setback,
correction and win), so a read is one row per client.

How it is kept exact: a summary is a function of the rows (:func:`summarize`). The write path
(:mod:`storage.summary_upkeep`) brings it up to date in the transaction of every write, folding
appended records in where that gives the same summary and recomputing it from the rows
otherwise; :func:`check` recomputes every summary and reports any difference: drift is a bug.

A summary is valid for any day on or after its ``through_on``; :mod:`storage.history` falls
back to the full read for a client it cannot answer for (a day before that, a client without
a summary).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Any, Iterable, Iterator, Sequence

from sqlalchemy import TableClause, bindparam, delete, func, select
from sqlalchemy.orm import Session

from coaching.model import Reason
from coaching.nudges import TREND_DAYS
from storage.common import IN_CHUNK
from storage.models import ClientRow, ClientSummaryRow, DealRow, InteractionRow, LedgerEntryRow

KEPT_TOUCHES = 12  # the latest touches kept whatever their age (client_histories' default)
WINDOW_DAYS = 90  # and every touch within this many days of the newest (its default window)
SETBACKS = frozenset({Reason.PROMISE_BROKEN.value, Reason.HONESTY_BREACH.value, Reason.MISUNDERSTANDING.value})
PUT_RIGHT = Reason.PUT_RIGHT.value


@dataclass(frozen=True)
class Summary:
    client_id: int
    through_on: date | None = None  # the latest date folded in: valid for any day on or after it
    touches: tuple[tuple[date, str], ...] = ()  # (day, purpose), newest first
    last_note: str | None = None  # the newest touch's note, None when blank
    balance: int = 0
    first_entry_on: date | None = None
    entries: tuple[tuple[date, int], ...] = ()  # the ledger per day, oldest first, within TREND_DAYS of the newest
    last_setback_on: date | None = None
    last_put_right_on: date | None = None
    last_won_on: date | None = None
    last_touch_id: int | None = None  # the newest touch's id: ties of one day go by id


def latest(*days: date | None) -> date | None:
    known = [d for d in days if d is not None]
    return max(known) if known else None


def summarize(client_id: int, touches: Sequence[tuple[date, str, str | None]],
              entries: Iterable[tuple[date, int, str]], last_won_on: date | None,
              last_touch_id: int | None = None) -> Summary:
    """The summary of one client from its live touches (day, purpose, note; newest first, by
    day then id), all its ledger entries (day, amount, reason), its last won deal and the id of
    its newest touch."""
    newest = touches[0][0] if touches else None
    kept = tuple((on, purpose) for rank, (on, purpose, _) in enumerate(touches)
                 if rank < KEPT_TOUCHES or on > newest - timedelta(days=WINDOW_DAYS))  # type: ignore[operator]
    note = touches[0][2] if touches else None
    per_day: dict[date, int] = {}
    setback = put_right = None
    for on, amount, reason in entries:
        per_day[on] = per_day.get(on, 0) + amount
        if reason in SETBACKS:
            setback = latest(setback, on)
        elif reason == PUT_RIGHT:
            put_right = latest(put_right, on)
    last_entry = max(per_day) if per_day else None
    recent = tuple(sorted((on, a) for on, a in per_day.items()
                          if on > last_entry - timedelta(days=TREND_DAYS)))  # type: ignore[operator]
    return Summary(
        client_id, latest(newest, last_entry, last_won_on), kept, note if note and note.strip() else None,
        sum(per_day.values()), min(per_day) if per_day else None, recent, setback, put_right, last_won_on,
        last_touch_id,
    )


# -- rows ------------------------------------------------------------------------------------

# An item's text and its value, both ways, kept for the few thousand most recent: every logged
# touch decodes and encodes its client's kept touches (dozens for a busy client), mostly days
# and purposes seen a moment ago.
@lru_cache(maxsize=4096)
def _item_text(item: tuple[date, Any]) -> str:
    return f"{item[0].isoformat()} {item[1]}"


@lru_cache(maxsize=4096)
def _touch(text: str) -> tuple[date, str]:
    return date.fromisoformat(text[:10]), text[11:]


@lru_cache(maxsize=4096)
def _entry(text: str) -> tuple[date, int]:
    return date.fromisoformat(text[:10]), int(text[11:])


def encode(summary: Summary) -> dict[str, Any]:
    return dict(
        client_id=summary.client_id, through_on=summary.through_on,
        touches=",".join(map(_item_text, summary.touches)),
        last_note=summary.last_note, balance=summary.balance, first_entry_on=summary.first_entry_on,
        entries=",".join(map(_item_text, summary.entries)),
        last_setback_on=summary.last_setback_on, last_put_right_on=summary.last_put_right_on,
        last_won_on=summary.last_won_on, last_touch_id=summary.last_touch_id,
        quiet_from=None, quiet_until=None, quiet_key=None,  # any write: worked out again (storage.quiet_days)
    )


def items(column: str) -> list[str]:
    """The items of a ``touches`` or ``entries`` column: ``"YYYY-MM-DD value"`` each (a purpose
    code, an amount), comma-separated; the day is ``item[:10]``, the value ``item[11:]``."""
    return column.split(",") if column else []


def decode(row: Any) -> Summary:
    """A ``client_summaries`` row (or any row with its columns) as a :class:`Summary`."""
    return Summary(
        row.client_id, row.through_on, tuple(map(_touch, items(row.touches))), row.last_note,
        int(row.balance), row.first_entry_on, tuple(map(_entry, items(row.entries))),
        row.last_setback_on, row.last_put_right_on, row.last_won_on, row.last_touch_id,
    )


# -- computing from the tables of record -------------------------------------------------------

def compute(session: Session, workspace_id: str, client_ids: Sequence[int] | None = None) -> Iterator[Summary]:
    """The summaries of ``client_ids`` (every client of the workspace when None), by client id,
    from their rows: four reads per ``IN_CHUNK`` clients, so memory holds one chunk's rows."""
    if client_ids is None:
        client_ids = session.scalars(select(ClientRow.id).where(ClientRow.workspace_id == workspace_id)).all()
    ids = sorted(set(client_ids))
    for start in range(0, len(ids), IN_CHUNK):
        yield from _compute(session, workspace_id, ids[start:start + IN_CHUNK])


# Built once: every write's commit recomputes its client with these, and building a statement (and
# its cache key) cost more than running it. ``ids`` expands to the chunk's client ids.
_i, _le, _d = InteractionRow, LedgerEntryRow, DealRow
_WS, _IDS = bindparam("ws"), bindparam("ids", expanding=True)
_TOUCHES = select(_i.client_id, _i.occurred_on, _i.purpose, _i.id).where(
    _i.workspace_id == _WS, _i.client_id.in_(_IDS), _i.voided.is_(False),
).order_by(_i.client_id, _i.occurred_on.desc(), _i.id.desc())
_ENTRIES = select(_le.client_id, _le.occurred_on, _le.amount, _le.reason).where(
    _le.workspace_id == _WS, _le.client_id.in_(_IDS)).order_by(_le.client_id)
_WINS = select(_d.client_id, func.max(_d.won_on)).where(
    _d.workspace_id == _WS, _d.client_id.in_(_IDS)).group_by(_d.client_id)
_NOTES = select(_i.id, _i.note).where(_i.id.in_(_IDS))


def _compute(session: Session, workspace_id: str, ids: list[int]) -> Iterator[Summary]:
    connection, params = session.connection(), {"ws": workspace_id, "ids": ids}
    won = {client_id: day for client_id, day in connection.execute(_WINS, params)}
    by_touch = {k: list(g) for k, g in groupby(connection.execute(_TOUCHES, params).all(), key=itemgetter(0))}
    by_entry = {k: list(g) for k, g in groupby(connection.execute(_ENTRIES, params).all(), key=itemgetter(0))}
    notes = _notes(session, [rows[0][3] for rows in by_touch.values()])
    for client_id in ids:
        t, e = by_touch.get(client_id, []), by_entry.get(client_id, [])
        yield summarize(client_id, [(r[1], r[2], notes.get(r[3]) if n == 0 else None) for n, r in enumerate(t)],
                        [(r[1], int(r[2]), r[3]) for r in e], won.get(client_id), t[0][3] if t else None)


def _notes(session: Session, interaction_ids: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    connection = session.connection()
    for start in range(0, len(interaction_ids), IN_CHUNK):
        found.update(connection.execute(_NOTES, {"ids": interaction_ids[start:start + IN_CHUNK]}).all())
    return found


def rebuild(session: Session, workspace_id: str, into: TableClause | None = None) -> int:
    """Every summary of the workspace recomputed from its rows (the migration, ``coach
    summaries rebuild``, a database loaded around the write path). ``into``: the table as a
    migration created it, written with the columns it has (later ones fill their own)."""
    table = ClientSummaryRow.__table__ if into is None else into
    session.execute(delete(table).where(table.c.workspace_id == workspace_id))
    batch: list[dict[str, Any]] = []
    written = 0
    for summary in compute(session, workspace_id):
        row = encode(summary) | {"workspace_id": workspace_id}
        batch.append({c.name: row[c.name] for c in table.c})
        if len(batch) == 5_000:
            written += _insert(session, table, batch)
            batch = []
    return written + _insert(session, table, batch)


def _insert(session: Session, table: TableClause, rows: list[dict[str, Any]]) -> int:
    if rows:
        session.execute(table.insert(), rows)
    return len(rows)


@dataclass(frozen=True)
class Drift:
    client_id: int
    stored: Summary | None
    computed: Summary


def check(session: Session, workspace_id: str) -> list[Drift]:
    """Every client whose stored summary differs from the one its rows give (or is missing)."""
    stored = {row.client_id: decode(row) for row in session.execute(
        select(ClientSummaryRow).where(ClientSummaryRow.workspace_id == workspace_id)).scalars()}
    return [Drift(s.client_id, stored.get(s.client_id), s)
            for s in compute(session, workspace_id) if stored.get(s.client_id) != s]
