"""Digests in Slack: `coach nudges --send` posts each rep's DM; the buttons snooze, dismiss or log."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, quote

import pytest
from click.testing import CliRunner

from bot.cli import main
from coaching.engine import Inbound
from tests.slack.fake_api import FakeSlackApi
from tests.slack.harness import SlackHarness, text_of
from tests.slack.signing import block_actions_body


@pytest.fixture
def slack(database_url):
    with FakeSlackApi().started_in_thread() as api:
        with SlackHarness(database_url, api).running() as harness:
            say = lambda text: harness.coach.engine.handle(Inbound("acme", "console", text, email="alice@acme.example"))
            for text in ("/logmeeting Acme call give: shared a report", "1", "+ Promise", "send the quote tomorrow",
                         "+ Problem", "their invoices are late", "save"):
                say(text)
            yield harness


def cli(harness, *args):
    env = {"DATABASE_URL": harness.settings.database_url, "COACH_WORKSPACE": "acme", "COACH_RULES_FILE": "",
           "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": harness.settings.slack_api_url}
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def kinds(harness) -> list[str]:
    return sorted(r["kind"] for r in json.loads(cli(harness, "nudges", "--as-of", "2026-11-23", "--format", "json")))


def test_digest_is_sent_to_the_reps_dm_and_snooze_silences_it(slack):
    assert kinds(slack) == ["problem_waiting", "promise_overdue"]
    out = cli(slack, "nudges", "--as-of", "2026-11-23", "--send")
    assert "Digests for Mon, 23 Nov 2026: 1 delivered, 0 not delivered" in out
    again = cli(slack, "nudges", "--as-of", "2026-11-23", "--send")  # the same run again: exactly once
    assert "0 delivered" in again and "6 handled by an earlier run" in again
    [lookup] = slack.api.calls_to("users.lookupByEmail")
    assert lookup.params["email"] == "alice@acme.example"
    [digest] = slack.api.calls_to("chat.postMessage")
    assert digest.params["channel"] == "DUALICE"
    assert "Good morning, Alice" in text_of(digest) and "send the quote" in text_of(digest)
    not_useful = next(e for b in digest.params["blocks"] if b["type"] == "actions" for e in b["elements"]
                      if e["value"].startswith("dismiss:promise_overdue"))
    slack.click(not_useful, message_ts="5.5")
    [answer] = slack.posts_after(1)
    assert "Noted: not useful. I'll leave it for a month" in text_of(answer)
    assert kinds(slack) == ["problem_waiting"]


def test_not_relevant_is_recorded_and_log_a_touch_starts_the_conversation(slack):
    cli(slack, "nudges", "--as-of", "2026-11-23", "--send")
    [digest] = slack.api.calls_to("chat.postMessage")
    buttons = [e for b in digest.params["blocks"] if b["type"] == "actions" for e in b["elements"]]
    slack.click(next(e for e in buttons if e["value"].startswith("dismiss:problem_waiting")), message_ts="6.1")
    assert "not useful" in text_of(slack.posts_after(1)[0])
    slack.click(next(e for e in buttons if e["value"] == "/logmeeting Acme"), message_ts="6.1")
    assert "What happened?" in text_of(slack.posts_after(2)[0])
    assert kinds(slack) == ["promise_overdue"]


def test_promises_kept_from_the_ephemeral_list(slack):
    slack.command("/promises", "", "UALICE", "C1")
    [listing] = slack.api.wait_for_sync("response_url", 1)
    kept = next(e for b in listing.params["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["value"].startswith("kept:"))
    action = {"action_id": kept["action_id"], "block_id": "b", "type": "button", "value": kept["value"]}
    body = block_actions_body("UALICE", [action], channel_id="C1", message_ts="7.7",
                              response_url=slack.api.response_url("kept"))
    payload = json.loads(parse_qs(body)["payload"][0])
    payload["container"] = {"type": "message", "message_ts": "7.7", "channel_id": "C1", "is_ephemeral": True}
    body = "payload=" + quote(json.dumps(payload))
    assert slack.post(body)[0] == 200
    [_, answer] = slack.api.wait_for_sync("response_url", 2)
    assert "Marked kept on time" in json.dumps(answer.params) and slack.api.calls_to("chat.postMessage") == []


def test_a_server_never_writes_an_undelivered_digest_into_the_log(database_url, caplog):
    """No platform reached the rep: the record says failed, the log says so in one line, and no
    client note (or any of the digest's words) goes into the log."""
    import logging

    from bot.notifiers import build_notifier
    from tests.support import make_coach, seed_roster
    from coaching.messages import Msg
    from coaching.replies import Reply

    with FakeSlackApi().started_in_thread() as api:  # knows no user: lookups fail
        coach = make_coach(database_url)
        seed_roster(coach)
        coach.settings.slack_bot_token, coach.settings.slack_api_url = "xoxb-test", f"{api.url}/api/"
        coach.settings.teams_enabled = False
        with coach.uow_factory() as uow:
            alice = uow.people.by_email("acme", "alice@acme.example")
        notifier = build_notifier(coach)
        with caplog.at_level(logging.INFO):
            sent = notifier.send(alice, Reply.of(Msg("digest.title", {"name": "Alice"}), "secret note about pricing"))
    assert sent is None
    assert "secret note" not in caplog.text and "Good morning" not in caplog.text
    assert f"no platform reached person {alice.id}" in caplog.text


def _alice_and_notifier(database_url, api):
    from bot.notifiers import SlackNotifier
    from tests.support import make_coach, seed_roster

    coach = make_coach(database_url)
    seed_roster(coach)
    api.add_user("UALICE", "alice@acme.example")
    with coach.uow_factory() as uow:
        alice = uow.people.by_email("acme", "alice@acme.example")
    return alice, SlackNotifier(coach.catalog, "xoxb-test", f"{api.url}/api/"), coach


def test_a_slack_5xx_on_the_post_is_maybe_delivered_and_never_posted_twice(database_url):
    from coaching.messages import Msg
    from coaching.errors import MaybeDelivered
    from coaching.replies import Reply

    with FakeSlackApi().started_in_thread() as api:
        alice, slack, _ = _alice_and_notifier(database_url, api)
        api.fail_next("chat.postMessage", status=500)
        with pytest.raises(MaybeDelivered):
            slack.send(alice, Reply.of(Msg("digest.title", {"name": "Alice"})))
        assert len(api.calls_to("chat.postMessage")) == 1  # not retried by the client either
        api.fail_next("chat.postMessage", status=429, retry_after=0)
        assert slack.send(alice, Reply.of(Msg("digest.title", {"name": "Alice"}))) == "slack"
        assert len(api.calls_to("chat.postMessage")) == 3  # a rate limit is retried: Slack took nothing


def test_one_platform_failing_does_not_keep_the_next_from_trying(database_url):
    from bot.notifiers import FirstThatDelivers, SlackNotifier
    from coaching.messages import Msg
    from coaching.replies import Reply
    from tests.support import MovableClock, Recorder

    with FakeSlackApi().started_in_thread() as api:
        alice, _, coach = _alice_and_notifier(database_url, api)
    down = SlackNotifier(coach.catalog, "xoxb-test", api.url + "/api/")  # the server has stopped
    other = Recorder(MovableClock())
    chain = FirstThatDelivers([down, other])
    assert chain.send(alice, Reply.of(Msg("digest.title", {"name": "Alice"}))) == "test"
    assert [email for email, *_ in other.sent] == ["alice@acme.example"]
