"""The scheduler under load, with real processes: 200 reps due at once on PostgreSQL, their
digests posted by real ``coach scheduler --once`` processes to FakeSlackApi.

* two replicas started at the same moment share the 200 digests between them, each sent once;
* two replicas again, one SIGKILLed while its post is in flight halfway through; the other
  finishes; the killed one, restarted, finds its in-flight post in the DM's history and records
  it sent, and sends nothing else: 200 digests, each once.

Each replica posts with a token of its own, so Slack's side says who sent what. The split and
the wall time are printed (``-s``).
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import make_url

from coaching.records import SENDING, SENT
from storage.db import make_engine
from storage.uow import make_uow_factory
from tests.conftest import POSTGRES_ENV
from tests.slack.fake_api import FakeSlackApi
from tests.service.test_delivery_faults import seed_reps
from tests.system.test_scheduler_processes import POST, WORKSPACE, World, kill

REPS = 200
ONLY_DIGESTS = dict(COACH_CHECKIN_TIME="off")  # the demo settings make everything due: keep to digests


@pytest.fixture
def floor(database_url: str, tmp_path: Path) -> Iterator[World]:
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip(f"replicas and advisory locks need PostgreSQL: set {POSTGRES_ENV} to a PostgreSQL URL")
    engine = make_engine(database_url)
    with FakeSlackApi(clock=time.time).started_in_thread() as api:
        world = World(database_url, api, engine, tmp_path)
        try:
            world.coach("db", "upgrade")
            world.people = seed_reps(make_uow_factory(engine), REPS, WORKSPACE,
                                     created_on=datetime.now(timezone.utc).date())
            yield world
        finally:
            for process in world.started:  # only what this test started, by its own id
                kill(process)
            engine.dispose()


def same_day_or_skip(day) -> None:
    """The reps live in UTC: past midnight they are due again, legitimately."""
    if datetime.now(timezone.utc).date() != day:
        pytest.skip("the UTC date changed while the test ran; run it again")


def replica(world: World, n: int) -> tuple:
    return world.start("scheduler", "--once", SLACK_BOT_TOKEN=f"xoxb-replica-{n}", **ONLY_DIGESTS)


def digests(world: World) -> dict[int, object]:
    return {d.person_id: d for d in world.deliveries() if d.job == "digest"}


def assert_each_digest_once(world: World) -> Counter:
    """Every rep's DM holds exactly one message, and its record says sent; the posts per replica."""
    records = digests(world)
    assert len(records) == REPS
    held = Counter(m["channel"] for m in world.api.messages())
    assert [p.email for p in world.people if held[f"D{p.slack_user_id}"] != 1] == []
    assert [r for r in records.values() if (r.status, r.channel) != (SENT, "slack")] == []
    assert len(world.api.messages()) == REPS
    return Counter(c.token for c in world.posts())


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_replicas_share_200_digests_and_send_each_once(floor: World):
    day, started = datetime.now(timezone.utc).date(), time.monotonic()
    processes = [replica(floor, n) for n in (1, 2)]  # both before either is waited on
    runs = [floor.finish(*p) for p in processes]
    wall = time.monotonic() - started
    for run in runs:
        assert run.returncode == 0, str(run)
    same_day_or_skip(day)
    split = assert_each_digest_once(floor)
    said = [run.report().get("digest", (0, 0, 0))[0] for run in runs]
    assert said == [split[f"xoxb-replica-{n}"] for n in (1, 2)] and sum(said) == REPS
    assert all(said), f"one replica sent everything ({said}): the two did not run at the same time"
    again = floor.coach("scheduler", "--once", **ONLY_DIGESTS)
    assert again.report().get("digest", (0, 0, 0))[0] == 0 and len(floor.posts()) == REPS
    print(f"\n{REPS} digests by two replicas: {said[0]} + {said[1]}, {wall:.1f} s wall time")


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_replica_killed_mid_run_is_settled_on_restart_and_nothing_goes_twice(floor: World):
    day, started = datetime.now(timezone.utc).date(), time.monotonic()
    with floor.api.hold(POST, REPS // 2) as held:
        processes = [replica(floor, n) for n in (1, 2)]
        while not held.arrived.wait(0.5):
            if all(p.poll() is not None for p, _ in processes):
                pytest.fail("both replicas ended before the post to hold:\n" +
                            "\n".join(str(floor.result(*p)) for p in processes))
        victim = int(str(held.call.token).rsplit("-", 1)[1]) - 1
        kill(processes[victim][0])
        assert processes[victim][0].returncode == -signal.SIGKILL
        survivor = floor.finish(*processes[1 - victim])
    assert survivor.returncode == 0, str(survivor)
    in_flight = held.call.params["channel"]
    records = digests(floor)
    [stuck] = [r for r in records.values() if r.status == SENDING]
    assert f"D{next(p for p in floor.people if p.id == stuck.person_id).slack_user_id}" == in_flight
    assert sum(r.status == SENT for r in records.values()) == REPS - 1, "the survivor sent all the rest"
    posts_before = len(floor.posts())

    restart = floor.coach("scheduler", "--once", COACH_DELIVERY_LEASE_MINUTES="0",
                          SLACK_BOT_TOKEN=f"xoxb-replica-{victim + 1}", **ONLY_DIGESTS)
    wall = time.monotonic() - started
    same_day_or_skip(day)
    assert restart.report()["all"][2] == 1 and restart.report()["digest"][0] == 1  # settled, counted as sent
    assert len(floor.posts()) == posts_before, "the restart posted nothing: it found the in-flight post"
    split = assert_each_digest_once(floor)
    [settled] = [r for r in digests(floor).values() if r.id == stuck.id]
    assert settled.attempts == 1
    print(f"\n{REPS} digests, replica {victim + 1} killed at post {REPS // 2}: posts by replica "
          f"{dict(sorted(split.items()))}, survivor reported {survivor.report().get('digest')}, "
          f"{wall:.1f} s wall time")
