"""APScheduler wiring: the jobs defined in code, run once at start-up (the catch-up) and then
every tick, one at a time, in the event loop of `coach serve` / `coach scheduler`."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text

from bot.bootstrap import bootstrap
from bot.scheduler import JOBS, CoachScheduler
from bot.settings import Settings
from tests.support import MovableClock, Recorder, seed_roster
from storage import db


def coach_for(database_url: str, clock: MovableClock, **env: str):
    db.upgrade(database_url)
    settings = Settings(DATABASE_URL=database_url, COACH_WORKSPACE="acme", COACH_SCHEDULER_TICK_SECONDS=60, **env)
    return bootstrap(settings, clock=clock)


FRIDAY_3PM = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)  # Friday: London 15:00


def alice_with_a_client(database_url: str, clock: MovableClock) -> tuple[CoachScheduler, Recorder]:
    """The roster, Acme for Alice, and a scheduler whose messages are recorded."""
    coach = coach_for(database_url, clock)
    ids = seed_roster(coach)
    with coach.uow_factory() as uow:
        east = uow.teams.by_name("acme", "East")
        uow.clients.add("acme", "Acme", east.id, ids["alice"], datetime(2026, 9, 1).date())
        uow.commit()
    notifier = Recorder(clock)
    return CoachScheduler(coach, notifier), notifier


def run_until_sent(runner: CoachScheduler, notifier: Recorder) -> list:
    """Start the scheduler, wait (at most 10 s) for its first message, stop; its jobs."""
    async def scenario():
        scheduler = runner.start()
        jobs = scheduler.get_jobs()
        for _ in range(200):  # the start-up run is the catch-up: no need to wait for a tick
            if notifier.sent:
                break
            await asyncio.sleep(0.05)
        runner.stop()
        return jobs

    return asyncio.run(scenario())


def test_jobs_start_at_once_then_every_tick_and_deliver(database_url):
    runner, notifier = alice_with_a_client(database_url, MovableClock(FRIDAY_3PM))
    jobs = run_until_sent(runner, notifier)
    assert [j.id for j in jobs] == list(JOBS)
    assert all(isinstance(j.trigger, IntervalTrigger) and j.trigger.interval.total_seconds() == 60 for j in jobs)
    assert [email for email, _, _ in notifier.sent] == ["alice@acme.example"]


def test_the_catch_up_runs_on_the_wall_clock_whatever_the_coachs_clock_says(database_url):
    """The coach's clock set in the past (as in tests and demos) at the worst phase: had the
    first run times come from it, the digests' coalesced catch-up would be 59.9 s old when
    APScheduler started it behind the upkeep, past its grace time, and skipped for a whole tick."""
    real = datetime.now(timezone.utc)
    lead = 3.0  # seconds from here to the scheduler's start
    age = ((real + timedelta(seconds=lead)) - (FRIDAY_3PM + timedelta(seconds=1))).total_seconds() % 60
    clock = MovableClock(FRIDAY_3PM + timedelta(seconds=age - 59.9))  # rep_digests' run time 59.9 s old at start
    runner, notifier = alice_with_a_client(database_url, clock)
    time.sleep(max(0.0, lead - (datetime.now(timezone.utc) - real).total_seconds()))
    run_until_sent(runner, notifier)
    assert [email for email, _, _ in notifier.sent] == ["alice@acme.example"]


def test_a_failing_job_is_logged_and_the_next_tick_tries_again(database_url, caplog):
    clock = MovableClock(FRIDAY_3PM)
    coach = coach_for(database_url, clock)
    seed_roster(coach)
    runner = CoachScheduler(coach, Recorder(clock))
    with coach.uow_factory() as uow:  # a real failure: the delivery records' tables are gone
        uow.session.execute(text("DROP TABLE delivery_items"))
        uow.session.execute(text("DROP TABLE deliveries"))
        uow.commit()
    assert runner.run_job("rep_digests") is None
    assert "rep_digests failed; it runs again at the next tick" in caplog.text
