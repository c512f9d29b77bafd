"""A server that stops lets the work of what it acknowledged finish first (bot/server.py,
``SlackInbox.drain``): the reply is sent and the request settled before the server has stopped,
not left to be replayed by the next process. Work that outlasts the limit is left pending, to
be replayed: never lost."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from bot.slack.inbox import INBOX_KEY, SlackInbox
from coaching.errors import StorageUnavailable
from storage.requests import DONE, PENDING
from tests.slack.fake_api import FakeSlackApi
from tests.slack.harness import SECRET, SlackHarness, text_of
from tests.slack.signing import signed_headers
from tests.slack.test_inbox import SAVED, form
from tests.support import client_state

DOCUMENTED_LIMIT_S = 10  # docs/reliability.md and docs/deploy-proxy.md


def _key(headers: dict[str, str]) -> str:
    return hashlib.sha256(headers["X-Slack-Signature"].encode()).hexdigest()


class _Stopping(threading.Thread):
    """``running`` (the harness's context, entered) exited in a thread of its own; what the stop
    raised, if anything, in ``error``."""

    def __init__(self, running: Any) -> None:
        super().__init__()
        self.running = running
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.running.__exit__(None, None, None)
        except BaseException as error:  # seen by the test, not lost in the thread
            self.error = error


def test_stopping_waits_for_the_work_of_an_acknowledged_request(database_url: str) -> None:
    with FakeSlackApi().started_in_thread() as api:
        harness = SlackHarness(database_url, api)
        body = form("VSTOP", metadata="DUALICE")
        headers = signed_headers(SECRET, body)
        with api.hold("chat.postMessage") as held:
            running = harness.running()
            running.__enter__()
            try:
                assert harness.post(body, headers)[0] == 200
                held.wait_arrived(10)  # the work is under way: its reply is on the wire
            finally:
                stopping = _Stopping(running)
            stopping.join(0.5)
            assert stopping.is_alive(), "the server stopped with an acknowledged request's work running"
        stopping.join(15)
        assert not stopping.is_alive() and stopping.error is None, stopping.error
        [saved] = api.calls_to("chat.postMessage")
        assert SAVED in text_of(saved)
        assert harness.coach.requests.status(_key(headers)) == DONE  # not left to a replay
        assert client_state(harness.coach, "Acme") == (4, 1)


def test_work_that_outlasts_the_limit_is_left_pending_to_be_replayed(
        database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """The real stop, with the reply held past the limit: the 10 s docs/reliability.md states."""
    with FakeSlackApi().started_in_thread() as api:
        harness = SlackHarness(database_url, api)
        body = form("VSLOW", metadata="DUALICE")
        headers = signed_headers(SECRET, body)
        with api.hold("chat.postMessage") as held:
            running = harness.running()
            running.__enter__()
            try:
                caplog.set_level(logging.WARNING, logger="bot.slack.app")  # after the server set its logging up
                assert harness.post(body, headers)[0] == 200
                held.wait_arrived(10)
            finally:
                began = time.monotonic()
                stopping = _Stopping(running)
            stopping.join(DOCUMENTED_LIMIT_S + 10)
            took = time.monotonic() - began
            assert not stopping.is_alive(), "the stop waited past its limit"
            assert stopping.error is None, stopping.error
            assert DOCUMENTED_LIMIT_S - 0.5 <= took <= DOCUMENTED_LIMIT_S + 5, took
        assert "1 Slack request(s) still being handled" in caplog.text
        assert harness.coach.requests.status(_key(headers)) == PENDING  # replayed later, not lost


class _Unreachable:
    """The request store during a database outage: marking a request done fails."""

    def settle(self, key: str) -> None:
        raise StorageUnavailable("the database is down")


def test_a_settle_waiting_out_an_outage_is_given_up_when_the_server_stops() -> None:
    async def scenario() -> tuple[int, bool]:
        inbox = SlackInbox(_Unreachable(), None, timedelta(minutes=5))  # type: ignore[arg-type]
        await inbox.settle({INBOX_KEY: "k" * 64})  # the outage: the settle is retried in the background
        [waiting] = inbox.settle_tasks.values()
        left = await inbox.drain(1)
        await asyncio.sleep(0)  # the cancellation is delivered
        return left, waiting.cancelled()

    assert asyncio.run(scenario()) == (0, True)  # the request stays pending: replayed, not lost
