"""Small helpers the SQLAlchemy repositories share."""

from __future__ import annotations

from datetime import UTC, datetime

IN_CHUNK = 1000  # ids per IN (...) list; drivers cap bound parameters per statement


def as_utc(moment: datetime) -> datetime:
    """SQLite keeps no offset: store UTC, and read naive values back as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
