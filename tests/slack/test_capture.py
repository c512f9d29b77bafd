"""Capture through the real Slack endpoint: the message shortcut, opt-in channel capture and the
end-of-day check-in's buttons, as signed requests with Slack's Web API played by a recording fake."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest

from bot.slack.app import SHORTCUT
from coaching.model import Purpose
from coaching.records import SKIPPED
from tests.slack.fake_api import FakeSlackApi
from tests.slack.harness import SECRET, SlackHarness, choice_elements, text_of
from tests.slack.signing import event_body, message_shortcut_body, signed_headers
from tests.support import MovableClock

FRIDAY_EVENING = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # 18:00 in London, where the users are
THURSDAY_TS = f"{datetime(2026, 11, 19, 10, 0, tzinfo=UTC).timestamp():.6f}"


@pytest.fixture
def slack(database_url):
    with FakeSlackApi().started_in_thread() as api:
        harness = SlackHarness(database_url, api, MovableClock(FRIDAY_EVENING))
        with harness.coach.uow_factory() as uow:
            east = uow.teams.by_name("acme", "East")
            uow.clients.add("acme", "Acme Corp", east.id, 1, date(2026, 10, 1))
            uow.commit()
        with harness.running() as running:
            yield running


def touches(slack, name="Acme Corp"):
    with slack.coach.uow_factory() as uow:
        client = uow.clients.by_name("acme", name)
        return uow.interactions.for_client("acme", client.id, limit=50)


def channel_message(slack, user: str, channel: str, text: str, event_id: str, subtype: str | None = None,
                    ts: str | None = None, retry: int | None = None):
    event = {"type": "message", "channel_type": "channel", "channel": channel, "user": user, "text": text,
             "ts": ts or f"{time.time():.6f}"}
    if subtype:
        event = {**event, "subtype": subtype, "message": {"text": text, "user": user, "ts": event["ts"]}}
        event.pop("user")
    body = event_body(event, event_id=event_id)
    headers = signed_headers(SECRET, body)
    if retry:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    return slack.post(body, headers)


def settle(slack, seconds: float = 0.6) -> None:
    """Events are handled after the ack: give the listener a moment to finish."""
    time.sleep(seconds)


def test_the_message_shortcut_opens_the_logging_conversation_with_the_message_as_note(slack):
    body = message_shortcut_body("UALICE", SHORTCUT, {
        "ts": THURSDAY_TS, "user": "UCLIENT",
        "text": "Thanks <@UALICE>, the Acme Corp team liked the ROI deck &amp; wants the pricing sheet"},
        channel_id="CSHARED", trigger_id="t-1", response_url=slack.api.response_url("shortcut-1"))
    before = len(slack.api.calls_to("chat.postMessage"))
    status, _ = slack.post(body)
    assert status == 200
    [first, *_] = slack.posts_after(before)
    said = text_of(first)
    assert first.params["channel"] == "DUALICE"  # the conversation goes on in the rep's DM
    assert "Logging this message as a client touch" in said
    assert "How did you meet?" in said
    # the note reader read the purpose ("the pricing sheet": an ask); the rest is asked
    for step in ("message", "no", "no", "no", "skip", "skip"):
        count = len(slack.api.calls_to("chat.postMessage"))
        slack.dm(step)
        last = slack.posts_after(count)[-1]
    said = text_of(last)
    assert "• Client: Acme Corp" in said and "Thu 19 Nov" in said
    assert "the Acme Corp team liked the ROI deck & wants the pricing sheet" in said
    count = len(slack.api.calls_to("chat.postMessage"))
    slack.dm("save")
    assert "Saved your touch with Acme Corp." in text_of(slack.posts_after(count)[-1])
    [touch] = touches(slack)
    assert (touch.source, touch.occurred_on, touch.purpose) == ("shortcut", date(2026, 11, 19), Purpose.ASK)
    assert touch.note == "Thanks @UALICE, the Acme Corp team liked the ROI deck & wants the pricing sheet"
    # the channel where it was chosen gets a short note that the rest is in the DM
    assert slack.api.wait_for_sync("response_url", 1)


def test_a_retried_shortcut_opens_the_conversation_once(slack):
    body = message_shortcut_body("UALICE", SHORTCUT, {"ts": THURSDAY_TS, "text": "Acme Corp asked for a demo"},
                                 trigger_id="t-2")
    before = len(slack.api.calls_to("chat.postMessage"))
    assert slack.post(body)[0] == 200
    slack.posts_after(before)
    count = len(slack.api.calls_to("chat.postMessage"))
    assert slack.post(body)[0] == 200
    settle(slack)
    assert len(slack.api.calls_to("chat.postMessage")) == count


def test_only_an_admin_opts_a_channel_in_and_then_messages_there_count_once_a_day(slack):
    status, _ = slack.command("/coach", "capture Acme Corp", "UALICE", "CSHARED")  # a rep may not
    assert status == 200
    refused = slack.api.wait_for_sync("response_url", 1)[-1]
    assert "admin" in refused.params["text"].lower()
    channel_message(slack, "UALICE", "CSHARED", "Morning! Sending the deck shortly", "EvA1")
    settle(slack)
    assert touches(slack) == []  # not opted in: nothing recorded

    slack.api.add_user("UADA", "ada@acme.example", locale="en-GB", tz="Europe/London")
    slack.command("/coach", "capture Acme Corp", "UADA", "DUADA")  # not in her DM: no client channel
    in_dm = slack.api.wait_for_sync("response_url", 2)[-1]
    assert "Capture works in a Slack or Teams channel shared with the client" in in_dm.params["text"]
    slack.command("/coach", "capture Acme Corp", "UADA", "CSHARED")  # Ada is the admin
    answer = slack.api.wait_for_sync("response_url", 3)[-1]
    assert "count as touches with Acme Corp" in answer.params["text"]  # and says what is read, and how to stop
    posts_before = len(slack.api.calls_to("chat.postMessage"))

    channel_message(slack, "UALICE", "CSHARED", "Sending the deck shortly", "EvB1")
    channel_message(slack, "UALICE", "CSHARED", "Sending the deck shortly", "EvB1", retry=1)  # Slack's retry
    channel_message(slack, "UALICE", "CSHARED", "And the pricing sheet", "EvB2")
    channel_message(slack, "UALICE", "CSHARED", "And the pricing sheet (edited)", "EvB3", subtype="message_changed")
    channel_message(slack, "UCLIENT", "CSHARED", "Thanks!", "EvB4")  # the client's people are not on the roster
    settle(slack, 1.0)
    [touch] = touches(slack)
    assert (touch.source, touch.purpose, touch.kind.value, touch.note) == ("channel", Purpose.PENDING, "message", "")
    assert len(slack.api.calls_to("chat.postMessage")) == posts_before  # nothing said in the client's channel

    channel_message(slack, "UALICE", "COTHER", "Unrelated channel", "EvC1")
    settle(slack)
    assert len(touches(slack)) == 1


def test_the_check_in_buttons_record_a_touch_through_the_endpoint(slack):
    from bot.notifiers import build_notifier
    from coaching.jobs import CHECKIN, ScheduledJobs

    coach = slack.coach
    dispatcher = ScheduledJobs(coach.uow_factory, build_notifier(coach), coach.rules, coach.settings.schedule(),
                            coach.clock)
    report = dispatcher.run("acme", FRIDAY_EVENING, jobs=(CHECKIN,))
    assert report.job(CHECKIN).sent >= 1
    checkin = next(c for c in slack.api.wait_for_sync("chat.postMessage", 1) if c.params["channel"] == "DUALICE")
    assert "any client touches today?" in text_of(checkin)
    search = [e for b in checkin.params["blocks"] if b["type"] == "actions" for e in b["elements"]
              if e.get("action_id") == "client_search"]
    assert search, "the check-in offers the type-ahead for someone else"
    buttons = {e["text"]["text"]: e for e in choice_elements(checkin)}
    before = len(slack.api.calls_to("chat.postMessage"))
    slack.click(buttons["Someone else…"], "UALICE", message_ts="900.1")
    ask = slack.posts_after(before)[-1]
    assert "Which client did you meet?" in text_of(ask)
    before = len(slack.api.calls_to("chat.postMessage"))
    slack.dm("Acme Corp")
    purpose = slack.posts_after(before)[-1]
    give = next(e for e in choice_elements(purpose) if e.get("value") == "give")
    before = len(slack.api.calls_to("chat.postMessage"))
    slack.click(give, "UALICE", message_ts="900.2")
    slack.click(give, "UALICE", message_ts="900.2")  # a double click
    promise = slack.posts_after(before)[-1]
    assert "Did you promise anything?" in text_of(promise)
    before = len(slack.api.calls_to("chat.postMessage"))
    slack.click(choice_elements(promise)[0], "UALICE", message_ts="900.3")  # "No promise"
    assert "Saved your touch with Acme Corp." in text_of(slack.posts_after(before)[-1])
    [touch] = touches(slack)
    assert (touch.source, touch.purpose) == ("checkin", Purpose.GIVE)
    # "Not today" after it was asked changes nothing more and says goodnight
    before = len(slack.api.calls_to("chat.postMessage"))
    slack.click(buttons["Not today"], "UALICE", message_ts="900.1")
    assert "no check-in today" in text_of(slack.posts_after(before)[-1])
    with coach.uow_factory() as uow:
        statuses = {d.status for d in uow.deliveries.list("acme", date(2026, 11, 20)) if d.job == CHECKIN
                    and d.person_id == 1}
    assert SKIPPED not in statuses  # it was sent: the record stays "sent"
