"""The database gone while a rep talks to the coach in Teams (PostgreSQL behind a TCP proxy the
test cuts): a clear "try again in a moment" in the user's language, nothing written, and the
conversation carries on once the database is back. (Slack, over a full 30 seconds:
tests/slack/test_db_outage.py; the console: tests/channels/test_console_outage.py.)"""

from __future__ import annotations

import pytest

from tests.support import client_state
from tests.tcp_proxy import proxied_database
from tests.teams.playground import CoachServer, card_text, http
from tests.teams.test_endpoint import WAIT, activity

TRY_AGAIN_JA = "少し時間をおいてもう一度お試しください。"


@pytest.fixture
def proxied(database_url):
    with proxied_database(database_url) as found:
        yield found


def test_teams_says_try_again_in_the_users_language_and_carries_on(proxied, connector):
    proxy, url = proxied
    server = CoachServer(url)
    server.seed()
    with server.running():
        assert http("POST", server.messages_url, activity(connector.url, "/logmeeting"), timeout=WAIT)[0] in (200, 202)
        asked = len(connector.posts())
        proxy.cut()
        during = http("POST", server.messages_url, activity(connector.url, "Acme Corp", locale="ja-JP"), timeout=WAIT)[0]
        [apology] = connector.posts()[asked:]
        proxy.restore()
        after = http("POST", server.messages_url, activity(connector.url, "Acme Corp"), timeout=WAIT)[0]
        [next_question] = connector.posts()[asked + 1:]
    assert during in (200, 202) and after in (200, 202)
    assert TRY_AGAIN_JA in card_text(apology.body)
    assert "I don't have a client called “Acme Corp” yet" in card_text(next_question.body)
    assert client_state(server.coach, "Acme Corp") == (0, 0)
