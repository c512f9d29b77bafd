"""The scheduler's exactly-once promise with real processes: the real ``coach`` CLI in separate
OS processes against PostgreSQL, Slack's Web API played by FakeSlackApi in a thread of the test.

* two replicas started at the same moment send every message once between them, and a third
  run sends nothing;
* a process killed (SIGKILL) while its third message is in flight: once the lease is over the
  restart finds that message in the conversation's history (by the delivery key in its
  metadata) and records it ``sent`` without posting it again, and sends everyone else's; a
  third run sends nothing.

The demo workspace is seeded with ``coach db upgrade`` and ``coach demo`` into a fresh schema;
the settings make everyone due now, whatever the real time: every day a working day, no quiet
hours, digests and reminders from 00:00. The weekly manager digest goes out only when the run
falls on a Monday; the assertions hold either way.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine, make_url

from bot.slack import render
from coaching import schedule
from bot.catalog import Catalog
from coaching.messages import PersonName, msg
from coaching.model import Person, Role, Team
from coaching.records import SENDING, SENT, SKIPPED, Delivery
from coaching.replies import Reply
from storage.db import make_engine
from storage.uow import make_uow_factory
from tests.conftest import POSTGRES_ENV
from tests.slack.fake_api import Call, FakeSlackApi

ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = "demo"
TIMEOUT = 300  # seconds for one CLI process: generous, for a loaded 2-core machine
POST = "chat.postMessage"
NOT_INHERITED = ("COACH_", "SLACK_", "TEAMS_", "CONNECTIONS__")
PROXIES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
REPORT_LINE = re.compile(r"^(\w+): (\d+) sent, (\d+) failed, .*?(\d+) interrupted$", re.MULTILINE)

def coach_command() -> list[str]:
    """The venv's ``coach`` script (the real entry point); the same function through the test's
    interpreter when there is no script next to it."""
    script = Path(sys.executable).with_name("coach")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from bot.cli import main; sys.argv[0] = 'coach'; main()"]


# ---- the world: a demo workspace in its own schema, every person a Slack user ------------------

@dataclass
class Run:
    """One finished ``coach`` process."""

    name: str
    returncode: int
    stdout: str
    stderr: str

    def report(self) -> dict[str, tuple[int, int, int]]:
        """``coach scheduler --once``'s lines: job -> (sent, failed, interrupted)."""
        return {job: (int(s), int(f), int(i)) for job, s, f, i in REPORT_LINE.findall(self.stdout)}

    def __str__(self) -> str:
        return (f"`coach` {self.name} exited {self.returncode}\n--- stdout\n{self.stdout[-4000:]}"
                f"\n--- stderr\n{self.stderr[-6000:]}")


@dataclass
class World:
    url: str
    api: FakeSlackApi
    engine: Engine
    workdir: Path
    people: list[Person] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)
    started: list[subprocess.Popen] = field(default_factory=list)
    _runs: int = 0

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(NOT_INHERITED) and k != "DATABASE_URL" and k.lower() not in PROXIES}
        env.update(
            DATABASE_URL=self.url, COACH_WORKSPACE=WORKSPACE, COACH_LANGUAGE="en",
            COACH_DATA_DIR=str(self.workdir), COACH_DEBUG="1",  # a defect shows its traceback
            COACH_WORKING_DAYS="mon-sun", COACH_QUIET_HOURS="none",
            COACH_DIGEST_TIME="00:00", COACH_REMINDER_TIME="00:00",
            SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="x", SLACK_API_URL=f"{self.api.url}/api/",
            TEAMS_ENABLED="false", PYTHONUNBUFFERED="1",
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        )
        env.update(extra)
        return env

    def start(self, *args: str, **env: str) -> tuple[subprocess.Popen, str]:
        """``coach ARGS`` in its own process group (so it can be killed whole), output to files."""
        self._runs += 1
        name = f"{self._runs:02d}-{'-'.join(a.strip('-') for a in args)}"
        with open(self.workdir / f"{name}.out", "wb") as out, open(self.workdir / f"{name}.err", "wb") as err:
            process = subprocess.Popen(coach_command() + list(args), env=self.env(**env), cwd=self.workdir,
                                       stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
        self.started.append(process)
        return process, name

    def finish(self, process: subprocess.Popen, name: str) -> Run:
        try:
            process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            kill(process)
            pytest.fail(f"`coach {name}` did not finish within {TIMEOUT} s:\n{self.result(process, name)}")
        return self.result(process, name)

    def result(self, process: subprocess.Popen, name: str) -> Run:
        read = lambda suffix: (self.workdir / f"{name}.{suffix}").read_text(errors="replace")  # noqa: E731
        return Run(name, process.returncode, read("out"), read("err"))

    def coach(self, *args: str, **env: str) -> Run:
        run = self.finish(*self.start(*args, **env))
        assert run.returncode == 0, str(run)
        return run

    # -- what the database says ------------------------------------------------------------------

    def deliveries(self) -> list[Delivery]:
        """Every message recorded for any local date around today (the zones span at most a day
        either side of UTC), the daily upkeep left out."""
        today = datetime.now(timezone.utc).date()
        with make_uow_factory(self.engine)() as uow:
            found = [d for k in range(-2, 3) for d in uow.deliveries.list(WORKSPACE, today + timedelta(days=k))]
        return [d for d in found if d.job != "upkeep"]

    def local_dates(self) -> dict[int, date]:
        now = datetime.now(timezone.utc)
        return {p.id: schedule.local(p, now).date() for p in self.people}

    # -- where Slack messages go -------------------------------------------------------------------

    def slack_user(self, person: Person) -> str:
        return f"U{person.id:05d}"

    def channel(self, delivery: Delivery) -> str:
        """The conversation a delivery's message is posted to: the DM FakeSlackApi opens for the
        person's user (``D<user>``), or the team's digest channel."""
        kind, _, number = delivery.recipient.partition(":")
        if kind == "person":
            return "D" + self.slack_user(self.person(int(number)))
        [team] = [t for t in self.teams if t.id == int(number)]
        assert team.digest_channel
        return team.digest_channel

    def person(self, person_id: int) -> Person:
        [person] = [p for p in self.people if p.id == person_id]
        return person

    def digest_title(self, person: Person) -> str:
        """The first line of a person's digest, as Slack's notification text has it."""
        title = Reply.of_items((msg("digest.title", name=PersonName(person.name, greeting=True)),), [])
        return render.fallback_text(title, Catalog("en"), person.locale)

    def posts(self) -> list[Call]:
        return self.api.calls_to(POST)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the process group this test started (``start_new_session``: its id is the pid)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(30)


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip(f"replicas and advisory locks need PostgreSQL: set {POSTGRES_ENV} to a PostgreSQL URL")
    engine = make_engine(database_url)
    with FakeSlackApi(clock=time.time).started_in_thread() as api:  # real timestamps: the coach reads history by time
        world = World(database_url, api, engine, tmp_path)
        try:
            world.coach("db", "upgrade")
            world.coach("demo")
            with make_uow_factory(engine)() as uow:
                for team in uow.teams.list(WORKSPACE):  # the team channel digests go out too
                    uow.teams.set_digest_channel(WORKSPACE, team.id, f"CTEAM{team.id}")
                uow.commit()
                world.people = uow.people.list(WORKSPACE)
                world.teams = uow.teams.list(WORKSPACE)
            assert sum(p.role is Role.REP for p in world.people) == 8, "the demo has eight reps"
            for person in world.people:
                api.add_user(world.slack_user(person), person.email, tz=person.timezone,
                             locale=person.locale or "en", real_name=person.name)
            yield world
        finally:
            for process in world.started:  # only what this test started, by its own id
                kill(process)
            engine.dispose()


# ---- the checks ---------------------------------------------------------------------------------

def assert_each_message_once(world: World, deliveries: list[Delivery]) -> None:
    """Every ``sent`` delivery is exactly one post in its conversation, and no post is anything
    else; no conversation got the same message twice; each person's digest went at most once,
    and exactly when it is recorded as sent."""
    posts = world.posts()
    expected = Counter(world.channel(d) for d in deliveries if d.status == SENT)
    assert Counter(p.params["channel"] for p in posts) == expected
    texts = Counter((p.params["channel"], p.params["text"]) for p in posts)
    assert [key for key, n in texts.items() if n > 1] == [], "a conversation got the same message twice"
    digests = {d.person_id: d for d in deliveries if d.job == "digest"}
    assert set(digests) == {p.id for p in world.people}, "everyone was due: everyone has a digest record"
    for person in world.people:
        channel = "D" + world.slack_user(person)
        got = [p for p in posts if p.params["channel"] == channel
               and p.params["text"].startswith(world.digest_title(person))]
        record = digests[person.id]
        assert len(got) == (1 if record.status == SENT else 0), (person.email, record, [p.params["text"] for p in got])


def assert_settled(deliveries: list[Delivery]) -> None:
    """Nothing left pending, sending or failed; each sent once, by Slack."""
    for d in deliveries:
        assert d.status in (SENT, SKIPPED), d
        assert d.status != SENT or (d.channel, d.attempts) == ("slack", 1), d


def snapshot(deliveries: list[Delivery]) -> list[tuple]:
    return sorted((d.id, d.job, d.recipient, d.local_date, d.status, d.attempts, d.channel, d.reason)
                  for d in deliveries)


def sent_by_job(deliveries: list[Delivery]) -> Counter:
    return Counter(d.job for d in deliveries if d.status == SENT)


def reported(*runs: Run) -> Counter:
    """What the processes say they sent, per job (the daily upkeep left out: it posts nothing)."""
    total: Counter = Counter()
    for run in runs:
        for job, (sent, _, _) in run.report().items():
            if job not in ("upkeep", "all"):
                total[job] += sent
    return +total


def same_local_dates_or_skip(world: World, before: dict[int, date]) -> None:
    """A person whose local midnight passed mid-test is due again, legitimately: not this test's
    subject (the chance is about one run in a thousand)."""
    if world.local_dates() != before:
        pytest.skip("a demo person's local date changed while the test ran; run it again")


# ---- the tests ----------------------------------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_replicas_at_the_same_moment_send_each_message_once(world: World):
    before = world.local_dates()
    started = [world.start("scheduler", "--once") for _ in range(2)]  # both before either is waited on
    runs = [world.finish(*s) for s in started]
    for run in runs:
        assert run.returncode == 0, str(run)
    deliveries = world.deliveries()
    same_local_dates_or_skip(world, before)

    assert_settled(deliveries)
    assert_each_message_once(world, deliveries)
    digests = sent_by_job(deliveries)["digest"]
    assert digests >= 5, f"only {digests} of the 8 demo reps got a digest"
    assert Counter(p.params["channel"] for p in world.posts() if p.params["channel"].startswith("CTEAM")) == {
        team.digest_channel: 1 for team in world.teams}  # the team channel digests, once each
    assert reported(*runs) == sent_by_job(deliveries), "what the two processes report is what they sent"

    third = world.coach("scheduler", "--once")
    assert snapshot(world.deliveries()) == snapshot(deliveries)
    assert len(world.posts()) == sum(sent_by_job(deliveries).values())
    assert reported(third) == Counter()
    assert_each_message_once(world, deliveries)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_process_killed_mid_send_then_a_restart_settles_it_and_sends_the_rest_once(world: World):
    before = world.local_dates()
    with world.api.hold(POST, 3) as held:
        process, name = world.start("scheduler", "--once")
        while not held.arrived.wait(0.5):  # the third post is in flight (or the process ended early)
            if process.poll() is not None:
                pytest.fail(f"the run ended before its third message:\n{world.result(process, name)}")
        kill(process)
        assert process.returncode == -signal.SIGKILL
    in_flight_post = held.call
    assert in_flight_post is not None
    killed = world.deliveries()
    assert [p.params["channel"] for p in world.posts()][2] == in_flight_post.params["channel"]
    assert len(world.posts()) == 3
    assert Counter(d.status for d in killed if d.status != SKIPPED) == Counter({SENT: 2, SENDING: 1})
    [in_flight] = [d for d in killed if d.status == SENDING]
    assert world.channel(in_flight) == in_flight_post.params["channel"]
    sent_before = {d.id for d in killed if d.status == SENT}

    restart = world.coach("scheduler", "--once", COACH_DELIVERY_LEASE_MINUTES="0")
    deliveries = world.deliveries()
    same_local_dates_or_skip(world, before)

    assert restart.report()["all"][2] == 1, "the restart reports the interrupted message"
    [settled] = [d for d in deliveries if d.id == in_flight.id]
    assert (settled.status, settled.channel, settled.attempts) == (SENT, "slack", 1), "found, not posted again"
    assert_settled(deliveries)
    assert_each_message_once(world, deliveries)  # the in-flight one too: once
    restarted = [p.params["channel"] for p in world.posts()[3:]]
    assert Counter(restarted) == Counter(world.channel(d) for d in deliveries
                                         if d.status == SENT and d.id not in sent_before | {in_flight.id})
    assert reported(restart) == sent_by_job(deliveries) - sent_by_job(killed)  # the settled one counts as sent
    assert sent_by_job(deliveries)["digest"] >= 5

    third = world.coach("scheduler", "--once", COACH_DELIVERY_LEASE_MINUTES="0")
    assert snapshot(world.deliveries()) == snapshot(deliveries)
    assert reported(third) == Counter()
    assert_each_message_once(world, deliveries)


def test_fake_slack_api_holds_the_nth_answer_until_released():
    """The fake's ``hold``: the call is recorded on arrival, its answer waits for ``release``."""
    import threading

    with FakeSlackApi().started_in_thread() as api:
        client = WebClient(token="xoxb-test", base_url=f"{api.url}/api/", timeout=30)
        client.chat_postMessage(channel="D1", text="one")
        with pytest.raises(ValueError):
            api.hold(POST, 1)  # already arrived
        held = api.hold(POST, 2)
        answers: list = []
        worker = threading.Thread(target=lambda: answers.append(client.chat_postMessage(channel="D1", text="two")))
        worker.start()
        call = held.wait_arrived(10)
        assert call.params["text"] == "two" and [c.params["text"] for c in api.calls_to(POST)] == ["one", "two"]
        worker.join(0.2)
        assert worker.is_alive() and answers == []  # still waiting for its answer
        held.release()
        worker.join(10)
        assert answers[0]["ok"] and answers[0]["channel"] == "D1"
        assert client.chat_postMessage(channel="D1", text="three")["ok"]  # only the second was held
        never = api.hold(POST, 4)
        worker = threading.Thread(target=lambda: answers.append(client.chat_postMessage(channel="D1", text="four")))
        worker.start()
        never.wait_arrived(10)
    worker.join(10)  # stopping the fake released the answer it held
    assert not worker.is_alive() and answers[-1]["ok"]
