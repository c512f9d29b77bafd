"""What happens with clients: touches (``interactions``), the promises, problems and deals
they record, and the ledger. ``interactions`` and ``ledger_entries`` are the big tables (tens of
millions of rows), so their ids, and the columns pointing at them, are ``BigId``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, Code, ExternalId, workspace_fk


class InteractionRow(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        # Idempotency of platform retries and re-imports; NULL external ids never collide.
        UniqueConstraint("workspace_id", "external_id"),
        # One rep's touches (last_by_rep, a rep's activity, the lapse check's counts); with the
        # voided flag, counting them never visits the table (0013).
        Index("ix_interactions_rep", "workspace_id", "rep_id", "occurred_on", "voided"),
        # Workspace-wide date ranges: rep_touch_counts and touches_between read only the
        # last few months instead of walking every rep's (or client's) whole history.
        Index("ix_interactions_occurred", "workspace_id", "occurred_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[str] = workspace_fk()
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    rep_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    occurred_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(Code)
    purpose: Mapped[str] = mapped_column(Code)
    note: Mapped[str] = mapped_column(Text)
    proof_shown: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(Code)
    external_id: Mapped[str | None] = mapped_column(ExternalId)
    voided: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    logged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    asked_for: Mapped[int | None] = mapped_column(Integer)  # the trust signals this touch carried (0010)
    demanded_justification: Mapped[bool | None] = mapped_column(Boolean)


# The nudge scan's touches query, ROW_NUMBER() OVER (PARTITION BY client_id ORDER BY occurred_on
# DESC, id DESC), reads this index in order with no sort; ``for_client`` (newest first) too.
# Purpose and voided ride along so that scan never visits the table (migration 0007).
Index(
    "ix_interactions_client_recent",
    InteractionRow.workspace_id, InteractionRow.client_id,
    InteractionRow.occurred_on.desc(), InteractionRow.id.desc(),
    InteractionRow.purpose, InteractionRow.voided,
)


class PromiseRow(Base):
    __tablename__ = "promises"
    __table_args__ = (
        # Open promises, soonest due first (open_for, open_due_before, the nudge scan).
        Index("ix_promises_status_due", "workspace_id", "status", "due_on"),
        # Promises closed in a period (team health): a range, not the whole workspace.
        Index("ix_promises_closed", "workspace_id", "closed_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = workspace_fk()
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    rep_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    interaction_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("interactions.id"))
    text: Mapped[str] = mapped_column(Text)
    made_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Code)
    closed_on: Mapped[date | None] = mapped_column(Date)


class ProblemRow(Base):
    __tablename__ = "problems"
    __table_args__ = (
        # Unanswered problems per workspace, or per client: ``first_response_on IS NULL`` is an
        # index condition on the second column (both databases index NULLs), ``client_id`` on
        # the third.
        Index("ix_problems_waiting", "workspace_id", "first_response_on", "client_id"),
        # Problems raised in a period (team health).
        Index("ix_problems_raised", "workspace_id", "raised_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = workspace_fk()
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    rep_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    interaction_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("interactions.id"))
    text: Mapped[str] = mapped_column(Text)
    raised_on: Mapped[date] = mapped_column(Date)
    first_response_on: Mapped[date | None] = mapped_column(Date)
    resolved_on: Mapped[date | None] = mapped_column(Date)


class DealRow(Base):
    __tablename__ = "deals"
    # The nudge scan's MAX(won_on) per client.
    __table_args__ = (Index("ix_deals_client_won", "workspace_id", "client_id", "won_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = workspace_fk()
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    rep_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    interaction_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("interactions.id"))
    won_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text)


class LedgerEntryRow(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        # Idempotency: the same fact seen twice is counted once.
        UniqueConstraint("workspace_id", "key"),
        # Balances (SUM per client, optionally as of a date), the passbook, last setback.
        Index("ix_ledger_entries_client", "workspace_id", "client_id", "occurred_on"),
        # Reversing everything a voided interaction caused.
        Index("ix_ledger_entries_cause", "workspace_id", "cause"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[str] = workspace_fk()
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    rep_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    amount: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Code)
    occurred_on: Mapped[date] = mapped_column(Date)
    key: Mapped[str] = mapped_column(String(200))
    cause: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    reverses_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("ledger_entries.id"))
