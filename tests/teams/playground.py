"""The coach's real server on loopback in anonymous Teams mode, and Microsoft's M365 Agents
Playground (a local Teams client simulator, run with node) talking to it.

``CoachServer`` runs ``create_web_app`` (``env={}``: no credentials, so anonymous local mode) on
127.0.0.1 in a background thread. ``Playground`` installs the pinned npm package once into a cache
folder outside the repository (``$COACH_TEST_CACHE`` or ``~/.cache/coach-tests``), starts it
against the coach with events recording on, sends messages and card submits through its HTTP
API, and reads the coach's replies from the recording file. Every wait is bounded; the node
process (and anything it started) is always stopped.

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
import tempfile
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
        self.env = dict(env or {})  # no credentials: anonymous local mode
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
        loop = asyncio.new_event_loop()
        runner = web.AppRunner(create_web_app(self.coach, self.settings, env=self.env))
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        thread = threading.Thread(target=loop.run_forever, name="coach-server", daemon=True)
        thread.start()
        try:
            yield self
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


def http(method: str, url: str, body: Any = None, timeout: float = 10.0) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


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

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- lifecycle ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def running(self) -> Iterator[Playground]:
        self.port = free_port()
        env = {**os.environ, "TEAMSAPPTESTER_BROWSER": "none", "M365_AGENTS_PLAYGROUND_RECORDING_FILE": str(self.recording),
               "NO_UPDATE_NOTIFIER": "1"}
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):  # it proxies its calls to the coach
            env.pop(proxy, None)
        command = ["node", str(self.cli), "-p", str(self.port), "-e", self.endpoint, "-c", "msteams",
                   "--disable-telemetry", "--conversation-id", self.conversation_id, "--enable-events-recording"]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_until_up()
            yield self
        finally:
            self.stop()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the Playground exited with {self.process.returncode}:\n{self.log()}")
            with contextlib.suppress(OSError):
                if http("GET", f"{self.url}/_debug/ping", timeout=2)[0] == 200:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"the Playground did not answer /_debug/ping within {WAIT:.0f} s:\n{self.log()}")

    def stop(self) -> None:
        """Stop the node process and its children (its own process group), always."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-3000:]
        return ""

    # --- talking --------------------------------------------------------------------------------

    def say(self, text: str) -> Any:
        status, body = http("POST", f"{self.url}/_conversation/v1/conversations/{self.conversation_id}/messages",
                            {"from": {"id": USER_ID}, "text": text, "textFormat": "plain"})
        if status != 200:
            raise AssertionError(f"the Playground refused the message {text!r}: {status} {body}")
        return body

    def submit(self, reply_to_id: str, value: dict[str, Any]) -> None:
        """An Adaptive Card Action.Submit on the message ``reply_to_id``, as a click would send it."""
        status, body = http("POST", f"{self.url}/_conversation/v1/submit",
                            {"conversation": {"id": self.conversation_id}, "from": {"id": USER_ID},
                             "replyToId": reply_to_id, "value": value})
        if status != 200:
            raise AssertionError(f"the Playground refused the card submit {value!r}: {status} {body}")

    # --- the recording --------------------------------------------------------------------------

    def exchanges(self) -> list[Exchange]:
        try:
            text = self.recording.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        found = []
        decoder = json.JSONDecoder()
        position = 0
        while True:
            match = re.compile(r"\S").search(text, position)
            if match is None:
                break
            try:
                item, position = decoder.raw_decode(text, match.start())
            except ValueError:
                break  # a record still being written
            if isinstance(item, list):  # a JSON array file
                items = item
            else:
                items = [item]
            for record in items:
                request = record.get("request") or {}
                found.append(Exchange(str(record.get("direction", "")), str(record.get("activityName", "")),
                                      request.get("body") or {}, record))
        return found

    def bot_messages(self) -> list[dict[str, Any]]:
        """Every activity the coach sent to the Playground's connector, in order."""
        return [e.body for e in self.exchanges() if _is_bot_message(e)]

    def wait_for_bot_messages(self, count: int, quiet: float = 0.3, timeout: float = WAIT) -> list[dict[str, Any]]:
        """Wait for more than ``count`` bot messages, then until nothing new arrives; the new ones."""
        deadline = time.monotonic() + timeout
        seen = len(self.bot_messages())
        while seen <= count:
            if time.monotonic() > deadline:
                raise AssertionError(f"no reply from the coach within {timeout:.0f} s; recording:\n"
                                     + "\n".join(f"{e.direction} {e.name}" for e in self.exchanges())
                                     + f"\nPlayground log:\n{self.log()}")
            time.sleep(0.05)
            seen = len(self.bot_messages())
        while time.monotonic() < deadline:
            time.sleep(quiet)
            now = len(self.bot_messages())
            if now == seen:
                break
            seen = now
        return self.bot_messages()[count:]


def _is_bot_message(exchange: Exchange) -> bool:
    body = exchange.body
    return isinstance(body, dict) and body.get("type") == "message" and (body.get("from") or {}).get("id") != USER_ID


# --- reading cards -------------------------------------------------------------------------------

_UNESCAPE = re.compile(r"\\([\\`*_\[\]()#+\-!>~|])")


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
