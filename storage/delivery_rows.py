"""What the delivery repository (``storage.deliveries``) builds on: its tables, the statuses a
delivery may be recorded with, the condition a claim checks, and rows turned into
``coaching.records.Delivery`` values."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import and_, or_

from coaching.records import (
    FAILED,
    INTERRUPTED,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    Delivery,
    DeliveryItem,
)
from storage.common import as_utc
from storage.models import DeliveryItemRow, DeliveryRow

NUDGE_JOBS = ("digest", "reminder")  # the messages that carry a rep's nudge items
HELD_JOB = "held_back"  # nudges held back to measure the coach's effect (recorded, never sent)
STATUSES = frozenset({PENDING, SENDING, SENT, FAILED, SKIPPED})
PLANNED = STATUSES - {SENDING}  # what ``plan`` may record: "sending" needs a claim (and its time)
ITEMS_PER_INSERT = 500  # rows per multi-row INSERT: drivers cap bound parameters per statement

DELIVERIES = DeliveryRow.__table__
ITEMS = DeliveryItemRow.__table__
ITEM_COLUMNS = (
    ITEMS.c.delivery_id, ITEMS.c.rep_id, ITEMS.c.subject, ITEMS.c.kind,
    ITEMS.c.client_id, ITEMS.c.stake,
)


def check_planned_status(status: str) -> None:
    if status not in PLANNED:
        raise ValueError(f"a delivery is planned as one of {sorted(PLANNED)}, not {status!r}")


def check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown delivery status {status!r}; expected one of {sorted(STATUSES)}")


def unique_items(items: Iterable[DeliveryItem]) -> list[DeliveryItem]:
    """The first of each (rep, subject, kind), in the order given."""
    seen: dict[tuple[int, str, str], DeliveryItem] = {}
    for item in items:
        seen.setdefault((item.rep_id, item.subject, item.kind), item)
    return list(seen.values())


def utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)


def claimable(max_attempts: int) -> Any:
    """Pending, or failed with attempts left and not interrupted (an interrupted message may
    have reached the platform: never sent again)."""
    d = DELIVERIES.c
    return or_(
        d.status == PENDING,
        and_(d.status == FAILED, d.attempts < max_attempts, d.reason.is_distinct_from(INTERRUPTED)),
    )


def delivery_from_row(row: Any, items: Sequence[DeliveryItem] = ()) -> Delivery:
    return Delivery(
        row.id, row.job, row.recipient, row.person_id, row.local_date, row.status,
        attempts=row.attempts, channel=row.channel, reason=row.reason, items=tuple(items),
        claimed_at=utc_or_none(row.claimed_at), finished_at=utc_or_none(row.finished_at),
    )
