"""Keeping the per-client summaries (:mod:`storage.summaries`) in the write path.

Every repository write calls :func:`mark` with its client and the record's date. The unit of
work's commit (:func:`install`, a ``before_commit`` hook) then brings each marked client's
summary up to date, in the same transaction, in one of two ways:

- **folded**: the transaction only appended records the summary can take in as they are (a
  touch that is the client's newest, by day and then id; ledger entries of any date; won
  deals). The stored row is read (under its lock on PostgreSQL) and the new records folded into
  it: two statements, none of the client's records read again. This is every ordinary log;
- **recomputed** from the client's records (:func:`storage.summaries.compute`): anything else
  (a backdated touch, a void, a purpose changed, an erasure, a client without a stored
  summary).

Both give the same summary: :func:`fold` is exact only because what it refuses is recomputed,
and ``coach summaries check`` recomputes every summary and names any difference.

On PostgreSQL the summary rows are locked in client order before they are read, so two
transactions writing to one client cannot both write a summary that misses the other's record:
the second waits, and reads the row the first committed (READ COMMITTED re-reads a row it
waited for).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Sequence

from sqlalchemy import bindparam, delete, event, select
from sqlalchemy.orm import Session, sessionmaker

from coaching.nudges import TREND_DAYS
from storage.common import IN_CHUNK, built_once
from storage.models import ClientSummaryRow, TeamSnapshotRow
from storage.summaries import (
    KEPT_TOUCHES, PUT_RIGHT, SETBACKS, WINDOW_DAYS, Summary, compute, decode, encode, latest,
)

_DIRTY = "client_summaries.dirty"  # (workspace, client) -> the earliest record date written
_APPENDED = "client_summaries.appended"  # (workspace, client) -> its appended records, or None
_STORED = "client_summaries.stored"  # (workspace, client) -> its stored summary, read (and locked) early
_FOLDED = "client_summaries.folded"  # (workspace, client) -> its last fold, and what it was made of
Folds = dict[Any, tuple[Any, "Summary | None"]]  # what is kept under _FOLDED


@dataclass
class Appended:
    """What one transaction appended to one client, in the order it was written."""

    touches: list[tuple[date, str, str | None, int]] = field(default_factory=list)  # day, purpose, note, id
    entries: list[tuple[date, int, str]] = field(default_factory=list)  # day, amount, reason
    won: list[date] = field(default_factory=list)


def mark(session: Session, workspace_id: str, client_id: int, day: date | None = None, *,
         touch: tuple[date, str, str | None, int] | None = None, entry: tuple[date, int, str] | None = None,
         won_on: date | None = None) -> None:
    """``client_id``'s summary is brought up to date when ``session`` commits; a record dated
    ``day`` also removes the workspace's team snapshots from that day on. A new touch, ledger
    entry or won deal passes itself (``touch``, ``entry``, ``won_on``) and may be folded in;
    any other write passes none, and the client is recomputed from its records."""
    dirty: dict[tuple[str, int], date | None] = session.info.setdefault(_DIRTY, {})
    key = (workspace_id, client_id)
    dirty[key] = _earliest(dirty.get(key, day), day)
    appended: dict[tuple[str, int], Appended | None] = session.info.setdefault(_APPENDED, {})
    if touch is None and entry is None and won_on is None:
        appended[key] = None  # recomputed, whatever else the transaction appends
        return
    if key in appended and appended[key] is None:
        return
    record = appended.setdefault(key, Appended())
    if touch is not None:
        record.touches.append(touch)
    if entry is not None:
        record.entries.append(entry)
    if won_on is not None:
        record.won.append(won_on)


def _earliest(a: date | None, b: date | None) -> date | None:
    return min(a, b) if a is not None and b is not None else (a if b is None else b)


def fold(summary: Summary, new: Appended) -> Summary | None:
    """``summary`` with ``new`` taken in, exactly as :func:`storage.summaries.summarize` would
    give it from all the records; None when that needs the records: a touch that is not the
    newest (touches go by day, then id), whose place among the others the summary cannot tell."""
    newest = _fold_touches(summary, new.touches)
    if newest is None:
        return None
    touches, note, newest_id = newest
    ledger = _fold_entries(summary, new.entries)  # through_on: its last entry's day
    won = latest(summary.last_won_on, *new.won)
    return replace(
        ledger, through_on=latest(touches[0][0] if touches else None, ledger.through_on, won),
        touches=touches, last_note=note, last_won_on=won, last_touch_id=newest_id,
    )


def _fold_touches(summary: Summary, new: list[tuple[date, str, str | None, int]]) -> Any:
    """The kept touches, the last note and the newest id with ``new`` added; None when one of
    them is not the newest."""
    touches, note, newest_id = summary.touches, summary.last_note, summary.last_touch_id
    for on, purpose, text, touch_id in new:
        if touches and (on < touches[0][0] or (on == touches[0][0] and (newest_id is None or touch_id < newest_id))):
            return None
        # The kept touches are the newest of all (the latest KEPT_TOUCHES, and every one within
        # WINDOW_DAYS of the newest): a newer touch only moves that boundary forward. Both are
        # a leading run of the touches (newest first), so what stays is the longer of the two.
        start = on - timedelta(days=WINDOW_DAYS)
        within = bisect_left(touches, True, key=lambda t: t[0] <= start)
        touches = ((on, purpose),) + touches[:max(KEPT_TOUCHES - 1, within)]
        note, newest_id = (text if text and text.strip() else None), touch_id
    return touches, note, newest_id


def _fold_entries(summary: Summary, new: list[tuple[date, int, str]]) -> Summary:
    """``summary``'s ledger fields with ``new`` entries added (``through_on``: the last entry's
    day). The days it keeps are every day within TREND_DAYS of the last entry: all a later
    window can hold."""
    if not new:
        return replace(summary, through_on=summary.entries[-1][0] if summary.entries else None)
    per_day = dict(summary.entries)
    balance, first, setback, put_right = summary.balance, summary.first_entry_on, summary.last_setback_on, summary.last_put_right_on
    for on, amount, reason in new:
        per_day[on] = per_day.get(on, 0) + amount
        balance += amount
        first = on if first is None else min(first, on)
        if reason in SETBACKS:
            setback = latest(setback, on)
        elif reason == PUT_RIGHT:
            put_right = latest(put_right, on)
    last = max(per_day)
    entries = tuple(sorted((on, a) for on, a in per_day.items() if on > last - timedelta(days=TREND_DAYS)))
    return replace(summary, through_on=last, balance=balance, first_entry_on=first, entries=entries,
                   last_setback_on=setback, last_put_right_on=put_right)


def current(session: Session, workspace_id: str, client_id: int) -> Summary | None:
    """The summary this transaction's commit will store for a client it appended records to
    (a logged touch's balance and latest touches, with no statement of their own: the stored
    row is read now, and locked on PostgreSQL, instead of at the commit). None when the records
    must be read instead: nothing appended to the client here, a write that is recomputed, a
    fold that declines, or other clients written in the same transaction (their rows are
    locked together at the commit, in client order)."""
    key = (workspace_id, client_id)
    new = session.info.get(_APPENDED, {}).get(key)
    if new is None or len(session.info.get(_DIRTY, {})) != 1:
        return None
    stored: dict[tuple[str, int], Summary | None] = session.info.setdefault(_STORED, {})
    if key not in stored:
        stored[key] = _stored(session, workspace_id, [client_id]).get(client_id)
    kept = stored[key]
    return None if kept is None else _fold_once(session.info.setdefault(_FOLDED, {}), key, kept, new)


def _fold_once(folds: Folds, key: Any, kept: Summary, new: Appended) -> Summary | None:
    """``fold(kept, new)``, worked out again only when ``kept`` or ``new`` changed since the last
    time for ``key``: a log's reply asks for its client's summary twice (balance, latest
    purposes) and the commit stores it, and each fold copies every kept touch."""
    made_of = (kept, len(new.touches), len(new.entries), len(new.won))  # ``new`` only grows
    done = folds.get(key)
    if done is None or done[0][0] is not kept or done[0][1:] != made_of[1:]:
        done = folds[key] = (made_of, fold(kept, new))
    return done[1]


def refresh(session: Session, workspace_id: str, client_ids: Sequence[int],
            appended: dict[int, Appended | None] | None = None,
            early: dict[int, Summary | None] | None = None, snapshots_from: date | None = None,
            folds: Folds | None = None) -> int:
    """Bring the summaries of ``client_ids`` up to date (holding their locks on PostgreSQL):
    those in ``appended`` folded where they can be, the others recomputed from their records.
    ``early``: stored summaries already read (and locked) in this transaction, by :func:`current`,
    and ``folds`` the folds it made of them (by workspace and client).
    ``snapshots_from``: the workspace's team snapshots from that day on are removed too (on
    PostgreSQL, with one client, in the same statement as its summary)."""
    ids = sorted(set(client_ids))
    merged = False
    for start in range(0, len(ids), IN_CHUNK):
        rows = _refreshed(session, workspace_id, ids[start:start + IN_CHUNK], appended or {}, early or {},
                          {} if folds is None else folds)
        if len(ids) == 1 and snapshots_from is not None and session.get_bind().dialect.name == "postgresql":
            session.execute(built_once(session, "summaries.upsert_forgetting", _upsert_forgetting),
                            rows[0] | {"snapshots_ws": workspace_id, "snapshots_from": snapshots_from})
            merged = True
        elif rows:
            session.execute(built_once(session, "summaries.upsert", _upsert), rows)
    if snapshots_from is not None and not merged:
        session.execute(_SNAPSHOTS_FROM, {"ws": workspace_id, "day": snapshots_from})
    return len(ids)


def _refreshed(session: Session, workspace_id: str, part: list[int], appended: dict[int, Appended | None],
               early: dict[int, Summary | None], folds: Folds) -> list[dict[str, Any]]:
    """The rows to store for ``part``: folded, or recomputed."""
    unread = [cid for cid in part if cid not in early]
    stored = _stored(session, workspace_id, unread) if unread else {}
    stored.update((cid, s) for cid in part if (s := early.get(cid)) is not None)
    rows, rest = [], []
    for client_id in part:
        new, kept = appended.get(client_id), stored.get(client_id)
        folded = None if new is None or kept is None else _fold_once(folds, (workspace_id, client_id), kept, new)
        if folded is None:
            rest.append(client_id)
        else:
            rows.append(encode(folded) | {"workspace_id": workspace_id})
    return rows + [encode(summary) | {"workspace_id": workspace_id} for summary in compute(session, workspace_id, rest)]


_SUMMARY_COLUMNS = [c for c in ClientSummaryRow.__table__.c if c.name != "workspace_id"]
_summary_id = ClientSummaryRow.__table__.c.client_id  # the table's: no ORM plugin on every log
_ROWS = select(*_SUMMARY_COLUMNS).where(
    _summary_id.in_(bindparam("ids", expanding=True))).order_by(_summary_id)
_LOCKED_ROWS = _ROWS.with_for_update()


def _stored(session: Session, workspace_id: str, ids: list[int]) -> dict[int, Summary]:
    """The stored summaries of ``ids``. On PostgreSQL every one of them is locked, in client
    order, a placeholder inserted first for a client without one (its summary is recomputed)."""
    if session.get_bind().dialect.name != "postgresql":
        return {row.client_id: decode(row) for row in session.execute(_ROWS, {"ids": ids})}
    stored = {row.client_id: decode(row) for row in session.execute(_LOCKED_ROWS, {"ids": ids})}
    missing = [cid for cid in ids if cid not in stored]
    if missing:
        empty = [encode(Summary(cid)) | {"workspace_id": workspace_id} for cid in missing]
        session.execute(built_once(session, "summaries.placeholders", lambda insert: insert(
            ClientSummaryRow).on_conflict_do_nothing(index_elements=["client_id"])), empty)
        session.execute(_LOCKED_ROWS, {"ids": missing})  # one another transaction inserted meanwhile
        for cid in missing:  # a placeholder is no summary: recomputed
            stored.pop(cid, None)
    return stored


def _upsert(insert: Any) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE every column but the keys (built once: its ``excluded``
    columns alone took a millisecond to build on every commit)."""
    stmt = insert(ClientSummaryRow)
    columns = [k for k in encode(Summary(0)) if k != "client_id"]
    return stmt.on_conflict_do_update(index_elements=["client_id"], set_={k: stmt.excluded[k] for k in columns})


def _upsert_forgetting(insert: Any) -> Any:
    """:func:`_upsert` and, in the same statement, the workspace's team snapshots from a day on
    removed (a data-modifying WITH: PostgreSQL runs it once, whatever the INSERT does)."""
    gone = delete(_snapshots).where(_snapshots.c.workspace_id == bindparam("snapshots_ws"),
                                    _snapshots.c.day >= bindparam("snapshots_from")).cte("gone_snapshots")
    return _upsert(insert).add_cte(gone)


def install(factory: sessionmaker[Session]) -> None:
    """Refresh the marked clients' summaries as part of every commit of ``factory``'s sessions."""
    event.listen(factory, "before_commit", _before_commit)
    event.listen(factory, "after_rollback", _forget)


def _before_commit(session: Session) -> None:
    dirty: dict[tuple[str, int], date | None] = session.info.pop(_DIRTY, None) or {}
    appended: dict[tuple[str, int], Appended | None] = session.info.pop(_APPENDED, None) or {}
    early: dict[tuple[str, int], Summary | None] = session.info.pop(_STORED, None) or {}
    folds = session.info.pop(_FOLDED, None) or {}
    by_workspace: dict[str, list[int]] = {}
    since: dict[str, date | None] = {}
    for (workspace_id, client_id), day in dirty.items():
        by_workspace.setdefault(workspace_id, []).append(client_id)
        since[workspace_id] = _earliest(since.get(workspace_id, day), day)
    for workspace_id, ids in sorted(by_workspace.items()):
        refresh(session, workspace_id, ids, {cid: appended.get((workspace_id, cid)) for cid in ids},
                {cid: early[(ws, cid)] for ws, cid in early if ws == workspace_id}, since[workspace_id], folds)


# On the table, not the ORM class: an ORM DELETE first looks for matching objects in the session.
_snapshots = TeamSnapshotRow.__table__
_SNAPSHOTS_FROM = delete(_snapshots).where(_snapshots.c.workspace_id == bindparam("ws"),
                                           _snapshots.c.day >= bindparam("day"))


def _forget(session: Session) -> None:
    for key in (_DIRTY, _APPENDED, _STORED, _FOLDED):
        session.info.pop(key, None)
