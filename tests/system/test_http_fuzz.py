"""Whatever arrives over HTTP, the coach's endpoints answer 2xx or 4xx, never 5xx (but the Bot
Framework's 501 for an invoke the coach does not implement), and keep answering. The real server
(one per database, for the whole module): Slack's ``/slack/events`` behind the real Bolt app,
every request validly signed, Slack's Web API a local recording fake; Teams' ``/api/messages`` in
anonymous local mode, replies going to a local fake Bot Connector. Each run counts its cases and
ends with a normal request that must still be answered right."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from typing import Any, Iterator
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.slack.app import COMMANDS, SHORTCUT
from bot.slack.form import CALLBACK_ID
from bot.teams.app import ACTION_INVOKES
from tests.conftest import postgres_schema
from tests.slack.fake_api import FakeSlackApi
from tests.slack.harness import SECRET, SlackHarness, text_of
from tests.slack.signing import APP_ID, TEAM_ID
from tests.support import WORKSPACE
from tests.teams.connector import FakeConnector
from tests.teams.playground import CoachServer, card_text, http, serving
from tests.teams.test_endpoint import activity

WHO = ("user", "team")
BOB = "00000000-0000-0000-0000-00000000b0b0"
SLACK_EXAMPLES = 40  # per kind of request and database (Slack's listeners do more work per request)
TEAMS_EXAMPLES = 60
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database for the module's long-lived servers (the ``database_url`` fixture is per test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'coach.sqlite3'}"
        return
    with postgres_schema() as url:
        yield url


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with _opener.open(request, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        error.read()
        return error.code


# --- strategies shared by both platforms -----------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**64, 2**64), st.floats(allow_nan=False),
                    st.text(max_size=30))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                           max_leaves=12)
texts = st.one_of(st.text(max_size=60), st.builds("x".__mul__, st.just(5000)), st.sampled_from([
    "", "help", "cancel", "ledger Acme", "promises", "teamhealth", "home", "nudges", "capture Acme", "away", "back",
    "/logmeeting Acme call give: sent the report", "通帳 田中商事", "\x00", "\ud800", "<at>Coach</at> help"]))
ids = st.one_of(st.sampled_from(["UALICE", "UKEN", "UMIA", "UNOBODY", "", "U" * 300, "DUALICE", "C1", "T0TEST"]),
                st.text(max_size=12))


@st.composite
def fields(draw: st.DrawFn, keep: tuple[str, ...] = (), odds: int = 20, **template: Any) -> dict[str, Any]:
    """A dict like ``template`` (values may be strategies); one time in ``odds`` a few of its fields,
    none of ``keep``, are replaced by random JSON or left out. A request nests many such objects:
    most must come whole for most requests to get past validation to the coach."""
    value = {key: draw(v) if isinstance(v, st.SearchStrategy) else v for key, v in template.items()}
    changeable = sorted(set(template) - set(keep))
    changed = draw(st.sampled_from(range(odds))) == odds - 1 and changeable  # the simplest choice: whole
    count = draw(st.integers(1, min(3, len(changeable)))) if changed else 0
    for key in draw(st.permutations(changeable))[:count]:  # not the first fields in order, mostly
        replacement = draw(st.one_of(json_values, st.just(...)))
        if replacement is ...:
            del value[key]
        else:
            value[key] = replacement
    return value


# --- Slack -----------------------------------------------------------------------------------

def slack_signed(body: bytes, content_type: str | None) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}
    return headers | ({"Content-Type": content_type} if content_type else {})


def slack_strategies(response_url: str) -> dict[str, st.SearchStrategy[tuple[bytes, str | None]]]:
    """Each kind of request as (body, content type). A URL Slack would call back is always the fake's
    or garbage, never somewhere real."""
    urls = st.sampled_from([response_url, "", "not a url", "http://127.0.0.1:9/nothing-listens"])
    form_keys = st.text(max_size=12).filter(lambda k: "url" not in k)
    # Slack always names the user and the team of an interactive request: both are kept (and
    # test_slack_interactive_requests_without_user_or_team_get_no_server_error covers their absence)
    team = fields(keep=("id",), id=st.sampled_from([TEAM_ID, "T9", ""]), domain="acme")
    user = fields(keep=("id",), id=ids, name="alice", team_id=TEAM_ID)
    command = st.fixed_dictionaries({
        "command": st.one_of(st.sampled_from([*COMMANDS, "/unknown", ""]), st.text(max_size=12)),
        "text": texts, "user_id": ids, "team_id": st.one_of(st.just(TEAM_ID), st.text(max_size=8)),
        "channel_id": ids, "trigger_id": st.text(max_size=20), "response_url": urls,
    }, optional={"api_app_id": st.just(APP_ID), "channel_name": st.text(max_size=10)})
    forms = st.one_of(
        st.tuples(command, st.dictionaries(form_keys, st.text(max_size=20), max_size=3)).map(lambda p: p[0] | p[1]),
        st.dictionaries(form_keys, st.text(max_size=40), max_size=6),
        st.builds(lambda v: {"payload": json.dumps(v)}, json_values),
        st.builds(lambda s: {"payload": s}, st.text(max_size=40)),  # a payload that is not JSON at all
    ).map(lambda form: urlencode(form, errors="surrogatepass"))  # a lone surrogate: bytes that are not UTF-8
    event = fields(type=st.sampled_from(["message", "app_home_opened", "app_mention", "member_joined_channel",
                                         "reaction_added"]),
                   user=ids, channel=ids, text=texts, ts=st.sampled_from(["1732345678.000200", "nan", "1e400", ""]),
                   channel_type=st.sampled_from(["im", "channel", "group", "mpim"]),
                   tab=st.sampled_from(["home", "messages"]),
                   subtype=st.sampled_from(["bot_message", "message_changed", None]), bot_id=st.none())
    callback = fields(odds=4, token="verification-token", team_id=st.sampled_from([TEAM_ID, "T9"]), api_app_id=APP_ID,
                      type="event_callback", event=event, event_id=st.text(min_size=1, max_size=12),
                      event_time=st.integers(0, 2**40),
                      authorizations=st.just([{"team_id": TEAM_ID, "user_id": "UBOT", "is_bot": True}]))
    events = st.one_of(
        callback,
        fields(type="url_verification", challenge=json_values, token="verification-token"),
        fields(type="ssl_check", ssl_check="1"),
        st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    ).map(json.dumps)
    action = fields(action_id=st.one_of(st.sampled_from(["choice:0", "choice:new", "client_search", "open_form"]),
                                        st.text(max_size=10)),
                    block_id="b1", type=st.sampled_from(["button", "static_select", "external_select"]),
                    value=st.one_of(texts, st.sampled_from(["new:Acme", "client:1", "purpose:1:give", "kept:1"])),
                    selected_option=fields(value=texts, text=fields(type="plain_text", text="x")))
    container = fields(type=st.sampled_from(["message", "view"]), message_ts="1.0", channel_id=ids,
                       is_ephemeral=st.booleans(), view_id="V1")
    view = fields(id=st.text(max_size=8), type=st.sampled_from(["modal", "home"]),
                  callback_id=st.sampled_from([CALLBACK_ID, "other"]), private_metadata=st.one_of(ids, texts),
                  state=fields(values=st.dictionaries(
                      st.one_of(st.sampled_from(["client", "kind", "purpose", "date", "note", "promise", "due"]),
                                st.text(max_size=6)),
                      st.dictionaries(st.text(max_size=6), json_values, max_size=2), max_size=5)))
    interactive = st.one_of(
        fields(keep=WHO, odds=4, type="block_actions", user=user, team=team, api_app_id=APP_ID, trigger_id="t",
               actions=st.lists(action, max_size=2), container=container, channel=fields(id=ids),
               response_url=urls, view=view),
        fields(keep=WHO, odds=4, type="view_submission", user=user, team=team, api_app_id=APP_ID, trigger_id="t",
               view=view),
        fields(keep=WHO, odds=4, type="block_suggestion", user=user, team=team, api_app_id=APP_ID,
               action_id=st.sampled_from(["client_search", "other"]), block_id="b1", value=texts, view=view),
        fields(keep=WHO, odds=4, type="message_action", callback_id=st.sampled_from([SHORTCUT, "other"]), user=user,
               team=team, trigger_id="t", message_ts=st.sampled_from(["1732345678.000200", "x"]),
               channel=fields(id=ids),
               message=fields(type="message", text=texts, ts="1732345678.000200",
                              attachments=st.lists(fields(text=texts, fallback=texts), max_size=2)),
               response_url=urls),
        fields(keep=WHO, odds=4, type="shortcut", callback_id=st.sampled_from([SHORTCUT, "other"]), user=user,
               team=team, trigger_id="t"),
    ).map(lambda payload: urlencode({"payload": json.dumps(payload)}))
    content_types = st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain",
                                     "application/octet-stream", None])
    return {
        "form bodies": st.tuples(forms.map(str.encode), st.just("application/x-www-form-urlencoded")),
        "JSON events": st.tuples(events.map(str.encode), st.just("application/json")),
        "interactive payloads": st.tuples(interactive.map(str.encode), st.just("application/x-www-form-urlencoded")),
        "raw bytes": st.tuples(st.binary(max_size=300), content_types),
    }


@pytest.fixture(scope="module")
def slack(database: str) -> Iterator[SlackHarness]:
    with FakeSlackApi().started_in_thread() as api:
        with SlackHarness(database, api).running() as harness:
            yield harness


def test_slack_endpoint_answers_any_signed_request_without_a_server_error(slack: SlackHarness):
    url = slack.url + "/slack/events"
    ran: Counter[str] = Counter()
    for kind, requests in slack_strategies(slack.api.response_url("fuzz")).items():
        @settings(deadline=None, max_examples=SLACK_EXAMPLES, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(requests)
        def request_answered(request: tuple[bytes, str | None]) -> None:
            body, content_type = request
            status = post(url, body, slack_signed(body, content_type))
            ran[kind] += 1
            assert status < 500, (status, body, content_type)

        request_answered()
    assert len(ran) == 4 and min(ran.values()) >= SLACK_EXAMPLES, ran
    print(f"\n/slack/events: {sum(ran.values())} signed requests, none answered 5xx: {dict(ran)}")
    # Still answering, and right: a signed command gets its answer at its response_url. (Bob: the
    # fuzzing may have left the others halfway through logging a touch.)
    name = f"final-{uuid.uuid4().hex}"
    body = urlencode({"command": "/coach", "text": "help", "user_id": "UBOB", "team_id": TEAM_ID,
                      "channel_id": "DUALICE", "trigger_id": name, "response_url": slack.api.response_url(name),
                      "api_app_id": APP_ID})
    assert slack.post(body)[0] == 200
    deadline = time.monotonic() + 30
    while not (answers := [c for c in slack.api.calls_to("response_url") if c.path.endswith(name)]):
        assert time.monotonic() < deadline, "no answer to a normal /coach help after the fuzzing"
        time.sleep(0.1)
    assert "Here's what I can do" in text_of(answers[0])


def _payload(**payload: Any) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


@pytest.mark.parametrize("body, content_type", [
    (b"payload=", "application/x-www-form-urlencoded"),
    (b"payload=%5B1%5D", "application/x-www-form-urlencoded"),
    (b"\xff\xfe{", "application/json"),
    (b"[1, 2]", "application/json"),
    (b'{"type": "event_callback", "event": []}', "application/json"),
    (b'{"type": "event_callback", "event": {"type": "message"}, "authorizations": [5]}', "application/json"),
    (_payload(type="block_actions", user={"id": "UALICE"}, team={"id": TEAM_ID}, actions=[]), None),
    (_payload(type="block_actions", user={"id": "UALICE"}, team={"id": TEAM_ID}, actions=[{"action_id": 5}]), None),
    (_payload(type="view_submission", user={"id": "UALICE"}, team={"id": TEAM_ID}, view=None), None),
    (_payload(type="view_submission", user={"id": "UALICE"}, team={"id": TEAM_ID}, view={"callback_id": "x"}), None),
    (_payload(type="block_suggestion", user={"id": "UALICE"}, team={"id": TEAM_ID}, action_id={}), None),
    (_payload(type="shortcut", user={"id": "UALICE"}, team=5, callback_id="x"), None),
], ids=["empty payload", "payload not an object", "not UTF-8", "JSON list", "event a list",
        "authorization not an object", "no actions", "action id a number", "view null", "view without type",
        "action id an object", "team a number"])
def test_a_signed_slack_request_of_the_wrong_shape_gets_400(slack: SlackHarness, body: bytes, content_type: str | None):
    """Each was a 500 from Bolt (it reads into these before any listener runs); the fuzzing finds them too."""
    content_type = content_type or "application/x-www-form-urlencoded"
    assert post(slack.url + "/slack/events", body, slack_signed(body, content_type)) == 400


def test_slack_interactive_requests_without_user_or_team_get_no_server_error(slack: SlackHarness):
    suggestion = _payload(type="block_suggestion", team={"id": TEAM_ID}, api_app_id=APP_ID, action_id="client_search",
                          block_id="b1", value="Ac")
    submission = _payload(type="view_submission", user={"id": "UALICE"}, api_app_id=APP_ID, trigger_id="t",
                          view={"id": "V1", "type": "modal", "callback_id": CALLBACK_ID, "state": {"values": {}}})
    answers = {name: post(slack.url + "/slack/events", body, slack_signed(body, "application/x-www-form-urlencoded"))
               for name, body in (("options without a user", suggestion), ("a form without a team", submission))}
    assert all(status < 500 for status in answers.values()), answers


# --- Teams -----------------------------------------------------------------------------------

def teams_strategies(service_url: str) -> dict[str, st.SearchStrategy[tuple[bytes, str | None]]]:
    """Replies go to the fake connector, or to a loopback port where nothing listens, never elsewhere."""
    service_urls = st.sampled_from([service_url, service_url + "/", "http://127.0.0.1:9/", "not a url"])
    account = fields(id=st.one_of(st.sampled_from(["29:1alice", "user-id-0"]), st.text(min_size=1, max_size=10)),
                     name="Alice", aadObjectId=st.sampled_from(["00000000-0000-0000-0000-0000000000020", "x"]))
    conversation = fields(id=st.one_of(st.sampled_from(["a:1personal-chat-with-alice", "19:c@thread.tacv2;messageid=1",
                                                        "a/b?c#d"]), st.text(min_size=1, max_size=20)),
                          conversationType=st.sampled_from(["personal", "channel", "groupChat", "other"]),
                          tenantId="00000000-0000-0000-0000-0000000000001")
    value = st.one_of(json_values, fields(choice=texts), fields(
        commandId=st.sampled_from(["logMessageTouch", "other"]),
        messagePayload=fields(body=fields(content=texts, contentType=st.sampled_from(["html", "text"])),
                              subject=texts, createdDateTime=st.sampled_from(["2026-11-20T09:00:00Z", "yesterday"]))))
    entities = st.lists(st.one_of(
        fields(type="clientInfo", locale="en-GB", timezone=st.sampled_from(["Europe/London", "Mars/Olympus", ""])),
        fields(type="mention", text="<at>Coach</at>", mentioned=account),
        fields(type="ProductInfo", id=st.sampled_from(["copilot", "outlook"]))), max_size=3)
    activities = fields(
        odds=4, type=st.one_of(st.sampled_from(["message", "invoke", "conversationUpdate", "installationUpdate",
                                                "messageReaction", "event", "typing", "endOfConversation"]),
                               st.text(min_size=1, max_size=8)),
        id=st.text(min_size=1, max_size=12), timestamp=st.sampled_from(["2026-11-20T09:00:00.000Z", "2026-11-20"]),
        channelId=st.sampled_from(["msteams", "msteams:copilot", "webchat"]), serviceUrl=service_urls, locale=st.sampled_from(["en-GB", "ja-JP", "xx"]),
        text=texts, textFormat="plain", value=value, name=st.one_of(st.sampled_from([
            "composeExtension/fetchTask", "composeExtension/submitAction", "adaptiveCard/action", "signin/verifyState",
            "task/fetch"]), st.text(min_size=1, max_size=10)),
        action=st.sampled_from(["add", "remove"]), deliveryMode=st.sampled_from(["normal", "expectReplies", "bogus"]),
        membersAdded=st.lists(account, max_size=2), **{"from": account}, recipient=fields(id="28:coach", name="Coach"),
        conversation=conversation, channelData=st.one_of(json_values, fields(tenant=fields(id="t"))),
        entities=entities,
    )
    content_types = st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain",
                                     "application/x-www-form-urlencoded", "application/octet-stream", None])
    return {
        "activities": st.tuples(activities.map(lambda a: json.dumps(a).encode()), st.just("application/json")),
        "any JSON": st.tuples(json_values.map(lambda v: json.dumps(v).encode()), st.just("application/json")),
        "bodies and content types": st.tuples(st.one_of(st.binary(max_size=300),
                                                        activities.map(lambda a: json.dumps(a).encode())),
                                              content_types),
    }


def unhandled_invoke(body: bytes) -> bool:
    """An invoke the coach does not implement: 501 is the Bot Framework's answer to that, not a failure."""
    activity = json.loads(body)
    return activity.get("type") == "invoke" and activity.get("name") not in ACTION_INVOKES


@pytest.fixture(scope="module")
def teams(database: str) -> Iterator[tuple[CoachServer, FakeConnector]]:
    connector = FakeConnector()
    with serving(connector.app()) as url:
        connector.url = url
        server = CoachServer(database)
        ids = server.seed()
        with server.coach.uow_factory() as uow:  # Bob, whom the fuzzing never plays
            uow.people.link_platform(WORKSPACE, ids["bob"], "teams", BOB)
            uow.commit()
        with server.running():
            yield server, connector


def test_teams_endpoint_answers_any_request_without_a_server_error(teams: tuple[CoachServer, FakeConnector]):
    server, connector = teams
    ran: Counter[str] = Counter()
    for kind, requests in teams_strategies(connector.url).items():
        @settings(deadline=None, max_examples=TEAMS_EXAMPLES, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(requests)
        def request_answered(request: tuple[bytes, str | None]) -> None:
            body, content_type = request
            status = post(server.messages_url, body, {"Content-Type": content_type} if content_type else {})
            ran[kind] += 1
            assert status < 500 or (status == 501 and unhandled_invoke(body)), (status, body, content_type)

        request_answered()
    assert len(ran) == 3 and min(ran.values()) >= TEAMS_EXAMPLES, ran
    print(f"\n/api/messages: {sum(ran.values())} requests, none answered 5xx: {dict(ran)}")
    # Still answering, and right: the replies to a normal message come back in the response.
    normal = activity(connector.url, "help", deliveryMode="expectReplies",
                      **{"from": {"id": "29:1bob", "name": "Bob Brown", "aadObjectId": BOB}})
    status, body = http("POST", server.messages_url, normal, timeout=30)
    assert status == 200
    assert "Here's what I can do" in "\n".join(card_text(r) for r in body["activities"])


@pytest.mark.parametrize("timestamp, signature", [
    ("9" * 5000, "v0=" + "0" * 64),  # too many digits for int()
    (str(int(time.time())), "v0=\u00e9" + "0" * 63),  # not ASCII: hmac refuses to compare it
    (str(int(time.time())), ""),
    ("-1", "v0=" + "0" * 64),
], ids=["huge timestamp", "non-ASCII signature", "empty signature", "negative timestamp"])
def test_odd_signature_headers_get_401_not_500(slack: SlackHarness, timestamp: str, signature: str):
    headers = {"X-Slack-Request-Timestamp": timestamp, "Content-Type": "application/json"}
    body = b'{"type": "event_callback", "event": {"type": "message"}}'
    # urllib sends header values as Latin-1: the non-ASCII byte arrives as it would from anyone
    assert post(slack.url + "/slack/events", body, {**headers, "X-Slack-Signature": signature}) == 401
    assert post(slack.url + "/slack/events", b"\xff\xfe not utf-8", {**headers, "X-Slack-Signature": signature}) == 401
