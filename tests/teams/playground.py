"""The coach's real server on loopback in anonymous Teams mode, and Microsoft's M365 Agents
Playground (a local Teams client simulator, run with node) talking to it.

``CoachServer`` runs ``create_web_app`` (``env={}``: no credentials, so anonymous local mode) on
127.0.0.1 in a background thread. ``Playground`` installs the pinned npm package once into a cache
folder outside the repository (``$COACH_TEST_CACHE`` or ``~/.cache/coach-tests``), starts it
against the coach with events recording on, and sends messages and card submits through its HTTP
API (``say``, ``submit``: the requests its own page sends). The coach's answers are read from the
Playground's conversation stream (the WebSocket its page listens to, which also gives each card
the message id a submit must reply to) and cross-checked with the events recording. Every wait
is bounded; the node process (and anything it started) is always stopped.

``python -m tests.teams.playground install`` installs the npm packages (used by ``.ci/run``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from aiohttp import web

from bot.bootstrap import Coach, bootstrap
from bot.server import create_web_app
from bot.settings import Settings
from storage import db
from tests.support import WORKSPACE, MovableClock, seed_roster

PLAYGROUND_VERSION = "0.2.28"
ADAPTIVECARDS_VERSION = "3.0.6"
PACKAGES = {"@microsoft/m365agentsplayground": PLAYGROUND_VERSION, "adaptivecards": ADAPTIVECARDS_VERSION}
# The Playground's simulated user in personal chat (fixed by the Playground's default config).
USER_ID = "user-id-0"
USER_NAME = "Alex Wilber"
USER_AAD_ID = "00000000-0000-0000-0000-0000000000020"
LOCAL = {"TEAMS_ANONYMOUS": "true"}  # Teams' anonymous local mode, asked for explicitly
CREDENTIAL = "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID"
TENANT_ID = "00000000-0000-0000-0000-0000000000001"
WAIT = 30.0  # the longest any single wait may take, in seconds
INSTALL_TIMEOUT = 240.0


def cache_dir() -> Path:
    return Path(os.environ.get("COACH_TEST_CACHE") or Path.home() / ".cache" / "coach-tests") / "npm"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the npm packages ------------------------------------------------------------------------


def _installed_version(root: Path, package: str) -> str | None:
    try:
        return json.loads((root / "node_modules" / package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def install_node_packages(root: Path | None = None) -> Path:
    """The pinned npm packages in ``root`` (installed once); raises ``RuntimeError`` with the reason
    when node or npm is missing or the install fails."""
    root = root or cache_dir()
    if shutil.which("node") is None:
        raise RuntimeError("node is not installed (the Teams client tests need Node.js 18+)")
    if all(_installed_version(root, name) == version for name, version in PACKAGES.items()):
        return root
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed, so the M365 Agents Playground cannot be installed")
    root.mkdir(parents=True, exist_ok=True)
    manifest = {"name": "coach-test-tools", "private": True, "description": "npm tools for the coach's tests",
                "dependencies": PACKAGES}
    (root / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    try:
        done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--no-update-notifier"], cwd=root,
                              capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"npm install in {root} took longer than {INSTALL_TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        raise RuntimeError(f"npm install in {root} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    missing = [name for name, version in PACKAGES.items() if _installed_version(root, name) != version]
    if missing:
        raise RuntimeError(f"npm install in {root} did not install {', '.join(missing)}")
    return root


# --- the coach ---------------------------------------------------------------------------------


class CoachServer:
    """The coach's own aiohttp server on 127.0.0.1 (a free port) in a background thread."""

    def __init__(self, database_url: str, clock: MovableClock | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        db.upgrade(database_url)
        self.settings = Settings(_env_file=None, DATABASE_URL=database_url, COACH_WORKSPACE=WORKSPACE)
        self.coach: Coach = bootstrap(self.settings, clock=clock or MovableClock())
        # no credentials: anonymous local mode, asked for as `make run` does
        self.env = dict(env if env is not None and CREDENTIAL in env else {**LOCAL, **(env or {})})
        self.url = ""

    @property
    def messages_url(self) -> str:
        return f"{self.url}/api/messages"

    def seed(self, email: str | None = "alice@acme.example", teams_user_id: str = USER_AAD_ID) -> dict[str, int]:
        """The test roster; ``email``'s person is linked to the Playground's user."""
        ids = seed_roster(self.coach)
        if email is not None:
            with self.coach.uow_factory() as uow:
                uow.people.link_platform(WORKSPACE, ids[email.split("@")[0]], "teams", teams_user_id)
                uow.commit()
        return ids

    @contextlib.contextmanager
    def running(self) -> Iterator[CoachServer]:
        with serving(create_web_app(self.coach, self.settings, env=self.env)) as url:
            self.url = url
            yield self


@contextlib.contextmanager
def serving(app: web.Application, host: str = "127.0.0.1") -> Iterator[str]:
    """Run an aiohttp application on ``host`` (a free port) in a background thread; its URL.
    (Everything runs on that thread's loop, so it works beside a caller's own event loop.)"""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="aiohttp-server", daemon=True)
    thread.start()
    runner = web.AppRunner(app)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, host, 0)
        await site.start()
        return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    try:
        port = asyncio.run_coroutine_threadsafe(start(), loop).result(WAIT)
        yield f"http://{host}:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(WAIT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(WAIT)
        loop.close()


# --- the Playground ----------------------------------------------------------------------------


@dataclass
class Exchange:
    """One recorded exchange between the Playground and the coach."""

    direction: str
    name: str
    body: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)


_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy


def http(method: str, url: str, body: Any = None, headers: Mapping[str, str] | None = None,
         timeout: float = 10.0) -> tuple[int, Any]:
    """A JSON request straight to a loopback server: (status, decoded body)."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method, headers={
        **({"Content-Type": "application/json"} if data is not None else {}), **(headers or {})})
    try:
        with _LOOPBACK.open(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


class ClientFeed:
    """What the Playground's own web client receives: its conversation stream, a WebSocket that
    carries every message (with the ``messageId`` a card submit must reply to) as it is shown."""

    def __init__(self, url: str, conversation_id: str) -> None:
        self.url = url
        self.conversation_id = conversation_id
        self.messages: list[dict[str, Any]] = []
        self.actions: list[dict[str, Any]] = []  # everything the stream carried, for diagnostics
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="playground-feed", daemon=True)
        self._task: asyncio.Task[None] | None = None
        self._connected = threading.Event()
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()
        self._task = asyncio.run_coroutine_threadsafe(self._begin(), self._loop).result(WAIT)
        if not self._connected.wait(WAIT):
            raise TimeoutError(f"could not open the Playground's conversation stream {self.url}: {self.error!r}")

    async def _begin(self) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(self._listen())

    async def _end(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        import aiohttp

        try:
            async with aiohttp.ClientSession(trust_env=False) as session:
                async with session.ws_connect(self.url, heartbeat=None, timeout=aiohttp.ClientWSTimeout(ws_close=5)) as ws:
                    self._connected.set()
                    async for frame in ws:
                        if frame.type != aiohttp.WSMsgType.TEXT:
                            continue
                        self._take(json.loads(frame.data))
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # reported by the waits
            self.error = error
            self._connected.set()

    def _take(self, action: dict[str, Any]) -> None:
        self.actions.append(action)
        message = action.get("message")
        if action.get("actionConversationId") != self.conversation_id or not isinstance(message, dict):
            return
        with self._changed:
            kind = str(action.get("action", "")).lower()
            if kind == "updatemessage":
                for i, known in enumerate(self.messages):
                    if known.get("messageId") == message.get("messageId"):
                        self.messages[i] = message
            elif kind == "createmessage":
                self.messages.append(message)
            self._changed.notify_all()

    def bot_messages(self) -> list[dict[str, Any]]:
        with self._changed:
            return [m for m in self.messages if (m.get("from") or {}).get("id") != USER_ID]

    def bot_cards(self) -> list[dict[str, Any]]:
        """The coach's card messages. (The Playground shows an activity with text and a card as
        two messages, the text and then the card; every reply of the coach has one card.)"""
        return [m for m in self.bot_messages() if cards_of(m)]

    def stop(self) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._end(), self._loop).result(WAIT)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(WAIT)
        self._loop.close()


class Playground:
    """One Playground process talking to ``endpoint`` in personal chat ``conversation_id``."""

    def __init__(self, endpoint: str, workdir: Path, conversation_id: str = "personal-chat-coach",
                 root: Path | None = None) -> None:
        self.root = install_node_packages(root)
        self.cli = self.root / "node_modules" / "@microsoft" / "m365agentsplayground" / "cli.js"
        self.endpoint = endpoint
        self.conversation_id = conversation_id
        self.workdir = workdir
        self.recording = workdir / "playground-recording.jsonl"
        self.log_path = workdir / "playground.log"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.feed: ClientFeed | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- lifecycle ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def running(self, feed: bool = True) -> Iterator[Playground]:
        """Start it, wait until it answers (and, with ``feed``, listen to its conversation stream)."""
        self.port = free_port()
        env = {**os.environ, "TEAMSAPPTESTER_BROWSER": "none", "NO_UPDATE_NOTIFIER": "1",
               "M365_AGENTS_PLAYGROUND_RECORDING_FILE": str(self.recording)}
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):  # loopback only
            env.pop(proxy, None)
        command = [shutil.which("node") or "node", str(self.cli), "-p", str(self.port), "-e", self.endpoint,
                   "-c", "msteams", "--disable-telemetry", "--conversation-id", self.conversation_id,
                   "--enable-events-recording"]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_until_up()
            if feed:
                self.feed = ClientFeed(f"ws://127.0.0.1:{self.port}/_ws_conversation/v1/conversations/stream",
                                       self.conversation_id)
                self.feed.start()
            yield self
        finally:
            if self.feed is not None:
                self.feed.stop()
            self.stop()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the Playground exited with {self.process.returncode}:\n{self.log()}")
            if listening := re.search(r"Listening on (\d+)", self.log()):  # another port if ours was taken
                self.port = int(listening.group(1))
            with contextlib.suppress(OSError):
                if http("GET", f"{self.url}/_debug/ping", timeout=2)[0] == 200:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"the Playground did not answer /_debug/ping within {WAIT:.0f} s:\n{self.log()}")

    def stop(self) -> None:
        """Stop the node process and anything it started (its own process group), always."""
        process, self.process = self.process, None
        if process is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(10)
                break
            except subprocess.TimeoutExpired:
                continue

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-3000:]
        return ""

    # --- what the user does -----------------------------------------------------------------------

    def say(self, text: str) -> list[dict[str, Any]]:
        """Type ``text`` in the personal chat and send it; the coach's cards in answer."""
        before = self._mark()
        status, body = http("POST", f"{self.url}/_conversation/v1/conversations/{self.conversation_id}/messages",
                            {"from": {"id": USER_ID}, "text": text, "textFormat": "plain"})
        if status != 200:
            raise AssertionError(f"the Playground refused the message {text!r}: {status} {body}")
        return self._answer(before, f"the message {text!r}")

    def submit(self, card: dict[str, Any], value: dict[str, Any]) -> list[dict[str, Any]]:
        """Press an Action.Submit on ``card`` (a message of ``shown()``): the request the Playground's
        page sends for a click, ``POST /_conversation/v1/submit``; the coach's cards in answer."""
        before = self._mark()
        status, body = http("POST", f"{self.url}/_conversation/v1/submit",
                            {"conversation": {"id": self.conversation_id}, "from": {"id": USER_ID},
                             "replyToId": card["messageId"], "value": value})
        if status != 200:
            raise AssertionError(f"the Playground refused the card submit {value!r}: {status} {body}")
        return self._answer(before, f"the card submit {value!r}")

    # --- what the coach said -----------------------------------------------------------------------

    def shown(self) -> list[dict[str, Any]]:
        """The coach's cards as the Playground's client received them, in order (each with the
        ``messageId`` a submit replies to)."""
        assert self.feed is not None, "started without the conversation stream"
        if self.feed.error is not None:
            raise AssertionError(f"the Playground's conversation stream failed: {self.feed.error!r}")
        return self.feed.bot_cards()

    def _mark(self) -> tuple[int, int]:
        return len(self.user_turns()), len(self.shown())

    def _answer(self, before: tuple[int, int], what: str, timeout: float = WAIT) -> list[dict[str, Any]]:
        """Wait until the coach has answered the user's activity (the Playground records the
        exchange once the coach's endpoint returned, and the turn's replies were posted before
        that), then until its client has shown every recorded reply; the new cards."""
        turns, shown = before
        deadline = time.monotonic() + timeout
        while True:
            recorded = self.recorded_replies()
            # every turn of the scripts is answered: an empty answer is the recording lagging behind
            if len(self.user_turns()) > turns and len(self.shown()) >= len(recorded) and len(self.shown()) > shown:
                return self.shown()[shown:]
            if time.monotonic() > deadline:
                raise AssertionError(f"no complete answer to {what} within {timeout:.0f} s; recording:\n"
                                     + "\n".join(f"{e.direction} {e.name} {e.raw.get('response')}"
                                                  for e in self.exchanges())
                                     + f"\nPlayground log:\n{self.log()}")
            time.sleep(0.03)

    def exchanges(self) -> list[Exchange]:
        """The events recording: a JSON object per exchange (separated by ``---`` lines)."""
        try:
            text = self.recording.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        found, decoder, position = [], json.JSONDecoder(), 0
        while (start := text.find("{", position)) >= 0:
            try:
                record, position = decoder.raw_decode(text, start)
            except ValueError:
                break  # a record still being written
            if isinstance(record, dict):
                request = record.get("request") or {}
                found.append(Exchange(str(record.get("direction", "")), str(record.get("activityName", "")),
                                      request.get("body") or {}, record))
        return found

    def user_turns(self) -> list[Exchange]:
        """The user's message activities the Playground delivered to the coach (and their answers)."""
        return [e for e in self.exchanges() if e.direction.startswith(PLAYGROUND) and e.body.get("type") == "message"]

    def recorded_replies(self) -> list[dict[str, Any]]:
        """The activities the coach posted to the Playground's connector, from the recording."""
        return [e.body for e in self.exchanges() if _is_bot_message(e)]


PLAYGROUND = "Microsoft 365 Agents Playground ->"
COACH = "User Application ->"


def _is_bot_message(exchange: Exchange) -> bool:
    return exchange.direction.startswith(COACH) and exchange.body.get("type") == "message"


# --- reading cards -------------------------------------------------------------------------------

_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")  # any ASCII punctuation the cards escaped


def unescape(text: str) -> str:
    """Undo bot.teams.cards.escape: what the card's markdown shows."""
    return _UNESCAPE.sub(r"\1", text)


def cards_of(activity: dict[str, Any]) -> list[dict[str, Any]]:
    return [a.get("content") or {} for a in activity.get("attachments") or []
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"]


def _walk(elements: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for element in elements or []:
        yield element
        for key in ("items", "columns", "body"):
            if isinstance(element.get(key), list):
                yield from _walk(element[key])
        if element.get("type") == "ActionSet":
            yield from _walk(element.get("actions") or [])


def card_text(activity: dict[str, Any]) -> str:
    """What a person reads: the cards' TextBlocks (unescaped), then button and choice titles."""
    texts: list[str] = []
    for card in cards_of(activity):
        elements = list(_walk(card.get("body") or [])) + list(_walk(card.get("actions") or []))
        texts += [unescape(e["text"]) for e in elements if e.get("type") == "TextBlock"]
        texts += [e["title"] for e in elements if str(e.get("type", "")).startswith("Action.") and e.get("title")]
        texts += [c["title"] for e in elements if e.get("type") == "Input.ChoiceSet" for c in e.get("choices", [])]
    return "\n".join(texts) if texts else activity.get("text", "")


def choices_of(activity: dict[str, Any]) -> list[dict[str, Any]]:
    """The submit payloads a person can send from the activity's cards, in the order shown:
    one per button, one per option of a ChoiceSet (as its submit button would send it)."""
    found: list[dict[str, Any]] = []
    for card in cards_of(activity):
        elements = list(_walk(card.get("body") or [])) + list(_walk(card.get("actions") or []))
        inputs = {e["id"]: e for e in elements if e.get("type") == "Input.ChoiceSet"}
        for element in elements:
            if element.get("type") != "Action.Submit":
                continue
            data = element.get("data") or {}
            chooser = inputs.get(str(data.get("pick", "")))
            if chooser is not None:
                found += [{**data, chooser["id"]: c["value"]} for c in chooser.get("choices", [])]
            else:
                found.append(data)
    return found


def main(argv: list[str]) -> int:
    if argv[1:] == ["install"]:
        try:
            print(f"npm packages ready in {install_node_packages()}")
        except RuntimeError as error:
            print(f"skipping the npm packages: {error}", file=sys.stderr)
        return 0
    print("usage: python -m tests.teams.playground install", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
