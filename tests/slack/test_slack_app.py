"""The Slack app end to end: signed requests into the real /slack/events, Slack's Web API played
by a recording fake, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from bot.slack.app import COMMANDS
from tests.dialogs import CHECKIN_EN, CHECKIN_JA, LOG_EN, LOG_JA, SETBACK_EN, SETBACK_JA, Script
from tests.slack.fake_api import FakeSlackApi
from tests.slack.harness import SECRET, SlackHarness, choice_elements, text_of
from tests.support import client_state
from tests.slack.signing import (
    block_suggestion_body,
    event_body,
    signed_headers,
    slash_command_body,
    view_submission_body,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def slack(database_url):
    with FakeSlackApi().started_in_thread() as api:
        with SlackHarness(database_url, api).running() as harness:
            yield harness


@pytest.mark.parametrize("script", [LOG_EN, LOG_JA, CHECKIN_EN, CHECKIN_JA, SETBACK_EN, SETBACK_JA], ids=lambda s: s.name)
def test_shared_dialog_script(slack, script: Script):
    """The same script the console passes: typed steps as DM messages, picks as button clicks."""
    user = {"alice@acme.example": "UALICE", "ken@acme.example": "UKEN"}[script.email]
    last = None
    for number, step in enumerate(script.steps, 1):
        status, posts = slack.say(step, user, last)
        assert status == 200
        said = "\n".join(text_of(p) for p in posts)
        for fragment in step.expect:
            assert fragment in said, f"step {number} lacks {fragment!r}:\n{said}"
        last = posts[-1]
    assert client_state(slack.coach, script.client) == (script.balance, script.interactions)


def test_bad_signature_and_stale_timestamp_are_refused_without_effect(slack):
    body = "command=%2Flogmeeting&text=Acme&user_id=UALICE&team_id=T0TEST&channel_id=C1&trigger_id=t1"
    bad = signed_headers("not-the-secret", body)
    assert slack.post(body, bad)[0] == 401
    stale = signed_headers(SECRET, body, timestamp=int(time.time()) - 6 * 60)
    assert slack.post(body, stale)[0] == 401
    assert slack.post(body, {"Content-Type": "application/x-www-form-urlencoded"})[0] == 401
    time.sleep(0.3)
    assert slack.api.calls_to("chat.postMessage") == [] and slack.api.calls_to("conversations.open") == []
    with slack.coach.uow_factory() as uow:
        assert uow.dialogs.get("acme", "DUALICE", "UALICE") is None


def test_a_request_from_another_slack_team_is_turned_away_with_one_token(slack):
    """The same app installed in a second workspace signs with the same secret: with a single
    bot token (team T0TEST) its requests must not reach this workspace's data."""
    body = slash_command_body("/ledger", "Acme", "UALICE", team_id="T0OTHER", response_url=slack.api.response_url())
    status, text = slack.post(body)
    assert status == 200 and "isn't set up for the coach" in text
    event = event_body({"type": "message", "channel_type": "im", "channel": "DUALICE", "user": "UALICE",
                        "text": "/logmeeting", "ts": "1.0"}, event_id="EvOTHER", team_id="T0OTHER")
    assert slack.post(event)[0] == 200
    time.sleep(0.5)
    assert [c.method for c in slack.api.calls if c.method not in ("auth.test",)] == []
    with slack.coach.uow_factory() as uow:
        assert uow.dialogs.get("acme", "DUALICE", "UALICE") is None


def test_a_retried_event_is_answered_once(slack):
    slack.command("/logmeeting", "", "UALICE", "DUALICE")
    slack.posts_after(0)
    slack.dm("Acme Corp", event_id="EvSAME")
    slack.posts_after(1)
    assert slack.dm("Acme Corp", event_id="EvSAME", retry=1)[0] == 200
    time.sleep(0.5)
    posts = slack.api.calls_to("chat.postMessage")
    assert len(posts) == 2  # the prompt, the answer to the first delivery; nothing for the retry


def test_a_double_clicked_button_counts_once(slack):
    slack.command("/logmeeting", "Acme call give: shared the report", "UALICE", "DUALICE")
    [prompt] = slack.posts_after(0)
    [add_new] = choice_elements(prompt)
    slack.click(add_new, message_ts="9.1")
    slack.posts_after(1)
    slack.click(add_new, message_ts="9.1")  # the same button on the same message again
    time.sleep(0.5)
    assert len(slack.api.calls_to("chat.postMessage")) == 2


def test_rate_limited_posts_are_retried(slack):
    slack.api.fail_next("chat.postMessage", status=429, retry_after=1)
    slack.command("/logmeeting", "", "UALICE", "DUALICE")
    first, retried = slack.api.wait_for_sync("chat.postMessage", 2, timeout=15)  # the 429, then the retry
    assert first.params == retried.params and "Which client did you meet?" in text_of(retried)
    time.sleep(0.3)
    assert len(slack.api.calls_to("chat.postMessage")) == 2


def test_a_stranger_is_told_how_to_get_added(slack):
    slack.api.add_user("UNEW", "new@elsewhere.example", locale="ja-JP")
    slack.command("/logmeeting", "", "UNEW", "DUNEW")
    [post] = slack.posts_after(0)
    assert "営業管理者にコーチの名簿への追加を依頼してください" in text_of(post)


def test_user_text_is_escaped_in_mrkdwn(slack):
    slack.command("/logmeeting", "<!channel> & Co call give: <https://evil.example|click>", "UALICE", "DUALICE")
    [post] = slack.posts_after(0)
    mrkdwn = json.dumps([b["text"] for b in post.params["blocks"] if b["type"] == "section"])
    assert "<!channel>" not in mrkdwn and "<https://" not in mrkdwn
    # Slack sends a typed @channel as <!channel>: the coach reads it as the words, and never says it back
    assert "@channel &amp; Co" in mrkdwn


def test_teamhealth_refuses_reps_and_answers_managers(slack):
    slack.command("/teamhealth", "", "UALICE")
    [refusal] = slack.api.wait_for_sync("response_url", 1)
    assert "Team health is for managers" in json.dumps(refusal.params) and refusal.params["response_type"] == "ephemeral"
    slack.command("/teamhealth", "", "UMIA")
    answers = slack.api.wait_for_sync("response_url", 2)
    assert "Team health: East" in json.dumps(answers[1].params)
    slack.command("/teamhealth", "channel here", "UMIA", "CTEAM")
    # asked in C1, the chart went to Mia's DM and one more answer said so: this one's is the fourth
    answers = slack.api.wait_for_sync("response_url", 4)
    assert any("team digest" in json.dumps(a.params) for a in answers[2:])
    with slack.coach.uow_factory() as uow:
        assert uow.teams.by_name("acme", "East").digest_channel == "CTEAM"
        assert uow.teams.by_name("acme", "West").digest_channel is None


def test_ledger_and_promises_answer_where_asked(slack):
    slack.command("/ledger", "Nowhere", "UALICE")
    [answer] = slack.api.wait_for_sync("response_url", 1)
    assert "No client called “Nowhere”" in json.dumps(answer.params, ensure_ascii=False)
    slack.command("/promises", "", "UALICE")
    answers = slack.api.wait_for_sync("response_url", 2)
    assert "no open promises" in json.dumps(answers[1].params)


def test_app_home_shows_the_reps_overview(slack):
    body = json.dumps({"type": "event_callback", "team_id": "T0TEST", "api_app_id": "A1", "event_id": "EvHOME",
                       "event_time": int(time.time()),
                       "event": {"type": "app_home_opened", "user": "UALICE", "tab": "home", "channel": "DUALICE"}})
    assert slack.post(body)[0] == 200
    [publish] = slack.api.wait_for_sync("views.publish", 1)
    assert publish.params["user_id"] == "UALICE" and publish.params["view"]["type"] == "home"
    assert "Alice Smith: your relationships on" in json.dumps(publish.params["view"])


def test_a_type_ahead_whose_value_is_not_text_gets_no_options_not_an_error(slack):
    """A signed but forged block_suggestion (the HTTP fuzzer found it): "value" an object."""
    status, body = slack.post(block_suggestion_body("UALICE", "client_search", {"x": 1}))  # type: ignore[arg-type]
    assert status == 200 and json.loads(body)["options"] == []


def test_client_type_ahead_and_the_form(slack):
    status, body = slack.post(block_suggestion_body("UALICE", "client_search", "Acme"))
    options = json.loads(body)["options"]
    assert status == 200 and options[-1]["value"] == "new:Acme"
    values = {
        "client": {"client_search": {"type": "external_select", "selected_option": {"value": "new:Acme", "text": {"type": "plain_text", "text": "Acme"}}}},
        "kind": {"value": {"type": "static_select", "selected_option": {"value": "visit"}}},
        "purpose": {"value": {"type": "static_select", "selected_option": {"value": "give"}}},
        "note": {"value": {"type": "plain_text_input", "value": "brought the case study"}},
        "proof": {"value": {"type": "radio_buttons", "selected_option": {"value": "yes"}}},
    }
    submit = view_submission_body("UALICE", "log_form", values, private_metadata="DUALICE", view_id="VFORM1")
    assert slack.post(submit)[0] == 200
    [post] = slack.posts_after(0)
    assert "Saved your touch with Acme." in text_of(post) and "Credit balance with Acme: +4" in text_of(post)
    assert slack.post(submit)[0] == 200  # submitted twice
    time.sleep(0.5)
    assert client_state(slack.coach, "Acme") == (4, 1)


def test_form_errors_are_shown_on_the_fields(slack):
    values = {"kind": {"value": {"type": "static_select", "selected_option": {"value": "visit"}}}}
    status, body = slack.post(view_submission_body("UALICE", "log_form", values, view_id="VFORM2"))
    errors = json.loads(body)["errors"]
    assert status == 200 and set(errors) == {"client", "purpose"}


def test_the_form_opens_in_the_reps_language(slack):
    action = {"action_id": "open_form", "block_id": "b", "type": "button", "value": "form"}
    from tests.slack.signing import block_actions_body

    assert slack.post(block_actions_body("UKEN", [action], channel_id="DUKEN", message_ts="3.3"))[0] == 200
    [opened] = slack.api.wait_for_sync("views.open", 1)
    view = opened.params["view"]
    assert view["title"]["text"] == "活動を記録" and view["private_metadata"] == "DUKEN"
    from slack_sdk.models.views import View

    View(**view).validate_json()


def test_healthz(slack):
    import urllib.request

    with urllib.request.urlopen(slack.url + "/healthz") as response:
        assert json.loads(response.read()) == {"status": "ok"}


def test_every_manifest_command_has_a_handler_and_vice_versa():
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text("utf-8"))
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert commands == set(COMMANDS)


def test_time_zone_comes_from_slack_when_the_roster_has_none(slack):
    with slack.coach.uow_factory() as uow:
        from coaching.records import PersonDraft
        from coaching.model import Role

        east = uow.teams.by_name("acme", "East")
        uow.people.upsert("acme", PersonDraft("sam@acme.example", "Sam", Role.REP, (east.id,)))  # no zone: UTC
        uow.commit()
    slack.api.add_user("USAM", "sam@acme.example", tz="Asia/Tokyo", locale="en-US")
    slack.api.add_user("UALICE", "alice@acme.example", tz="Asia/Tokyo", locale="en-GB")
    slack.command("/promises", "", "USAM")
    slack.command("/promises", "", "UALICE")
    slack.api.wait_for_sync("response_url", 2)
    with slack.coach.uow_factory() as uow:
        assert uow.people.by_email("acme", "sam@acme.example").timezone == "Asia/Tokyo"
        assert uow.people.by_email("acme", "alice@acme.example").timezone == "Europe/London"  # the roster's
