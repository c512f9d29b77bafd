"""The declarative base and the column types every table shares.

The naming convention gives each constraint and index a predictable name, which the migrations
(``storage/migrations/versions``) refer to; it must not change without a migration.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigId = BigInteger().with_variant(Integer(), "sqlite")
"""Id type of the big tables (and of the columns that point at them)."""

WorkspaceId = String(64)
Name = String(200)
Code = String(32)  # an enum's value: role, kind, purpose, status, reason, source
ExternalId = String(200)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def workspace_fk() -> Mapped[str]:
    """The ``workspace_id`` column of a tenant's table (every read filters on it first)."""
    return mapped_column(WorkspaceId, ForeignKey("workspaces.id"))
