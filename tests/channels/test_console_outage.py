"""The database gone while someone uses the console (PostgreSQL behind a TCP proxy the test
cuts): "try again in a moment", nothing written, and the conversation carries on afterwards."""

from __future__ import annotations

import pytest

from bot.console import ConsoleChannel
from tests.support import make_coach, seed_roster
from tests.tcp_proxy import proxied_database

TRY_AGAIN = "Please try again in a moment; nothing was lost."


@pytest.fixture
def proxied(database_url):
    with proxied_database(database_url) as found:
        yield found


def test_the_console_says_try_again_and_carries_on(proxied):
    proxy, url = proxied
    coach = make_coach(url)
    seed_roster(coach)
    channel = ConsoleChannel(coach, "alice@acme.example")
    assert "Which client did you meet?" in channel.send("/logmeeting")[0]
    proxy.cut()
    during, _ = channel.send("Acme Corp")
    proxy.restore()
    after, _ = channel.send("Acme Corp")
    assert TRY_AGAIN in during
    assert "I don't have a client called “Acme Corp” yet" in after
