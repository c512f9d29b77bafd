"""``/api/messages`` on the coach's real server, over HTTP on loopback, with the Bot Connector
played by a small local fake: anonymous local mode, ``expectReplies``, and the 401s of the
credentialed mode. Then the Adaptive Cards the coach sends, checked by Microsoft's own
``adaptivecards`` package in node (skipped without node)."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.console import ConsoleChannel
from bot.teams import cards
from coaching.digest import digest
from bot.catalog import Catalog
from coaching.messages import Msg
from coaching.model import Person, Role
from coaching.nudges import Nudge, NudgeKind
from coaching.replies import Choice, Reply
from tests.dialogs import LOG_EN, LOG_JA, Pick
from tests.support import WORKSPACE, make_coach, seed_roster
from tests.teams.playground import LOCAL, USER_AAD_ID, WAIT, CoachServer, card_text, choices_of, http
from tests.system.test_charts import PNG_MAGIC, png_info, team_chart

TENANT = "00000000-0000-0000-0000-0000000000001"
CLIENT_ID = "5f0c3a3e-8d1b-4c55-9a43-0c9b2f7e1d11"
CREDENTIALS = {
    "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID": CLIENT_ID,
    "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTSECRET": "not-a-real-secret-but-32-bytes-long-at-least",
    "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__TENANTID": "7d1c7a6e-0b8f-4a64-9e36-2f9d3c1a0b22",
}
CONVERSATION = "a:1personal-chat-with-alice"


def activity(service_url: str, text: str = "/logmeeting", **extra: Any) -> dict[str, Any]:
    """A personal-chat message as Teams sends it."""
    return {
        "type": "message", "id": f"1:{uuid.uuid4().hex}", "timestamp": "2026-11-20T09:00:00.000Z",
        "channelId": "msteams", "serviceUrl": service_url, "locale": "en-GB", "text": text, "textFormat": "plain",
        "from": {"id": "29:1alice", "name": "Alice Smith", "aadObjectId": USER_AAD_ID},
        "recipient": {"id": f"28:{CLIENT_ID}", "name": "Coach"},
        "conversation": {"id": CONVERSATION, "conversationType": "personal", "tenantId": TENANT},
        "channelData": {"tenant": {"id": TENANT}},
        "entities": [{"type": "clientInfo", "locale": "en-GB", "timezone": "Europe/London"}],
        **extra,
    }


def stored(server: CoachServer) -> tuple[Any, Any]:
    """(the conversation state, the conversation reference) the coach keeps for the Teams user."""
    with server.coach.uow_factory() as uow:
        return (uow.dialogs.get(WORKSPACE, CONVERSATION, USER_AAD_ID),
                uow.chats.for_user(WORKSPACE, "teams", USER_AAD_ID))


def test_anonymous_mode_takes_a_message_and_replies_through_the_connector(database_url, connector):
    server = CoachServer(database_url)
    ids = server.seed()
    with server.running():
        sent = activity(connector.url)
        status, _ = http("POST", server.messages_url, sent)
        assert status == 202
        [post] = connector.wait_for(1)
    assert post.path == f"/v3/conversations/{CONVERSATION}/activities/{sent['id']}"  # a reply to it
    assert post.body["type"] == "message" and post.body["replyToId"] == sent["id"]
    assert post.body["recipient"]["aadObjectId"] == USER_AAD_ID
    [attachment] = post.body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["version"] == "1.5"
    assert "Which client did you meet?" in card_text(post.body)
    state, reference = stored(server)
    assert state is not None  # the log form is under way
    assert reference is not None and reference.person_id == ids["alice"]
    assert reference.service_url.rstrip("/") == connector.url and reference.conversation_id == CONVERSATION


def test_a_card_submit_is_the_chosen_value(database_url, connector):
    server = CoachServer(database_url)
    server.seed()
    with server.running():
        http("POST", server.messages_url, activity(connector.url, "/logmeeting Acme Corp"))
        [first] = connector.wait_for(1)
        [value] = choices_of(first.body)[:1]
        assert value == {"choice": "new:Acme Corp"}
        submit = activity(connector.url, value=value, replyToId="reply-1")
        del submit["text"], submit["textFormat"]  # a card submit carries a value, no text
        assert http("POST", server.messages_url, submit)[0] == 202
        second = connector.wait_for(2)[1]
    assert "What happened?" in card_text(second.body)


def test_expect_replies_come_back_in_the_response(database_url, connector):
    server = CoachServer(database_url)
    server.seed()
    with server.running():
        status, body = http("POST", server.messages_url, activity(connector.url, "help", deliveryMode="expectReplies"))
        time.sleep(0.3)
    assert status == 200
    replies = body["activities"]
    assert replies and "Here's what I can do" in "\n".join(card_text(r) for r in replies)
    assert connector.calls == []  # nothing went through the connector


def _tokens() -> dict[str, str]:
    """Well-formed JWTs the coach must refuse: none is signed by a key Microsoft publishes."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": "https://api.botframework.com", "aud": CLIENT_ID, "nbf": now - 60, "exp": now + 3600,
              "serviceurl": "http://127.0.0.1:9/"}
    kid = {"kid": "coach-test-key"}
    return {
        "unsigned (alg none)": jwt.encode(claims, None, algorithm="none"),
        "unsigned with a key id": jwt.encode(claims, None, algorithm="none", headers=kid),
        "signed by an unknown key": jwt.encode(claims, key, algorithm="RS256", headers=kid),
        "signed, no key id": jwt.encode(claims, key, algorithm="RS256"),
        "expired": jwt.encode({**claims, "nbf": now - 7200, "exp": now - 3600}, key, algorithm="RS256", headers=kid),
        "wrong audience": jwt.encode({**claims, "aud": "someone-else"}, key, algorithm="RS256", headers=kid),
        "right audience, wrong issuer": jwt.encode({**claims, "iss": "https://sts.attacker.example/"}, key,
                                                   algorithm="RS256", headers=kid),
        "right audience, Entra issuer of another tenant": jwt.encode(
            {**claims, "iss": "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0",
             "tid": "11111111-2222-3333-4444-555555555555"}, key, algorithm="RS256", headers=kid),
        "HS256 with the client secret": jwt.encode(
            claims, CREDENTIALS["CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTSECRET"], algorithm="HS256",
            headers=kid),
    }


def test_with_credentials_every_request_without_a_valid_token_is_refused(database_url, connector):
    """401, never 500, and no effect at all. (A token with a key id makes the SDK look the key up in
    Microsoft's published keys: offline that lookup fails, online the key is not there; 401 either way.)"""
    server = CoachServer(database_url, env=CREDENTIALS)
    server.seed()
    headers: dict[str, dict[str, str]] = {
        "no Authorization header": {}, "Bearer bogus": {"Authorization": "Bearer bogus"},
        "Basic credentials": {"Authorization": "Basic YWxpY2U6c2VjcmV0"}, "empty bearer": {"Authorization": "Bearer "},
        **{name: {"Authorization": f"Bearer {token}"} for name, token in _tokens().items()},
    }
    with server.running():
        answers = {name: http("POST", server.messages_url, activity(connector.url), headers=h, timeout=WAIT)[0]
                   for name, h in headers.items()}
        time.sleep(0.3)
    assert answers == {name: 401 for name in headers}
    assert connector.calls == []
    assert stored(server) == (None, None)


def test_with_credentials_a_malformed_body_without_a_token_is_refused_not_parsed(database_url, connector):
    """The token is checked before the body is read: 401, not the 400 (or 500) a bad body would get."""
    bodies = {"malformed JSON": (b"{not json", "application/json"), "empty": (b"", "application/json"),
              "a list": (b"[]", "application/json"), "not UTF-8": (b"\xff\xfe\x00garbage", "application/json"),
              "a form": (b"type=message", "application/x-www-form-urlencoded"),
              "text/plain": (b'{"type": "message"}', "text/plain"), "empty object": (b"{}", "application/json")}
    server = CoachServer(database_url, env=CREDENTIALS)
    with server.running():
        answers = {name: http("POST", server.messages_url, body, headers={"Content-Type": content_type})[0]
                   for name, (body, content_type) in bodies.items()}
        assert http("GET", f"{server.url}/healthz")[0] == 200
    assert answers == {name: 401 for name in bodies}
    assert connector.calls == []


# --- the cards, checked by Microsoft's adaptivecards package ------------------------------------

VALIDATE = r"""
const AC = require(process.argv[1]);
const cards = JSON.parse(require("fs").readFileSync(0, "utf8"));
const results = cards.map((card) => {
  const context = new AC.SerializationContext(AC.Versions.v1_5);
  const parsed = new AC.AdaptiveCard();
  parsed.parse(card, context);
  const problems = [];
  for (let i = 0; i < context.eventCount; i++) {
    const e = context.getEventAt(i);
    problems.push(`${AC.ValidationEvent[e.event]}: ${e.message}`);
  }
  for (const e of parsed.validateProperties().validationEvents) {
    problems.push(`${AC.ValidationEvent[e.event]}: ${e.message}`);
  }
  return {problems, version: parsed.version ? parsed.version.toString() : null,
          roundTrip: parsed.toJSON(context)};
});
process.stdout.write(JSON.stringify(results));
"""


def validate(node_tools: Path, documents: list[dict]) -> list[dict]:
    library = node_tools / "node_modules" / "adaptivecards" / "dist" / "adaptivecards.js"
    done = subprocess.run(["node", "-e", VALIDATE, str(library)], input=json.dumps(documents), capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def replies_of_script(coach, script) -> list[Reply]:
    channel = ConsoleChannel(coach, script.email)
    replies: list[Reply] = []
    for step in script.steps:
        _, outcome = channel.send(str(step.number) if isinstance(step, Pick) else step.text)
        replies += list(outcome.replies if outcome else ())
    return replies


def test_the_cards_validate_with_microsofts_adaptivecards(database_url, node_tools):
    catalog = Catalog()
    coach = make_coach(database_url)
    seed_roster(coach)
    rep = Person(1, WORKSPACE, "alice@acme.example", "Alice Smith", Role.REP, (1,))
    nudges = [Nudge(NudgeKind.PROBLEM_WAITING, 1, i, f"Client {i}",
                    Msg("nudge.problem_waiting.reason", {"client": f"Client {i}", "problem": "login", "days": 2}),
                    Msg("nudge.problem_waiting.next", {"client": f"Client {i}"}), f"problem:{i}", stake=80 - i)
              for i in range(8)]
    named: dict[str, tuple[Reply, str]] = {
        "buttons": (Reply.of("Pick one", choices=tuple(Choice(f"v{i}", f"Option {i}") for i in range(3))), "en"),
        "many choices": (Reply.of("Pick a client", choices=tuple(Choice(f"client:{i}", f"Client [{i}] *bold* " + "z" * 90)
                                                                 for i in range(250))), "en"),
        "digest": (digest(rep, nudges), "en"),
        "markdown in user text": (Reply.of("Note: **not bold** [no link](http://x.example) # _x_ > y | z"), "en"),
    }
    named["team health with its chart"] = (Reply.of("Team health: East", "Reps:", chart=team_chart(3)), "en")
    named["チームの健康とグラフ"] = (Reply.of("チームの健康", choices=(Choice("a", "A"),), chart=team_chart(10)), "ja")
    en, ja = replies_of_script(coach, LOG_EN), replies_of_script(coach, LOG_JA)
    passbook = next(r for r in ja if any(isinstance(line, Msg) and line.key == "ledger.header" for line in r.lines))
    named["Japanese passbook"] = (passbook, "ja")
    named.update({f"LOG_EN reply {i}": (r, "en") for i, r in enumerate(en, 1)})
    named.update({f"LOG_JA reply {i}": (r, "ja") for i, r in enumerate(ja, 1)})
    documents = {name: cards.card(reply, catalog, locale) for name, (reply, locale) in named.items()}

    results = dict(zip(documents, validate(node_tools, list(documents.values()))))

    assert {name: r["problems"] for name, r in results.items() if r["problems"]} == {}
    assert {r["version"] for r in results.values()} == {"1.5"}
    assert len(documents["many choices"]["body"][1]["choices"]) == 100
    digest_card = documents["digest"]
    assert [b["type"] for b in digest_card["body"]].count("ActionSet") == 6  # each item's own buttons, then "useful"
    assert "信用通帳:田中商事" in documents["Japanese passbook"]["body"][0]["text"]
    for name in ("team health with its chart", "チームの健康とグラフ"):
        image = results[name]["roundTrip"]["body"][-1]  # the image survives parsing, data URI and all
        assert image["type"] == "Image" and image["url"].startswith("data:image/png;base64,"), name
        assert image["url"] == documents[name]["body"][-1]["url"] and image["altText"], name
    # Parsing keeps every element and action: nothing was dropped as unknown.
    for name, document in documents.items():
        round_trip = results[name]["roundTrip"]
        assert len(round_trip.get("body", [])) == len(document["body"]), name
        assert len(round_trip.get("actions", [])) == len(document.get("actions", [])), name


def test_a_chart_is_an_image_after_the_lines_in_the_card():
    import base64

    catalog = Catalog()
    chart = team_chart(3)
    for locale, lang in (("en-GB", "en"), ("ja-JP", "ja")):
        card = cards.card(Reply.of("Team health: East", "Reps:", choices=(Choice("x", "X"),), chart=chart),
                          catalog, locale)
        assert [b["type"] for b in card["body"]] == ["TextBlock", "TextBlock", "Image"]
        image = card["body"][-1]
        prefix = "data:image/png;base64,"
        assert image["url"].startswith(prefix)
        png = base64.b64decode(image["url"].removeprefix(prefix), validate=True)
        assert png.startswith(PNG_MAGIC) and png_info(png)[1]["Title"] == catalog.render(chart.title, lang)
        assert image["altText"] == catalog.render(Msg("chart.alt"), lang)
        assert [a["type"] for a in card["actions"]] == ["Action.Submit"]
    assert "Image" not in json.dumps(cards.card(Reply.of("no chart"), catalog, "en"))


def sent_size(activity) -> int:
    """The activity's size as the SDK sends it (aiohttp's json.dumps: non-ASCII as \\uXXXX)."""
    return len(json.dumps(activity.model_dump(mode="json", by_alias=True, exclude_unset=True)))


def test_a_message_with_a_chart_stays_within_teams_size_limit(database_url):
    """About 28 KB for a whole bot message: the chart takes the room the text leaves (drawn
    smaller if need be), the summary is only the first line, and with no room left it is left out."""
    from bot.teams.app import reply_activity

    coach = make_coach(database_url)
    line = "佐藤 花子:担当顧客の訪問率 75%、ギブ 8 / 依頼 3、約束の期限内達成 80%、信用残高 +42"
    for count in (0, 20, 80):
        reply = Reply.of("チームの健康:East", *[line] * count, chart=team_chart(10))
        activity = reply_activity(reply, coach, "ja")
        assert activity.summary == "チームの健康:East"
        assert sent_size(activity) <= cards.TEAMS_MESSAGE_MAX - cards.ENVELOPE_BYTES, count
        has_image = activity.attachments[0].content["body"][-1]["type"] == "Image"
        assert has_image == (count <= 20), count  # 80 such lines leave no room for a legible chart


def test_the_validator_reports_what_teams_would_not_render(node_tools):
    """The check above can fail: it reports unknown elements and actions."""
    bad = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "x"}, {"type": "Carousel2"}],
           "actions": [{"type": "Action.Teleport", "title": "Go"}]}
    [result] = validate(node_tools, [bad])
    assert any(p.startswith("UnknownElementType") for p in result["problems"])
    assert any(p.startswith("UnknownActionType") for p in result["problems"])


@pytest.mark.parametrize("body", [{}, {"type": "message"}, {"type": 5, "conversation": "x"}])
def test_json_that_is_not_an_activity_gets_400_and_changes_nothing(database_url, connector, body):
    server = CoachServer(database_url)
    server.seed()
    with server.running():
        status, answer = http("POST", server.messages_url, body)
    assert status == 400, answer
    assert connector.calls == []
    assert stored(server) == (None, None)


def test_an_activity_the_sdk_would_fail_on_gets_400_and_changes_nothing(database_url, connector):
    """Each of these was a 500: the SDK raises a TypeError on an empty channelId and a bare Exception
    on a sub-channel its productInfo entity contradicts, and fails on a serviceUrl it cannot post to
    before the turn starts."""
    changes = {"no serviceUrl": {"serviceUrl": None}, "serviceUrl not a URL": {"serviceUrl": "not a url"},
               "serviceUrl not HTTP": {"serviceUrl": "ftp://127.0.0.1/"}, "empty channelId": {"channelId": ""},
               "sub-channel unlike its productInfo": {"channelId": "msteams:copilot",
                                                      "entities": [{"type": "ProductInfo", "id": "outlook"}]},
               "install, no serviceUrl": {"type": "installationUpdate", "action": "add", "serviceUrl": None}}
    server = CoachServer(database_url)
    server.seed()
    with server.running():
        answers = {name: http("POST", server.messages_url, {key: value for key, value in {
            **activity(connector.url), **change}.items() if value is not None})[0] for name, change in changes.items()}
    assert answers == {name: 400 for name in changes}
    assert connector.calls == [] and stored(server) == (None, None)


def test_a_turn_whose_connector_cannot_be_reached_is_still_answered(database_url, caplog):
    """The reply cannot be posted, nor the apology for that: both are logged, and Teams gets its 202
    (a 500 here used to come from the turn-error handler's own failed post)."""
    server = CoachServer(database_url)
    server.seed()
    nowhere = "http://127.0.0.1:9/"  # nothing listens on the discard port
    with server.running():
        answers = [http("POST", server.messages_url, activity(nowhere, "help"))[0],
                   http("POST", server.messages_url, activity(nowhere, type="installationUpdate", action="add"))[0]]
    assert answers == [202, 202]
    assert [r.getMessage() for r in caplog.records if r.name == "bot.teams.app" and r.levelname == "WARNING"
            and "could not be reported" in r.getMessage()] == ["the failure could not be reported in Teams either: "
                                                               "ClientConnectorError"] * 2


def test_an_adaptive_card_execute_invoke_is_not_implemented_whatever_its_value(database_url, connector):
    """The coach's cards submit (Action.Submit); an Action.Execute invoke gets the Bot Framework's 501
    for an invoke an agent does not implement. (The SDK's own check answered 500 to a malformed value.)"""
    server = CoachServer(database_url)
    server.seed()
    values = [None, {}, {"action": 5}, {"action": {"type": "Action.Execute", "verb": "x"}}]
    with server.running():
        answers = [http("POST", server.messages_url, activity(connector.url, type="invoke", name="adaptiveCard/action",
                                                              value=value))[0] for value in values]
    assert answers == [501] * len(values)
    assert connector.calls == []


def test_a_manager_sets_the_team_channel_in_teams_and_the_channel_digest_arrives_there(database_url, connector):
    from datetime import date, datetime, timezone

    from bot.teams.app import TeamsEndpoint
    from bot.teams.notifier import TeamsNotifier
    from coaching.jobs import ScheduledJobs
    from coaching.schedule import Schedule
    from tests.support import MovableClock

    clock = MovableClock(datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc))  # Friday, London 10:00
    server = CoachServer(database_url, clock=clock)
    ids = server.seed("mia@acme.example")  # Mia manages East
    with server.coach.uow_factory() as uow:
        east = uow.teams.by_name(WORKSPACE, "East")
        uow.clients.add(WORKSPACE, "Acme", east.id, ids["alice"], date(2026, 9, 1))  # quiet since September
        uow.commit()
    channel = "19:east-sales@thread.tacv2"
    mention = activity(connector.url, "<at>Coach</at> teamhealth channel here",
                       conversation={"id": channel, "conversationType": "channel", "tenantId": TENANT},
                       entities=[{"type": "mention", "text": "<at>Coach</at>",
                                  "mentioned": {"id": f"28:{CLIENT_ID}", "name": "Coach"}}])
    with server.running():
        assert http("POST", server.messages_url, mention)[0] == 202
        [answer] = connector.wait_for(1)
        assert "East" in card_text(answer.body)
        notifier = TeamsNotifier(server.coach, TeamsEndpoint(server.coach, env=LOCAL))
        ScheduledJobs(server.coach.uow_factory, notifier, server.coach.rules, Schedule(), clock).run(
            WORKSPACE, clock(), jobs=["team"])
        posts = connector.wait_for(2)
    digest_post = posts[1]
    assert digest_post.path.startswith(f"/v3/conversations/{channel}/activities")
    assert "Team East" in card_text(digest_post.body) and "Gone quiet: 1" in card_text(digest_post.body)


def test_teamhealth_from_a_manager_arrives_with_its_chart(database_url, connector):
    """End to end (needs coaching/health.py to put a chart on the reply): the card the connector
    receives ends with the chart, and the whole message is within Teams' size."""
    import base64

    server = CoachServer(database_url)
    server.seed("mia@acme.example")  # Mia manages East
    with server.running():
        assert http("POST", server.messages_url, activity(connector.url, "teamhealth"))[0] == 202
        [post] = connector.wait_for(1, timeout=30)
    assert "Team health: East" in card_text(post.body)
    image = post.body["attachments"][0]["content"]["body"][-1]
    assert image["type"] == "Image" and image["altText"]
    png = base64.b64decode(image["url"].removeprefix("data:image/png;base64,"), validate=True)
    assert png.startswith(PNG_MAGIC) and png_info(png)[1]["Title"].startswith("East: credit and give:ask")
    assert len(json.dumps(post.body)) <= cards.TEAMS_MESSAGE_MAX
