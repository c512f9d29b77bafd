"""What was erased, and when: one line per erasure on request (a person, a client) and per
retention run that blanked anything. It names the row by its id and counts the rows changed per
table; it never holds what was erased (no name, e-mail, note or hash of them)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Code, workspace_fk


class ErasureRow(Base):
    __tablename__ = "erasures"
    __table_args__ = (Index("ix_erasures_workspace", "workspace_id", "erased_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = workspace_fk()
    kind: Mapped[str] = mapped_column(Code)  # person | client | retention
    # the person's id (their row stays, anonymised) or the client's (gone); no foreign key
    subject_id: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(String(64))  # "cli", "upkeep"
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    before: Mapped[date | None] = mapped_column(Date)  # retention: text dated before this day
    rows: Mapped[dict[str, int]] = mapped_column(JSON)  # rows changed or removed, per table
