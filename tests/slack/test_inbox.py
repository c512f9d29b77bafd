"""Nothing Slack was told arrived is lost, and nothing arrives twice: the request inbox.

* A signed request sent again as it was (a replay within the five minutes Bolt accepts its
  timestamp) is refused with 401 and changes nothing.
* A request acknowledged by a process that died before doing its work is replayed once when a
  process comes back: with the real ``coach serve`` in its own OS process, Slack's Web API held
  by the fake at the moment the work would start, and the process SIGKILLed there.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Iterator

import pytest

from storage.requests import DONE, PENDING
from tests.slack.fake_api import FakeSlackApi
from tests.slack.harness import SECRET, USERS, SlackHarness, text_of
from tests.slack.signing import signed_headers, view_submission_body
from tests.support import client_state, make_coach, seed_roster
from tests.teams.playground import free_port
from tests.system.test_scheduler_processes import NOT_INHERITED, PROXIES, coach_command

ROOT = Path(__file__).resolve().parents[2]
SAVED = "Saved your touch with Acme."


def form(view_id: str, note: str = "brought the case study", metadata: str = "") -> str:
    """A submitted logging form for a new client Acme (+4: a visit that gave value, with proof)."""
    values = {
        "client": {"client_search": {"type": "external_select", "selected_option": {
            "value": "new:Acme", "text": {"type": "plain_text", "text": "Acme"}}}},
        "kind": {"value": {"type": "static_select", "selected_option": {"value": "visit"}}},
        "purpose": {"value": {"type": "static_select", "selected_option": {"value": "give"}}},
        "note": {"value": {"type": "plain_text_input", "value": note}},
        "proof": {"value": {"type": "radio_buttons", "selected_option": {"value": "yes"}}},
    }
    return view_submission_body("UALICE", "log_form", values, private_metadata=metadata, view_id=view_id)


@pytest.fixture
def slack(database_url):
    with FakeSlackApi().started_in_thread() as api:
        with SlackHarness(database_url, api).running() as harness:
            yield harness


def test_a_replayed_signed_request_is_refused_and_changes_nothing(slack):
    body = form("VREPLAY", metadata="DUALICE")
    headers = signed_headers(SECRET, body)
    assert slack.post(body, headers)[0] == 200
    [saved] = slack.posts_after(0)
    assert SAVED in text_of(saved)
    for _ in range(3):  # the very same bytes, signature and timestamp: a replay, not a retry
        assert slack.post(body, headers)[0] == 401
    time.sleep(0.5)
    assert client_state(slack.coach, "Acme") == (4, 1)
    assert len(slack.api.calls_to("chat.postMessage")) == 1


def test_a_request_left_pending_is_replayed_once_when_the_server_starts(database_url):
    """As a process that stored the request, acknowledged it and died would leave it."""
    with FakeSlackApi().started_in_thread() as api:
        harness = SlackHarness(database_url, api)
        body = form("VLEFT", metadata="DUALICE")
        arrived = datetime.now(UTC) - timedelta(minutes=6)  # older than the default 5 minutes
        assert harness.coach.requests.store("k" * 64, "slack", body, "application/x-www-form-urlencoded", arrived)
        with harness.running():
            [saved] = api.wait_for_sync("chat.postMessage", timeout=15)
            assert SAVED in text_of(saved)
            time.sleep(1.0)
        with harness.running():  # a second start finds nothing left to do
            time.sleep(1.0)
        assert len(api.calls_to("chat.postMessage")) == 1
        assert client_state(harness.coach, "Acme") == (4, 1)
        assert harness.coach.requests.status("k" * 64) == DONE


# --- a real process killed after acknowledging ------------------------------------------------

def _environment(database_url: str, api: FakeSlackApi, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(NOT_INHERITED) and k.lower() not in PROXIES}
    env.update(DATABASE_URL=database_url, COACH_WORKSPACE="acme", COACH_DATA_DIR=str(data_dir),
               COACH_SCHEDULER="false", TEAMS_ENABLED="false", SLACK_SIGNING_SECRET=SECRET,
               SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=f"{api.url}/api/",
               COACH_INBOX_REPLAY_AFTER_SECONDS="1", NO_PROXY="127.0.0.1,localhost")
    return env


@contextmanager
def serving(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen, str]]:
    """``coach serve`` on a free loopback port, once /healthz answers."""
    port = free_port()
    log = open(Path(env["COACH_DATA_DIR"]) / f"serve-{port}.log", "w")
    process = subprocess.Popen([*coach_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                               env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"coach serve did not start: {Path(log.name).read_text()}")
                time.sleep(0.2)
        yield process, url
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(30)
        log.close()


def _post(url: str, body: str) -> int:
    request = urllib.request.Request(f"{url}/slack/events", data=body.encode(), method="POST",
                                     headers=signed_headers(SECRET, body))
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def test_a_process_killed_after_acknowledging_loses_nothing(database_url, tmp_path):
    coach = make_coach(database_url)
    seed_roster(coach)
    with FakeSlackApi().started_in_thread() as api:
        for user, (email, locale) in USERS.items():
            api.add_user(user, email, locale=locale, tz="Europe/London")
        env = _environment(database_url, api, tmp_path)
        # the form came from a message action, so the listener opens the rep's DM first: the
        # fake holds that call, and the process dies with the work not yet done
        held = api.hold("conversations.open", 1)
        with serving(env) as (process, url):
            assert _post(url, form("VKILL")) == 200  # Slack was told it arrived
            held.wait_arrived(30)
            process.send_signal(signal.SIGKILL)
            process.wait(30)
        held.release()
        assert client_state(coach, "Acme") == (0, 0)  # nothing was done before the kill
        with serving(env):
            posts = api.wait_for_sync("chat.postMessage", timeout=60)
            time.sleep(2.5)  # more replay rounds (one a second here) must add nothing
        assert len(api.calls_to("chat.postMessage")) == 1 and SAVED in text_of(posts[0])
        assert client_state(coach, "Acme") == (4, 1)
        with coach.requests.engine.connect() as connection:
            statuses = [row[0] for row in connection.exec_driver_sql("SELECT status FROM inbound_requests")]
        assert statuses == [DONE] and PENDING not in statuses


def test_a_signed_body_no_database_takes_is_refused_not_a_server_error(slack):
    """A raw NUL in a form value: Slack percent-encodes it, so only a hand-made request has one."""
    body = "command=/ledger&text=a\x00b&team_id=T0TEST&user_id=UALICE&channel_id=C1&trigger_id=t-nul"
    status, _ = slack.post(body)
    assert status in (200, 400)  # SQLite stores it; PostgreSQL's text cannot
    assert len(slack.api.calls_to("chat.postMessage")) == 0


def test_a_burst_is_kept_in_a_few_commits_each_request_once_before_its_acknowledgement(slack):
    """The acknowledgement's write has a thread of its own and commits what arrived together in
    one transaction (bot/slack/inbox_writer.py): 48 requests at once, every one kept before its
    200, in fewer commits than requests; a retried copy among them is refused, not kept twice."""
    from concurrent.futures import ThreadPoolExecutor

    from bot.server import SLACK_KEY
    from tests.slack.signing import slash_command_body

    writer = slack.app[SLACK_KEY].inbox.writer
    bodies = [slash_command_body("/promises", "", "UALICE", trigger_id=f"burst-{n}",
                                 response_url=slack.api.response_url(f"burst-{n}")) for n in range(48)]
    headers = [signed_headers(SECRET, body) for body in bodies]
    copy = (bodies[0], headers[0])  # the very same signed bytes again: refused
    with ThreadPoolExecutor(max_workers=len(bodies) + 1) as pool:
        answers = list(pool.map(lambda pair: slack.post(*pair), [*zip(bodies, headers), copy]))
    assert sorted(status for status, _ in answers) == [200] * 48 + [401]
    keys = [hashlib.sha256(h["X-Slack-Signature"].encode()).hexdigest() for h in headers]
    assert all(slack.coach.requests.status(key) in (PENDING, DONE) for key in keys)
    assert writer.kept == 49 and writer.transactions < 48, writer.transactions  # group commits happened
