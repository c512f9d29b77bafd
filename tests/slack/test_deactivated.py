"""Someone deactivated (they left) is turned away in Slack, in their own language, whatever they
try: a DM, a slash command, the App Home; nothing is recorded, and their Slack id is not linked."""

from __future__ import annotations

import json
import time

import pytest

from tests.dialogs import Say
from tests.slack.fake_api import FakeSlackApi
from tests.slack.harness import SlackHarness, text_of
from tests.support import WORKSPACE

REFUSED_EN = "Your access to the coach is switched off"
REFUSED_JA = "コーチの利用は停止されています"


@pytest.fixture
def slack(database_url):
    with FakeSlackApi().started_in_thread() as api:
        with SlackHarness(database_url, api).running() as harness:
            with harness.coach.uow_factory() as uow:
                for email in ("alice@acme.example", "ken@acme.example"):
                    uow.people.set_active(WORKSPACE, uow.people.by_email(WORKSPACE, email).id, False)
                uow.commit()
            yield harness


def test_a_deactivated_person_is_turned_away_in_their_language(slack):
    status, posts = slack.say(Say("/logmeeting Acme Corp call give: brought the case study"), "UALICE", None)
    assert status == 200 and REFUSED_EN in "\n".join(text_of(p) for p in posts)
    status, posts = slack.say(Say("通帳 Acme Corp"), "UKEN", None)
    assert status == 200 and REFUSED_JA in "\n".join(text_of(p) for p in posts)
    slack.command("/ledger", "Acme Corp", "UALICE")
    [answer] = slack.api.wait_for_sync("response_url", 1)
    assert REFUSED_EN in json.dumps(answer.params, ensure_ascii=False)
    home = json.dumps({"type": "event_callback", "team_id": "T0TEST", "api_app_id": "A1", "event_id": "EvHOME9",
                       "event_time": int(time.time()),
                       "event": {"type": "app_home_opened", "user": "UKEN", "tab": "home", "channel": "DUKEN"}})
    assert slack.post(home)[0] == 200
    [publish] = slack.api.wait_for_sync("views.publish", 1)
    assert REFUSED_JA in json.dumps(publish.params["view"], ensure_ascii=False)
    with slack.coach.uow_factory() as uow:
        assert uow.clients.list(WORKSPACE) == [] and uow.dialogs.get(WORKSPACE, "DUALICE", "UALICE") is None
        alice = uow.people.by_email(WORKSPACE, "alice@acme.example")
        assert alice.slack_user_id is None and not alice.active


def test_back_again_they_are_answered(slack):
    with slack.coach.uow_factory() as uow:
        uow.people.set_active(WORKSPACE, uow.people.by_email(WORKSPACE, "alice@acme.example").id, True)
        uow.commit()
    status, posts = slack.say(Say("help"), "UALICE", None)
    said = "\n".join(text_of(p) for p in posts)
    assert status == 200 and REFUSED_EN not in said and "logmeeting" in said
