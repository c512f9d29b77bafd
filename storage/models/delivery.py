"""What the scheduler sent, and what reps said about it: deliveries, the nudge items inside
them, and the feedback on a nudge."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, Code, workspace_fk


class DeliveryRow(Base):
    """One message the scheduler decided to send (``coaching.records.Delivery``), recorded before
    it is sent: one per (workspace, job, recipient, recipient-local date). ``status`` moves
    pending -> sending -> sent | failed; ``skipped`` records a day with nothing to say. Times are
    UTC (SQLite keeps no offset, so only UTC values compare correctly there)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # Planned once: a second run (or a second replica) finds the row and plans nothing.
        UniqueConstraint("workspace_id", "job", "recipient", "local_date"),
        # A day's messages: list, retryable, recorded.
        Index("ix_deliveries_date", "workspace_id", "local_date", "status"),
        # interrupt_stale: what has been "sending" since before the lease ran out.
        Index("ix_deliveries_status_claimed", "workspace_id", "status", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = workspace_fk()
    job: Mapped[str] = mapped_column(Code)  # digest | reminder | weekly | team
    recipient: Mapped[str] = mapped_column(String(100))  # "person:12", "team:3"
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    local_date: Mapped[date] = mapped_column(Date)  # the recipient's own date
    status: Mapped[str] = mapped_column(Code)
    attempts: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str | None] = mapped_column(Code)  # slack | teams | log
    reason: Mapped[str | None] = mapped_column(Text)  # why it failed or was skipped
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeliveryItemRow(Base):
    """One nudge inside a delivery (``coaching.records.DeliveryItem``): at most one per (rep,
    subject, kind, local date) across every delivery, so an item never reaches a rep twice a
    day. ``local_date`` repeats its delivery's, so that key is a plain unique constraint."""

    __tablename__ = "delivery_items"
    __table_args__ = (
        UniqueConstraint("workspace_id", "rep_id", "subject", "kind", "local_date"),
        # A rep's items of a day (items_on) and of the backoff window (sent_items for reps).
        Index("ix_delivery_items_rep", "workspace_id", "rep_id", "local_date"),
        # Every rep's items of the backoff window (sent_items for the whole workspace).
        Index("ix_delivery_items_date", "workspace_id", "local_date"),
        # A delivery's items.
        Index("ix_delivery_items_delivery", "workspace_id", "delivery_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[str] = workspace_fk()
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"))
    rep_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    subject: Mapped[str] = mapped_column(String(200))  # "client:4:quiet", "promise:12"
    kind: Mapped[str] = mapped_column(String(40))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    stake: Mapped[int] = mapped_column(Integer)
    local_date: Mapped[date] = mapped_column(Date)


class NudgeFeedbackRow(Base):
    """What a rep said about a nudge: snoozed (until a day), dismissed as not relevant, or acted
    on. Append-only: a subject may gather several rows; ``storage.feedback`` reads the windows."""

    __tablename__ = "nudge_feedback"
    __table_args__ = (
        # One rep's feedback by date (suppressed for a rep, for_period over a team's reps).
        Index("ix_nudge_feedback_rep", "workspace_id", "rep_id", "on_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = workspace_fk()
    rep_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    subject: Mapped[str] = mapped_column(String(200))  # e.g. "client:4:quiet", "promise:12"
    kind: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(20))  # snoozed | dismissed | acted
    on_date: Mapped[date] = mapped_column(Date)  # ``NudgeFeedback.on``
    until: Mapped[date | None] = mapped_column(Date)  # a snooze's end, exclusive
