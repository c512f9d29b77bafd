"""The records the ports hand back and forth: plain values that are not the coaching model
itself (roster drafts, metric rows, conversation state, delivery bookkeeping), and the status
values a delivery moves through.

Everything here is a frozen dataclass or a constant; no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from coaching.model import Purpose, Role


@dataclass(frozen=True)
class PersonDraft:
    email: str
    name: str
    role: Role
    team_ids: tuple[int, ...]
    timezone: str = "UTC"
    locale: str | None = None
    slack_user_id: str | None = None
    teams_user_id: str | None = None
    on_leave: bool | None = None  # None: keep what is recorded


@dataclass(frozen=True)
class TouchRow:
    """One touch, as team-health metrics see it."""

    rep_id: int
    client_id: int
    on: date
    purpose: Purpose
    source: str = "command"  # a coaching.model.Source value: how it was logged


@dataclass(frozen=True)
class ChannelCapture:
    """A shared channel an admin mapped to a client: the rep's own messages there are touches."""

    platform: str  # "slack" | "teams"
    channel_id: str
    client_id: int
    enabled_by: int  # the admin's person id
    enabled_on: date


@dataclass(frozen=True)
class DialogState:
    state: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True)
class NudgeFeedback:
    rep_id: int
    subject: str  # the nudge's subject, e.g. "client:4:quiet", "promise:12"
    kind: str  # the nudge kind
    action: str  # "snoozed" | "dismissed" | "acted"
    on: date
    until: date | None = None  # a snooze lasts until this day (exclusive)


@dataclass(frozen=True)
class ChatReference:
    platform: str            # "teams"
    user_id: str             # the platform user id (Teams: the AAD object id, else the channel account id)
    conversation_id: str
    service_url: str
    reference: dict[str, Any]  # the SDK's serialised ChatReference (JSON-able)
    person_id: int | None = None
    active: bool = True


# --- deliveries: what the scheduler sent ----------------------------------------------------

PENDING, SENDING, SENT, FAILED, SKIPPED = "pending", "sending", "sent", "failed", "skipped"
INTERRUPTED = "interrupted"  # the reason of a delivery whose sender stopped mid-send
NOT_RECEIVED = "not_received"  # an interrupted message the platform was asked about: it never got it


def person_recipient(person_id: int) -> str:
    """A delivery's recipient when it is one person (``team:3`` is a team's channel)."""
    return f"person:{person_id}"


@dataclass(frozen=True)
class DeliveryItem:
    """One nudge inside a message: unique per (rep, subject, kind, rep-local date) across every
    message, so the same item never reaches a rep twice on one day."""

    rep_id: int
    subject: str  # "client:4:quiet", "promise:12", "rep:3:busy_lapse"
    kind: str
    client_id: int | None = None
    stake: int = 0


@dataclass(frozen=True)
class Delivery:
    """One message the scheduler decided to send, recorded before it is sent.

    Unique per (job, recipient, local date). ``status`` moves pending -> sending -> sent or
    failed (with ``reason``); ``skipped`` records a day with nothing to say.
    """

    id: int
    job: str  # "digest" | "reminder" | "weekly" | "team"
    recipient: str  # "person:12" or "team:3"
    person_id: int | None
    local_date: date
    status: str
    attempts: int = 0
    channel: str | None = None  # where it went: "slack", "teams", "log"
    reason: str | None = None
    items: tuple[DeliveryItem, ...] = ()
    claimed_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class SentItem:
    """One nudge item that reached a rep: in a digest or reminder whose status is ``sent``."""

    rep_id: int
    client_id: int | None  # None for a rep-level item ("rep:3:busy_lapse")
    subject: str  # "client:4:quiet", "promise:12", "problem:7", "rep:3:busy_lapse"
    kind: str
    local_date: date  # the rep's own date the message went out on
