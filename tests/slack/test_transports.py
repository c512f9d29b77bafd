"""Slack's two other ways in, for real: Socket Mode (a websocket from the coach to the fake's
``apps.connections.open`` URL, envelopes pushed and acks recorded) and OAuth installs into many
workspaces (the Add to Slack page, the redirect exchanging a code at ``oauth.v2.access``, then
requests answered with the installed workspace's own token)."""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.bootstrap import bootstrap
from bot.settings import Settings
from storage import db
from tests.slack.fake_api import FakeSlackApi
from tests.slack.harness import SECRET, USERS, SlackHarness, text_of
from tests.slack.signing import event_body, signed_headers, slash_command_body
from tests.support import MovableClock, seed_roster

WAIT = 10.0  # every wait below is bounded by this (seconds)


class TransportHarness(SlackHarness):
    """SlackHarness's server, requests and readers, with settings of the test's choosing."""

    def __init__(self, api: FakeSlackApi, settings: Settings, roster_workspace: str) -> None:
        db.upgrade(settings.url)
        self.api, self.settings = api, settings
        self.coach = bootstrap(settings, clock=MovableClock())
        seed_roster(self.coach, workspace=roster_workspace)
        for user, (email, locale) in USERS.items():
            api.add_user(user, email, locale=locale, tz="Europe/London")
        self._events = itertools.count(1)
        self.url = ""

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, Any]:
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=WAIT) as response:
                return response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), error.headers


def wait_until(condition, timeout: float = WAIT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def threads_settle(before: set[threading.Thread], timeout: float = WAIT) -> list[threading.Thread]:
    """Threads started since ``before`` that are still alive after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.05)


# --- Socket Mode -------------------------------------------------------------------------------

def slash_envelope(envelope_id: str, command: str, text: str, user: str, response_url: str) -> dict[str, Any]:
    payload = dict(urllib.parse.parse_qsl(slash_command_body(command, text, user, response_url=response_url,
                                                             trigger_id=f"trigger-{envelope_id}"),
                                          keep_blank_values=True))
    return {"envelope_id": envelope_id, "type": "slash_commands", "accepts_response_payload": True,
            "payload": payload}


def events_envelope(envelope_id: str, event: dict[str, Any]) -> dict[str, Any]:
    return {"envelope_id": envelope_id, "type": "events_api", "accepts_response_payload": False,
            "retry_attempt": 0, "retry_reason": "",
            "payload": json.loads(event_body(event, event_id=f"Ev{envelope_id}"))}


def acks_for(api: FakeSlackApi, envelope_id: str) -> list[dict[str, Any]]:
    return [call.params for call in api.calls_to("socket_ack") if call.params.get("envelope_id") == envelope_id]


def test_socket_mode_takes_commands_and_events_over_the_websocket(tmp_path: Path):
    before = set(threading.enumerate())
    with FakeSlackApi().started_in_thread() as api:
        settings = Settings(DATABASE_URL=f"sqlite:///{tmp_path / 'coach.db'}", COACH_WORKSPACE="acme",
                            SLACK_SIGNING_SECRET=SECRET, SLACK_BOT_TOKEN="xoxb-test", SLACK_APP_TOKEN="xapp-test",
                            SLACK_API_URL=f"{api.url}/api/")
        harness = TransportHarness(api, settings, roster_workspace="acme")
        with harness.running():
            api.wait_for_sync("socket_connect", timeout=WAIT)
            [opened] = api.calls_to("apps.connections.open")
            assert opened.token == "xapp-test"  # the app-level token, not the bot token

            api.socket_send_sync(slash_envelope("env-1", "/logmeeting", "", "UALICE", api.response_url("lm-1")))
            wait_until(lambda: acks_for(api, "env-1"), what="the slash command's ack")
            [post] = harness.posts_after(0, timeout=WAIT)
            assert post.params["channel"] == "DUALICE"
            assert post.token == "xoxb-test"
            assert "Which client did you meet?" in text_of(post)

            event = {"type": "message", "channel_type": "im", "channel": "DUALICE", "user": "UALICE",
                     "text": "Acme", "ts": f"{time.time():.6f}"}
            api.socket_send_sync(events_envelope("env-2", event))
            wait_until(lambda: acks_for(api, "env-2"), what="the event's ack")
            posts = harness.posts_after(1, timeout=WAIT)
            assert posts and all(p.params["channel"] == "DUALICE" for p in posts)
            assert "I don't have a client called “Acme” yet" in text_of(posts[0])
            # one connection, kept: no reconnects
            assert len(api.calls_to("socket_connect")) == 1
    leftover = threads_settle(before)
    assert not leftover, f"threads left running: {leftover}"


# --- OAuth ---------------------------------------------------------------------------------------

@pytest.fixture
def oauth(tmp_path: Path):
    with FakeSlackApi().started_in_thread() as api:
        settings = Settings(DATABASE_URL=f"sqlite:///{tmp_path / 'coach.db'}", COACH_WORKSPACE="unused",
                            SLACK_SIGNING_SECRET=SECRET, SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="shh",
                            SLACK_API_URL=f"{api.url}/api/", COACH_SECRET_KEYS=Fernet.generate_key().decode())
        assert settings.slack_bot_token is None and settings.slack_multi_workspace
        harness = TransportHarness(api, settings, roster_workspace="T9")
        with harness.running():
            yield harness


def install(harness: TransportHarness) -> tuple[int, str]:
    """A browser: open the Add to Slack page, follow the link (Slack approves), come back with a code."""
    status, page, headers = harness.get("/slack/install")
    assert status == 200, page
    links = [unescape(href) for href in re.findall(r'href="([^"]+)"', page)]
    [authorize] = [link for link in links if link.startswith("https://slack.com/oauth/v2/authorize")]
    assert "Add to Slack" in page
    query = urllib.parse.parse_qs(urllib.parse.urlparse(authorize).query)
    assert query["client_id"] == ["111.222"]
    assert "chat:write" in query["scope"][0].split(",")
    [state] = query["state"]
    cookies = [c.split(";", 1)[0] for c in headers.get_all("Set-Cookie") or []]
    assert any(c.endswith("=" + state) for c in cookies), cookies  # the state is bound to this browser
    status, body, _ = harness.get(f"/slack/oauth_redirect?code=abc&state={urllib.parse.quote(state)}",
                                  headers={"Cookie": "; ".join(cookies)})
    return status, body


def test_oauth_install_then_requests_are_answered_with_the_installed_token(oauth: TransportHarness):
    api = oauth.api
    status, body = install(oauth)
    assert status == 200, body
    assert "Thank you!" in body and "app.slack.com/client/T9" in body
    [exchange] = api.calls_to("oauth.v2.access")
    assert exchange.params["code"] == "abc"
    assert (exchange.params["client_id"], exchange.params["client_secret"]) == ("111.222", "shh")
    assert [c.token for c in api.calls_to("auth.test")] == ["xoxb-installed"]

    before = len(api.calls)
    body = slash_command_body("/logmeeting", "", "UALICE", team_id="T9", response_url=api.response_url("t9"),
                              trigger_id="trigger-t9")
    status, _ = oauth.post(body, signed_headers(SECRET, body))
    assert status == 200
    [post] = [c for c in api.wait_for_sync("chat.postMessage", timeout=WAIT)
              if c.params.get("channel") == "DUALICE"]
    assert post.token == "xoxb-installed"
    assert "Which client did you meet?" in text_of(post)
    with oauth.coach.uow_factory() as uow:
        assert uow.dialogs.get("T9", "DUALICE", "UALICE") is not None
        assert uow.dialogs.get("unused", "DUALICE", "UALICE") is None
    # every call the coach made for T9 carried T9's token
    later = api.calls[before:]
    assert {c.token for c in later if c.method in {"conversations.open", "chat.postMessage", "users.info"}} \
        == {"xoxb-installed"}


def test_a_team_that_never_installed_gets_nothing(oauth: TransportHarness):
    api = oauth.api
    assert install(oauth)[0] == 200
    body = slash_command_body("/logmeeting", "", "UALICE", team_id="TX", response_url=api.response_url("tx"),
                              trigger_id="trigger-tx")
    assert oauth.post(body, signed_headers(SECRET, body))[0] == 200  # Bolt acks, then refuses:
    [refusal] = api.wait_for_sync("response_url", timeout=WAIT)  # "please reinstall", to the user only
    assert refusal.path.endswith("/tx") and "install" in refusal.params["text"]
    # the same request from the installed team is answered: so silence for TX is a refusal, not a stall
    body = slash_command_body("/logmeeting", "", "UALICE", team_id="T9", response_url=api.response_url("t9"),
                              trigger_id="trigger-t9")
    assert oauth.post(body, signed_headers(SECRET, body))[0] == 200
    api.wait_for_sync("chat.postMessage", timeout=WAIT)
    time.sleep(0.5)  # give a wrongly accepted TX request time to show itself
    posts = api.calls_to("chat.postMessage")
    assert [(p.token, p.params["channel"]) for p in posts] == [("xoxb-installed", "DUALICE")]
    assert not [c for c in api.calls if c.token not in {None, "xoxb-installed"} and c.method != "oauth.v2.access"]
    with oauth.coach.uow_factory() as uow:
        assert uow.dialogs.get("TX", "DUALICE", "UALICE") is None
