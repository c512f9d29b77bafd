"""What the chat platforms need kept: a conversation's state between two messages, requests
already taken on or waiting to be replayed, where to reach a user, and captured channels."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Code, WorkspaceId


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
