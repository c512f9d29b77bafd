"""``/metrics`` seen from outside (docs/operations.md).

* the real ``coach serve`` with ``COACH_METRICS_ALLOW``, its scheduler's start-up run sending
  digests to Slack (played by FakeSlackApi), then a short session (signed slash commands, a
  request with a bad signature, a Teams activity in anonymous local mode, a made-up path):
  ``/metrics`` read over HTTP shows each request by endpoint and status, the acknowledgements,
  the digests sent, how late each job started, the inbox's backlog and the pool; it is refused
  (403) from an address outside the networks and to anything that came through a proxy;
* without the setting ``/metrics`` is not there (404);
* the inbox's backlog and the pool's connections are what they are when ``/metrics`` is read
  (an inbox that cannot be read leaves only its own series out);
* what the scheduler's notifier answers is counted by platform and outcome: sent, failed
  (no platform took it), interrupted (a platform may have); with no platform, the log;
* ``PROMETHEUS_MULTIPROC_DIR`` given by the operator is emptied when the server starts;
* with ``--workers 2`` (PostgreSQL) a scrape answered by either worker adds up both, counts
  survive a worker's death, its gauge of the pool does not; the workers' directory is removed
  when the server stops;
* a malformed ``COACH_METRICS_ALLOW`` or ``COACH_LOG_FORMAT`` stops ``coach serve`` with one line.
"""

from __future__ import annotations

import os
import signal
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from bot.bootstrap import bootstrap
from bot.scheduler import JOBS, CoachScheduler
from bot.server import create_web_app
from bot.settings import Settings
from storage import db
from tests.conftest import POSTGRES_ENV
from tests.slack.fake_api import FakeSlackApi
from tests.slack.harness import SECRET, USERS
from tests.slack.signing import signed_headers, slash_command_body
from tests.support import START, MovableClock, make_coach, seed_quiet_clients, seed_roster
from tests.system.serving import (EVERYONE_DUE, METRICS_ALLOW, coach_serve, get, parse, scrape, total, value)
from tests.system.test_serve_workers import alive, connection_per_worker, environment, owner, wait_until
from tests.teams.playground import http, serving

REQUESTS, ACKS = "coach_http_requests_total", "coach_slack_acks_total"


@pytest.fixture
def api():
    with FakeSlackApi().started_in_thread() as fake:
        for user, (email, locale) in USERS.items():
            fake.add_user(user, email, locale=locale, tz="Europe/London")
        yield fake


def teams_activity(service_url: str, words: str) -> dict:
    return {"type": "message", "id": f"1:{uuid.uuid4().hex}", "channelId": "msteams", "serviceUrl": service_url,
            "locale": "en-GB", "text": words,
            "from": {"id": "29:1someone", "name": "Someone", "aadObjectId": "aad-someone"},
            "recipient": {"id": "28:coach", "name": "Coach"},
            "conversation": {"id": "a:1someone", "conversationType": "personal", "tenantId": "tenant-1"},
            "channelData": {"tenant": {"id": "tenant-1"}}}


def command(port: int, text: str, api: FakeSlackApi, n: int, secret: str = SECRET) -> int:
    body = slash_command_body(text.split()[0], " ".join(text.split()[1:]), "UALICE", channel_id="DUALICE",
                              trigger_id=f"trigger-{n}", response_url=api.response_url(f"metrics-{n}"))
    status, _ = http("POST", f"http://127.0.0.1:{port}/slack/events", body.encode(),
                     headers=signed_headers(secret, body))
    return status


def seeded(database_url: str) -> None:
    coach = make_coach(database_url)
    seed_quiet_clients(coach, seed_roster(coach), date.today() - timedelta(days=60))
    coach.requests.engine.dispose()


def scheduler_ran(port: int) -> bool:
    """Each job's start-up run is over (its lag is counted once it has finished)."""
    found = scrape(port)
    return all(value(found, "coach_scheduler_lag_seconds_count", job=job) for job in JOBS)


def test_a_session_moves_the_counters_and_only_allowed_callers_read_them(database_url, api, connector, tmp_path):
    seeded(database_url)
    env = environment(database_url, api, tmp_path / "data", COACH_METRICS_ALLOW=METRICS_ALLOW, COACH_SCHEDULER="true",
                      TEAMS_ENABLED="true", TEAMS_ANONYMOUS="true", **EVERYONE_DUE)
    with coach_serve(env) as served:
        port = served.port
        wait_until(lambda: scheduler_ran(port), 60, lambda: served.output()[-3000:])
        for n, text in enumerate(("/ledger Acme", "/promises", "/coach nudges")):
            assert command(port, text, api, n) == 200
        api.wait_for_sync("response_url", 3, timeout=20)
        assert command(port, "/ledger Acme", api, 9, secret="not-the-secret") == 401
        before = len(connector.posts())
        assert http("POST", f"http://127.0.0.1:{port}/api/messages", teams_activity(connector.url, "help"))[0] == 202
        connector.wait_for(before + 1)
        assert get(port, f"/nowhere-{uuid.uuid4().hex}")[0] == 404
        assert http("TRACE", f"http://127.0.0.1:{port}/healthz")[0] == 405  # a method no route takes
        found = scrape(port)

        assert value(found, REQUESTS, endpoint="/slack/events", method="POST", status="200") == 3
        assert value(found, REQUESTS, endpoint="/slack/events", method="POST", status="401") == 1
        assert value(found, REQUESTS, endpoint="/api/messages", method="POST", status="202") == 1
        assert value(found, REQUESTS, endpoint="unmatched", method="GET", status="404") == 1
        assert value(found, REQUESTS, endpoint="unmatched", method="other", status="405") == 1
        assert value(found, "coach_http_request_duration_seconds_count", endpoint="/slack/events", method="POST",
                     status="200") == 3
        assert not [labels for (_, labels) in found if any("nowhere" in v for _, v in labels)]
        text = get(port, "/metrics")[1]  # no workspace, person or client is named in a label
        assert not [word for word in ("acme", "Acme", "alice", "Alice", "UALICE", "Kobe", "Boston") if word in text]
        assert value(found, ACKS, kind="command", status="200") == 3  # the bad signature is no acknowledgement
        assert value(found, "coach_slack_ack_duration_seconds_count", kind="command") == 3
        # the start-up run: a digest to each of the three reps with a quiet client, through Slack
        assert value(found, "coach_scheduler_messages_total", job="digest", outcome="sent") == 3
        sent = total(found, "coach_scheduler_messages_total", outcome="sent") - total(
            found, "coach_scheduler_messages_total", job="upkeep", outcome="sent")
        assert value(found, "coach_deliveries_total", platform="slack", outcome="sent") == sent >= 3
        assert all(0 <= value(found, "coach_scheduler_lag_seconds_sum", job=job) < 60 for job in JOBS)
        assert value(found, "coach_request_inbox_requests", platform="slack", status="pending") is not None
        assert value(found, "coach_db_pool_checked_out") is not None

        # from another address of this machine, and through a proxy that names an allowed caller
        assert get(port, "/metrics", source="127.0.0.2")[0] == 403
        for header in ({"X-Forwarded-For": "127.0.0.1"}, {"Forwarded": "for=127.0.0.1"}, {"Via": "1.1 nginx"}):
            assert get(port, "/metrics", headers=header)[0] == 403
        found = scrape(port)
        assert value(found, REQUESTS, endpoint="/metrics", method="GET", status="403") == 4
        assert value(found, REQUESTS, endpoint="/metrics", method="GET", status="200") >= 3  # and the waits


def test_without_the_setting_there_is_no_metrics_page(database_url):
    db.upgrade(database_url)
    settings = Settings(_env_file=None, DATABASE_URL=database_url, COACH_WORKSPACE="acme")
    with serving(create_web_app(bootstrap(settings), settings, env={})) as url:
        assert http("GET", f"{url}/metrics")[0] == 404
        assert http("GET", f"{url}/healthz")[0] == 200


def in_process(database_url: str, data_dir: Path, api: FakeSlackApi | None = None, clock: MovableClock | None = None):
    """The coach and its application, /metrics open to this machine (served with ``serving``)."""
    db.upgrade(database_url)
    slack = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": f"{api.url}/api/"} if api else {}
    settings = Settings(_env_file=None, DATABASE_URL=database_url, COACH_WORKSPACE="acme",
                        COACH_METRICS_ALLOW=METRICS_ALLOW, COACH_DATA_DIR=str(data_dir), COACH_CHECKIN_TIME="off",
                        **slack)
    coach = bootstrap(settings, clock=clock or MovableClock())
    return coach, create_web_app(coach, settings, env={})


def read(url: str) -> dict:
    status, text = http("GET", f"{url}/metrics")
    assert status == 200, text
    return parse(text)


def test_the_inbox_backlog_and_the_pool_are_read_when_asked(database_url, tmp_path, caplog):
    coach, app = in_process(database_url, tmp_path)
    with serving(app) as url:
        assert value(read(url), "coach_request_inbox_requests", platform="slack", status="pending") == 0
        assert coach.requests.store("k" * 64, "slack", "payload=%7B%7D", None, datetime.now(UTC) - timedelta(seconds=90))
        with coach.requests.engine.connect():  # a connection lent out while /metrics is read
            found = read(url)
        assert value(found, "coach_request_inbox_requests", platform="slack", status="pending") == 1
        assert value(found, "coach_request_inbox_oldest_seconds", platform="slack") >= 90
        assert value(found, "coach_db_pool_checked_out") >= 1
        coach.requests.settle("k" * 64)
        found = read(url)
        assert value(found, "coach_request_inbox_requests", platform="slack", status="pending") == 0
        assert value(found, "coach_db_pool_checked_out") == 0
        with coach.requests.engine.begin() as connection:  # the inbox cannot be read: the rest still can
            connection.execute(text("DROP TABLE inbound_requests"))
        found = read(url)
        assert value(found, "coach_request_inbox_requests", platform="slack", status="pending") is None
        assert value(found, "coach_db_pool_checked_out") == 0
    assert "the request inbox's backlog cannot be read now" in caplog.text


def test_what_the_scheduler_sent_is_counted_by_platform_and_outcome(database_url, tmp_path):
    """Friday 09:00 UTC: Alice (London) and Ken (Tokyo) are due, and Ada (UTC) owns a client too.
    Alice's digest is taken; Slack answers 500 to Ken's and has no copy of it (interrupted); Ada
    has no Slack account (no platform took it: failed)."""
    with FakeSlackApi().started_in_thread() as api:
        for user in ("UALICE", "UKEN"):
            api.add_user(user, USERS[user][0], locale=USERS[user][1], tz="Europe/London")
        api.fail_next("chat.postMessage", 500, None, where={"channel": "DUKEN"})
        coach, app = in_process(database_url, tmp_path, api, MovableClock(START))
        ids = seed_roster(coach)
        seed_quiet_clients(coach, ids, START.date() - timedelta(days=60))
        with coach.uow_factory() as uow:
            uow.clients.add("acme", "Ada's Own", uow.teams.by_name("acme", "East").id, ids["ada"],
                            START.date() - timedelta(days=60))
            uow.commit()
        report = CoachScheduler(coach).run_once()
        with serving(app) as url:
            found = read(url)
    assert report.job("digest").sent == 1 and report.job("digest").failed == 2
    assert value(found, "coach_deliveries_total", platform="slack", outcome="sent") == 1
    assert value(found, "coach_deliveries_total", platform="slack", outcome="interrupted") == 1
    assert value(found, "coach_deliveries_total", platform="none", outcome="failed") == 1
    assert value(found, "coach_scheduler_messages_total", job="digest", outcome="sent") == 1
    assert value(found, "coach_scheduler_messages_total", job="digest", outcome="failed") == 2


def test_with_no_platform_the_log_is_where_messages_went(database_url, tmp_path):
    coach, app = in_process(database_url, tmp_path, clock=MovableClock(START))
    seed_quiet_clients(coach, seed_roster(coach), START.date() - timedelta(days=60))
    assert CoachScheduler(coach).run_once().job("digest").sent == 2  # Alice and Ken are due
    with serving(app) as url:
        assert value(read(url), "coach_deliveries_total", platform="log", outcome="sent") == 2


def test_the_operators_directory_is_emptied_when_the_server_starts(database_url, api, tmp_path):
    """``PROMETHEUS_MULTIPROC_DIR`` set by the operator: what an earlier run left there does not count."""
    from prometheus_client.mmap_dict import MmapedDict, mmap_key

    seeded(database_url)
    shared = tmp_path / "metrics"
    shared.mkdir()
    stale = MmapedDict(str(shared / "counter_4242.db"))  # as a worker of an earlier run wrote it
    stale.write_value(mmap_key("coach_http_requests", "coach_http_requests_total", ["endpoint", "method", "status"],
                               ["unmatched", "GET", "404"], "stale"), 1000.0, 0.0)
    stale.close()
    env = environment(database_url, api, tmp_path / "data", COACH_METRICS_ALLOW=METRICS_ALLOW,
                      PROMETHEUS_MULTIPROC_DIR=str(shared))
    with coach_serve(env) as served:
        assert get(served.port, "/nowhere")[0] == 404
        assert value(scrape(served.port), REQUESTS, endpoint="unmatched", method="GET", status="404") == 1
        assert not (shared / "counter_4242.db").exists() and list(shared.glob("*.db"))


# --- several workers ---------------------------------------------------------------------------------

@pytest.fixture
def postgres(database_url: str) -> str:
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip(f"several workers need PostgreSQL (SQLite refuses them): the postgres case, with {POSTGRES_ENV}")
    return database_url


def lease_holders(served) -> list[int]:
    return [line["process"] for line in served.json_lines()
            if line["message"].startswith("this process runs the scheduler")]


def test_two_workers_add_up_and_a_dead_workers_gauge_is_forgotten(postgres, api, tmp_path):
    coach = make_coach(postgres)
    seed_roster(coach)
    (tmp_path / "tmp").mkdir()  # where the workers' temporary directory goes
    env = environment(postgres, api, tmp_path / "data", COACH_METRICS_ALLOW=METRICS_ALLOW, COACH_SCHEDULER="true",
                      COACH_LOG_FORMAT="json", TMPDIR=str(tmp_path / "tmp"))
    ready = lambda s: sum(line["message"] == "worker ready" for line in s.json_lines()) >= 2 and lease_holders(s)
    with coach_serve(env, workers=2, ready=ready) as served:
        by_worker = connection_per_worker(served)
        assert len(by_worker) == 2, f"one worker took every connection: {by_worker}"
        for connection in by_worker.values():
            for _ in range(10):
                assert get(served.port, "/nowhere", connection=connection)[0] == 404
        for pid, connection in by_worker.items():  # whichever worker answers, it counts both
            found = scrape(served.port, connection)
            assert owner(served, connection) == pid
            assert value(found, REQUESTS, endpoint="unmatched", method="GET", status="404") == 20, pid
        # the lease holder's own connection is the one lent out for good
        wait_until(lambda: value(scrape(served.port), "coach_db_pool_checked_out") == 1, 30,
                   lambda: f"pool: {value(scrape(served.port), 'coach_db_pool_checked_out')}")
        [holder] = lease_holders(served)
        [directory] = (tmp_path / "tmp").glob("coach-metrics-*")
        assert sorted(p.name for p in directory.iterdir())  # each worker's figures, in files
        os.kill(holder, signal.SIGKILL)
        wait_until(lambda: len(lease_holders(served)) == 2 and len(served.workers()) == 2, 60,
                   lambda: served.output()[-3000:])
        # another worker holds the lease (and its connection); the dead one's connection is not counted
        wait_until(lambda: value(scrape(served.port), "coach_db_pool_checked_out") == 1, 30,
                   lambda: f"pool: {value(scrape(served.port), 'coach_db_pool_checked_out')}")
        assert value(scrape(served.port), REQUESTS, endpoint="unmatched", method="GET", status="404") == 20
        assert directory.is_dir()
        workers = served.workers()
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(40) == 0
        wait_until(lambda: not any(alive(pid) for pid in workers), 10, lambda: f"workers left: {workers}")
    assert not directory.exists()
    # COACH_LOG_FORMAT=json: every line of every process is JSON, gunicorn's own included
    assert {line["logger"] for line in served.json_lines()} >= {"gunicorn.error", "bot.workers", "aiohttp.access"}


@pytest.mark.parametrize("setting, value, fragment", [
    ("COACH_METRICS_ALLOW", "10.0.0.0/33", "'10.0.0.0/33' is not an IP network"),
    ("COACH_METRICS_ALLOW", "127.0.0.1, localhost", "'localhost' is not an IP network"),
    ("COACH_METRICS_ALLOW", ",", "names no network"),
    ("COACH_LOG_FORMAT", "xml", "'text' or 'json'"),
])
def test_a_bad_setting_stops_the_server_with_one_line(tmp_path, setting, value, fragment):
    from tests.system.test_cli import assert_one_line_error, run

    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'coach.db'}", "COACH_WORKSPACE": "acme", "COACH_DATA_DIR": str(tmp_path),
           "COACH_LANGUAGE": "en", setting: value}
    assert_one_line_error(*run(env, "serve", "--port", "1")[::2], fragment)
