"""Read models kept in the write path: one row per client (``client_summaries``) and one per
team report and day (``team_snapshots``). Neither holds anything the tables of record do not:
``coach summaries check`` recomputes them and reports any difference."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, WorkspaceId, workspace_fk


class ClientSummaryRow(Base):
    """What the daily scan and team health need of a client, valid for any day on or after
    ``through_on`` (the latest date of anything folded in). ``touches`` and ``entries`` are
    compact JSON (see :mod:`storage.summaries`)."""

    __tablename__ = "client_summaries"

    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[str] = workspace_fk()
    through_on: Mapped[date | None] = mapped_column(Date)
    touches: Mapped[str] = mapped_column(Text)  # newest first: the latest 12 and the 90 days before the newest
    last_note: Mapped[str | None] = mapped_column(Text)
    balance: Mapped[int] = mapped_column(Integer)
    first_entry_on: Mapped[date | None] = mapped_column(Date)
    entries: Mapped[str] = mapped_column(Text)  # per day: the 28 days up to the newest entry
    last_setback_on: Mapped[date | None] = mapped_column(Date)
    last_put_right_on: Mapped[date | None] = mapped_column(Date)
    last_won_on: Mapped[date | None] = mapped_column(Date)
    # The newest touch's id: a touch of the same day with a higher id comes before it (0014).
    last_touch_id: Mapped[int | None] = mapped_column(BigId)
    # The days from ``quiet_from`` to ``quiet_until`` on which the client raises no nudge if
    # nothing is written, worked out by the daily upkeep with the rules and code ``quiet_key``
    # names (storage/quiet_days.py); every write clears them (0015).
    quiet_from: Mapped[date | None] = mapped_column(Date)
    quiet_until: Mapped[date | None] = mapped_column(Date)
    quiet_key: Mapped[str | None] = mapped_column(String(32))


class TeamSnapshotRow(Base):
    """What team reports computed for a past ``day`` (:mod:`coaching.snapshots`): the next
    reports read it instead of recomputing a past period. A record dated on or before ``day``
    written later removes the snapshot (it is computed again when asked)."""

    __tablename__ = "team_snapshots"

    workspace_id: Mapped[str] = mapped_column(WorkspaceId, ForeignKey("workspaces.id"), primary_key=True)
    teams: Mapped[str] = mapped_column(String(200), primary_key=True)  # coaching.snapshots.key: team ids and rules
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    figures: Mapped[str | None] = mapped_column(Text)  # JSON: the team's figures for the four weeks ending day
    owners: Mapped[str | None] = mapped_column(Text)  # JSON: each owner's book balance on day
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
