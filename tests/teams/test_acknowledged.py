"""Teams is told a message arrived only once its work is stored: the Agents SDK runs the whole
turn (the database write and the reply through the Bot Connector) before it answers the HTTP
request. So a process killed after acknowledging has nothing left undone, and Teams' own retry
of an unanswered request is claimed once by its activity id."""

from __future__ import annotations

from tests.support import WORKSPACE
from tests.teams.playground import CoachServer, http
from tests.teams.test_endpoint import WAIT, activity


def test_the_answer_comes_after_the_turn_is_stored_and_replied(database_url, connector):
    server = CoachServer(database_url)
    ids = server.seed()
    message = activity(connector.url, "away")
    with server.running():
        status = http("POST", server.messages_url, message, timeout=WAIT)[0]
        # read at once, before anything else can run: the turn is done by the time Teams hears back
        with server.coach.uow_factory() as uow:
            on_leave = uow.people.get(WORKSPACE, ids["alice"]).on_leave
        replies = len(connector.calls)
        assert http("POST", server.messages_url, message, timeout=WAIT)[0] in (200, 202)  # Teams retries
        with server.coach.uow_factory() as uow:
            uow.people.set_on_leave(WORKSPACE, ids["alice"], False)
            uow.commit()
        assert http("POST", server.messages_url, message, timeout=WAIT)[0] in (200, 202)
        with server.coach.uow_factory() as uow:
            still_back = not uow.people.get(WORKSPACE, ids["alice"]).on_leave
    assert status in (200, 202) and on_leave and replies >= 1
    assert still_back  # the same activity again was recognised and did nothing
