"""SQLAlchemy repository for deliveries: what the scheduler decided to send, and whether it went.

A delivery is recorded (``plan``) before anything is sent, once per (workspace, job, recipient,
local date): ``INSERT ... ON CONFLICT DO NOTHING RETURNING id``, so a second run, or a second
replica planning at the same moment, gets ``None`` and sends nothing. Its items are inserted the
same way on (workspace, rep, subject, kind, local date): an item another delivery already holds
that day is left out of this one.

Sending is taken with ``claim``, one conditional ``UPDATE ... WHERE status = 'pending' OR
(status = 'failed' AND attempts < :max AND reason IS DISTINCT FROM 'interrupted')``. On
PostgreSQL a concurrent claim of the same row waits for the first transaction, re-checks the
``WHERE`` against the committed row and matches nothing, so exactly one sender wins.

A message whose send was cut short (its sender died, or the platform's answer did not come) is
``failed`` with reason ``interrupted``: never claimed again. ``interrupted`` lists them for the
dispatcher to look up on the platform; it records what it learns with ``finish``.

Every statement is Core (no ORM objects), so nothing stale lingers in the session's identity
map between a write and a read. Nothing here commits: all of it belongs to the caller's unit of
work. Times are stored as UTC (SQLite keeps no offset) and read back aware.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Sequence

from sqlalchemy import delete, or_, select, tuple_, update
from sqlalchemy.orm import Session

from coaching.records import FAILED, INTERRUPTED, PENDING, SENDING, SENT, Delivery, DeliveryItem, SentItem
from storage.common import IN_CHUNK, as_utc
from storage.delivery_rows import (
    DELIVERIES,
    ITEM_COLUMNS,
    ITEMS,
    ITEMS_PER_INSERT,
    HELD_JOB,
    NUDGE_JOBS,
    PLANNED,
    STATUSES,
    check_planned_status,
    check_status,
    claimable,
    delivery_from_row,
    unique_items,
)
from storage.models import DeliveryItemRow, DeliveryRow
from storage.repositories import insert_for

# The statuses and checks moved to ``storage.delivery_rows`` stay importable from here.
__all__ = [
    "HELD_JOB", "NUDGE_JOBS", "STATUSES", "PLANNED", "ITEMS_PER_INSERT", "DELIVERIES", "ITEMS",
    "check_planned_status", "check_status", "unique_items", "SqlDeliveryRepository",
]


class SqlDeliveryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def plan(self, workspace_id: str, job: str, recipient: str, person_id: int | None, local_date: date,
             items: Sequence[DeliveryItem], now: datetime, status: str = PENDING) -> Delivery | None:
        """``status`` is ``pending`` (to be sent), or a finished one recorded as such at once
        (``skipped``: nothing to say; ``sent``: done without sending, e.g. a day's upkeep;
        ``failed``), whose ``finished_at`` is ``now``. ``sending`` is refused (``ValueError``):
        only ``claim`` sets it, with the claim's time that ``interrupt_stale`` goes by. Items
        repeated within ``items`` are kept once (the first). The returned delivery holds the
        items actually recorded, in the order given."""
        check_planned_status(status)
        moment = as_utc(now)
        stmt = insert_for(self.session, DeliveryRow).values(
            workspace_id=workspace_id, job=job, recipient=recipient, person_id=person_id,
            local_date=local_date, status=status, attempts=0, channel=None, reason=None,
            claimed_at=None, finished_at=None if status == PENDING else moment, created_at=moment,
        ).on_conflict_do_nothing(index_elements=["workspace_id", "job", "recipient", "local_date"])
        delivery_id = self.session.execute(stmt.returning(DeliveryRow.id)).scalar_one_or_none()
        if delivery_id is None:
            return None
        wanted = unique_items(items)
        self._release_failed(workspace_id, local_date, wanted)
        stored = self._insert_items(workspace_id, delivery_id, local_date, wanted)
        kept = tuple(item for item in wanted if (item.rep_id, item.subject, item.kind) in stored)
        return Delivery(
            delivery_id, job, recipient, person_id, local_date, status, items=kept,
            finished_at=None if status == PENDING else moment,
        )

    def _insert_items(self, workspace_id: str, delivery_id: int, local_date: date,
                      wanted: Sequence[DeliveryItem]) -> set[tuple[int, str, str]]:
        """The (rep, subject, kind) of the items actually inserted: one another delivery already
        holds that day is skipped by the unique key, not raised."""
        stored: set[tuple[int, str, str]] = set()
        for start in range(0, len(wanted), ITEMS_PER_INSERT):
            rows = [
                dict(workspace_id=workspace_id, delivery_id=delivery_id, rep_id=item.rep_id,
                     subject=item.subject, kind=item.kind, client_id=item.client_id, stake=item.stake,
                     local_date=local_date)
                for item in wanted[start:start + ITEMS_PER_INSERT]
            ]
            insert = insert_for(self.session, DeliveryItemRow).values(rows).on_conflict_do_nothing(
                index_elements=["workspace_id", "rep_id", "subject", "kind", "local_date"])
            returning = insert.returning(DeliveryItemRow.rep_id, DeliveryItemRow.subject, DeliveryItemRow.kind)
            stored.update(tuple(row) for row in self.session.execute(returning))
        return stored

    def _release_failed(self, workspace_id: str, local_date: date, wanted: Sequence[DeliveryItem]) -> None:
        """Items held by a message that failed (and was not interrupted mid-send) never reached
        the rep: a later message of the day may carry them instead."""
        d, i = DELIVERIES.c, ITEMS.c
        failed = select(d.id).where(d.workspace_id == workspace_id, d.local_date == local_date, d.status == FAILED,
                                    or_(d.reason.is_(None), d.reason != INTERRUPTED))
        keys = [(item.rep_id, item.subject, item.kind) for item in wanted]
        for start in range(0, len(keys), IN_CHUNK):
            self.session.execute(delete(ITEMS).where(
                i.workspace_id == workspace_id, i.local_date == local_date, i.delivery_id.in_(failed),
                tuple_(i.rep_id, i.subject, i.kind).in_(keys[start:start + IN_CHUNK])))

    def get(self, workspace_id: str, delivery_id: int) -> Delivery | None:
        found = self._with_items(workspace_id, self._select(workspace_id).where(DELIVERIES.c.id == delivery_id))
        return found[0] if found else None

    def recorded(self, workspace_id: str, job: str, local_dates: Sequence[date]) -> set[tuple[str, date]]:
        """Whatever their status (a skipped day is recorded too)."""
        d = DELIVERIES.c
        dates = list(dict.fromkeys(local_dates))
        found: set[tuple[str, date]] = set()
        for start in range(0, len(dates), IN_CHUNK):
            stmt = select(d.recipient, d.local_date).where(
                d.workspace_id == workspace_id, d.job == job, d.local_date.in_(dates[start:start + IN_CHUNK]))
            found.update((recipient, day) for recipient, day in self.session.execute(stmt))
        return found

    def items_on(self, workspace_id: str, rep_id: int, local_date: date) -> set[tuple[str, str]]:
        """Items planned, being sent or sent today; not those of a message that failed (it never
        reached the rep), unless it was interrupted mid-send (it may have)."""
        i, d = ITEMS.c, DELIVERIES.c
        stmt = select(i.subject, i.kind).join(DELIVERIES, d.id == i.delivery_id).where(
            i.workspace_id == workspace_id, i.rep_id == rep_id, i.local_date == local_date,
            or_(d.status != FAILED, d.reason == INTERRUPTED))
        return {(subject, kind) for subject, kind in self.session.execute(stmt)}

    def sent_items(self, workspace_id: str, since: date, rep_ids: Sequence[int] | None = None
                   ) -> dict[tuple[int, str, str], list[date]]:
        """Items of deliveries whose status is ``sent``, with the item's local date on or after
        ``since``; the dates oldest first. ``rep_ids`` (when given) limits the reps."""
        i, d = ITEMS.c, DELIVERIES.c
        base = select(i.rep_id, i.subject, i.kind, i.local_date).join(
            DELIVERIES, d.id == i.delivery_id
        ).where(i.workspace_id == workspace_id, i.local_date >= since, d.status == SENT)
        if rep_ids is None:
            statements = [base]
        else:
            ids = list(dict.fromkeys(rep_ids))
            statements = [base.where(i.rep_id.in_(ids[s:s + IN_CHUNK])) for s in range(0, len(ids), IN_CHUNK)]
        sent: dict[tuple[int, str, str], list[date]] = {}
        for stmt in statements:
            for rep_id, subject, kind, day in self.session.execute(stmt):
                sent.setdefault((rep_id, subject, kind), []).append(day)
        for days in sent.values():
            days.sort()
        return sent

    def sent_items_between(self, workspace_id: str, rep_ids: Sequence[int], start: date, end: date,
                           held: bool = False) -> list[SentItem]:
        """One query (per ``IN_CHUNK`` reps): items joined to their delivery, which must be a
        ``sent`` digest or reminder (``held``: the nudges held back instead); by the item's local
        date (its delivery's). Sorted in Python (local date, rep, subject, kind), so the order
        does not depend on the database collation."""
        ids = list(dict.fromkeys(rep_ids))
        if not ids or start > end:
            return []
        i, d = ITEMS.c, DELIVERIES.c
        base = select(i.rep_id, i.client_id, i.subject, i.kind, i.local_date).join(
            DELIVERIES, d.id == i.delivery_id
        ).where(
            i.workspace_id == workspace_id, d.workspace_id == workspace_id, i.local_date.between(start, end),
            d.job == HELD_JOB if held else (d.status == SENT) & d.job.in_(NUDGE_JOBS),
        )
        found: list[SentItem] = []
        for s in range(0, len(ids), IN_CHUNK):
            stmt = base.where(i.rep_id.in_(ids[s:s + IN_CHUNK]))
            found.extend(SentItem(rep_id, client_id, subject, kind, day)
                         for rep_id, client_id, subject, kind, day in self.session.execute(stmt))
        found.sort(key=lambda x: (x.local_date, x.rep_id, x.subject, x.kind))
        return found

    def claim(self, workspace_id: str, delivery_id: int, now: datetime, max_attempts: int) -> Delivery | None:
        """One conditional UPDATE: ``sending``, one more attempt, ``claimed_at`` = ``now``; the
        previous attempt's ``channel``, ``reason`` and ``finished_at`` are cleared."""
        d = DELIVERIES.c
        stmt = update(DELIVERIES).where(
            d.workspace_id == workspace_id, d.id == delivery_id, claimable(max_attempts),
        ).values(
            status=SENDING, attempts=d.attempts + 1, claimed_at=as_utc(now), channel=None, reason=None,
            finished_at=None,
        ).returning(*DELIVERIES.c)
        row = self.session.execute(stmt).one_or_none()
        if row is None:
            return None
        return delivery_from_row(row, self._items(workspace_id, [row.id]).get(row.id, ()))

    def finish(self, workspace_id: str, delivery_id: int, status: str, now: datetime,
               channel: str | None = None, reason: str | None = None) -> None:
        """Whatever the delivery's status was (a sender that outlived its lease still reports
        what happened). ``ValueError`` for an unknown status, ``LookupError`` if the delivery is
        not in the workspace."""
        check_status(status)
        d = DELIVERIES.c
        result = self.session.execute(update(DELIVERIES).where(
            d.workspace_id == workspace_id, d.id == delivery_id,
        ).values(status=status, channel=channel, reason=reason, finished_at=as_utc(now)))
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise LookupError(f"no delivery {delivery_id} in workspace {workspace_id!r}")

    def retryable(self, workspace_id: str, local_dates: Sequence[date], max_attempts: int) -> list[Delivery]:
        """Oldest first (by ``created_at``, then id)."""
        dates = list(dict.fromkeys(local_dates))
        if not dates:
            return []
        d = DELIVERIES.c
        found: list[Delivery] = []
        for start in range(0, len(dates), IN_CHUNK):
            stmt = self._select(workspace_id).where(
                d.local_date.in_(dates[start:start + IN_CHUNK]), claimable(max_attempts))
            found.extend(self._with_items(workspace_id, stmt))
        return found  # one chunk in practice; several keep each chunk's order

    def interrupted(self, workspace_id: str, claimed_after: datetime, claimed_before: datetime) -> list[Delivery]:
        """Failed with reason ``interrupted`` (the platform may have them), last claimed in
        [``claimed_after``, ``claimed_before``); oldest first. What the dispatcher looks up."""
        d = DELIVERIES.c
        stmt = self._select(workspace_id).where(
            d.status == FAILED, d.claimed_at >= as_utc(claimed_after), d.claimed_at < as_utc(claimed_before),
            d.reason == INTERRUPTED)
        return self._with_items(workspace_id, stmt)

    def interrupt_stale(self, workspace_id: str, claimed_before: datetime, now: datetime) -> int:
        d = DELIVERIES.c
        result = self.session.execute(update(DELIVERIES).where(
            d.workspace_id == workspace_id, d.status == SENDING, d.claimed_at < as_utc(claimed_before),
        ).values(status=FAILED, reason=INTERRUPTED, finished_at=as_utc(now)))
        return int(result.rowcount)  # type: ignore[attr-defined]

    def list(self, workspace_id: str, local_date: date) -> list[Delivery]:
        """Every delivery of the local date, whatever its status, by job then recipient."""
        d = DELIVERIES.c
        stmt = self._select(workspace_id).where(d.local_date == local_date).order_by(None).order_by(
            d.job, d.recipient, d.id)
        return self._with_items(workspace_id, stmt)

    # -- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _select(workspace_id: str) -> Any:
        d = DELIVERIES.c
        return select(DELIVERIES).where(d.workspace_id == workspace_id).order_by(d.created_at, d.id)

    def _with_items(self, workspace_id: str, stmt: Any) -> list[Delivery]:
        rows = list(self.session.execute(stmt))
        items = self._items(workspace_id, [row.id for row in rows])
        return [delivery_from_row(row, items.get(row.id, ())) for row in rows]

    def _items(self, workspace_id: str, delivery_ids: Sequence[int]) -> dict[int, list[DeliveryItem]]:
        """Each delivery's items in the order they were recorded (ids follow the order given
        to ``plan``)."""
        found: dict[int, list[DeliveryItem]] = {}
        i = ITEMS.c
        for start in range(0, len(delivery_ids), IN_CHUNK):
            stmt = select(*ITEM_COLUMNS).where(
                i.workspace_id == workspace_id, i.delivery_id.in_(delivery_ids[start:start + IN_CHUNK]),
            ).order_by(i.delivery_id, i.id)
            for delivery_id, rep_id, subject, kind, client_id, stake in self.session.execute(stmt):
                found.setdefault(delivery_id, []).append(DeliveryItem(rep_id, subject, kind, client_id, stake))
        return found
