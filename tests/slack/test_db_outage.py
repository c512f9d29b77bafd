"""The database gone for 30 seconds in the middle of a conversation (PostgreSQL behind a TCP
proxy the test cuts): every message in that time is answered, in its sender's language, with
"try again in a moment"; the server keeps answering; nothing is half-written; and once the
database is back the conversation carries on from the question it was at and ends with exactly
the record the uninterrupted script makes."""

from __future__ import annotations

import time
import urllib.request

import pytest
from sqlalchemy import func, select

from storage.models import InboundRequestRow, InteractionRow, LedgerEntryRow
from storage.requests import PENDING
from tests.dialogs import LOG_EN, Say
from tests.slack.fake_api import FakeSlackApi
from tests.slack.harness import SlackHarness, text_of
from tests.support import client_state
from tests.tcp_proxy import proxied_database

OUTAGE_S = 30  # what the reliability figures promise; every 5 s in it, both reps write
TRY_AGAIN = {"en": "Please try again in a moment; nothing was lost.",
             "ja": "少し時間をおいてもう一度お試しください。"}
CUT_AT = 7  # LOG_EN's steps before the cut: the rep has just described what happened


@pytest.fixture
def proxied(database_url):
    with proxied_database(database_url) as found:
        yield found


def counts(slack: SlackHarness) -> tuple[int, int, int]:
    """Touches, ledger entries, and requests still pending in the inbox."""
    with slack.coach.requests.engine.connect() as connection:
        return (connection.scalar(select(func.count()).select_from(InteractionRow)),
                connection.scalar(select(func.count()).select_from(LedgerEntryRow)),
                connection.scalar(select(func.count()).select_from(InboundRequestRow)
                                  .where(InboundRequestRow.status == PENDING)))


def test_a_30_second_outage_mid_conversation_loses_and_doubles_nothing(proxied):
    proxy, url = proxied
    script = LOG_EN
    with FakeSlackApi().started_in_thread() as api:
        slack = SlackHarness(url, api)
        with slack.running():
            last = None
            for step in script.steps[:CUT_AT]:
                status, posts = slack.say(step, "UALICE", last)
                assert status == 200
                last = posts[-1]
            before = counts(slack)

            proxy.cut()
            answered, started = 0, time.monotonic()
            while time.monotonic() - started < OUTAGE_S:
                for user, text, language in (("UALICE", "yes", "en"), ("UKEN", "ヘルプ", "ja")):
                    status, posts = slack.say(Say(text), user, None)
                    assert status == 200
                    said = "\n".join(text_of(p) for p in posts)
                    assert TRY_AGAIN[language] in said, said
                    answered += 1
                with urllib.request.urlopen(f"{slack.url}/healthz", timeout=5) as health:
                    assert health.status == 200  # the service itself keeps running
                time.sleep(5)
            proxy.restore()
            assert proxy.refused > 0 and answered >= 12

            for step in script.steps[CUT_AT:]:  # the rep sends the failed answer again, and goes on
                status, posts = slack.say(step, "UALICE", last)
                assert status == 200
                said = "\n".join(text_of(p) for p in posts)
                for fragment in step.expect:
                    assert fragment in said, said
                last = posts[-1]
            deadline = time.monotonic() + 20  # the outage's requests are marked done once it can
            while counts(slack)[2] and time.monotonic() < deadline:
                time.sleep(0.5)
        touches, entries, pending = counts(slack)
    assert before[:2] == (0, 0)  # nothing written before the save, nor during the outage
    assert client_state(slack.coach, script.client) == (script.balance, script.interactions)
    assert (touches, pending) == (1, 0) and entries > 0
