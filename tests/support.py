"""Shared test helpers: a coach on a real database with a small roster and a movable clock."""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from bot.bootstrap import Coach, bootstrap
from bot.settings import Settings
from coaching.model import Role, Workspace
from coaching.records import PersonDraft
from storage import db

WORKSPACE = "acme"
# Friday 20 November 2026, 09:00 UTC: 18:00 in Tokyo, 09:00 in London.
START = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


@dataclass
class MovableClock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_coach(database_url: str, clock: MovableClock | None = None, workspace: str = WORKSPACE) -> Coach:
    db.upgrade(database_url)
    # charts and other files go to a fresh directory, never into the working tree
    settings = Settings(DATABASE_URL=database_url, COACH_WORKSPACE=workspace,
                        COACH_DATA_DIR=tempfile.mkdtemp(prefix="coach-test-"))
    return bootstrap(settings, clock=clock or MovableClock())


def seed_roster(coach: Coach, workspace: str = WORKSPACE) -> dict[str, int]:
    """Two teams: East (Alice, Ken, manager Mia) and West (Bob, manager Will); admin Ada."""
    with coach.uow_factory() as uow:
        if uow.workspaces.get(workspace) is None:
            uow.workspaces.add(Workspace(workspace, workspace.title()))
        east = uow.teams.by_name(workspace, "East") or uow.teams.add(workspace, "East")
        west = uow.teams.by_name(workspace, "West") or uow.teams.add(workspace, "West")
        people = [
            PersonDraft("alice@acme.example", "Alice Smith", Role.REP, (east.id,), "Europe/London", "en"),
            PersonDraft("ken@acme.example", "田中 健", Role.REP, (east.id,), "Asia/Tokyo", "ja"),
            PersonDraft("mia@acme.example", "Mia Jones", Role.MANAGER, (east.id,), "Europe/London", "en"),
            PersonDraft("bob@acme.example", "Bob Brown", Role.REP, (west.id,), "America/New_York", "en"),
            PersonDraft("will@acme.example", "Will White", Role.MANAGER, (west.id,), "America/New_York", "en"),
            PersonDraft("ada@acme.example", "Ada Admin", Role.ADMIN, (east.id,), "UTC", "en"),
        ]
        ids = {p.email.split("@")[0]: uow.people.upsert(workspace, p).id for p in people}
        uow.commit()
    return ids


def seed_quiet_clients(coach: Coach, ids: dict[str, int], created_on) -> None:
    """Acme (Alice's), Kobe Steelworks (Ken's) and Boston Bay (Bob's), never touched since
    ``created_on``: each raises a quiet nudge for its owner."""
    with coach.uow_factory() as uow:
        east = uow.teams.by_name(WORKSPACE, "East")
        west = uow.teams.by_name(WORKSPACE, "West")
        for name, owner, team in (("Acme", "alice", east), ("Kobe Steelworks", "ken", east),
                                  ("Boston Bay", "bob", west)):
            uow.clients.add(WORKSPACE, name, team.id, ids[owner], created_on)
        uow.commit()


def client_state(coach: Coach, name: str) -> tuple[int, int]:
    """(balance, touches) for the client called ``name`` in the coach's workspace; (0, 0) if none."""
    with coach.uow_factory() as uow:
        client = uow.clients.by_name(coach.workspace, name)
        if client is None:
            return 0, 0
        touches = uow.interactions.for_client(coach.workspace, client.id, limit=100)
        return uow.ledger.balance(coach.workspace, client.id), len(touches)


@dataclass
class Recorder:
    """A notifier (the scheduler's port) that remembers what it was asked to send; it can be
    told who is unreachable (e-mails, or "#CHANNEL") and whose send kills the process."""

    clock: MovableClock
    unreachable: set[str] = field(default_factory=set)  # e-mails, or "#CHANNEL"
    crash_on: str | None = None
    maybe_on: set[str] = field(default_factory=set)  # e-mails whose send fails after it went out
    sent: list[tuple[str, datetime, object]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, person, reply):
        if person.email == self.crash_on:
            raise SystemExit("the process died mid-send")
        if person.email in self.maybe_on:
            from coaching.errors import MaybeDelivered

            raise MaybeDelivered("the connection dropped after the post")
        if person.email in self.unreachable:
            return None
        with self.lock:
            self.sent.append((person.email, self.clock(), reply))
        return "test"

    def send_channel(self, channel, reply, locale):
        if f"#{channel}" in self.unreachable:
            return None
        with self.lock:
            self.sent.append((f"#{channel}", self.clock(), reply))
        return "test"

    def to(self, who: str) -> list[tuple[datetime, object]]:
        return [(at, reply) for email, at, reply in self.sent if email.startswith(who)]
