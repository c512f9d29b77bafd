"""The test doubles themselves: FakeSlackApi answers real slack_sdk clients (async and sync)
as Slack would, and signing.py's requests verify and dispatch in a real Bolt app."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import parse_qs

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient

from tests.slack import signing
from tests.slack.fake_api import FakeSlackApi

TOKEN = "xoxb-test-token"
SECRET = "test-signing-secret"
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}]


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture
def api():
    with FakeSlackApi().started_in_thread() as fake:
        yield fake


def sync_client(api: FakeSlackApi, **kwargs) -> WebClient:
    return WebClient(token=TOKEN, base_url=f"{api.url}/api/", **kwargs)


def async_client(api: FakeSlackApi, **kwargs) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=f"{api.url}/api/", **kwargs)


# ---- async client, fake in the test's own loop ------------------------------------------------

def test_async_auth_test_and_post_message_are_answered_and_recorded():
    async def scenario():
        async with FakeSlackApi() as api:
            client = async_client(api)
            auth = await client.auth_test()
            first = await client.chat_postMessage(channel="D1", text="hi", blocks=BLOCKS)
            second = await client.chat_postMessage(channel="D1", text="again")
            return api, auth, first, second

    api, auth, first, second = run(scenario())
    assert (auth["team_id"], auth["user_id"], auth["bot_id"]) == ("T0TEST", "UBOT", "BBOT")
    assert first["channel"] == "D1" and first["ts"] == "1700000000.000100"
    assert float(second["ts"]) > float(first["ts"])
    [posted, _] = api.calls_to("chat.postMessage")
    assert posted.params["blocks"] == BLOCKS and posted.params["text"] == "hi"
    assert posted.token == TOKEN
    assert [call.method for call in api.calls] == ["auth.test", "chat.postMessage", "chat.postMessage"]


def test_async_users_info_known_and_unknown():
    async def scenario():
        async with FakeSlackApi() as api:
            api.add_user("U1", "rep@example.com", tz="Asia/Tokyo", real_name="Sato")
            client = async_client(api)
            known = await client.users_info(user="U1")
            by_email = await client.users_lookupByEmail(email="rep@example.com")
            with pytest.raises(SlackApiError) as missing:
                await client.users_info(user="U404")
            return known, by_email, missing.value.response

    known, by_email, missing = run(scenario())
    assert known["user"]["profile"]["email"] == "rep@example.com"
    assert known["user"]["tz"] == "Asia/Tokyo" and known["user"]["locale"] == "ja-JP"
    assert by_email["user"]["id"] == "U1"
    assert missing["error"] == "user_not_found"


def test_async_files_upload_v2_end_to_end():
    async def scenario():
        async with FakeSlackApi() as api:
            result = await async_client(api).files_upload_v2(
                channel="C1", content=b"\x89PNG chart", filename="health.png", title="Team health")
            return api, result

    api, result = run(scenario())
    [complete] = api.calls_to("files.completeUploadExternal")
    file_id = complete.params["files"][0]["id"]  # decoded from the JSON string in the form
    assert api.uploads[file_id] == b"\x89PNG chart"
    assert complete.params["channel_id"] == "C1"
    assert result["file"]["id"] == file_id and result["file"]["title"] == "Team health"


def test_async_rate_limit_is_retried_after_retry_after():
    async def scenario():
        async with FakeSlackApi() as api:
            api.fail_next("chat.postMessage", status=429, retry_after=1)
            client = async_client(api, retry_handlers=[AsyncRateLimitErrorRetryHandler(1)])
            started = time.monotonic()
            response = await client.chat_postMessage(channel="C1", text="hi")
            return api, response, time.monotonic() - started

    api, response, elapsed = run(scenario())
    assert response["ok"] is True
    assert len(api.calls_to("chat.postMessage")) == 2
    assert elapsed >= 1.0


def test_async_wait_for_waits_and_times_out():
    async def scenario():
        async with FakeSlackApi() as api:
            client = async_client(api)
            task = asyncio.create_task(client.chat_postMessage(channel="C1", text="later"))
            [call] = await api.wait_for("chat.postMessage")
            await task
            with pytest.raises(AssertionError, match="expected 2 call"):
                await api.wait_for("chat.postMessage", count=2, timeout=0.1)
            return call

    assert run(scenario()).params["text"] == "later"


# ---- sync client, fake in a background thread ------------------------------------------------

def test_sync_client_posts_form_encoded_blocks_and_they_are_decoded(api):
    client = sync_client(api)
    assert client.auth_test()["team"] == "Test Team"
    client.api_call("chat.postMessage", params={"channel": "C1", "blocks": json.dumps(BLOCKS)})
    client.chat_postEphemeral(channel="C1", user="U1", text="only you", blocks=BLOCKS)
    [form_call] = api.wait_for_sync("chat.postMessage")
    assert form_call.params["blocks"] == BLOCKS
    assert api.calls_to("chat.postEphemeral")[0].params["blocks"] == BLOCKS


def test_sync_dm_open_views_and_other_methods(api):
    client = sync_client(api)
    assert client.conversations_open(users="U1")["channel"]["id"] == "DU1"
    view = {"type": "home", "blocks": BLOCKS}
    published = client.views_publish(user_id="U1", view=view)
    assert published["view"]["id"] and published["view"]["blocks"] == BLOCKS
    assert client.views_update(view_id="V9", view=view)["view"]["id"] == "V9"
    assert client.chat_update(channel="C1", ts="1.2", text="x")["ts"] == "1.2"
    assert client.reactions_add(channel="C1", timestamp="1.2", name="+1")["ok"] is True
    assert api.calls_to("views.publish")[0].params["view"] == view


def test_sync_files_upload_v2_end_to_end(api):
    result = sync_client(api).files_upload_v2(channel="C1", content=b"chart", filename="c.png")
    assert result["file"]["id"] in api.uploads
    assert [c.method for c in api.calls] == [
        "files.getUploadURLExternal", "upload", "files.completeUploadExternal"]


def test_sync_rate_limit_is_retried_and_both_attempts_recorded(api):
    api.fail_next("chat.postMessage", status=429, retry_after=1)
    client = sync_client(api, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    assert client.chat_postMessage(channel="C1", text="hi")["ok"] is True
    assert len(api.calls_to("chat.postMessage")) == 2


def test_sync_rate_limit_without_retry_handler_surfaces_retry_after(api):
    api.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as error:
        sync_client(api).chat_postMessage(channel="C1", text="hi")
    assert error.value.response.status_code == 429
    assert error.value.response.headers["Retry-After"] == "7"
    assert error.value.response["error"] == "ratelimited"


def test_sync_server_errors_for_n_calls_then_success(api):
    api.fail_next("auth.test", status=500, times=2)
    client = sync_client(api)
    for _ in range(2):
        with pytest.raises(SlackApiError) as error:
            client.auth_test()
        assert error.value.response.status_code == 500
    assert client.auth_test()["ok"] is True


def test_response_url_posts_are_recorded(api):
    WebhookClient(api.response_url("cmd-1")).send(text="done", response_type="ephemeral")
    [call] = api.wait_for_sync("response_url")
    assert call.params == {"text": "done", "response_type": "ephemeral"}
    assert call.path == "/response/cmd-1"


def test_wait_for_sync_times_out_with_what_was_seen(api):
    sync_client(api).auth_test()
    with pytest.raises(AssertionError, match=r"all calls: \['auth.test'\]"):
        api.wait_for_sync("chat.postMessage", timeout=0.1)


# ---- signing ---------------------------------------------------------------------------------

def test_signed_headers_verify_with_slack_sdk():
    body = signing.slash_command_body("/ledger", "Acme", "U1")
    headers = signing.signed_headers(SECRET, body)
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("other-secret").is_valid_request(body, headers)
    assert not SignatureVerifier(SECRET).is_valid_request(body + "x", headers)
    stale = signing.signed_headers(SECRET, body, timestamp=int(time.time()) - 6 * 60)
    assert not SignatureVerifier(SECRET).is_valid_request(body, stale)


def test_signature_matches_slacks_documented_example():
    # From Slack's "Verifying requests from Slack" guide.
    body = ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
            "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook"
            "-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F3977"
            "00885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d1"
            "0d2c447fce8b6703c")
    assert signing.signature("8f742231b10e8888abcd99yyyzzz85a5", body, 1531420618) == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")


def test_bodies_have_slacks_content_types():
    assert signing.signed_headers(SECRET, signing.event_body({"type": "x"}))["Content-Type"] == "application/json"
    form = signing.block_suggestion_body("U1", "client", "Ac")
    assert signing.signed_headers(SECRET, form)["Content-Type"] == "application/x-www-form-urlencoded"
    assert json.loads(parse_qs(form)["payload"][0])["value"] == "Ac"


def test_signed_bodies_dispatch_to_bolt_listeners(api):
    app = App(client=sync_client(api), signing_secret=SECRET, token_verification_enabled=False,
              process_before_response=True)
    seen: dict[str, object] = {}

    @app.command("/ledger")
    def ledger(ack, command, respond):
        ack()
        respond(f"ledger for {command['text']}")
        seen["command"] = (command["user_id"], command["text"])

    @app.event("message")
    def message(event):
        seen["message"] = (event["user"], event["text"])

    @app.action("done")
    def done(ack, body, action):
        ack()
        seen["action"] = (body["user"]["id"], action["value"], body["container"]["channel_id"])

    @app.view("log_meeting")
    def submitted(ack, view):
        ack()
        seen["view"] = view["state"]["values"]["client"]["client_select"]["value"]

    @app.options("client_select")
    def options(ack, payload):
        ack(options=[{"text": {"type": "plain_text", "text": "Acme"}, "value": "acme"}])
        seen["options"] = payload["value"]

    bodies = [
        signing.slash_command_body("/ledger", "Acme", "U1", response_url=api.response_url()),
        signing.event_body({"type": "message", "channel_type": "im", "channel": "DU1",
                            "user": "U1", "text": "3", "ts": "1.1"}),
        signing.block_actions_body("U1", [{"type": "button", "action_id": "done",
                                           "value": "p1"}], "DU1", "1.1"),
        signing.view_submission_body("U1", "log_meeting", {
            "client": {"client_select": {"type": "plain_text_input", "value": "Acme"}}}),
        signing.block_suggestion_body("U1", "client_select", "Ac"),
    ]
    statuses = [app.dispatch(BoltRequest(body=body, headers=signing.signed_headers(SECRET, body))).status
                for body in bodies]
    forged = bodies[0]
    rejected = app.dispatch(BoltRequest(body=forged, headers=signing.signed_headers("x", forged)))

    assert statuses == [200] * 5 and rejected.status == 401
    assert seen == {"command": ("U1", "Acme"), "message": ("U1", "3"),
                    "action": ("U1", "p1", "DU1"), "view": "Acme", "options": "Ac"}
    assert api.wait_for_sync("response_url")[0].params["text"] == "ledger for Acme"
