"""The relational schema, as SQLAlchemy 2 declarative models.

Rows here are storage's own business: repositories turn them into the frozen values of
``coaching.model``. Enums are stored as their plain string (or int) values in ordinary
columns, so adding an enum member never needs a migration.

Every table carries ``workspace_id`` and every read filters on it first, so each index below
leads with ``workspace_id``: a workspace's rows sit together in the B-tree and one tenant's
daily scan never walks another's. ``interactions`` and ``ledger_entries`` are the big tables
(tens of millions of rows), so their ids are BIGINT on PostgreSQL; SQLite keeps INTEGER, which
is its 64-bit rowid alias anyway.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
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


def _workspace_fk() -> Mapped[str]:
    return mapped_column(WorkspaceId, ForeignKey("workspaces.id"))


class WorkspaceRow(Base):
    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(WorkspaceId, primary_key=True)
    name: Mapped[str] = mapped_column(Name)
    platform: Mapped[str] = mapped_column(Code)
    llm_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class TeamRow(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = _workspace_fk()
    name: Mapped[str] = mapped_column(Name)
    digest_channel: Mapped[str | None] = mapped_column(String(200))


class PersonRow(Base):
    __tablename__ = "people"
    __table_args__ = (
        UniqueConstraint("workspace_id", "email"),
        # Every chat message is resolved to its sender through one of these.
        Index("ix_people_slack_user", "workspace_id", "slack_user_id"),
        Index("ix_people_teams_user", "workspace_id", "teams_user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = _workspace_fk()
    email: Mapped[str] = mapped_column(String(320))  # always lower case
    name: Mapped[str] = mapped_column(Name)
    role: Mapped[str] = mapped_column(Code)
    timezone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(16))
    slack_user_id: Mapped[str | None] = mapped_column(String(64))
    teams_user_id: Mapped[str | None] = mapped_column(String(64))
    on_leave: Mapped[bool] = mapped_column(Boolean, default=False)


class TeamMemberRow(Base):
    """A person may sit on several teams; ``position`` keeps them in the order given."""

    __tablename__ = "team_members"
    __table_args__ = (Index("ix_team_members_team", "workspace_id", "team_id"),)

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    workspace_id: Mapped[str] = _workspace_fk()
    position: Mapped[int] = mapped_column(Integer)


class ClientRow(Base):
    __tablename__ = "clients"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name_key"),
        # Team filters (digests, team health, a manager's histories) and a rep's own book.
        Index("ix_clients_team", "workspace_id", "team_id"),
        Index("ix_clients_owner", "workspace_id", "owner_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = _workspace_fk()
    name: Mapped[str] = mapped_column(Name)
    name_key: Mapped[str] = mapped_column(Name)  # NFKC + casefold: what by_name matches
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_on: Mapped[date] = mapped_column(Date)
    trust_level: Mapped[int | None] = mapped_column(Integer)
    trust_assessed_on: Mapped[date | None] = mapped_column(Date)
    trust_asked_for: Mapped[int | None] = mapped_column(Integer)
    trust_demanded_justification: Mapped[bool | None] = mapped_column(Boolean)


class InteractionRow(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        # Idempotency of platform retries and re-imports; NULL external ids never collide.
        UniqueConstraint("workspace_id", "external_id"),
        # One rep's touches (last_by_rep, a rep's activity).
        Index("ix_interactions_rep", "workspace_id", "rep_id", "occurred_on"),
        # Workspace-wide date ranges: rep_touch_counts and touches_between read only the
        # last few months instead of walking every rep's (or client's) whole history.
        Index("ix_interactions_occurred", "workspace_id", "occurred_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[str] = _workspace_fk()
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
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = _workspace_fk()
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
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = _workspace_fk()
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
    workspace_id: Mapped[str] = _workspace_fk()
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
    workspace_id: Mapped[str] = _workspace_fk()
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    rep_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    amount: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Code)
    occurred_on: Mapped[date] = mapped_column(Date)
    key: Mapped[str] = mapped_column(String(200))
    cause: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    reverses_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("ledger_entries.id"))


class ConversationRow(Base):
    """Where a multi-step chat with one user stands (a half-filled log form, say)."""

    __tablename__ = "conversations"

    workspace_id: Mapped[str] = mapped_column(
        WorkspaceId, ForeignKey("workspaces.id"), primary_key=True
    )
    conversation: Mapped[str] = mapped_column(String(200), primary_key=True)
    user: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProcessedRequestRow(Base):
    """A request a platform delivered and the coach took on (its event or activity id), so a
    retried delivery changes nothing twice. Old rows can be pruned by ``seen_at``."""

    __tablename__ = "processed_requests"
    __table_args__ = (Index("ix_processed_requests_seen_at", "seen_at"),)

    workspace_id: Mapped[str] = mapped_column(
        WorkspaceId, ForeignKey("workspaces.id"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class NudgeFeedbackRow(Base):
    """What a rep said about a nudge: snoozed (until a day), dismissed as not relevant, or acted
    on. Append-only: a subject may gather several rows; ``storage.feedback`` reads the windows."""

    __tablename__ = "nudge_feedback"
    __table_args__ = (
        # One rep's feedback by date (suppressed for a rep, for_period over a team's reps).
        Index("ix_nudge_feedback_rep", "workspace_id", "rep_id", "on_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = _workspace_fk()
    rep_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    subject: Mapped[str] = mapped_column(String(200))  # e.g. "client:4:quiet", "promise:12"
    kind: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(20))  # snoozed | dismissed | acted
    on_date: Mapped[date] = mapped_column(Date)  # ``NudgeFeedback.on``
    until: Mapped[date | None] = mapped_column(Date)  # a snooze's end, exclusive


class ChatReferenceRow(Base):
    """Where to reach a user proactively (Teams: the Bot Framework's conversation reference),
    one per (workspace, platform, user). ``active`` goes false when the user blocks or removes
    the app; saving the reference again (they came back) sets it true."""

    __tablename__ = "conversation_references"
    __table_args__ = (
        # A person's reference (the daily digest is sent to a person, not a user id).
        Index("ix_conversation_references_person", "workspace_id", "platform", "person_id"),
    )

    workspace_id: Mapped[str] = mapped_column(
        WorkspaceId, ForeignKey("workspaces.id"), primary_key=True
    )
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    conversation_id: Mapped[str] = mapped_column(String(500))
    service_url: Mapped[str] = mapped_column(String(500))
    reference: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


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
    workspace_id: Mapped[str] = _workspace_fk()
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
    workspace_id: Mapped[str] = _workspace_fk()
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"))
    rep_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    subject: Mapped[str] = mapped_column(String(200))  # "client:4:quiet", "promise:12"
    kind: Mapped[str] = mapped_column(String(40))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    stake: Mapped[int] = mapped_column(Integer)
    local_date: Mapped[date] = mapped_column(Date)


class ChannelCaptureRow(Base):
    """A client channel opted in to capture by an admin: the rep's own messages there are
    touches. One row per (workspace, platform, channel); a channel maps to one client."""

    __tablename__ = "channel_captures"

    workspace_id: Mapped[str] = mapped_column(WorkspaceId, ForeignKey("workspaces.id"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    enabled_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    enabled_on: Mapped[date] = mapped_column(Date)


class InboundRequestRow(Base):
    """A platform request kept from before it is acknowledged until its work is done, so a
    process killed in between replays it when it comes back; and, for five minutes more, its
    signature, so a replayed copy of a signed request is refused. Not a tenant's table: the
    workspace is not known until the request is read (that is the replay's job)."""

    __tablename__ = "inbound_requests"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the signature, hex
    platform: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Code)  # pending | replaying | done
    content_type: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[str | None] = mapped_column(Text)  # cleared once done: no payload kept longer than needed

    __table_args__ = (Index("ix_inbound_requests_status_received_at", "status", "received_at"),)
