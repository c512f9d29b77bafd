"""A workspace in which one rep (Alice) and one client (Aster Foods) have left a trace in every
table the coach has: touches, promises, problems, a setback and its correction, a won deal,
passbook entries (a reversal among them), digests and their items, feedback on a nudge, a
conversation under way, a Teams conversation reference, a captured channel, a claimed Slack
button and a request still waiting in the inbox, client summaries and team snapshots. A
teammate (Ken) names both in a note of his own, and in a log he has not saved yet. Everything Alice wrote holds the word ``heron``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, quote_plus

from sqlalchemy import select

from bot.bootstrap import Coach
from coaching import chats, ledger
from coaching.engine import Inbound
from coaching.jobs import ScheduledJobs
from coaching.schedule import Schedule
from storage.models import Base
from tests.support import WORKSPACE, MovableClock, Recorder, make_coach, seed_roster

UTC = timezone.utc
ALICE, KEN, ADA = "alice@acme.example", "ken@acme.example", "ada@acme.example"
ALICE_NAME, SLACK_ID, TEAMS_ID = "Alice Smith", "UALICE9", "aad-alice-9"
CLIENT, OTHER = "Aster Foods", "Kobe Steelworks"
NOTE = "heron benchmark shared with their board"
PROMISE = "send the heron quote"
PROBLEM = "their heron invoices are late"
SETBACK = "told them heron SSO was included"
DRAFT = "heron draft never saved"
KEN_NOTE = f"{ALICE_NAME} introduced us to {CLIENT}; lynx pricing talk"
KEN_DRAFT = f"{ALICE_NAME} says {CLIENT} knows them"  # a log of Ken's under way
WON = "heron signed for two years"


@dataclass
class PrivacyWorld:
    coach: Coach
    clock: MovableClock
    ids: dict[str, int]
    client_id: int
    url: str

    def say(self, email: str, text: str, conversation: str | None = None, **extra: Any) -> str:
        outcome = self.coach.engine.handle(Inbound(WORKSPACE, conversation or f"dm-{email}", text, email=email,
                                                   **extra))
        return "\n".join(self.coach.catalog.render(line, outcome.locale) for r in outcome.replies for line in r.lines)


def build(database_url: str) -> PrivacyWorld:
    clock = MovableClock(datetime(2026, 11, 16, 8, 0, tzinfo=UTC))  # Monday
    coach = make_coach(database_url, clock)
    ids = seed_roster(coach)
    with coach.uow_factory() as uow:
        uow.people.link_platform(WORKSPACE, ids["alice"], "slack", SLACK_ID)
        uow.people.link_platform(WORKSPACE, ids["alice"], "teams", TEAMS_ID)
        uow.commit()
    world = PrivacyWorld(coach, clock, ids, 0, database_url)
    _log(world)
    _around(world)
    return world


def _log(world: PrivacyWorld) -> None:
    say = world.say
    for text in (f"/logmeeting {CLIENT} call give: {NOTE}", "1", "+ Promise", f"{PROMISE} tomorrow", "+ Problem",
                 PROBLEM, "save"):
        say(ALICE, text)
    with world.coach.uow_factory() as uow:
        world.client_id = uow.clients.by_name(WORKSPACE, CLIENT).id
    say(ALICE, f"setback {CLIENT} false claim: {SETBACK}")
    say(ALICE, f"corrected {CLIENT}: sent the heron feature sheet in writing")
    say(ALICE, f"won {CLIENT}: {WON}")
    for text in (f"/logmeeting {OTHER} call give: {KEN_NOTE}", "1", "save"):
        say(KEN, text)
    say(ALICE, f"snooze:quiet:client:{world.client_id}")
    say(ADA, f"capture {CLIENT}", conversation="CSHARED", platform="slack")
    world.coach.engine.capture(Inbound(WORKSPACE, "CSHARED", "", email=ALICE, platform="slack"), world.clock())
    with world.coach.uow_factory() as uow:  # a mistaken entry reversed: a row pointing at another
        entry = uow.ledger.for_client(WORKSPACE, world.client_id)[0]
        uow.ledger.add(WORKSPACE, ledger.reversal(entry, world.clock().date(), "booked twice"))
        uow.commit()


def _around(world: PrivacyWorld) -> None:
    coach, clock = world.coach, world.clock
    notifier = Recorder(clock)
    jobs = ScheduledJobs(coach.uow_factory, notifier, coach.rules, Schedule(checkin_time=None), coach.clock)
    clock.now = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)  # 09:30 in London: Alice's digest
    jobs.run(WORKSPACE, clock())
    assert notifier.to("alice"), "Alice's digest (her promise is due tomorrow)"
    chats.remember(coach.uow_factory, WORKSPACE, "teams", TEAMS_ID, "a:1chat-with-alice", "https://smba.example/",
                   {"user": {"id": "29:1alice", "name": ALICE_NAME, "aadObjectId": TEAMS_ID}}, True, clock())
    with coach.uow_factory() as uow:
        uow.claims.claim(WORKSPACE, f"action:D{SLACK_ID}:1.0:choice:setback:{world.client_id}:false_claim:{SETBACK}",
                         clock())
        uow.commit()
    body = f"user_id={SLACK_ID}&user_name=Alice+Smith&text=ledger+Aster+Foods&command=%2Fledger"
    coach.requests.store("inbox-alice", "slack", body, "application/x-www-form-urlencoded", clock())
    world.say(ALICE, f"/logmeeting {CLIENT} call give: {DRAFT}")  # left at the summary, unsaved
    world.say(KEN, f"/logmeeting {OTHER} call give: {KEN_DRAFT}")  # left at a question, unsaved
    clock.advance(minutes=1)


def _engine(source: PrivacyWorld | Coach):
    return getattr(source, "coach", source).requests.engine


def every_text(source: PrivacyWorld | Coach) -> list[tuple[str, str, str]]:
    """(table, column, value) of every value of every column of every table the schema has,
    as text: a table added later is searched too."""
    engine = _engine(source)
    found = []
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(select(table)).mappings():
                found += [(table.name, column, str(value)) for column, value in row.items() if value is not None]
    return found


def traces(source: PrivacyWorld | Coach, *needles: str) -> list[tuple[str, str, str]]:
    """Every value that holds one of the needles, ignoring case, as typed or as a request body
    or a JSON column would have it (URL-encoded, JSON-escaped)."""
    lowered = {form.lower() for n in needles for form in (n, quote_plus(n), quote(n), json.dumps(n)[1:-1])}
    return [(t, c, v) for t, c, v in every_text(source) if any(n in v.lower() for n in lowered)]


def rows_of(source: PrivacyWorld | Coach, table: str, **equal: Any) -> list[dict[str, Any]]:
    engine = _engine(source)
    target = Base.metadata.tables[table]
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(select(target).where(
            *(target.c[k] == v for k, v in equal.items()))).mappings()]
