"""Someone deactivated (they left) is turned away in Teams, in their own language, through the real
``/api/messages``: nothing is recorded."""

from __future__ import annotations

from tests.support import WORKSPACE
from tests.teams.playground import CoachServer, card_text, http
from tests.teams.test_endpoint import activity

KEN_AAD = "00000000-0000-0000-0000-00000000ken9"


def test_a_deactivated_person_is_turned_away_in_their_language(database_url, connector):
    server = CoachServer(database_url)
    ids = server.seed()  # Alice is the Playground's user
    with server.coach.uow_factory() as uow:
        uow.people.link_platform(WORKSPACE, ids["ken"], "teams", KEN_AAD)
        for person in ("alice", "ken"):
            uow.people.set_active(WORKSPACE, ids[person], False)
        uow.commit()
    with server.running():
        assert http("POST", server.messages_url, activity(connector.url, "/logmeeting Acme Corp call give: a note"))[0] == 202
        [alice] = connector.wait_for(1)
        ken = activity(connector.url, "通帳 Acme Corp", locale="ja-JP")
        ken["from"] = {"id": "29:1ken", "name": "田中 健", "aadObjectId": KEN_AAD}
        assert http("POST", server.messages_url, ken)[0] == 202
        ken_post = connector.wait_for(2)[1]
    assert "Your access to the coach is switched off" in card_text(alice.body)
    assert "コーチの利用は停止されています" in card_text(ken_post.body)
    with server.coach.uow_factory() as uow:
        assert uow.clients.list(WORKSPACE) == []
        assert uow.dialogs.get(WORKSPACE, ken["conversation"]["id"], KEN_AAD) is None
