"""The coach's real HTTP server on loopback, Slack's Web API played by FakeSlackApi, and
correctly signed requests between them: what a Slack workspace would do, minus Slack."""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Iterator

from aiohttp import web

from bot.bootstrap import Coach, bootstrap
from bot.server import create_web_app
from bot.settings import Settings
from storage import db
from tests.slack.fake_api import Call, FakeSlackApi
from tests.slack.signing import (
    block_actions_body,
    event_body,
    signed_headers,
    slash_command_body,
)
from tests.dialogs import Pick, Say
from tests.support import MovableClock, seed_roster

SECRET = "test-signing-secret"
USERS = {"UALICE": ("alice@acme.example", "en-GB"), "UKEN": ("ken@acme.example", "ja-JP"),
         "UMIA": ("mia@acme.example", "en-GB"), "UBOB": ("bob@acme.example", "en-US")}


class SlackHarness:
    def __init__(self, database_url: str, api: FakeSlackApi, clock: MovableClock | None = None) -> None:
        db.upgrade(database_url)
        self.api = api
        self.settings = Settings(DATABASE_URL=database_url, COACH_WORKSPACE="acme", SLACK_SIGNING_SECRET=SECRET,
                                 SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=f"{api.url}/api/")
        self.coach: Coach = bootstrap(self.settings, clock=clock or MovableClock())
        seed_roster(self.coach)
        for user, (email, locale) in USERS.items():
            api.add_user(user, email, locale=locale, tz="Europe/London")
        self._events = itertools.count(1)
        self._stamps: dict[str, set[int]] = {}  # the timestamps each body was signed with
        self.url = ""

    @contextlib.contextmanager
    def running(self) -> Iterator[SlackHarness]:
        self.loop = loop = asyncio.new_event_loop()
        self.app = create_web_app(self.coach, self.settings)
        runner = web.AppRunner(self.app)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)  # a stop may wait 10 s (DRAIN_S)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()

    # --- sending --------------------------------------------------------------------------

    def post(self, body: str, headers: dict[str, str] | None = None, path: str = "/slack/events") -> tuple[int, str]:
        if headers is None:  # Slack signs each delivery, a retry too: a timestamp of its own
            used = self._stamps.setdefault(body, set())
            stamp = int(time.time())
            while stamp in used:
                stamp -= 1
            used.add(stamp)
            headers = signed_headers(SECRET, body, timestamp=stamp)
        request = urllib.request.Request(self.url + path, data=body.encode(), method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def command(self, command: str, text: str, user: str = "UALICE", channel: str = "C1") -> tuple[int, str]:
        n = next(self._events)
        return self.post(slash_command_body(command, text, user, channel_id=channel, trigger_id=f"trigger-{n}",
                                            response_url=self.api.response_url(f"{command[1:]}-{n}")))

    def dm(self, text: str, user: str = "UALICE", event_id: str | None = None, retry: int | None = None) -> tuple[int, str]:
        event = {"type": "message", "channel_type": "im", "channel": f"D{user}", "user": user, "text": text,
                 "ts": f"{time.time():.6f}"}
        body = event_body(event, event_id=event_id or f"Ev{next(self._events):06d}")
        headers = signed_headers(SECRET, body)
        if retry:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
        return self.post(body, headers)

    def click(self, element: dict[str, Any], user: str = "UALICE", message_ts: str = "1.0",
              option: int | None = None) -> tuple[int, str]:
        action = {"action_id": element["action_id"], "block_id": "b", "type": element["type"]}
        if element["type"] == "button":
            action["value"] = element["value"]
        else:
            action["selected_option"] = element["options"][option or 0]
        return self.post(block_actions_body(user, [action], channel_id=f"D{user}", message_ts=message_ts))

    def say(self, step: Say | Pick, user: str, last: Call | None) -> tuple[int, list[Call]]:
        """One step of a dialog script, as Slack would deliver it: typed text as a DM message
        (``/logmeeting`` as the slash command), a pick as a click on the last message's choices.
        The HTTP status and the messages the coach posted in answer."""
        before = len(self.api.calls_to("chat.postMessage"))
        if isinstance(step, Pick):
            assert last is not None, "a pick needs a message to pick from"
            elements = choice_elements(last)
            if elements and elements[0]["type"] == "static_select":
                status, _ = self.click(elements[0], user, option=step.number - 1)
            else:
                status, _ = self.click(elements[step.number - 1], user)
        elif step.text.startswith("/logmeeting"):
            status, _ = self.command("/logmeeting", step.text.removeprefix("/logmeeting").strip(), user, f"D{user}")
        else:
            status, _ = self.dm(step.text, user)
        return status, self.posts_after(before)

    # --- reading what the coach said --------------------------------------------------------

    def posts_after(self, count: int, quiet: float = 0.25, timeout: float = 10.0) -> list[Call]:
        """Wait for at least one new chat.postMessage after ``count``, then until things go quiet."""
        self.api.wait_for_sync("chat.postMessage", count + 1, timeout)
        seen = len(self.api.calls)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(quiet)
            if len(self.api.calls) == seen:
                break
            seen = len(self.api.calls)
        return self.api.calls_to("chat.postMessage")[count:]


def text_of(call: Call) -> str:
    """What a person reads in a posted message: its sections, unescaped."""
    blocks = call.params.get("blocks") or []
    texts = [b["text"]["text"] for b in blocks if b.get("type") == "section"]
    for element in (e for b in blocks if b.get("type") == "actions" for e in b["elements"]):
        if "text" in element:
            texts.append(element["text"]["text"])
        texts += [o["text"]["text"] for o in element.get("options", [])]
    return html.unescape("\n".join(texts) or call.params.get("text", ""))


def choice_elements(call: Call) -> list[dict[str, Any]]:
    blocks = call.params.get("blocks") or []
    return [e for b in blocks if b.get("type") == "actions" for e in b["elements"]
            if str(e.get("action_id", "")).startswith("choice:")]


def dumps(call: Call) -> str:
    return json.dumps(call.params, ensure_ascii=False)
