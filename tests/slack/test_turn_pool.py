"""Acknowledgements first: the turn threads of ``coach serve`` (``bot/turn_pool.py``) start no
work while a request is being acknowledged, and never wait longer than their limit. Checked on
the pool itself and through the real server, with a request held half-sent on a raw socket."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

from bot.server import TURNS_KEY
from bot.turn_pool import TurnPool
from tests.slack.fake_api import FakeSlackApi
from tests.slack.harness import SECRET, SlackHarness
from tests.slack.signing import signed_headers, slash_command_body


def test_work_waits_while_a_request_is_being_acknowledged() -> None:
    pool = TurnPool(1, wait_max=10)
    started = threading.Event()
    try:
        with pool.acknowledging():
            with pool.acknowledging():  # two requests under way: both must end
                pool.submit(started.set)
                assert not started.wait(0.3)
            assert not started.wait(0.2)
        assert started.wait(5)
        assert pool.waited == 1
    finally:
        pool.shutdown()


def test_work_starts_at_once_when_nothing_is_being_acknowledged() -> None:
    pool = TurnPool(1, wait_max=10)
    try:
        began = time.monotonic()
        assert pool.submit(lambda: "done").result(timeout=5) == "done"
        assert time.monotonic() - began < 5
        assert pool.waited == 0
    finally:
        pool.shutdown()


def test_work_waits_no_longer_than_its_limit_under_endless_acknowledgements() -> None:
    pool = TurnPool(1, wait_max=0.2)
    try:
        with pool.acknowledging():
            assert pool.submit(lambda: "done").result(timeout=5) == "done"  # still acknowledging
        assert pool.waited == 1
    finally:
        pool.shutdown()


def test_an_acknowledgement_that_fails_still_lets_the_work_run() -> None:
    pool = TurnPool(1, wait_max=10)
    started = threading.Event()
    try:
        try:
            with pool.acknowledging():
                pool.submit(started.set)
                raise RuntimeError("the handler failed")
        except RuntimeError:
            pass
        assert started.wait(5)
    finally:
        pool.shutdown()


def _wait_until(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)


def test_the_server_starts_no_turn_while_a_slack_request_is_still_arriving(database_url) -> None:
    with FakeSlackApi().started_in_thread() as api, SlackHarness(database_url, api).running() as slack:
        turns = slack.app[TURNS_KEY]
        turns.wait_max = 30  # long enough to tell waiting from not waiting
        held_body = slash_command_body("/promises", "", "UALICE", trigger_id="held",
                                       response_url=api.response_url("held"))
        raw = held_body.encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in signed_headers(SECRET, held_body).items())
        url = urlsplit(slack.url)
        with socket.create_connection((url.hostname, url.port)) as held:
            held.sendall(f"POST /slack/events HTTP/1.1\r\nHost: {url.netloc}\r\n{head}"
                         f"Content-Length: {len(raw)}\r\n\r\n".encode() + raw[:20])
            _wait_until(lambda: turns.under_way == 1)  # in the handler, reading the body

            status, _ = slack.command("/promises", "")  # acknowledged at once...
            assert status == 200
            time.sleep(1.0)
            assert api.calls_to("response_url") == []  # ...but its turn waits for the held one

            held.sendall(raw[20:])
            assert held.recv(64).startswith(b"HTTP/1.1 200")
        api.wait_for_sync("response_url", 2, timeout=15)  # both answered once it was acknowledged
        assert turns.waited >= 1
