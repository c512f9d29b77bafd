"""What ``coach serve`` does to keep its acknowledgement fast under a burst, checked from the
outside: the engine's turns run in ``COACH_TURN_THREADS`` threads (not Python's default of
cores + 4), and every Web API call of the Bolt apps goes over a few kept-alive connections (not
one new connection, and in production one TLS handshake, per call)."""

from __future__ import annotations

import gc
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.bootstrap import FULL_PASS_EVERY
from tests.slack.fake_api import FakeSlackApi
from tests.slack.harness import SlackHarness
from tests.slack.signing import signed_headers, slash_command_body
from tests.slack.harness import SECRET

BURST = 24


def _burst(slack: SlackHarness) -> None:
    bodies = [slash_command_body("/promises", "", "UALICE", trigger_id=f"burst-{n}",
                                 response_url=slack.api.response_url(f"burst-{n}")) for n in range(BURST)]
    with ThreadPoolExecutor(max_workers=BURST) as pool:
        answers = list(pool.map(lambda body: slack.post(body, signed_headers(SECRET, body)), bodies))
    assert [status for status, _ in answers] == [200] * BURST
    slack.api.wait_for_sync("response_url", BURST, timeout=30)


@pytest.mark.parametrize("threads", [1, 2])
def test_turns_run_in_the_threads_the_setting_allows(database_url, monkeypatch, threads) -> None:
    monkeypatch.setenv("COACH_TURN_THREADS", str(threads))
    with FakeSlackApi().started_in_thread() as api, SlackHarness(database_url, api).running() as slack:
        assert slack.settings.turn_threads == threads
        _burst(slack)
        turning = [t for t in threading.enumerate() if t.name.startswith("coach-turn")]
    assert 1 <= len(turning) <= threads


def test_unset_the_threads_follow_the_database(database_url, monkeypatch) -> None:
    """Four on PostgreSQL, where a turn mostly waits for the database's round trips; two on
    SQLite, whose turns queue for the file's write lock."""
    monkeypatch.delenv("COACH_TURN_THREADS", raising=False)
    with FakeSlackApi().started_in_thread() as api, SlackHarness(database_url, api).running() as slack:
        expected = 4 if database_url.startswith("postgresql") else 2
        assert slack.settings.turn_threads is None and slack.settings.turn_thread_count == expected
        _burst(slack)
        turning = [t for t in threading.enumerate() if t.name.startswith("coach-turn")]
    assert 1 <= len(turning) <= expected


def test_web_api_calls_share_kept_alive_connections(database_url) -> None:
    with FakeSlackApi().started_in_thread() as api, SlackHarness(database_url, api).running() as slack:
        for n in range(12):  # twelve logs, each posting into the rep's DM (opened once)
            assert slack.command("/logmeeting", "Acme call give: sent the sector report")[0] == 200
            api.wait_for_sync("chat.postMessage", n + 1, timeout=10)
        calls = [c for c in api.calls if c.method in ("conversations.open", "chat.postMessage")]
    assert len(calls) >= 13
    assert len({c.peer for c in calls}) <= 2  # without the shared session: one connection per call


def test_what_the_server_made_while_starting_is_kept_from_the_collector_until_it_stops(database_url) -> None:
    before = gc.get_threshold()
    with FakeSlackApi().started_in_thread() as api, SlackHarness(database_url, api).running() as slack:
        assert slack.command("/promises", "")[0] == 200
        assert gc.get_freeze_count() > 10_000  # without the freeze: 0, and every full collection walks them
        # and full collections wait for FULL_PASS_EVERY middle ones, not Python's 10
        assert gc.get_threshold() == (*before[:2], FULL_PASS_EVERY)
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before
