"""Every answer about a rep's clients reaches the rep alone: their DM with the coach, or a message
only they see (a slash command's ephemeral answer), whatever the entry point and whichever channel
they acted in. A shared (Slack Connect) channel holds the client's own people: a balance, a tip or
a trust level posted there is read by the client.

From the outside: signed requests into the coach's real server, Slack's Web API played by the
recording fake, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from html import unescape
from typing import Any, Callable

import pytest
from cryptography.fernet import Fernet

from bot.bootstrap import bootstrap
from bot.settings import Settings
from storage import db
from tests.slack.fake_api import Call, FakeSlackApi
from tests.slack.harness import SECRET, USERS, SlackHarness, text_of
from tests.slack.signing import (
    block_actions_body,
    event_body,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from tests.support import MovableClock, client_state, seed_roster

DM = "DUALICE"  # Alice's DM with the coach (the fake's conversations.open answers D<user>)
WAIT = 10.0
# Where a rep may type /coach or click: a public channel, a shared (Slack Connect) channel, whose
# ids start with C as well, and a private channel with a legacy G id
CHANNELS = {"public": "C0PUBLIC", "slack-connect": "C0SHARED", "private": "G0PRIVATE"}


@pytest.fixture
def slack(database_url):
    with FakeSlackApi().started_in_thread() as api:
        with SlackHarness(database_url, api).running() as harness:
            yield harness


def wait_until(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)
    return found


def quiet(api: FakeSlackApi, settle: float = 0.4) -> None:
    """Until the coach has made no Web API call for ``settle`` seconds (what a wrong answer would need)."""
    seen = -1
    while seen != len(api.calls):
        seen = len(api.calls)
        time.sleep(settle)


def said(call: Call) -> str:
    """What a posted message or an ephemeral answer says (sections, buttons, plain text)."""
    return text_of(call) if call.params.get("blocks") else unescape(str(call.params.get("text", "")))


def form_values(client: str = "new:Acme") -> dict[str, Any]:
    return {
        "client": {"client_search": {"type": "external_select", "selected_option": {"value": client}}},
        "kind": {"value": {"type": "static_select", "selected_option": {"value": "visit"}}},
        "purpose": {"value": {"type": "static_select", "selected_option": {"value": "give"}}},
        "note": {"value": {"type": "plain_text_input", "value": "brought the case study"}},
        "proof": {"value": {"type": "radio_buttons", "selected_option": {"value": "yes"}}},
    }


def assert_the_rep_alone(api: FakeSlackApi, dm: str = DM) -> None:
    """Nothing the coach said can be read by anyone but the rep: every message and file went to
    their DM, every answer through a response_url was ephemeral, nothing replaced a message."""
    posted = {c.params.get("channel") for c in api.calls_to("chat.postMessage")}
    filed = {c.params.get("channel_id") or c.params.get("channels") for c in api.calls_to("files.completeUploadExternal")}
    assert posted | filed <= {dm}, f"the coach spoke in {sorted(map(str, (posted | filed) - {dm}))}"
    public = [c.params for c in api.calls_to("response_url") if c.params.get("response_type") != "ephemeral"
              or c.params.get("replace_original")]
    assert public == []
    assert api.calls_to("chat.update") == []


def log_acme_from_the_dm(slack: SlackHarness) -> None:
    """A touch with Acme (a new client, +4), through the form opened in the DM."""
    body = view_submission_body("UALICE", "log_form", form_values(), private_metadata=DM, view_id="VSETUP")
    assert slack.post(body)[0] == 200
    wait_until(lambda: client_state(slack.coach, "Acme") == (4, 1), "the setup touch")
    quiet(slack.api)


def test_each_reps_dm_is_opened_once_and_kept(slack):
    """conversations.open is rate-limited (about once a second per workspace): a rep's DM is
    opened on their first logged touch and kept, so a burst of modal logs makes no such calls.
    Each rep keeps their own."""
    api = slack.api
    for n in range(3):
        body = view_submission_body("UALICE", "log_form", form_values(), private_metadata=DM, view_id=f"VKEEP{n}")
        assert slack.post(body)[0] == 200
        wait_until(lambda: client_state(slack.coach, "Acme") == (4 * (n + 1), n + 1), f"touch {n + 1}")
    body = view_submission_body("UBOB", "log_form", form_values("new:Bolt"), private_metadata="DUBOB", view_id="VBOB")
    assert slack.post(body)[0] == 200
    wait_until(lambda: client_state(slack.coach, "Bolt") == (4, 1), "Bob's touch")
    quiet(api)
    assert [c.params["users"] for c in api.calls_to("conversations.open")] == ["UALICE", "UBOB"]
    assert [c.params["channel"] for c in api.calls_to("chat.postMessage")] == [DM, DM, DM, "DUBOB"]


# --- the form, opened from a channel ---------------------------------------------------------------

@pytest.mark.parametrize("channel", CHANNELS.values(), ids=CHANNELS.keys())
def test_a_rep_working_from_a_channel_is_answered_alone(slack, channel):
    """The review's finding: ``/coach logmeeting`` typed in a channel, then "Use a form instead",
    then Save: the saved touch, its credit balance and its tip were posted into the channel the
    form was opened from. Along the way, ``/logmeeting`` and ``/coach ledger`` typed there too."""
    api = slack.api
    slack.command("/logmeeting", "", "UALICE", channel)  # the conversation moves to the DM
    [prompt] = api.wait_for_sync("chat.postMessage", 1, WAIT)
    assert prompt.params["channel"] == DM and "Which client did you meet?" in said(prompt)
    [pointer] = api.wait_for_sync("response_url", 1, WAIT)
    assert "I've sent you a direct message" in said(pointer)

    slack.command("/coach", "logmeeting", "UALICE", channel)  # answered where typed, to Alice only
    asked = wait_until(lambda: [c for c in api.calls_to("response_url") if "Which client" in said(c)],
                       "the ephemeral prompt")[0]
    [form_button] = [e for b in asked.params["blocks"] if b["type"] == "actions" for e in b["elements"]
                     if e["action_id"] == "open_form"]
    click = block_actions_body("UALICE", [{**form_button, "block_id": "b"}], channel_id=channel,
                               message_ts="7.7", ephemeral=True, trigger_id="trigger-form",
                               response_url=api.response_url("form-click"))
    assert slack.post(click)[0] == 200
    [opened] = api.wait_for_sync("views.open", 1, WAIT)

    submit = view_submission_body("UALICE", "log_form", form_values(), view_id="VFROMCHANNEL",
                                  private_metadata=opened.params["view"]["private_metadata"])
    assert slack.post(submit)[0] == 200
    saved = wait_until(lambda: [c for c in api.calls_to("chat.postMessage") if "Saved your touch" in said(c)],
                       "the saved touch")
    quiet(api)
    assert [c.params["channel"] for c in saved] == [DM]
    assert "Credit balance with Acme: +4" in said(saved[0])
    assert_the_rep_alone(api)

    assert slack.post(submit)[0] == 200  # Slack retries a submission: still one touch, one answer
    slack.command("/coach", "ledger Acme", "UALICE", channel)
    wait_until(lambda: [c for c in api.calls_to("response_url") if "Acme" in said(c)], "the ledger answer")
    quiet(api)
    assert client_state(slack.coach, "Acme") == (4, 1)
    assert len([c for c in api.calls_to("chat.postMessage") if "Saved your touch" in said(c)]) == 1
    assert_the_rep_alone(api)


# --- buttons on a message others can see ----------------------------------------------------------

def test_a_button_on_a_message_in_a_channel_answers_in_the_reps_dm(slack):
    """A coach message with buttons that is not ephemeral, in a channel: whoever clicks gets the
    answer about their own clients in their DM, and a pointer only they see; never a post in the
    channel. A second click on the same button counts once."""
    api = slack.api
    log_acme_from_the_dm(slack)
    before = len(api.calls_to("chat.postMessage"))
    ledger = {"action_id": "choice:0", "block_id": "b", "type": "button", "value": "/ledger Acme"}
    click = block_actions_body("UALICE", [ledger], channel_id="C0SHARED", message_ts="8.1",
                               response_url=api.response_url("channel-click"))
    assert slack.post(click)[0] == 200
    answer = slack.posts_after(before)
    assert [c.params["channel"] for c in answer] == [DM] and "Acme" in said(answer[0])
    pointer = wait_until(lambda: api.calls_to("response_url"), "the pointer to the DM")
    assert [said(c) for c in pointer] == ["I've answered in our direct message."]

    again = block_actions_body("UALICE", [ledger], channel_id="C0SHARED", message_ts="8.1",
                               response_url=api.response_url("channel-click-2"))
    assert slack.post(again)[0] == 200  # the same button on the same message
    quiet(api)
    assert len(api.calls_to("chat.postMessage")) == before + 1
    assert_the_rep_alone(api)


def test_a_logging_button_in_a_channel_starts_the_conversation_in_the_dm(slack):
    """A digest's "Log a touch" button clicked on a message in a channel: the conversation runs in
    the DM, so the next click (on the DM's buttons) carries it on."""
    api = slack.api
    start = {"action_id": "choice:0", "block_id": "b", "type": "button", "value": "/logmeeting Acme visit"}
    click = block_actions_body("UALICE", [start], channel_id="C0PUBLIC", message_ts="8.2",
                               response_url=api.response_url("log-click"))
    assert slack.post(click)[0] == 200
    [prompt] = slack.posts_after(0)
    assert prompt.params["channel"] == DM
    [add_new] = [e for b in prompt.params["blocks"] if b["type"] == "actions" for e in b["elements"]
                 if e["value"].startswith("new:")]
    assert slack.post(block_actions_body("UALICE", [{**add_new, "block_id": "b"}], channel_id=DM,
                                         message_ts="8.3"))[0] == 200
    [next_step] = slack.posts_after(1)
    assert next_step.params["channel"] == DM and "What happened?" in said(next_step)
    assert_the_rep_alone(api)


def test_a_button_in_the_home_tab_answers_in_the_dm(slack):
    """A view has no conversation of its own: the answer goes to the rep's DM."""
    log_acme_from_the_dm(slack)
    before = len(slack.api.calls_to("chat.postMessage"))
    ledger = {"action_id": "choice:0", "block_id": "b", "type": "button", "value": "/ledger Acme"}
    assert slack.post(block_actions_body("UALICE", [ledger], channel_id=None))[0] == 200
    [answer] = slack.posts_after(before)
    assert answer.params["channel"] == DM and "Acme" in said(answer)
    assert_the_rep_alone(slack.api)


# --- OAuth installs: a request that names no team ----------------------------------------------------

class OAuthHarness(SlackHarness):
    """The coach installed through OAuth (many workspaces, one per Slack team), its roster kept in
    the configured COACH_WORKSPACE too: where a request naming no team used to be filed."""

    def __init__(self, database_url: str, api: FakeSlackApi) -> None:
        db.upgrade(database_url)
        self.api = api
        self.settings = Settings(DATABASE_URL=database_url, COACH_WORKSPACE="acme", SLACK_SIGNING_SECRET=SECRET,
                                 SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="shh",
                                 COACH_SECRET_KEYS=Fernet.generate_key().decode(),  # the installs' tokens
                                 SLACK_API_URL=f"{api.url}/api/")
        assert self.settings.slack_multi_workspace and self.settings.slack_bot_token is None
        self.coach = bootstrap(self.settings, clock=MovableClock())
        for workspace in ("acme", "T9"):
            seed_roster(self.coach, workspace=workspace)
        for user, (email, locale) in USERS.items():
            api.add_user(user, email, locale=locale, tz="Europe/London")
        self._events = itertools.count(1)
        self._stamps: dict[str, set[int]] = {}
        self.url = ""

    def get(self, path: str, cookie: str = "") -> tuple[int, str, list[str]]:
        request = urllib.request.Request(self.url + path, headers={"Cookie": cookie} if cookie else {})
        try:
            with urllib.request.urlopen(request, timeout=WAIT) as response:
                return response.status, response.read().decode(), response.headers.get_all("Set-Cookie") or []
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), []

    def install(self) -> None:
        """A browser through Add to Slack: the page, Slack's approval, the redirect with a code."""
        status, page, cookies = self.get("/slack/install")
        assert status == 200, page
        [link] = [unescape(h) for h in re.findall(r'href="([^"]+)"', page) if "oauth/v2/authorize" in h]
        [state] = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)["state"]
        cookie = "; ".join(c.split(";", 1)[0] for c in cookies)
        status, body, _ = self.get(f"/slack/oauth_redirect?code=abc&state={urllib.parse.quote(state)}", cookie)
        assert status == 200, body


def org_wide(body: str, team: str | None, enterprise: str = "E1") -> str:
    """``body`` (a signing.py request) as an org-wide (Enterprise Grid) install receives it, from
    ``team`` or from no team at all."""
    if body.startswith("{"):  # an event
        event = json.loads(body)
        event.pop("team_id")
        event.update(enterprise_id=enterprise, authorizations=[
            {"enterprise_id": enterprise, "team_id": None, "user_id": "UBOT9", "is_bot": True,
             "is_enterprise_install": True}])
        if team:
            event["team_id"] = team
        return json.dumps(event)
    form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
    if "payload" not in form:  # a slash command
        return urllib.parse.urlencode({**form, "team_id": team or "", "enterprise_id": enterprise,
                                       "is_enterprise_install": "true"})
    payload = json.loads(form["payload"])
    payload.update(team={"id": team, "domain": "t"} if team else None, enterprise={"id": enterprise},
                   is_enterprise_install=True)
    payload["user"]["team_id"] = team
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


@pytest.fixture
def oauth(database_url):
    with FakeSlackApi().started_in_thread() as api:
        api.oauth_install.update(team=None, enterprise={"id": "E1", "name": "Acme Group"}, is_enterprise_install=True)
        with OAuthHarness(database_url, api).running() as harness:
            harness.install()
            yield harness


def test_with_oauth_a_request_naming_no_team_is_refused_without_effect(oauth, caplog):
    """With OAuth installs the configured workspace is nobody's: a request whose team cannot be
    told (an org-wide install's payload without one) is refused, not filed under COACH_WORKSPACE
    (whose roster knows Alice), and leaves nothing behind: no answer, no conversation, no inbox row."""
    api = oauth.api
    caplog.set_level(logging.INFO, logger="bot.slack.app")
    ledger = {"action_id": "choice:0", "block_id": "b", "type": "button", "value": "/ledger Acme"}
    requests = [
        org_wide(slash_command_body("/logmeeting", "Acme", "UALICE", channel_id=DM, trigger_id="t-cmd",
                                    response_url=api.response_url("no-team")), team=None),
        org_wide(event_body({"type": "message", "channel_type": "im", "channel": DM, "user": "UALICE",
                             "text": "/logmeeting Acme", "ts": "1.0"}, event_id="EvNOTEAM"), team=None),
        org_wide(block_actions_body("UALICE", [ledger], channel_id=DM, message_ts="9.9",
                                    response_url=api.response_url("no-team-click")), team=None),
    ]
    keys = []
    for body in requests:
        headers = signed_headers(SECRET, body)
        keys.append(hashlib.sha256(headers["X-Slack-Signature"].encode()).hexdigest())
        status, answer = oauth.post(body, headers)
        assert status == 200 and "Acme" not in answer and "Alice" not in answer
    quiet(api, settle=0.6)
    assert [(c.method, c.params.get("channel")) for c in api.calls
            if c.method in {"chat.postMessage", "response_url", "conversations.open", "views.open"}] == []
    with oauth.coach.uow_factory() as uow:
        assert uow.dialogs.get("acme", DM, "UALICE") is None
        assert uow.clients.by_name("acme", "Acme") is None
    # the same request from a team of the org is answered: silence above is a refusal, not a stall
    body = org_wide(slash_command_body("/logmeeting", "", "UALICE", channel_id=DM, trigger_id="t-t9",
                                       response_url=api.response_url("t9")), team="T9")
    assert oauth.post(body)[0] == 200
    [post] = api.wait_for_sync("chat.postMessage", 1, WAIT)
    quiet(api)
    assert (post.params["channel"], post.token) == (DM, "xoxb-installed")
    assert len(api.calls_to("chat.postMessage")) == 1 and api.calls_to("response_url") == []
    with oauth.coach.uow_factory() as uow:
        assert uow.dialogs.get("T9", DM, "UALICE") is not None
        assert uow.dialogs.get("acme", DM, "UALICE") is None
    assert [oauth.coach.requests.status(key) for key in keys] == [None, None, None]
    refusals = [r for r in caplog.records if "no team" in r.getMessage()]
    assert len(refusals) == 3 and all(r.levelno == logging.WARNING for r in refusals)
