"""Small helpers the SQLAlchemy repositories share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Callable

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

IN_CHUNK = 1000  # ids per IN (...) list; drivers cap bound parameters per statement


def as_utc(moment: datetime) -> datetime:
    """SQLite keeps no offset: store UTC, and read naive values back as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_INSERTS: dict[str, Callable[[type], Any]] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _insert(dialect: str) -> Callable[[type], Any]:
    if dialect not in _INSERTS:
        raise NotImplementedError(f"no upsert support for {dialect}")
    insert = _INSERTS[dialect]
    # Into the mapped class's table, not the class: an INSERT of an ORM entity runs through the
    # ORM's bulk machinery on every execution (about 0.25 ms a statement on PostgreSQL, several
    # per logged touch), and these statements create no ORM objects anyway.
    return lambda row_type: insert(getattr(row_type, "__table__", row_type))


def insert_for(session: Session, row_type: type) -> Any:
    """The dialect's own INSERT into ``row_type``'s table, which knows ``ON CONFLICT``."""
    return _insert(session.get_bind().dialect.name)(row_type)


_BUILT: dict[tuple[str, str], Any] = {}


def built_once(session: Session, name: str, make: Callable[[Callable[[type], Any]], Any]) -> Any:
    """The statement ``name``, built by ``make`` once per dialect and kept; ``make`` gets the
    dialect's INSERT. A statement on every log's path is worth keeping: building it (and its
    cache key) cost more than running it. Its values come as parameters."""
    dialect = session.get_bind().dialect.name
    key = (name, dialect)
    if key not in _BUILT:
        _BUILT[key] = make(_insert(dialect))
    return _BUILT[key]
