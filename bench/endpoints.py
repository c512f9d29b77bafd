"""The coach's HTTP endpoints under load: Slack's acknowledgement, logging throughput through
Slack with retries, and the Teams round trip (issue #8, items 3, 4 and 5).

Everything runs against the real server: ``coach serve`` itself (``bot.cli``: ``create_web_app``
under ``aiohttp.web.run_app``, with its INFO logging and access log, as in production) started
as a **separate process** on 127.0.0.1 and a free port, with the scheduler and the LLM off. This
process plays the other side: Slack's Web API (``tests/slack/fake_api.py``), the Teams connector
(``tests/teams/connector.py``) and the load generator, all on one asyncio loop.

Why a separate process: the server's event loop (which answers Slack's acknowledgement) and its
worker threads (which run the engine) already share one GIL; a load generator, HMAC signing and
the fake APIs in the same interpreter would take that GIL too, and their Python CPU would be
counted as the server's latency. In two processes the operating system schedules them on the two
cores. They still share those **two cores** with each other (and with PostgreSQL when it is the
database): nothing here is a dedicated load-generation machine, so the figures are a floor for
what the server does on its own, not a ceiling.

Before the server starts the database is migrated to this code's head (an organisation built
by ``bench.org`` before a newer migration would otherwise be refused by ``coach serve``). Each
result carries ``cpu``: the CPU seconds the server process and this process used over the timed
region, beside the wall time (server CPU close to wall time means the server's one Python
process, one GIL, was the bottleneck).

What is timed (``time.perf_counter``; nothing sleeps inside a timed region, except a 5 ms poll
of the database that runs only if the coach's answers arrive before its rows are visible):

``slack_ack``
    Per round, ``concurrency`` correctly signed ``/logmeeting`` slash commands (the quick form:
    ``<client> call give: sent the sector report``), fired at once over loopback with an aiohttp
    session allowing that many connections; each request's time from being sent until its HTTP
    response (Bolt's acknowledgement) has been read. Bodies and signatures are built before the
    round. Between rounds, untimed, the benchmark waits until the coach has posted its reply to
    every command of the round (its DM question), so rounds do not pile up. One warm-up round
    is not counted. Reps take turns: with fewer reps than ``concurrency`` a rep has several
    commands in one round (their conversation simply restarts).

``slack_throughput``
    Complete logged interactions per second through ``/slack/events`` with ``retry_share`` of
    the unique requests sent twice. Two workflows, both a real way to log in Slack:

    * ``"form"`` (the headline): the ``/logmeeting`` modal submitted (``view_submission``): one
      request is one complete touch (client, kind, purpose "give", note, proof "no"). The
      duplicate is the same body again (same ``view.id``, freshly signed), sent as soon as the
      original is acknowledged, i.e. while the coach is still working on it. (Slack re-sends
      Events API callbacks with ``X-Slack-Retry-Num``; a modal submitted twice arrives as the
      same view again, which is what the coach deduplicates on: ``view:<id>``.)
    * ``"conversation"``: the quick form still asks proof, promise, problem, what they asked for,
      justification and confirmation, so one touch is 7 requests: the ``/logmeeting`` slash
      command, then 6 DM messages (Events API) answering ``no, no, no, skip, skip, save``, each
      sent once the coach's previous question has arrived, as a rep would. A duplicated slash
      command repeats its ``trigger_id``; a duplicated message repeats its ``event_id`` with
      ``X-Slack-Retry-Num: 1`` / ``X-Slack-Retry-Reason: http_timeout``. A rep has one
      conversation at a time (it lives in their DM), so at most ``len(org.reps)`` run at once.

    In both, ``retry_share`` of the unique requests (slash commands and messages alike) are
    picked at random (seeded) to be sent twice. The load generator is a closed loop (a fixed
    number of requests or conversations in flight), so the acknowledgement latencies recorded
    under it (``ack_latencies``) are about in-flight / throughput: a measure of saturation, not
    of item 3.

    The clock runs from the first request sent until the coach has posted its answer to every
    unique request (each is posted after its transaction commits) **and** a separate SQLAlchemy
    engine sees every expected interaction in the database (checked once the answers are in,
    polled only if not). Then exactly-once is checked: the interactions added are exactly the
    expected ``external_id``s (``view:<id>`` / ``event:<id>``), none twice, and the ledger
    entries added are exactly the ones ``coaching.ledger.for_interaction`` gives a "give" touch
    without proof: one ``give_touch`` per interaction, caused by it. An uncounted warm-up runs
    first.

``teams_round_trip``
    Anonymous-mode Teams message activities posted to ``/api/messages`` (no token; loopback), a
    rep's conversation step by step: ``promises``, ``ledger <client>``, a whole ``/logmeeting``
    (start, five answers, save) and ``nudges``. The Agents SDK runs the turn, including sending
    the reply to the connector (the fake ``serviceUrl``), before it answers 202, so the time until
    the HTTP response already contains the reply's delivery; each step's latency is the later of
    the response and the connector recording the reply (``replies_after_response`` counts the
    steps where the reply came last, which should be none). One step at a time by default
    (``concurrency=1``); warm-up steps are not counted.

``run(url, org, smoke=...)`` runs all of them on one server and returns a JSON-able dict.
``python -m bench.endpoints run --url URL --size S [--smoke] [--out FILE]`` does that from the
shell; ``python -m bench.endpoints serve --port P`` is how the server process is started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Sequence

import aiohttp
from aiohttp import web
from sqlalchemy import bindparam, text

from bench import ack_floor
from bench.org import Org, Rep
from storage.db import make_engine, upgrade
from tests.slack.fake_api import Call, FakeSlackApi
from tests.slack.signing import event_body, signed_headers, slash_command_body, view_submission_body
from tests.teams.connector import FakeConnector

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
NOTE = "sent the sector report"
# After "/logmeeting <client> call give: <note>": proof, promise, problem, asked for, justification, confirm.
ANSWERS = ("no", "no", "no", "skip", "skip", "save")
LEDGER_PER_LOG = 1  # a "give" touch without proof: one give_touch entry (coaching.ledger.for_interaction)
WAIT = 600.0  # how long to wait for the coach's answers before calling a run incomplete
SETTLE = 5.0  # once every answer is in: how long the database may lag behind them


# --- results ----------------------------------------------------------------------------------

def summary(latencies: Sequence[float]) -> dict[str, float | int | None]:
    """min / median / p95 / p99 / max / mean in seconds (nearest-rank percentiles), and n."""
    values = sorted(latencies)
    if not values:
        return {"n": 0, "min": None, "median": None, "p95": None, "p99": None, "max": None, "mean": None}

    def rank(q: float) -> float:
        return values[max(0, math.ceil(q * len(values)) - 1)]

    return {"n": len(values), "min": values[0], "median": statistics.median(values), "p95": rank(0.95),
            "p99": rank(0.99), "max": values[-1], "mean": statistics.fmean(values)}


@dataclass(frozen=True)
class AckResult:
    concurrency: int
    rounds: int  # measured rounds (the warm-up round is not in latencies)
    latencies: tuple[float, ...]  # seconds, one per measured request
    statuses: dict[str, int]  # HTTP status -> requests (measured rounds)
    replies: int  # DM answers the coach posted for the measured commands (one expected each)
    replies_expected: int
    cpu: dict[str, float | None]  # CPU seconds over the measured rounds, their work included (see _Stack.cpu_since)


@dataclass(frozen=True)
class ThroughputResult:
    workflow: str  # "form" or "conversation"
    logs: int  # complete interactions expected (one per form / conversation)
    requests_per_log: int
    unique: int  # unique HTTP requests
    sent: int  # HTTP requests sent, duplicates included
    retries: int  # duplicates sent
    concurrency: int  # requests (form) or conversations (conversation) in flight at once
    seconds: float  # first request sent -> every answer posted and every interaction in the database
    per_second: float  # complete logged interactions per second
    requests_per_second: float  # HTTP requests (duplicates included) per second
    interactions_added: int
    ledger_added: int
    ledger_expected: int
    duplicates_found: int  # external ids stored more than once (must be 0)
    missing: int  # expected external ids not stored
    unexpected: int  # interactions added that no unique request asked for
    ledger_mismatched: int  # added interactions without exactly their one give_touch entry
    replies: int  # answers the coach posted (one per unique request expected)
    replies_expected: int
    statuses: dict[str, int]
    complete: bool  # every expected interaction was in the database before the wait ran out
    cpu: dict[str, float | None]  # CPU seconds over the timed region (see _Stack.cpu_since)
    ack_latencies: tuple[float, ...]  # every request's acknowledgement, under this load
    # conversation only: per step ("logmeeting", "answer", "save"), the time from sending it until
    # the coach's answer was posted to the rep's DM (what the rep waits for)
    answer_latencies: dict[str, tuple[float, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class RoundTripResult:
    steps: int  # measured steps
    warmup: int
    concurrency: int
    latencies: tuple[float, ...]  # seconds: later of the HTTP response and the reply's arrival
    response_latencies: tuple[float, ...]  # seconds until the HTTP response alone
    by_step: dict[str, tuple[float, ...]]  # step kind -> latencies
    statuses: dict[str, int]
    replies_missing: int  # steps whose reply never reached the connector
    replies_after_response: int  # steps whose reply arrived after the HTTP response
    measured_until: str  # what ``latencies`` ends at
    cpu: dict[str, float | None]  # CPU seconds over all steps, warm-up included (see _Stack.cpu_since)


# --- the other side: Slack, the Teams connector ------------------------------------------------

class _SlackApi(FakeSlackApi):
    """FakeSlackApi that also counts chat.postMessage per channel and wakes whoever waits."""

    def __init__(self) -> None:
        super().__init__()
        self.posted: Counter[str] = Counter()
        self.total = 0
        self._waiters: list[tuple[str | None, int, asyncio.Future[None]]] = []

    def _record(self, call: Call):  # type: ignore[override]
        failure = super()._record(call)
        if call.method == "chat.postMessage":
            self.posted[str(call.params.get("channel"))] += 1
            self.total += 1
            for waiter in [w for w in self._waiters if self._reached(w[0], w[1])]:
                self._waiters.remove(waiter)
                if not waiter[2].done():
                    waiter[2].set_result(None)
        return failure

    def _held(self, call: Call):  # type: ignore[override]
        # The original counts every earlier call on each call (quadratic); nothing is held here.
        return super()._held(call) if self._holds else None

    def _reached(self, channel: str | None, count: int) -> bool:
        return (self.total if channel is None else self.posted[channel]) >= count

    async def wait_posts(self, count: int, channel: str | None = None, timeout: float = WAIT) -> bool:
        """Until ``count`` messages were posted (to ``channel``, or in all); False on timeout."""
        if self._reached(channel, count):
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter = (channel, count, future)
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)


class _Connector(FakeConnector):
    """FakeConnector that notes when each reply to an activity arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: dict[str, list[float]] = {}
        self._waiters: dict[str, asyncio.Future[None]] = {}

    def app(self) -> web.Application:
        app = super().app()

        @web.middleware
        async def timing(request: web.Request, handler):
            response = await handler(request)
            activity = request.match_info.get("activity")
            if request.method == "POST" and activity:
                self.replies.setdefault(activity, []).append(time.perf_counter())
                if (future := self._waiters.pop(activity, None)) and not future.done():
                    future.set_result(None)
            return response

        app.middlewares.append(timing)
        return app

    async def wait_reply(self, activity: str, timeout: float) -> bool:
        if activity in self.replies:
            return True
        future = self._waiters[activity] = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except asyncio.TimeoutError:
            return False


# --- the server, in a process of its own --------------------------------------------------------

def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a process and its live children so far (``coach serve
    --workers N``: gunicorn's master and its workers); Linux ``/proc``, None elsewhere."""
    try:
        ticks = sum(int(f) for f in _stat(pid)[11:13])
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    fields = _stat(int(entry.name))
                    if int(fields[1]) == pid:
                        ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Server:
    """``coach serve [--workers N]`` on 127.0.0.1 as a child process; its output goes to a
    temporary file."""

    def __init__(self, database_url: str, workspace: str, slack_api_url: str, workers: int = 1) -> None:
        self.port, self.workers = _free_port(), workers
        self.url = f"http://127.0.0.1:{self.port}"
        self.problems: dict[str, int] = {}
        self.data_dir = tempfile.mkdtemp(prefix="coach-bench-data-")  # charts, if any; never the working tree
        self.log = tempfile.NamedTemporaryFile("w+b", prefix="coach-bench-server-", suffix=".log", delete=False)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLACK_", "CONNECTIONS__", "OPENAI_", "COACH_", "DATABASE_URL"))}
        env.update({
            "DATABASE_URL": database_url, "COACH_WORKSPACE": workspace, "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_API_URL": f"{slack_api_url}/api/", "COACH_SCHEDULER": "false",
            "COACH_LLM": "off", "TEAMS_ENABLED": "true", "TEAMS_ANONYMOUS": "true", "COACH_DATA_DIR": self.data_dir,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        })
        # settings to try against the defaults, e.g. BENCH_SERVER_ENV="COACH_SWITCH_INTERVAL_MS=5"
        env.update(item.split("=", 1) for item in os.environ.get("BENCH_SERVER_ENV", "").split(",") if "=" in item)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.endpoints", "serve", "--port", str(self.port), "--workers", str(workers)],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    async def ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            # several workers: each says when it is ready (bot/workers.py), then listens
            while self.workers > 1 and self.output().count("bot.workers: worker ready") < self.workers:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"the coach's workers did not start:\n{self.output()[-3000:]}")
                await asyncio.sleep(0.05)  # not timed
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the coach's server exited ({self.process.returncode}):\n{self.output()[-3000:]}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the coach's server did not answer /healthz:\n{self.output()[-3000:]}")
                await asyncio.sleep(0.05)  # not timed: waiting for the server to start

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # run_app's (or gunicorn's) graceful shutdown
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()
        self.problems = self._problems()
        with contextlib.suppress(OSError):
            os.unlink(self.log.name)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return Path(self.log.name).read_text("utf-8", errors="replace")

    def _problems(self) -> dict[str, int]:
        """The server's WARNING / ERROR lines (without their time) and traceback lines, counted;
        the access log is INFO and left out."""
        found: Counter[str] = Counter()
        for line in self.output().splitlines():
            if " WARNING " in line or " ERROR " in line or " CRITICAL " in line:
                # without the time, and without the process id of a worker (``--workers N``)
                found[re.sub(r"^(\w+) \[\d+\] ", r"\1 ", line.split(" ", 2)[-1])[:300]] += 1
            elif line.startswith("Traceback") or (line[:1].isalpha() and "Error" in line.split(":", 1)[0]):
                found[line[:300]] += 1
        return dict(found.most_common(50))


class _Stack:
    """The fake Slack API and Teams connector on this loop, and the coach's server pointing at them."""

    def __init__(self, database_url: str, org: Org, workers: int = 1) -> None:
        self.database_url, self.org, self.workers = database_url, org, workers
        self.token = uuid.uuid4().hex[:8]  # keeps ids unique across runs on the same database
        self._ids = 0

    async def __aenter__(self) -> _Stack:
        self.api = await _SlackApi().start()
        for rep in self.org.reps:
            self.api.add_user(rep.slack_user_id, rep.email, tz=rep.timezone,
                              locale="ja-JP" if rep.locale == "ja" else "en-GB")
        self.connector = _Connector()
        await self.connector.__aenter__()
        # An organisation built (and reused) before a newer migration: bring it to this code's schema.
        await asyncio.to_thread(upgrade, self.database_url)
        self.server = _Server(self.database_url, self.org.workspace, self.api.url, self.workers)
        self.engine = make_engine(self.database_url)
        try:
            await self.server.ready()
        except BaseException:
            await self._close()
            raise
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, force_close=False))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()
        await self._close()

    async def _close(self) -> None:
        await asyncio.to_thread(self.server.stop)
        await self.connector.__aexit__()
        await self.api.stop()
        self.engine.dispose()

    def cpu(self) -> tuple[float, float | None, float]:
        return time.process_time(), _process_cpu(self.server.process.pid), time.perf_counter()

    def cpu_since(self, start: tuple[float, float | None, float]) -> dict[str, float | None]:
        """CPU seconds the server process and this one (load generator and fake platforms) used
        since ``start``, and the wall time: on 2 cores the rest of 2 x wall went to the database
        and everything else (or was idle)."""
        mine, server, wall = self.cpu()
        return {"server": None if server is None or start[1] is None else server - start[1],
                "load_generator": mine - start[0], "wall": wall - start[2]}

    def next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self.token}{self._ids:07d}"

    # --- requests -------------------------------------------------------------------------

    @property
    def slack_url(self) -> str:
        return f"{self.server.url}/slack/events"

    @staticmethod
    def dm(rep: Rep) -> str:
        return f"D{rep.slack_user_id}"  # what the fake's conversations.open answers for the rep

    def slash(self, rep: Rep, text: str) -> str:
        trigger = self.next_id("trigger-")
        return slash_command_body("/logmeeting", text, rep.slack_user_id, channel_id=self.dm(rep),
                                  response_url=self.api.response_url(trigger), trigger_id=trigger)

    def message(self, rep: Rep, text: str) -> str:
        event = {"type": "message", "channel_type": "im", "channel": self.dm(rep), "user": rep.slack_user_id,
                 "text": text, "ts": f"{time.time():.6f}"}
        return event_body(event, event_id=self.next_id("Ev"))

    def form(self, rep: Rep, client_id: int) -> tuple[str, str]:
        view_id = self.next_id("VB")
        values = {
            "client": {"client_search": {"type": "external_select", "selected_option": {"value": f"client:{client_id}"}}},
            "kind": {"value": {"type": "static_select", "selected_option": {"value": "call"}}},
            "purpose": {"value": {"type": "static_select", "selected_option": {"value": "give"}}},
            "note": {"value": {"type": "plain_text_input", "value": NOTE}},
            "proof": {"value": {"type": "radio_buttons", "selected_option": {"value": "no"}}},
        }
        body = view_submission_body(rep.slack_user_id, "log_form", values, private_metadata=self.dm(rep), view_id=view_id)
        return body, f"view:{view_id}"

    async def post(self, url: str, body: str, headers: dict[str, str]) -> tuple[int, float]:
        started = time.perf_counter()
        async with self.session.post(url, data=body.encode("utf-8"), headers=headers) as response:
            await response.read()
            return response.status, time.perf_counter() - started

    async def slack(self, body: str, retry: int = 0, again: bool = False) -> tuple[int, float]:
        # Slack signs each delivery: a delivery sent ``again`` has a timestamp (and so a
        # signature) of its own, well apart from the first's (a byte-for-byte copy gets 401)
        headers = signed_headers(SECRET, body, timestamp=int(time.time()) - (150 + retry if again else 0))
        if retry:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
        return await self.post(self.slack_url, body, headers)

    # --- the database, seen from outside -----------------------------------------------------

    def client_ids(self) -> dict[int, list[int]]:
        """Each rep's listed clients (``Rep.clients``) by id, as the form's client picker gives them."""
        names = sorted({name for rep in self.org.reps for name in rep.clients})
        with self.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, name FROM clients WHERE workspace_id = :ws AND name IN :names")
                .bindparams(bindparam("names", expanding=True)), {"ws": self.org.workspace, "names": names}).all()
        by_name = {name: cid for cid, name in rows}
        return {rep.person_id: [by_name[n] for n in rep.clients if n in by_name] for rep in self.org.reps}

    def high_water(self) -> tuple[int, int]:
        with self.engine.connect() as connection:
            return (connection.execute(text("SELECT COALESCE(MAX(id), 0) FROM interactions")).scalar_one(),
                    connection.execute(text("SELECT COALESCE(MAX(id), 0) FROM ledger_entries")).scalar_one())

    def added(self, since: int) -> int:
        with self.engine.connect() as connection:
            return connection.execute(text("SELECT COUNT(*) FROM interactions WHERE id > :n"), {"n": since}).scalar_one()

    def verify(self, base: tuple[int, int], expected: set[str]) -> dict[str, int]:
        with self.engine.connect() as connection:
            interactions = connection.execute(
                text("SELECT id, external_id FROM interactions WHERE id > :n"), {"n": base[0]}).all()
            entries = connection.execute(
                text("SELECT cause, reason FROM ledger_entries WHERE id > :n"), {"n": base[1]}).all()
            repeated = connection.execute(text(
                "SELECT COUNT(*) FROM (SELECT external_id FROM interactions WHERE external_id IS NOT NULL"
                " AND workspace_id = :ws GROUP BY external_id HAVING COUNT(*) > 1) AS twice"),
                {"ws": self.org.workspace}).scalar_one()
        stored = {external for _, external in interactions}
        caused: dict[str, list[str]] = {}
        for cause, reason in entries:
            caused.setdefault(cause, []).append(reason)
        mismatched = sum(1 for iid, _ in interactions if caused.get(f"interaction:{iid}") != ["give_touch"] * LEDGER_PER_LOG)
        return {"interactions_added": len(interactions), "ledger_added": len(entries),
                "duplicates_found": repeated, "missing": len(expected - stored),
                "unexpected": sum(1 for _, external in interactions if external not in expected),
                "ledger_mismatched": mismatched}

    async def settle(self, since: int, count: int, timeout: float) -> bool:
        """Until a separate connection sees ``count`` interactions added since ``since``."""
        deadline = time.monotonic() + timeout
        while await asyncio.to_thread(self.added, since) < count:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.005)  # only reached if the answers came before the commit
        return True


# --- 3. the slash-command acknowledgement ----------------------------------------------------

def _quick(rep: Rep, n: int) -> str:
    client = rep.clients[n % len(rep.clients)] if rep.clients else "Bench Client"
    return f"{client} call give: {NOTE}"


async def _slack_ack(stack: _Stack, concurrency: int, rounds: int, warmup: int = 1, quick: bool = True) -> AckResult:
    reps = stack.org.reps
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    replies = 0
    cpu = stack.cpu()
    for number in range(warmup + rounds):
        bodies = [stack.slash(reps[i % len(reps)], _quick(reps[i % len(reps)], number + i // len(reps)) if quick else "")
                  for i in range(concurrency)]
        signed = [(body, signed_headers(SECRET, body)) for body in bodies]
        before = stack.api.total
        answers = await asyncio.gather(*(stack.post(stack.slack_url, body, headers) for body, headers in signed))
        # Untimed: let the round's work finish (one DM question per command) before the next.
        await stack.api.wait_posts(before + concurrency)
        if number + 1 == warmup:
            cpu = stack.cpu()
        if number >= warmup:
            latencies += [seconds for _, seconds in answers]
            statuses.update(str(status) for status, _ in answers)
            replies += stack.api.total - before
    return AckResult(concurrency, rounds, tuple(latencies), dict(statuses), replies, concurrency * rounds,
                     stack.cpu_since(cpu))


# --- 4. logging throughput ---------------------------------------------------------------------

@dataclass
class _Tally:
    statuses: Counter[str] = field(default_factory=Counter)
    acks: list[float] = field(default_factory=list)
    answered: dict[str, list[float]] = field(default_factory=dict)  # step -> sent until the coach's answer
    sent: int = 0

    def note(self, answer: tuple[int, float]) -> None:
        self.statuses[str(answer[0])] += 1
        self.acks.append(answer[1])
        self.sent += 1


def _form_jobs(stack: _Stack, logs: int, duplicated: set[int]) -> tuple[list[tuple[str, bool]], set[str]]:
    """``logs`` signed-later form submissions (body, sent twice?) and the external ids they
    should be stored under. Built before the clock starts."""
    reps, ids = stack.org.reps, stack.client_ids()
    jobs: list[tuple[str, bool]] = []
    expected = set()
    for i in range(logs):
        rep = reps[i % len(reps)]
        clients = ids[rep.person_id]
        if not clients:
            raise RuntimeError(f"{rep.email} has no clients to log against")
        body, key = stack.form(rep, clients[(i // len(reps)) % len(clients)])
        jobs.append((body, i in duplicated))
        expected.add(key)
    return jobs, expected


async def _forms(stack: _Stack, jobs: list[tuple[str, bool]], concurrency: int, tally: _Tally) -> None:
    """Submit the forms, ``concurrency`` at a time; a duplicated one again as soon as it is acknowledged."""
    queue = iter(jobs)

    async def worker() -> None:
        for body, twice in queue:
            tally.note(await stack.slack(body))
            if twice:  # the same view again, while the coach is still saving the first
                tally.note(await stack.slack(body, again=True))

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(jobs)))))


async def _conversations(stack: _Stack, logs: int, duplicated: set[int], concurrency: int, tally: _Tally) -> set[str]:
    """``logs`` conversations (slash command + 6 answers each), one per rep at a time; request
    ``7 * log + step`` is sent twice when in ``duplicated``. Returns the expected external ids."""
    reps = stack.org.reps[: max(1, min(concurrency, len(stack.org.reps)))]
    expected: set[str] = set()
    per_rep: dict[int, list[int]] = {}
    for n in range(logs):
        per_rep.setdefault(n % len(reps), []).append(n)
    waiting = {stack.dm(rep): stack.api.posted[stack.dm(rep)] for rep in reps}

    async def rep_logs(index: int) -> None:
        rep = reps[index]
        channel = stack.dm(rep)
        for n in per_rep.get(index, []):
            for step in range(1 + len(ANSWERS)):
                if step == 0:
                    body, retry = stack.slash(rep, _quick(rep, n)), 0
                else:
                    body, retry = stack.message(rep, ANSWERS[step - 1]), 1
                    if step == len(ANSWERS):
                        expected.add(f"event:{json.loads(body)['event_id']}")
                started = time.perf_counter()
                tally.note(await stack.slack(body))
                if (1 + len(ANSWERS)) * n + step in duplicated:
                    tally.note(await stack.slack(body, retry=retry, again=True))
                waiting[channel] += 1
                if not await stack.api.wait_posts(waiting[channel], channel):
                    return  # the coach stopped answering this rep: the counts will show it
                kind = "logmeeting" if step == 0 else "save" if step == len(ANSWERS) else "answer"
                tally.answered.setdefault(kind, []).append(time.perf_counter() - started)

    await asyncio.gather(*(rep_logs(i) for i in range(len(reps))))
    return expected


async def _slack_throughput(stack: _Stack, requests: int, retry_share: float, concurrency: int,
                            workflow: str, warmup: int | None = None, seed: int = 8) -> ThroughputResult:
    if workflow not in ("form", "conversation"):
        raise ValueError(f"unknown workflow {workflow!r}: form or conversation")
    per_log = 1 if workflow == "form" else 1 + len(ANSWERS)
    in_flight = concurrency if workflow == "form" else min(concurrency, len(stack.org.reps))
    unique = requests * per_log
    duplicated = set(random.Random(seed).sample(range(unique), round(unique * retry_share)))

    async def send(logs: int, twice: set[int], tally: _Tally) -> Callable[[], Awaitable[set[str]]]:
        """Prepare (untimed) and return the coroutine function that sends (timed)."""
        if workflow == "form":
            jobs, expected = await asyncio.to_thread(_form_jobs, stack, logs, twice)

            async def go() -> set[str]:
                await _forms(stack, jobs, concurrency, tally)
                return expected
            return go
        return lambda: _conversations(stack, logs, twice, concurrency, tally)

    # Warm-up, not counted: the same workflow, no duplicates.
    warm = in_flight if warmup is None else warmup
    if warm:
        before = stack.api.total
        await (await send(warm, set(), _Tally()))()
        await stack.api.wait_posts(before + warm * per_log)
    base = await asyncio.to_thread(stack.high_water)
    tally = _Tally()
    go = await send(requests, duplicated, tally)
    posts_before = stack.api.total
    cpu = stack.cpu()
    started = time.perf_counter()
    expected = await go()
    answered = await stack.api.wait_posts(posts_before + unique)
    # Each answer is posted after its commit, so the rows should be there already; a short wait
    # covers a reader lagging behind (when an answer was an error instead, they never come).
    complete = answered and await stack.settle(base[0], requests, SETTLE)
    seconds = time.perf_counter() - started
    used = stack.cpu_since(cpu)
    replies = stack.api.total - posts_before
    checked = await asyncio.to_thread(stack.verify, base, expected)
    if not complete:  # a shortfall: give stragglers a moment, so the counts are final
        await asyncio.sleep(1.0)
        replies = stack.api.total - posts_before
        checked = await asyncio.to_thread(stack.verify, base, expected)
    return ThroughputResult(
        workflow=workflow, logs=requests, requests_per_log=per_log, unique=unique, sent=tally.sent,
        retries=tally.sent - unique, concurrency=in_flight, seconds=seconds, per_second=requests / seconds,
        requests_per_second=tally.sent / seconds, ledger_expected=requests * LEDGER_PER_LOG,
        replies=replies, replies_expected=unique, statuses=dict(tally.statuses), complete=complete, cpu=used,
        ack_latencies=tuple(tally.acks), answer_latencies={k: tuple(v) for k, v in tally.answered.items()},
        **checked,
    )


# --- 5. the Teams round trip -----------------------------------------------------------------

def _script(rep: Rep, n: int) -> list[tuple[str, str]]:
    client = rep.clients[n % len(rep.clients)] if rep.clients else "Bench Client"
    answers = [("answer", a) for a in ANSWERS[:-1]]
    return [("promises", "promises"), ("ledger", f"ledger {client}"),
            ("logmeeting", f"/logmeeting {client} call give: {NOTE}"), *answers, ("save", "save"),
            ("nudges", "nudges")]


def _activity(stack: _Stack, rep: Rep, text_: str) -> dict[str, Any]:
    """A personal-chat message as Teams sends it (see tests/teams/test_endpoint.py)."""
    tenant = "00000000-0000-0000-0000-00000000bench"
    locale = "ja-JP" if rep.locale == "ja" else "en-GB"
    return {
        "type": "message", "id": stack.next_id("act"), "timestamp": "2026-01-01T09:00:00.000Z",
        "channelId": "msteams", "serviceUrl": stack.connector.url, "locale": locale, "text": text_,
        "textFormat": "plain",
        "from": {"id": f"29:{rep.teams_user_id}", "name": rep.email, "aadObjectId": rep.teams_user_id},
        "recipient": {"id": "28:bench-coach", "name": "Coach"},
        "conversation": {"id": f"a:bench-{rep.teams_user_id}", "conversationType": "personal", "tenantId": tenant},
        "channelData": {"tenant": {"id": tenant}},
        "entities": [{"type": "clientInfo", "locale": locale, "timezone": rep.timezone}],
    }


async def _teams_round_trip(stack: _Stack, steps: int, warmup: int, concurrency: int) -> RoundTripResult:
    reps = stack.org.reps
    url = f"{stack.server.url}/api/messages"
    total = warmup + steps
    taken = 0
    records: list[tuple[int, str, int, float, float | None]] = []  # (order, kind, status, response, reply)

    async def worker(k: int) -> None:
        nonlocal taken
        turn = 0
        while taken < total:
            rep = reps[(k + turn * concurrency) % len(reps)]
            for kind, said in _script(rep, turn):
                if taken >= total:
                    return
                order = taken
                taken += 1
                activity = _activity(stack, rep, said)
                body = json.dumps(activity)
                status, response = await stack.post(url, body, {"Content-Type": "application/json"})
                started_at = time.perf_counter() - response  # when it was sent, on the same clock
                got = await stack.connector.wait_reply(activity["id"], SETTLE)
                reply = stack.connector.replies[activity["id"]][-1] - started_at if got else None
                records.append((order, kind, status, response, reply))
            turn += 1

    cpu = stack.cpu()
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    used = stack.cpu_since(cpu)
    measured = sorted(r for r in records if r[0] >= warmup)
    latencies, by_step = [], {}
    for _, kind, _, response, reply in measured:
        seconds = max(response, reply) if reply is not None else response
        latencies.append(seconds)
        by_step.setdefault(kind, []).append(seconds)
    return RoundTripResult(
        steps=len(measured), warmup=warmup, concurrency=concurrency, latencies=tuple(latencies),
        response_latencies=tuple(r[3] for r in measured), by_step={k: tuple(v) for k, v in by_step.items()},
        statuses=dict(Counter(str(r[2]) for r in measured)),
        replies_missing=sum(1 for r in measured if r[4] is None),
        replies_after_response=sum(1 for r in measured if r[4] is not None and r[4] > r[3]),
        measured_until="the later of the HTTP response and the reply reaching the connector", cpu=used,
    )


# --- the public face ---------------------------------------------------------------------------

def _on_stack(database_url: str, org: Org, work: Callable[[_Stack], Awaitable[Any]], workers: int = 1) -> Any:
    async def go() -> Any:
        async with _Stack(database_url, org, workers) as stack:
            return await work(stack)
    return asyncio.run(go())


def slack_ack(database_url: str, org: Org, *, concurrency: int = 64, rounds: int = 5, quick: bool = True,
              workers: int = 1) -> AckResult:
    """Item 3: ``rounds`` rounds of ``concurrency`` simultaneous signed ``/logmeeting`` commands
    (after one warm-up round); each request's time to its acknowledgement. Target p99 < 150 ms.
    ``quick=False`` sends a bare ``/logmeeting`` (the coach then only asks for the client), to
    tell the acknowledgement's own cost from the load of reading quick-form text behind it.
    ``workers``: ``coach serve --workers N``."""
    return _on_stack(database_url, org, lambda s: _slack_ack(s, concurrency, rounds, quick=quick), workers)


def slack_throughput(database_url: str, org: Org, *, requests: int = 3000, retry_share: float = 0.1,
                     concurrency: int = 64, workflow: str = "form", workers: int = 1) -> ThroughputResult:
    """Item 4: ``requests`` complete logged interactions through ``/slack/events`` with
    ``retry_share`` of the unique requests sent twice; then exactly-once is checked. ``workflow``
    is ``"form"`` (one request per touch) or ``"conversation"`` (seven). Target >= 300/s on
    PostgreSQL. ``workers``: ``coach serve --workers N``."""
    return _on_stack(database_url, org, lambda s: _slack_throughput(s, requests, retry_share, concurrency, workflow),
                     workers)


def teams_round_trip(database_url: str, org: Org, *, steps: int = 300, warmup: int = 10,
                     concurrency: int = 1) -> RoundTripResult:
    """Item 5: ``steps`` conversation steps posted to ``/api/messages`` (anonymous mode), each
    timed until its response and its reply are in. Target p99 < 150 ms."""
    return _on_stack(database_url, org, lambda s: _teams_round_trip(s, steps, warmup, concurrency))


FULL = {"ack": {"concurrency": 64, "rounds": 10},
        "form": {"requests": 3000, "concurrency": 64, "runs": 3},
        "conversation": {"requests": 100, "concurrency": 64},
        "teams": {"steps": 300, "warmup": 10, "concurrency": 1}}
SMOKE = {"ack": {"concurrency": 8, "rounds": 2},
         "form": {"requests": 40, "concurrency": 8, "runs": 2},
         "conversation": {"requests": 8, "concurrency": 8},
         "teams": {"steps": 20, "warmup": 10, "concurrency": 1}}


def _json(result: Any) -> dict[str, Any]:
    data = asdict(result)
    for key in ("latencies", "ack_latencies", "response_latencies"):
        if key in data:
            data[key] = list(data[key])
            data[f"{key.removesuffix('latencies')}summary"] = summary(data[key])
    for key in ("by_step", "answer_latencies"):
        if key in data:
            data[key] = {k: {"latencies": list(v), "summary": summary(v)} for k, v in data[key].items()}
    return data


def run(database_url: str, org: Org, *, smoke: bool, workers: int = 1) -> dict[str, Any]:
    """All three on one server, in order: acknowledgement, throughput (form, then conversation),
    Teams. A JSON-able dict: raw latency lists in seconds, their summaries, the counts."""
    p = SMOKE if smoke else FULL

    async def work(stack: _Stack) -> dict[str, Any]:
        out: dict[str, Any] = {
            "database": stack.engine.dialect.name, "size": org.size.name, "smoke": smoke,
            "cores": os.cpu_count(), "workers": workers,
            "server": f"coach serve --workers {workers}, separate processes on 127.0.0.1",
        }
        out["slack_ack"] = _json(await _slack_ack(stack, p["ack"]["concurrency"], p["ack"]["rounds"]))
        # the floor: a bare Bolt app that only acknowledges, the same bursts, right after
        out["slack_ack_floor"] = await asyncio.to_thread(ack_floor.measure, SECRET, concurrency=p["ack"]["concurrency"],
                                                         rounds=p["ack"]["rounds"])
        out.update(await _form_runs(stack, p["form"]))
        q = p["conversation"]
        out["slack_throughput_conversation"] = _json(
            await _slack_throughput(stack, q["requests"], 0.1, q["concurrency"], "conversation"))
        t = p["teams"]
        out["teams_round_trip"] = _json(await _teams_round_trip(stack, t["steps"], t["warmup"], t["concurrency"]))
        return out

    stack_holder: list[_Stack] = []

    async def keep(stack: _Stack) -> dict[str, Any]:
        stack_holder.append(stack)
        return await work(stack)

    out = _on_stack(database_url, org, keep, workers)
    out["server_problems"] = stack_holder[0].server.problems  # counted once the server has stopped
    return out


def throughput_with_workers(database_url: str, org: Org, workers: int, *, smoke: bool) -> dict[str, Any]:
    """The modal logs' throughput alone (``form``, as in :func:`run`) with ``coach serve
    --workers N``: the configuration a PostgreSQL deployment runs on a machine of N cores."""
    measured = _on_stack(database_url, org, lambda stack: _form_runs(stack, (SMOKE if smoke else FULL)["form"]),
                         workers)
    return {"database": "postgres", "size": org.size.name, "smoke": smoke, "cores": os.cpu_count(), "workers": workers,
            "server": f"coach serve --workers {workers}, separate processes on 127.0.0.1", **measured}


async def _form_runs(stack: _Stack, q: dict[str, int]) -> dict[str, Any]:
    """The modal logs' throughput ``q["runs"]`` times in a row on one server (each run its own
    requests, warm-up and exactly-once check): the run of median speed in full as
    ``slack_throughput_form``, and every run's speed, CPU and checks in
    ``slack_throughput_form_runs``. One run's figure moves by a fifth with the machine."""
    runs = [await _slack_throughput(stack, q["requests"], 0.1, q["concurrency"], "form") for _ in range(q["runs"])]
    median = sorted(runs, key=lambda r: r.per_second)[(len(runs) - 1) // 2]
    brief = [{"per_second": r.per_second, "cpu": r.cpu, "complete": r.complete, "duplicates_found": r.duplicates_found,
              "missing": r.missing, "unexpected": r.unexpected, "ledger_mismatched": r.ledger_mismatched}
             for r in runs]
    return {"slack_throughput_form": _json(median), "slack_throughput_form_runs": brief}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.endpoints", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="the coach's server (settings from the environment)")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--workers", type=int, default=1)
    go = commands.add_parser("run", help="build (or reuse) an organisation and run the three benchmarks")
    go.add_argument("--url", required=True, help="a database URL (an empty one, or one built for this size)")
    go.add_argument("--size", default="S")
    go.add_argument("--smoke", action="store_true")
    go.add_argument("--workers", type=int, default=1, help="coach serve --workers N")
    go.add_argument("--out", type=Path, help="write the JSON here (default: standard output)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        from bot.cli import main as coach

        coach(["serve", "--host", "127.0.0.1", "--port", str(args.port), "--workers", str(args.workers)],
              prog_name="coach")
        return
    from bench.org import SIZES, build

    org = build(args.url, SIZES[args.size])
    result = json.dumps(run(args.url, org, smoke=args.smoke, workers=args.workers), ensure_ascii=False, indent=1)
    if args.out:
        args.out.write_text(result + "\n", "utf-8")
    else:
        print(result)


if __name__ == "__main__":
    main()
