"""A server that stops lets the work of what it acknowledged finish first (bot/server.py,
``SlackInbox.drain``): the reply is sent and the request settled before the server has stopped,
not left to be replayed by the next process. Work that outlasts the limit is left pending, to
be replayed: never lost."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading

import pytest

from bot.server import SLACK_KEY
from storage.requests import DONE, PENDING
from tests.slack.fake_api import FakeSlackApi
from tests.slack.harness import SECRET, SlackHarness, text_of
from tests.slack.signing import signed_headers
from tests.slack.test_inbox import SAVED, form
from tests.support import client_state


def _key(headers: dict[str, str]) -> str:
    return hashlib.sha256(headers["X-Slack-Signature"].encode()).hexdigest()


def test_stopping_waits_for_the_work_of_an_acknowledged_request(database_url: str) -> None:
    with FakeSlackApi().started_in_thread() as api:
        harness = SlackHarness(database_url, api)
        body = form("VSTOP", metadata="DUALICE")
        headers = signed_headers(SECRET, body)
        with api.hold("chat.postMessage") as held:
            running = harness.running()
            running.__enter__()
            assert harness.post(body, headers)[0] == 200
            held.wait_arrived(10)  # the work is under way: its reply is on the wire
            stopping = threading.Thread(target=running.__exit__, args=(None, None, None))
            stopping.start()
            stopping.join(0.5)
            assert stopping.is_alive(), "the server stopped with an acknowledged request's work running"
        stopping.join(15)
        assert not stopping.is_alive()
        [saved] = api.calls_to("chat.postMessage")
        assert SAVED in text_of(saved)
        assert harness.coach.requests.status(_key(headers)) == DONE  # not left to a replay
        assert client_state(harness.coach, "Acme") == (4, 1)


def test_work_that_outlasts_the_limit_is_left_pending_to_be_replayed(
        database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with FakeSlackApi().started_in_thread() as api:
        harness = SlackHarness(database_url, api)
        body = form("VSLOW", metadata="DUALICE")
        headers = signed_headers(SECRET, body)
        with harness.running(), api.hold("chat.postMessage") as held:
            assert harness.post(body, headers)[0] == 200
            held.wait_arrived(10)
            inbox = harness.app[SLACK_KEY].inbox
            with caplog.at_level(logging.WARNING, logger="bot.slack.app"):
                left = asyncio.run_coroutine_threadsafe(inbox.drain(0.3), harness.loop).result(5)
            assert left == 1
            assert "still being handled" in caplog.text
            assert harness.coach.requests.status(_key(headers)) == PENDING  # replayed later, not lost
