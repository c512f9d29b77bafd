"""``coach serve --workers N`` seen from outside: the real command in its own process group,
Slack played by FakeSlackApi, correctly signed requests over loopback, PostgreSQL.

* two workers answer on one port, and a connection's worker is read from ``/proc`` (the
  process holding the server side of the TCP connection), so a request and Slack's retry of
  it can be sent to two different workers, at the same moment: each touch is recorded once;
* SIGTERM stops the master and every worker, with exit status 0 and no traceback;
* the scheduler runs in one worker (the lease); when that worker is SIGKILLed, gunicorn
  replaces it and another worker takes the scheduler over;
* requests a dead process left pending are replayed at start-up by the two workers, each once;
* SQLite refuses ``--workers 2`` with one line in the operator's language.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import make_url

from bot.scheduler import LEASE_EVERY_S
from storage.requests import DONE
from tests.conftest import POSTGRES_ENV
from tests.slack.fake_api import FakeSlackApi
from tests.slack.harness import SECRET, USERS, text_of
from tests.slack.signing import signed_headers, view_submission_body
from tests.support import client_state, make_coach, seed_roster
from tests.system.test_scheduler_processes import NOT_INHERITED, PROXIES, coach_command
from tests.teams.playground import free_port

ROOT = Path(__file__).resolve().parents[2]
LEASE = re.compile(r"\[(\d+)\] bot\.scheduler: this process runs the scheduler")


def form(view_id: str, client: str) -> str:
    """A submitted logging form for a new client (+4: a visit that gave value, with proof),
    from a DM (so the coach answers there without opening one)."""
    values = {
        "client": {"client_search": {"type": "external_select", "selected_option": {
            "value": f"new:{client}", "text": {"type": "plain_text", "text": client}}}},
        "kind": {"value": {"type": "static_select", "selected_option": {"value": "visit"}}},
        "purpose": {"value": {"type": "static_select", "selected_option": {"value": "give"}}},
        "note": {"value": {"type": "plain_text_input", "value": "brought the case study"}},
        "proof": {"value": {"type": "radio_buttons", "selected_option": {"value": "yes"}}},
    }
    return view_submission_body("UALICE", "log_form", values, private_metadata="DUALICE", view_id=view_id)


# --- the server, as an operator starts it ---------------------------------------------------

@dataclass
class Served:
    process: subprocess.Popen
    port: int
    log: Path

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    def workers(self) -> set[int]:
        return children(self.process.pid)


def environment(database_url: str, api: FakeSlackApi, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(NOT_INHERITED) and k != "DATABASE_URL" and k.lower() not in PROXIES}
    env.update(DATABASE_URL=database_url, COACH_WORKSPACE="acme", COACH_DATA_DIR=str(data_dir),
               COACH_SCHEDULER="false", TEAMS_ENABLED="false", SLACK_SIGNING_SECRET=SECRET,
               SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=f"{api.url}/api/", NO_PROXY="127.0.0.1,localhost",
               PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.update(extra)
    return env


@contextmanager
def serving(env: dict[str, str], workers: int = 2) -> Iterator[Served]:
    """``coach serve --workers N`` on a free port, once every worker answers."""
    port = free_port()
    log = Path(env["COACH_DATA_DIR"]) / f"serve-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([*coach_command(), "serve", "--port", str(port), "--workers", str(workers)],
                                   env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    served = Served(process, port, log)
    try:
        wait_until(lambda: served.output().count("bot.workers: worker ready") >= workers and healthy(port),
                   60, lambda: f"coach serve did not start:\n{served.output()[-4000:]}", process)
        yield served
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # its own process group: the master and its workers
            process.wait(30)


def healthy(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


def wait_until(condition, seconds: float, why, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline or (process is not None and process.poll() is not None):
            raise AssertionError(why())
        time.sleep(0.1)


# --- who is who, from /proc ---------------------------------------------------------------------

def children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


def _server_socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's side of the loopback connection from ``client_port``."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
            return inode
    return None


def owner(served: Served, connection: http.client.HTTPConnection) -> int | None:
    """The worker holding the server side of ``connection`` (a request was answered on it)."""
    inode = _server_socket_inode(served.port, connection.sock.getsockname()[1])
    for pid in served.workers():
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
        except OSError:
            continue
    return None


def connection_per_worker(served: Served) -> dict[int, http.client.HTTPConnection]:
    """A kept-alive connection to each worker: connections are opened (each answered once, so
    a worker has accepted it) until every worker holds one (a worker still building its coach
    accepts none yet)."""
    mine: dict[int, http.client.HTTPConnection] = {}
    spare = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
        connection.request("GET", "/healthz")
        connection.getresponse().read()
        pid = owner(served, connection)
        if pid is not None and pid not in mine:
            mine[pid] = connection
        else:
            spare.append(connection)
        if len(mine) == len(served.workers()):
            break
        time.sleep(0.02)
    for connection in spare:
        connection.close()
    return mine


def post(connection: http.client.HTTPConnection, body: str, stamp: int) -> int:
    connection.request("POST", "/slack/events", body=body.encode(), headers=signed_headers(SECRET, body, stamp))
    response = connection.getresponse()
    response.read()
    return response.status


# --- the tests ------------------------------------------------------------------------------------

@pytest.fixture
def postgres(database_url: str) -> str:
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip(f"several workers need PostgreSQL (SQLite refuses them): the postgres case, with {POSTGRES_ENV}")
    return database_url


@pytest.fixture
def api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi().started_in_thread() as fake:
        for user, (email, locale) in USERS.items():
            fake.add_user(user, email, locale=locale, tz="Europe/London")
        yield fake


def test_two_workers_answer_and_a_retry_on_the_other_worker_is_recorded_once(postgres, api, tmp_path):
    coach = make_coach(postgres)
    seed_roster(coach)
    with serving(environment(postgres, api, tmp_path)) as served:
        by_worker = connection_per_worker(served)
        assert len(by_worker) == 2, f"one worker took every connection: {by_worker}"
        (first, a), (second, b) = by_worker.items()
        clients = [f"Retried {n}" for n in range(6)]
        for n, client in enumerate(clients):
            body = form(f"VRETRY{n}", client)
            # Slack signs each delivery: the retry has a timestamp (and a signature) of its own
            at, again = (a, b) if n % 2 == 0 else (b, a)
            now = int(time.time())
            statuses: list[int] = []
            go = threading.Barrier(2)

            def send(connection, stamp):
                go.wait()
                statuses.append(post(connection, body, stamp))

            threads = [threading.Thread(target=send, args=(at, now)),
                       threading.Thread(target=send, args=(again, now - 1))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert statuses == [200, 200]
        assert {owner(served, a), owner(served, b)} == {first, second}  # still the same two workers
        saved = api.wait_for_sync("chat.postMessage", count=len(clients), timeout=30)
        time.sleep(1.0)  # a second answer for any of them would have arrived by now
        assert len(api.calls_to("chat.postMessage")) == len(clients)
        for client in clients:
            assert sum(f"Saved your touch with {client}." in text_of(call) for call in saved) == 1, client
        for client in clients:
            assert client_state(coach, client) == (4, 1), client
        answered_by = set(int(pid) for pid in re.findall(r"\[(\d+)\] aiohttp\.access: \S+ POST /slack/events 200",
                                                         served.output()))
        assert answered_by == {first, second}

        workers = served.workers()
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(40) == 0
        wait_until(lambda: not any(alive(pid) for pid in workers), 10, lambda: f"workers left: {workers}")
        assert not healthy(served.port)
        output = served.output()
        assert "Shutting down: Master" in output
        assert "Traceback" not in output and " ERROR " not in output and "[ERROR]" not in output, output[-4000:]


def test_the_scheduler_runs_in_one_worker_and_moves_when_that_worker_dies(postgres, api, tmp_path):
    coach = make_coach(postgres)
    seed_roster(coach)
    env = environment(postgres, api, tmp_path, COACH_SCHEDULER="true")
    with serving(env, workers=3) as served:
        wait_until(lambda: LEASE.search(served.output()), 20, lambda: f"no scheduler:\n{served.output()[-4000:]}")
        time.sleep(LEASE_EVERY_S + 1)  # past one lease round: the other workers asked, and were refused
        [holder] = LEASE.findall(served.output())
        assert served.output().count("bot.scheduler: scheduler started") == 1
        workers = served.workers()
        os.kill(int(holder), signal.SIGKILL)
        wait_until(lambda: len(LEASE.findall(served.output())) == 2, 30,
                   lambda: f"nobody took the scheduler over:\n{served.output()[-4000:]}")
        holders = LEASE.findall(served.output())
        assert holders[0] == holder and holders[1] != holder and int(holders[1]) in served.workers()
        wait_until(lambda: len(served.workers()) == 3, 30, lambda: "gunicorn did not replace the worker")
        assert served.workers() - workers  # a new worker in place of the killed one
        wait_until(lambda: served.output().count("bot.scheduler: scheduler started") == 2, 10,
                   lambda: served.output()[-4000:])
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(40) == 0


class _Runner:
    """Stands in for CoachScheduler: only whether it runs."""

    def __init__(self) -> None:
        self.scheduler: object | None = None

    def start(self) -> None:
        self.scheduler = object()

    def stop(self) -> None:
        self.scheduler = None


def test_the_scheduler_lease_is_held_once_and_lost_with_its_connection(postgres):
    """The lease's rules, without processes: one holder per schema and workspace; a holder whose
    connection is cut (as a dead process's would be) stops its scheduler, and another takes it."""
    import asyncio

    from sqlalchemy import text

    from bot.scheduler import SchedulerLease
    from storage.db import make_engine

    engines = [make_engine(postgres) for _ in range(3)]
    runners = [_Runner() for _ in engines]
    leases = [SchedulerLease(runners[0], engines[0], "acme"), SchedulerLease(runners[1], engines[1], "acme"),
              SchedulerLease(runners[2], engines[2], "another")]

    async def scenario() -> None:
        assert [await lease.tend() for lease in leases] == [True, False, True]  # another workspace: its own
        assert await leases[1].tend() is False and await leases[0].tend() is True  # asked again: the same
        assert [r.scheduler is not None for r in runners] == [True, False, True]
        holder = leases[0].connection
        backend = holder.execute(text("SELECT pg_backend_pid()")).scalar()
        holder.commit()
        with engines[2].connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        deadline = time.monotonic() + 10
        while not await leases[1].tend():
            assert time.monotonic() < deadline, "the lease was not released with its connection"
            await asyncio.sleep(0.1)
        assert runners[1].scheduler is not None
        assert await leases[0].tend() is False and runners[0].scheduler is None  # it stopped its scheduler
        assert await leases[0].tend() is False  # and cannot take it back while the other holds it

    try:
        asyncio.run(scenario())
    finally:
        for lease in leases:
            lease._release()
        for engine in engines:
            engine.dispose()


def test_requests_left_pending_are_replayed_once_by_two_workers_at_start_up(postgres, api, tmp_path):
    coach = make_coach(postgres)
    seed_roster(coach)
    clients = [f"Pending {n}" for n in range(40)]
    arrived = datetime.now(UTC) - timedelta(minutes=6)  # older than the default 5 minutes
    for n, client in enumerate(clients):
        key = f"{n:064d}"
        assert coach.requests.store(key, "slack", form(f"VLEFT{n}", client), "application/x-www-form-urlencoded",
                                    arrived + timedelta(milliseconds=n))
    with serving(environment(postgres, api, tmp_path)) as served:
        api.wait_for_sync("chat.postMessage", count=len(clients), timeout=40)
        time.sleep(1.5)
        assert len(api.calls_to("chat.postMessage")) == len(clients)
        replayed = re.findall(r"\[(\d+)\] bot\.slack\.app: replayed (\d+) Slack request", served.output())
        assert sum(int(count) for _, count in replayed) == len(clients)
        print("replayed by worker:", replayed)
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(40) == 0
    for client in clients:
        assert client_state(coach, client) == (4, 1), client
    assert {coach.requests.status(f"{n:064d}") for n in range(len(clients))} == {DONE}


def test_many_takers_at_once_take_each_pending_request_once(database_url):
    """What the workers' replay loops rely on, raced harder than start-up does: eight takers,
    each with connections of its own, ask for the same 200 pending requests at the same moment.
    How they split them varies (``-s`` prints it); that each is taken once does not."""
    from storage.db import make_engine
    from storage.requests import RequestInbox

    coach = make_coach(database_url)
    arrived = datetime.now(UTC) - timedelta(minutes=6)
    keys = [f"{n:064d}" for n in range(200)]
    for n, key in enumerate(keys):
        assert coach.requests.store(key, "slack", f"body {n}", None, arrived)
    engines = [make_engine(database_url) for _ in range(8)]
    taken: list[list[str]] = [[] for _ in engines]
    go = threading.Barrier(len(engines))

    def take(index: int) -> None:
        inbox = RequestInbox(engines[index])
        inbox.status("none")  # connected before the start: they all begin at once
        go.wait()
        while batch := inbox.take_stale("slack", datetime.now(UTC) - timedelta(minutes=5), limit=25,
                                         abandoned_before=datetime.now(UTC) - timedelta(minutes=10)):
            taken[index] += [request.key for request in batch]

    threads = [threading.Thread(target=take, args=(i,)) for i in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for engine in engines:
        engine.dispose()
    every = [key for mine in taken for key in mine]
    assert sorted(every) == keys  # each once, none left
    print("taken per taker:", [len(mine) for mine in taken])  # e.g. [0, 7, 92, 58, 43, 0, 0, 0]


@pytest.mark.parametrize("language, words", [("en", "needs PostgreSQL"), ("ja", "PostgreSQL(DATABASE_URL)が必要です")])
def test_sqlite_refuses_several_workers_in_the_operators_language(tmp_path, language, words):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(NOT_INHERITED) and k != "DATABASE_URL" and k.lower() not in PROXIES}
    env.update(COACH_DATA_DIR=str(tmp_path), COACH_LANGUAGE=language, TEAMS_ENABLED="false",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([*coach_command(), "serve", "--port", str(free_port()), "--workers", "2"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert words in done.stderr and "--workers 1" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stdout == ""
