"""The scheduler's jobs on real databases with a moving clock: on time in each rep's zone, once,
caught up once after downtime, safe across a crash and a second replica, backing off."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone

import pytest

from coaching import jobs
from coaching.jobs import ScheduledJobs
from coaching.engine import Inbound
from bot.catalog import Catalog
from coaching.model import InteractionDraft, Kind, Purpose, TrustLevel
from coaching.schedule import Schedule
from tests.support import WORKSPACE, MovableClock, Recorder, make_coach, seed_quiet_clients, seed_roster

UTC = timezone.utc
FRIDAY = date(2026, 11, 20)
MONDAY = date(2026, 11, 23)


def text(reply, lang="en") -> str:
    catalog = Catalog(lang)
    return "\n".join(catalog.render(line, lang) for line in reply.lines)


@pytest.fixture
def world(database_url):
    clock = MovableClock(datetime(2026, 11, 19, 12, 0, tzinfo=UTC))
    coach = make_coach(database_url, clock)
    ids = seed_roster(coach)
    seed_quiet_clients(coach, ids, FRIDAY - timedelta(days=60))
    return coach, clock, ids


def dispatcher(coach, notifier, **plan) -> ScheduledJobs:
    """The end-of-day check-in is off unless a test asks for it: these tests count digests."""
    return ScheduledJobs(coach.uow_factory, notifier, coach.rules, Schedule(**{"checkin_time": None, **plan}),
                      coach.clock)


def run_hourly(d: ScheduledJobs, clock: MovableClock, until: datetime) -> None:
    while clock.now < until:
        d.run(WORKSPACE, clock())
        clock.advance(hours=1)


def test_each_rep_gets_one_digest_per_working_day_at_nine_their_time(world):
    coach, clock, _ = world
    clock.now = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)  # Thursday noon UTC
    notifier = Recorder(clock)
    run_hourly(dispatcher(coach, notifier), clock, datetime(2026, 11, 24, 0, 0, tzinfo=UTC))
    hours = {who: [at.strftime("%a %H") for at, _ in notifier.to(who)] for who in ("alice", "ken", "bob")}
    # Ken in Tokyo at 00:00 UTC, Alice in London at 09:00, Bob in New York at 14:00; Thursday's
    # first eligible hour for Ken and Alice had passed (the run started at noon: caught up once);
    # the weekend is quiet; the quiet client comes back after 3 days (Thursday/Friday -> Monday).
    assert hours["alice"] == ["Thu 12", "Mon 09"]
    assert hours["ken"] == ["Fri 00", "Mon 00"]
    assert hours["bob"] == ["Thu 14", "Mon 14"]
    first = text(notifier.to("alice")[0][1])
    assert "Good morning, Alice" in first and "Acme" in first and "no touch logged yet" in first
    japanese = text(notifier.to("ken")[0][1], "ja")
    assert "田中さん、おはようございます" in japanese and "Kobe Steelworks" in japanese
    assert "まだ活動の記録がありません" in japanese


def test_after_downtime_only_todays_digest_goes_once(world):
    coach, clock, _ = world
    notifier = Recorder(clock)
    d = dispatcher(coach, notifier)
    clock.now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # back on Tuesday 10:00 UTC after days down
    d.run(WORKSPACE, clock())
    d.run(WORKSPACE, clock())
    assert [len(notifier.to(w)) for w in ("alice", "ken", "bob")] == [1, 1, 0]  # New York: 05:00, quiet
    with coach.uow_factory() as uow:
        days = {x.local_date for x in uow.deliveries.list(WORKSPACE, date(2026, 11, 24))}
        assert days == {date(2026, 11, 24)}
        assert uow.deliveries.list(WORKSPACE, MONDAY) == []  # missed days are not replayed


def test_a_crash_mid_send_then_a_restart_sends_the_rest_and_nothing_twice(world):
    coach, clock, ids = world
    clock.now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # everyone due: Tokyo 00:00 is quiet, so Ken is not
    crashing = Recorder(clock, crash_on="alice@acme.example")
    with pytest.raises(SystemExit):
        dispatcher(coach, crashing).run(WORKSPACE, clock())
    clock.advance(minutes=11)  # past the lease: the run that died is not coming back
    notifier = Recorder(clock)
    report = dispatcher(coach, notifier).run(WORKSPACE, clock())
    dispatcher(coach, notifier).run(WORKSPACE, clock())
    assert report.job("all").interrupted == 1
    delivered = [e for e, _, _ in crashing.sent + notifier.sent]
    assert sorted(delivered) == ["bob@acme.example"]  # Bob once; Alice's digest was in flight: not resent
    with coach.uow_factory() as uow:
        [alice] = [x for x in uow.deliveries.list(WORKSPACE, FRIDAY) if x.person_id == ids["alice"]]
    assert (alice.status, alice.reason) == ("failed", "interrupted")


def test_a_digest_no_platform_takes_is_retried_the_same_day_three_times_at_most(world):
    coach, clock, ids = world
    clock.now = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    notifier = Recorder(clock, unreachable={"bob@acme.example"})
    d = dispatcher(coach, notifier)

    def bob():
        with coach.uow_factory() as uow:
            [found] = [x for x in uow.deliveries.list(WORKSPACE, FRIDAY) if x.person_id == ids["bob"]]
        return found

    d.run(WORKSPACE, clock())
    assert (bob().status, bob().attempts) == ("failed", 1)  # not retried within the run that failed
    for _ in range(4):
        clock.advance(minutes=5)
        d.run(WORKSPACE, clock())
    assert (bob().status, bob().reason, bob().attempts) == ("failed", "unreachable", 3)
    notifier.unreachable.clear()
    d.run(WORKSPACE, clock())
    assert notifier.to("bob") == []  # attempts used up: it waits for the next working day


def test_nothing_to_say_sends_nothing_and_leave_silences_a_rep(world):
    coach, clock, ids = world
    with coach.uow_factory() as uow:
        acme = uow.clients.by_name(WORKSPACE, "Acme")
        uow.interactions.add(WORKSPACE, ids["alice"], InteractionDraft(
            client_id=acme.id, occurred_on=FRIDAY - timedelta(days=1), kind=Kind.CALL, purpose=Purpose.GIVE,
            note="sent the benchmark"))
        uow.commit()
    reply = coach.engine.handle(Inbound(WORKSPACE, "console", "away", email="bob@acme.example"))
    assert "won't send you digests" in Catalog().render(reply.replies[0].lines[0])
    clock.now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    notifier = Recorder(clock)
    report = dispatcher(coach, notifier).run(WORKSPACE, clock())
    # Alice, and the managers and the admin, who own no clients: nothing to say, so nothing sent
    assert notifier.sent == [] and report.job(jobs.DIGEST).skipped == 4
    coach.engine.handle(Inbound(WORKSPACE, "console", "back", email="bob@acme.example"))
    dispatcher(coach, notifier).run(WORKSPACE, clock())
    assert [e for e, _, _ in notifier.sent] == ["bob@acme.example"]


def test_the_digest_item_has_its_context(world):
    coach, clock, ids = world
    with coach.uow_factory() as uow:
        acme = uow.clients.by_name(WORKSPACE, "Acme")
        for days in (70, 50, 40):
            uow.interactions.add(WORKSPACE, ids["alice"], InteractionDraft(
                client_id=acme.id, occurred_on=FRIDAY - timedelta(days=days), kind=Kind.MEETING,
                purpose=Purpose.ASK, note=f"asked for the order ({days})"))
        uow.clients.set_trust(WORKSPACE, acme.id, TrustLevel.SOLUTIONS, FRIDAY - timedelta(days=40),
                              TrustLevel.SOLUTIONS, False)
        uow.commit()
    clock.now = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    notifier = Recorder(clock)
    dispatcher(coach, notifier).run(WORKSPACE, clock())
    [(_, reply)] = notifier.to("alice")
    body = text(reply)
    assert "    last touch Sun, 11 Oct 2026 (40 days ago): “asked for the order (40)”, credit " in body
    assert "trust level 2 (they want solutions from you)" in body
    assert "Only asking: Of your last asks and gives with Acme, 3 of 3 were asks" in body


def test_promise_reminder_the_working_day_before_and_not_twice_with_the_digest(world):
    coach, clock, ids = world
    with coach.uow_factory() as uow:
        acme = uow.clients.by_name(WORKSPACE, "Acme")
        monday = uow.promises.add(WORKSPACE, acme.id, ids["alice"], None, "send the quote", FRIDAY, MONDAY)
        tuesday = uow.promises.add(WORKSPACE, acme.id, ids["alice"], None, "call back", FRIDAY, MONDAY + timedelta(days=1))
        uow.commit()
    clock.now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    notifier = Recorder(clock)
    run_hourly(dispatcher(coach, notifier), clock, datetime(2026, 11, 24, 0, 0, tzinfo=UTC))
    reminders = [(at.strftime("%a %H"), text(r)) for at, r in notifier.to("alice") if "falls due" in text(r)
                 or "fall due" in text(r)]
    assert [when for when, _ in reminders] == ["Fri 16"]  # due Monday: recalled on Friday afternoon
    assert "send the quote" in reminders[0][1]
    with coach.uow_factory() as uow:
        monday_items = {(i.subject, x.job) for x in uow.deliveries.list(WORKSPACE, MONDAY) for i in x.items
                        if x.person_id == ids["alice"]}
    # Tuesday's promise was in Monday's morning digest, so Monday's reminder had nothing new
    assert (f"promise:{tuesday.id}", "digest") in monday_items
    assert not any(s == f"promise:{tuesday.id}" and job == "reminder" for s, job in monday_items)
    assert monday.id != tuesday.id


def test_weekly_manager_digest_on_monday_and_team_channel_digest(world):
    coach, clock, ids = world
    with coach.uow_factory() as uow:
        east = uow.teams.by_name(WORKSPACE, "East")
        uow.teams.set_digest_channel(WORKSPACE, east.id, "C0EAST")
        uow.commit()
    clock.now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    notifier = Recorder(clock)
    run_hourly(dispatcher(coach, notifier), clock, datetime(2026, 11, 25, 0, 0, tzinfo=UTC))
    weekly = [at.strftime("%a %H") for at, r in notifier.to("mia")]
    assert weekly == ["Mon 09"]  # Mia manages East from London
    assert [at.strftime("%a %H") for at, _ in notifier.to("will")] == ["Mon 14"]
    channel = [(at.strftime("%a"), text(r)) for at, r in notifier.to("#C0EAST")]
    assert [day for day, _ in channel] == ["Fri", "Mon", "Tue"]
    assert "Team East" in channel[0][1] and "alice" not in channel[0][1].lower()  # names no rep


@pytest.mark.parametrize("workers", [2, 4])
def test_replicas_running_at_the_same_moment_send_each_digest_once(world, workers):
    coach, clock, _ = world
    if coach.settings.url.startswith("sqlite"):
        pytest.skip("SQLite: one process is the supported topology (no advisory locks, one writer)")
    clock.now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    notifier = Recorder(clock)
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def replica() -> None:
        try:
            barrier.wait()
            dispatcher(coach, notifier).run(WORKSPACE, clock())
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=replica) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(e for e, _, _ in notifier.sent) == ["alice@acme.example", "bob@acme.example"]


def test_a_failed_team_digest_and_reminder_are_retried_at_the_next_tick_rebuilt(world):
    coach, clock, ids = world
    with coach.uow_factory() as uow:
        east = uow.teams.by_name(WORKSPACE, "East")
        uow.teams.set_digest_channel(WORKSPACE, east.id, "C0EAST")
        acme = uow.clients.by_name(WORKSPACE, "Acme")
        uow.promises.add(WORKSPACE, acme.id, ids["alice"], None, "send the quote", FRIDAY, MONDAY)
        uow.commit()
    clock.now = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # Friday 16:00 in London: digest and reminder due
    notifier = Recorder(clock, unreachable={"#C0EAST", "alice@acme.example"})
    d = dispatcher(coach, notifier)
    first = d.run(WORKSPACE, clock())
    assert (first.job("team").failed, first.job("reminder").failed, first.job("digest").failed) == (1, 1, 1)
    notifier.unreachable.clear()
    clock.advance(minutes=5)
    again = d.run(WORKSPACE, clock())
    assert (again.job("team").retried, again.job("reminder").retried, again.job("digest").retried) == (1, 1, 1)
    assert sorted(text(r).splitlines()[0] for _, r in notifier.to("alice")) == [
        "Alice, a promise falls due next working day:", "Good morning, Alice. These relationships need you today:"]
    assert len(notifier.to("#C0EAST")) == 1
    with coach.uow_factory() as uow:
        states = {(x.job, x.status, x.attempts) for x in uow.deliveries.list(WORKSPACE, FRIDAY)
                  if x.job in ("team", "reminder") or x.person_id == ids["alice"]}
    assert states == {("team", "sent", 2), ("reminder", "sent", 2), ("digest", "sent", 2)}


def test_a_message_that_may_have_arrived_is_never_sent_again(world):
    coach, clock, ids = world
    clock.now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    notifier = Recorder(clock, maybe_on={"bob@acme.example"})
    d = dispatcher(coach, notifier)
    d.run(WORKSPACE, clock())
    notifier.maybe_on.clear()
    for _ in range(3):
        clock.advance(minutes=5)
        d.run(WORKSPACE, clock())
    assert notifier.to("bob") == []
    with coach.uow_factory() as uow:
        [bob] = [x for x in uow.deliveries.list(WORKSPACE, FRIDAY) if x.person_id == ids["bob"]]
    assert (bob.status, bob.reason, bob.attempts) == ("failed", "interrupted", 1)


def test_a_digest_that_never_arrived_leaves_its_promise_to_the_afternoon_reminder(world):
    coach, clock, ids = world
    with coach.uow_factory() as uow:
        acme = uow.clients.by_name(WORKSPACE, "Acme")
        promise = uow.promises.add(WORKSPACE, acme.id, ids["alice"], None, "send the quote", FRIDAY,
                                   FRIDAY + timedelta(days=1))  # due Saturday: in Friday's digest
        uow.commit()
    clock.now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    notifier = Recorder(clock, unreachable={"alice@acme.example"})  # Slack is down all morning
    run_hourly(dispatcher(coach, notifier), clock, datetime(2026, 11, 20, 16, 0, tzinfo=UTC))
    notifier.unreachable.clear()
    dispatcher(coach, notifier).run(WORKSPACE, clock())  # 16:00 in London: the reminder
    [(_, reminder)] = notifier.to("alice")
    assert "send the quote" in text(reminder)
    with coach.uow_factory() as uow:
        mine = [x for x in uow.deliveries.list(WORKSPACE, FRIDAY) if x.person_id == ids["alice"]]
    items = {x.job: [i.subject for i in x.items] for x in mine}
    assert f"promise:{promise.id}" in items["reminder"] and f"promise:{promise.id}" not in items["digest"]
