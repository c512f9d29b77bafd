"""Capture in Teams, through the coach's real server in anonymous local mode with the Bot
Connector played by the local fake: the message action "Log as client touch" (an invoke that
starts the logging conversation in the rep's personal chat), and channel capture (an admin
mentions the coach with ``capture <client>``; the roster's un-mentioned messages there become
touches, silently, once a day)."""

from __future__ import annotations

import copy
import time
import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.teams.app import html_text, message_text
from bot.teams.package import MESSAGE_ACTION
from bot.catalog import Catalog
from coaching.messages import Msg
from coaching.model import Kind, Purpose
from coaching.records import ChannelCapture
from storage.db import make_engine
from storage.models import Base
from tests.support import WORKSPACE
from tests.teams.playground import LOCAL, USER_AAD_ID, CoachServer, card_text, choices_of, http
from tests.teams.test_endpoint import CLIENT_ID, CONVERSATION, TENANT, activity

CHANNEL = "19:acme-shared@thread.tacv2"  # a team channel shared with the client Acme
TEAM = "19:sales-team@thread.tacv2"
ADA_AAD_ID = "00000000-0000-0000-0000-00000000ada0"  # Ada, the admin
KEN_AAD_ID = "00000000-0000-0000-0000-000000000ken"  # Ken, who speaks Japanese
PEOPLE = {
    "alice": {"id": "29:1alice", "name": "Alice Smith", "aadObjectId": USER_AAD_ID},
    "ada": {"id": "29:1ada", "name": "Ada Admin", "aadObjectId": ADA_AAD_ID},
    "ken": {"id": "29:1ken", "name": "田中 健", "aadObjectId": KEN_AAD_ID},
}
MENTION = {"type": "mention", "text": "<at>Coach</at>", "mentioned": {"id": f"28:{CLIENT_ID}", "name": "Coach"}}
CATALOG = Catalog()


def words(key: str, lang: str = "en") -> str:
    return CATALOG.render(Msg(key, {}), lang)


@pytest.fixture
def server(database_url) -> CoachServer:
    """The test roster (Alice linked to her Teams id, Ada and Ken to theirs) and the client Acme."""
    server = CoachServer(database_url)
    server.ids = server.seed()
    with server.coach.uow_factory() as uow:
        uow.people.link_platform(WORKSPACE, server.ids["ada"], "teams", ADA_AAD_ID)
        uow.people.link_platform(WORKSPACE, server.ids["ken"], "teams", KEN_AAD_ID)
        east = uow.teams.by_name(WORKSPACE, "East")
        server.acme = uow.clients.add(WORKSPACE, "Acme", east.id, server.ids["alice"], date(2026, 9, 1)).id
        uow.commit()
    return server


def in_channel(service_url: str, text: str, who: str = "alice", mention: bool = False, thread: str | None = None,
               conversation_type: str = "channel", channel: str = CHANNEL, **extra: Any) -> dict[str, Any]:
    """A message in a team channel (or a group chat) as Teams sends it: the conversation id
    names the thread (``;messageid=``), and the coach is mentioned only if ``mention``."""
    thread = thread or str(1700000000000 + uuid.uuid4().int % 10**9)
    conversation = f"{channel};messageid={thread}" if conversation_type == "channel" else channel
    channel_data: dict[str, Any] = {"tenant": {"id": TENANT}}
    if conversation_type == "channel":
        channel_data.update(teamsChannelId=channel, teamsTeamId=TEAM, channel={"id": channel}, team={"id": TEAM})
    return activity(service_url, text, **{
        "from": PEOPLE[who], "channelData": channel_data,
        "conversation": {"id": conversation, "conversationType": conversation_type, "tenantId": TENANT},
        "entities": [MENTION] if mention else [], **extra})


def capture_acme(server: CoachServer) -> None:
    """CHANNEL captured for Acme, as Ada (the admin) would have opted it in."""
    with server.coach.uow_factory() as uow:
        uow.captures.save(WORKSPACE, ChannelCapture("teams", CHANNEL, server.acme, server.ids["ada"],
                                                    date(2026, 11, 1)))
        uow.commit()


def touches(server: CoachServer, client_id: int) -> list:
    with server.coach.uow_factory() as uow:
        return uow.interactions.for_client(WORKSPACE, client_id, limit=100)


def row_counts(database_url: str) -> dict[str, int]:
    """Rows in every table: to show that a message changed nothing at all."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return {table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                    for table in Base.metadata.sorted_tables}
    finally:
        engine.dispose()


# --- channel capture ------------------------------------------------------------------------------

def test_an_admin_opts_a_channel_in_and_a_reps_messages_there_count_once_a_day_silently(server, connector):
    with server.running():
        # Ada mentions the coach in a thread of the channel: a command, answered in that thread.
        assert http("POST", server.messages_url,
                    in_channel(connector.url, "<at>Coach</at> capture Acme", "ada", mention=True))[0] == 202
        [answer] = connector.wait_for(1)
        assert "Acme" in card_text(answer.body) and "capture off" in card_text(answer.body)
        assert server.coach.engine.captures(WORKSPACE, "teams", CHANNEL)  # the channel, not the thread

        # Alice writes there without mentioning the coach: one touch, nothing said.
        first = in_channel(connector.url, "Sent the revised quote, thanks for your patience!")
        assert http("POST", server.messages_url, first)[0] == 202
        [touch] = touches(server, server.acme)
        assert (touch.source, touch.purpose, touch.kind) == ("channel", Purpose.PENDING, Kind.MESSAGE)
        assert touch.rep_id == server.ids["alice"] and touch.occurred_on == date(2026, 11, 20)
        assert touch.note == ""  # the words are not stored

        # A second message the same day (another thread), and an edit of the first: nothing more.
        assert http("POST", server.messages_url, in_channel(connector.url, "PDF attached.", thread="42"))[0] == 202
        edit = copy.deepcopy(first)
        edit.update(type="messageUpdate", text="Sent the revised quote (v2), thanks!")
        edit["channelData"]["eventType"] = "editMessage"
        assert http("POST", server.messages_url, edit)[0] == 202
        assert len(touches(server, server.acme)) == 1

        # Mentioning the coach there is still a command (and no touch).
        assert http("POST", server.messages_url,
                    in_channel(connector.url, "<at>Coach</at> capture", mention=True))[0] == 202
        status = connector.wait_for(2)[1]
        assert "This channel counts its messages as touches with Acme" in card_text(status.body)
        time.sleep(0.3)
    assert len(touches(server, server.acme)) == 1
    assert len(connector.posts()) == 2  # the two answers to mentions; nothing for the plain messages
    assert all(c.body.get("replyToId") for c in connector.posts())
    with server.coach.uow_factory() as uow:  # the channel's digest reference: keyed by the channel
        assert uow.chats.for_user(WORKSPACE, "teams", f"conversation:{CHANNEL}") is not None


@pytest.mark.parametrize("conversation, mention", [
    ({"id": "a:1personal-chat-with-ada", "conversationType": "personal"}, False),
    # Teams sends a group chat's unmentioned messages only with ChatMessage.Read.Chat, which the
    # manifest does not ask for: mapping one would promise a capture that never happens.
    ({"id": "19:group-chat@thread.v2", "conversationType": "groupChat"}, True),
], ids=["personal chat", "group chat"])
def test_capture_outside_a_channel_is_refused(server, connector, conversation, mention):
    text = "<at>Coach</at> capture Acme" if mention else "capture Acme"
    ada = activity(connector.url, text, **{"from": PEOPLE["ada"], "conversation": {**conversation, "tenantId": TENANT}})
    if mention:
        ada["entities"] = [{"type": "mention", "text": "<at>Coach</at>", "mentioned": ada["recipient"]}]
    with server.running():
        assert http("POST", server.messages_url, ada)[0] == 202
        [answer] = connector.wait_for(1)
    assert "Capture works in a Slack or Teams channel shared with the client" in card_text(answer.body)
    assert not server.coach.engine.captures(WORKSPACE, "teams", conversation["id"])


def test_the_next_day_counts_again(server, connector):
    capture_acme(server)
    with server.running():
        for timestamp in ("2026-11-19T15:00:00.000Z", "2026-11-19T16:00:00.000Z", "2026-11-20T09:00:00.000Z"):
            assert http("POST", server.messages_url,
                        in_channel(connector.url, "Following up", timestamp=timestamp))[0] == 202
    assert sorted(t.occurred_on for t in touches(server, server.acme)) == [date(2026, 11, 19), date(2026, 11, 20)]
    assert connector.calls == []


@pytest.mark.parametrize("conversation_type, channel", [
    ("channel", "19:internal-chatter@thread.tacv2"),
    ("groupChat", "19:meeting_a1b2c3@thread.v2"),
], ids=["channel", "group-chat"])
def test_an_unmentioned_message_where_nobody_opted_in_changes_nothing_and_gets_no_answer(
        server, connector, database_url, conversation_type, channel):
    capture_acme(server)  # another channel is captured: this one is not
    before = row_counts(database_url)
    with server.running():
        for text in ("capture Acme", "logmeeting Acme", "help", "Lunch at noon?"):  # words, not commands
            message = in_channel(connector.url, text, "ada", conversation_type=conversation_type, channel=channel)
            assert http("POST", server.messages_url, message)[0] == 202
        time.sleep(0.3)
    assert row_counts(database_url) == before
    assert connector.calls == []
    assert not server.coach.engine.captures(WORKSPACE, "teams", channel)


def test_a_non_roster_author_in_a_captured_channel_records_nothing_and_hears_nothing(server, connector):
    capture_acme(server)
    stranger = {"id": "29:1client", "name": "Carol at Acme", "aadObjectId": "00000000-0000-0000-0000-0000000c1e47"}
    with server.running():
        assert http("POST", server.messages_url,
                    in_channel(connector.url, "Thanks, received!", **{"from": stranger}))[0] == 202
        time.sleep(0.3)
    assert touches(server, server.acme) == []
    assert connector.posts() == []  # at most a member lookup (the e-mail match), never a message


# --- the message action --------------------------------------------------------------------------

def action(service_url: str, who: str = "alice", value: Any = "default", name: str = "composeExtension/fetchTask",
           **extra: Any) -> dict[str, Any]:
    """The invoke Teams sends when someone picks "Log as client touch" on a message in CHANNEL."""
    if value == "default":
        value = {
            "commandId": MESSAGE_ACTION, "commandContext": "message", "context": {"theme": "default"},
            "messagePayload": {
                "id": "1700000000123", "messageType": "message", "createdDateTime": "2026-11-19T16:30:00.000Z",
                "subject": None, "importance": "normal", "locale": "en-us",
                "from": {"user": {"id": "8:orgid:client", "displayName": "Carol at Acme",
                                  "userIdentityType": "aadUser"}},
                "body": {"contentType": "html",
                         "content": "<div><p>Thanks&nbsp;for the demo!</p><p>We&#39;d like the <b>pilot</b> "
                                    "&amp; a quote by Friday.</p></div>"},
                "attachments": [], "mentions": [], "reactions": [],
            },
        }
    body = {
        "type": "invoke", "name": name, "id": f"f:{uuid.uuid4().hex}", "timestamp": "2026-11-20T09:00:00.000Z",
        "channelId": "msteams", "serviceUrl": service_url, "locale": "en-US",
        "from": PEOPLE[who], "recipient": {"id": f"28:{CLIENT_ID}", "name": "Coach"},
        "conversation": {"id": f"{CHANNEL};messageid=1700000000123", "conversationType": "channel",
                         "tenantId": TENANT},
        "channelData": {"tenant": {"id": TENANT}, "channel": {"id": CHANNEL}, "team": {"id": TEAM},
                        "source": {"name": "message"}},
        "entities": [{"type": "clientInfo", "locale": "en-US", "timezone": "Europe/London"}],
        **extra,
    }
    if value is not None:
        body["value"] = value
    return body


def state_of(server: CoachServer) -> dict[str, Any] | None:
    with server.coach.uow_factory() as uow:
        record = uow.dialogs.get(WORKSPACE, CONVERSATION, USER_AAD_ID)
    return record.state if record else None


@pytest.mark.parametrize("captured", [False, True], ids=["any-channel", "captured-channel"])
def test_the_message_action_starts_the_logging_conversation_in_the_personal_chat(server, connector, captured):
    if captured:  # the channel is Acme's: the client is known already
        capture_acme(server)
    with server.running():
        assert http("POST", server.messages_url, activity(connector.url, "help"))[0] == 202  # her chat, saved
        connector.wait_for(1)
        invoke = action(connector.url)
        status, answer = http("POST", server.messages_url, invoke)
        assert status == 200
        assert answer == {"task": {"type": "message", "value": words("teams.action.sent")}}
        question = connector.wait_for(2)[1]
        # The same invoke again (a retry): the same answer, no second question.
        assert http("POST", server.messages_url, invoke) == (200, answer)
        time.sleep(0.3)
    assert len(connector.posts()) == 2
    # Proactive, into the personal chat, not the channel. (The SDK's continuation sends it as a
    # "reply" to the continuation event's own random id, as it does for every proactive message.)
    assert question.path.startswith(f"/v3/conversations/{CONVERSATION}/activities")
    assert question.body["conversation"]["id"] == CONVERSATION
    text = card_text(question.body)
    assert words("log.from_message") in text
    state = state_of(server)
    assert state is not None and state["flow"] == "logmeeting" and state["source"] == "shortcut"
    assert state["d"]["note"] == "Thanks for the demo!\nWe'd like the pilot & a quote by Friday."
    assert state["d"]["on"] == "2026-11-19"  # the message's day, not today
    if captured:
        assert state["d"]["client_id"] == server.acme and "client" in state["done"]
        assert "Which client" not in text
    else:
        assert "client" not in state["done"]
    assert touches(server, server.acme) == []  # nothing logged until she answers


def test_the_rep_answers_in_the_personal_chat_and_the_touch_is_logged(server, connector):
    capture_acme(server)
    with server.running():
        http("POST", server.messages_url, activity(connector.url, "help"))
        connector.wait_for(1)
        assert http("POST", server.messages_url, action(connector.url))[0] == 200
        posts = connector.wait_for(2)
        for _ in range(8):  # answer whatever is asked with its first choice, until the touch is saved
            choices = choices_of(posts[-1].body)
            submit = activity(connector.url, value=choices[0]) if choices else activity(connector.url, "yes")
            if choices:
                del submit["text"], submit["textFormat"]
            assert http("POST", server.messages_url, submit)[0] == 202
            posts = connector.wait_for(len(posts) + 1)
            if touches(server, server.acme):
                break
    [touch] = touches(server, server.acme)
    assert touch.source == "shortcut" and touch.occurred_on == date(2026, 11, 19)
    assert touch.note == "Thanks for the demo!\nWe'd like the pilot & a quote by Friday."


@pytest.mark.parametrize("who, lang", [("alice", "en"), ("ken", "ja")])
def test_without_a_personal_chat_the_answer_says_to_open_one_first(server, connector, who, lang):
    with server.running():
        status, answer = http("POST", server.messages_url, action(connector.url, who))
        time.sleep(0.3)
    assert status == 200
    assert answer == {"task": {"type": "message", "value": words("teams.action.no_chat", lang)}}
    assert connector.posts() == []
    assert state_of(server) is None


def test_someone_not_on_the_roster_is_told_so_in_the_dialog(server, connector):
    stranger = {"id": "29:1stranger", "name": "Sam Stranger", "aadObjectId": "00000000-0000-0000-0000-00000000d00d"}
    personal = activity(connector.url, "help", **{"from": stranger,
                                                  "conversation": {"id": "a:1personal-chat-with-sam",
                                                                   "conversationType": "personal", "tenantId": TENANT}})
    with server.running():
        http("POST", server.messages_url, personal)
        connector.wait_for(1)
        status, answer = http("POST", server.messages_url, action(connector.url, **{"from": stranger}))
        time.sleep(0.3)
    assert status == 200
    assert "Ask your sales admin to add you" in answer["task"]["value"]
    assert len(connector.posts()) == 1  # only the answer to "help"


def test_when_the_personal_chat_cannot_be_reached_the_answer_says_so(server, connector):
    with server.running():
        http("POST", server.messages_url, activity(connector.url, "help"))
        connector.wait_for(1)
        connector.script = [(403, {})]  # Alice blocked the app since
        status, answer = http("POST", server.messages_url, action(connector.url))
    assert status == 200
    assert answer == {"task": {"type": "message", "value": words("teams.action.unreachable")}}


@pytest.mark.parametrize("value", [
    None,
    "log this please",
    {},
    {"commandId": MESSAGE_ACTION},
    {"commandId": MESSAGE_ACTION, "messagePayload": "not an object"},
    {"commandId": "somethingElse", "messagePayload": {"body": {"content": "hi"}}},
], ids=["no-value", "string", "empty", "no-message", "message-not-an-object", "unknown-command"])
@pytest.mark.parametrize("name", ["composeExtension/fetchTask", "composeExtension/submitAction"])
def test_a_malformed_message_action_gets_200_and_a_message(server, connector, value, name):
    with server.running():
        http("POST", server.messages_url, activity(connector.url, "help"))
        connector.wait_for(1)
        status, answer = http("POST", server.messages_url, action(connector.url, value=value, name=name))
        time.sleep(0.2)
    assert status == 200
    assert answer == {"task": {"type": "message", "value": words("teams.action.malformed")}}
    assert len(connector.posts()) == 1 and state_of(server) is None


@pytest.mark.parametrize("payload", [
    {"body": {"contentType": "html", "content": 5}, "createdDateTime": "yesterday"},
    {"body": "not an object", "createdDateTime": 12},
    {},
], ids=["content-not-text", "body-not-an-object", "empty-message"])
def test_odd_message_fields_still_start_the_conversation(server, connector, payload):
    with server.running():
        http("POST", server.messages_url, activity(connector.url, "help"))
        connector.wait_for(1)
        status, answer = http("POST", server.messages_url,
                              action(connector.url, value={"commandId": MESSAGE_ACTION, "messagePayload": payload}))
        connector.wait_for(2)
    assert status == 200 and answer["task"]["value"] == words("teams.action.sent")
    state = state_of(server)
    assert state is not None and state["d"]["on"] == "2026-11-20"  # no usable date: the invoke's


def test_an_invoke_that_is_not_an_activity_is_a_400(server, connector):
    with server.running():
        status, answer = http("POST", server.messages_url, {"type": "invoke", "name": "composeExtension/fetchTask",
                                                            "conversation": "nope"})
    assert status == 400 and answer["error"] == "not a valid activity"
    assert connector.calls == []


def test_message_text_is_plain_text():
    payload = {"subject": "Pilot", "body": {"contentType": "html", "content":
               '<div>Hi&nbsp;<at id="0">Bob</at>,<br>price: 5 &lt; 6 &amp; &quot;more&quot;</div>'
               "<ul><li>one</li><li>two</li></ul><p>  </p>"}}
    assert message_text(payload) == 'Pilot\nHi Bob,\nprice: 5 < 6 & "more"\none\ntwo'
    assert message_text({"body": {"contentType": "text", "content": "a &amp; <b>b</b>"}}) == "a &amp; <b>b</b>"
    assert message_text({}) == "" and html_text("") == "" and html_text("<p>a</p>b", "TEXT") == "<p>a</p>b"


def test_a_turn_that_fails_during_an_invoke_is_answered_200_with_a_message_not_a_chat_message(server):
    """The adapter's turn-error hook: an invoke gets its answer (a dialog message in the user's
    language), never a stray chat message and never the SDK's bodiless 501."""
    import asyncio

    from microsoft_agents.activity import Activity
    from microsoft_agents.hosting.core import TurnContext

    from bot.teams.app import TeamsEndpoint

    endpoint = TeamsEndpoint(server.coach, env=LOCAL)
    invoke = Activity.model_validate(action("http://127.0.0.1:9", locale="ja-JP"))
    context = TurnContext(endpoint.adapter, invoke)
    asyncio.run(endpoint.on_turn_error(context, RuntimeError("boom")))
    answer = context.turn_state[endpoint.adapter.INVOKE_RESPONSE_KEY]
    assert answer.type == "invokeResponse"
    assert answer.value == {"status": 200, "body": {"task": {"type": "message", "value": words("teams.failed", "ja")}}}
