"""Small helpers the SQLAlchemy repositories share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

IN_CHUNK = 1000  # ids per IN (...) list; drivers cap bound parameters per statement


def as_utc(moment: datetime) -> datetime:
    """SQLite keeps no offset: store UTC, and read naive values back as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def insert_for(session: Session, row_type: type) -> Any:
    """The dialect's own INSERT, which knows ``ON CONFLICT``."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(row_type)
    if dialect == "sqlite":
        return sqlite.insert(row_type)
    raise NotImplementedError(f"no upsert support for {dialect}")
