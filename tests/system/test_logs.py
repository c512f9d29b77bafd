"""No secret, token or client note ever reaches the logs.

One scripted session through every way in, with every logger at DEBUG (SQLAlchemy at WARNING):
signed Slack requests into the real endpoint (slash commands, DMs, buttons, the form, the message
shortcut, a captured channel), Teams activities in anonymous local mode and one refused with
credentials, the console, a CSV import, the scheduler's digests through the real notifiers, and
the LLM against a local fake. The secrets are distinctive strings and every note and promise
carries a marker word; then every captured record is searched for them.

What the coach's own code logs must never hold any of them, at any level. Secrets must not
appear anywhere. Note text must not appear at INFO or above from anyone (the server runs at
INFO); the libraries that log whole request and response bodies at DEBUG (slack_sdk, openai)
are the only ones allowed to carry note text, and only at DEBUG: a server must keep them above
DEBUG (see docs/security.md).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import socket
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from bot import importer
from bot import logs as logs_module
from bot.bootstrap import bootstrap
from bot.console import ConsoleChannel
from bot.scheduler import CoachScheduler
from bot.server import create_web_app
from bot.settings import Settings
from bot.teams.package import MESSAGE_ACTION
from storage import db
from tests.dialogs import FREE_EN, LOG_EN, LOG_JA, Pick
from tests.llm.fake_openai import FakeOpenAI, Reply
from tests.slack.fake_api import FakeSlackApi
from tests.slack.harness import USERS, SlackHarness, choice_elements
from tests.slack.signing import (
    event_body,
    message_shortcut_body,
    signed_headers,
    view_submission_body,
)
from tests.support import WORKSPACE, MovableClock, seed_roster
from tests.teams.connector import FakeConnector
from tests.teams.playground import http, serving
from tests.teams.test_teams_dialogs import choices_of

BOT_TOKEN = "xoxb-7081-canary-bot-token-c0ffee"
SIGNING_SECRET = "canary-signing-secret-5e1f0a"
TEAMS_SECRET = "canary~teams~client~secret~9b2d"
OPENAI_KEY = "sk-canary-openai-key-4d7e21"
TEAMS_CREDENTIALS = {
    "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID": "5f0c3a3e-8d1b-4c55-9a43-0c9b2f7e1d11",
    "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTSECRET": TEAMS_SECRET,
    "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__TENANTID": "7d1c7a6e-0b8f-4a64-9e36-2f9d3c1a0b22",
}
# What people typed as notes, promises and problems: the shared scripts' words and our markers.
NOTE_WORDS = ("benchmark report for their sector", "revised quote", "late invoices", "業界レポート",
              "見積もり再提出", "ROI case", "pelican", "marzipan", "quokka", "narwhal", "wombat", "axolotl",
              "platypus", "capybara", "flamingo", "tapir")
SECRETS = (BOT_TOKEN, SIGNING_SECRET, TEAMS_SECRET, OPENAI_KEY)
AUTHORIZATION = re.compile(r"(?i)\b(bearer|basic)\s+(?!\(redacted\))[A-Za-z0-9._~+/=-]{6,}")
BODY_LOGGERS = ("slack_sdk.",)  # logs whole HTTP bodies at DEBUG, by design
PROJECT = Path(__file__).resolve().parents[2]
UTC = timezone.utc


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logs():
    """Every logger at DEBUG (SQLAlchemy at WARNING: it would log statements, not our words)."""
    handler = Captured()
    root = logging.getLogger()
    names = ("", "slack_bolt", "slack_sdk", "microsoft_agents", "openai", "httpx", "httpcore", "aiohttp",
             "aiohttp.access", "asyncio", "urllib3", "msal", "bot", "coaching", "storage", "apscheduler")
    saved = {name: logging.getLogger(name).level for name in (*names, "sqlalchemy")}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


class CanaryHarness(SlackHarness):
    """The Slack harness with distinctive secrets, and the LLM configured against the fake."""

    def __init__(self, database_url: str, api: FakeSlackApi, llm: FakeOpenAI, clock: MovableClock,
                 data_dir: Path) -> None:
        db.upgrade(database_url)
        self.api = api
        self.settings = Settings(_env_file=None, DATABASE_URL=database_url, COACH_WORKSPACE=WORKSPACE,
                                 COACH_DATA_DIR=str(data_dir), SLACK_SIGNING_SECRET=SIGNING_SECRET,
                                 SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=f"{api.url}/api/",
                                 OPENAI_API_KEY=OPENAI_KEY, OPENAI_BASE_URL=llm.url, OPENAI_MODEL="test-model",
                                 COACH_LLM_TIMEOUT_SECONDS=3)
        self.coach = bootstrap(self.settings, clock=clock)
        seed_roster(self.coach)
        for user, (email, locale) in {**USERS, "UADA": ("ada@acme.example", "en-GB")}.items():
            api.add_user(user, email, locale=locale, tz="Europe/London")
        self._events = itertools.count(1)
        self.url = ""

    def post(self, body: str, headers: dict[str, str] | None = None, path: str = "/slack/events") -> tuple[int, str]:
        return super().post(body, headers if headers is not None else signed_headers(SIGNING_SECRET, body), path)

    def dm(self, text: str, user: str = "UALICE", event_id: str | None = None, retry: int | None = None):
        event = {"type": "message", "channel_type": "im", "channel": f"D{user}", "user": user, "text": text,
                 "ts": f"{time.time():.6f}"}
        return self.post(event_body(event, event_id=event_id or f"Ev{next(self._events):06d}"))

    def say(self, text: str, user: str = "UALICE", pick: int | None = None, last=None):
        """One step: a DM, a /logmeeting command, or a click on the last message's n-th choice."""
        before = len(self.api.calls_to("chat.postMessage"))
        if pick is not None:
            elements = choice_elements(last)
            if elements and elements[0]["type"] == "static_select":
                status, _ = self.click(elements[0], user, option=pick - 1)
            else:
                status, _ = self.click(elements[pick - 1], user)
        elif text.startswith("/logmeeting"):
            status, _ = self.command("/logmeeting", text.removeprefix("/logmeeting").strip(), user, f"D{user}")
        else:
            status, _ = self.dm(text, user)
        assert status == 200
        return self.posts_after(before)[-1]


def slack_session(slack: CanaryHarness) -> None:
    for script, user in ((LOG_EN, "UALICE"), (LOG_JA, "UKEN")):
        last = None
        for step in script.steps:
            last = slack.say(getattr(step, "text", ""), user, step.number if isinstance(step, Pick) else None, last)
    # a quick /logmeeting with a promise, then the passbook, promises and team health
    last = slack.say("/logmeeting Acme Corp call give: walked them through the pelican rollout, "
                     "promised the marzipan pilot plan by Friday")
    for answer in ("no", "no", "skip", "skip", "save"):
        last = slack.say(answer)
    for command, text, user in (("/ledger", "Acme Corp", "UALICE"), ("/promises", "", "UALICE"),
                                ("/teamhealth", "", "UMIA"), ("/coach", "capture Acme Corp", "UADA")):
        status, _ = slack.command(command, text, user, "CSHARED" if command == "/coach" else f"D{user}")
        assert status == 200
    slack.api.wait_for_sync("response_url", 4, timeout=10)
    # the form, the message shortcut and a message in the captured channel
    values = {
        "client": {"client_search": {"type": "external_select", "selected_option": {
            "value": "new:Initech", "text": {"type": "plain_text", "text": "Initech"}}}},
        "kind": {"value": {"type": "static_select", "selected_option": {"value": "visit"}}},
        "purpose": {"value": {"type": "static_select", "selected_option": {"value": "give"}}},
        "note": {"value": {"type": "plain_text_input", "value": "brought the flamingo case study"}},
        "proof": {"value": {"type": "radio_buttons", "selected_option": {"value": "yes"}}},
    }
    before = len(slack.api.calls_to("chat.postMessage"))
    assert slack.post(view_submission_body("UALICE", "log_form", values, private_metadata="DUALICE",
                                           view_id="VFORM1"))[0] == 200
    slack.posts_after(before)
    before = len(slack.api.calls_to("chat.postMessage"))
    assert slack.post(message_shortcut_body("UALICE", "log_message_touch", {
        "ts": f"{time.time():.6f}", "user": "UCLIENT", "text": "Acme Corp loved the platypus demo"},
        channel_id="CSHARED", response_url=slack.api.response_url("shortcut")))[0] == 200
    slack.posts_after(before)
    slack.dm("cancel")
    event = {"type": "message", "channel_type": "channel", "channel": "CSHARED", "user": "UALICE",
             "text": "Sending the capybara figures shortly", "ts": f"{time.time():.6f}"}
    assert slack.post(event_body(event, event_id="EvCAPTURE1"))[0] == 200
    time.sleep(0.8)  # channel messages are handled after the ack


def teams_activity(service_url: str, text: str | None = None, value: dict | None = None) -> dict:
    body = {"type": "message", "id": f"1:{uuid.uuid4().hex}", "channelId": "msteams", "serviceUrl": service_url,
            "locale": "en-GB", "from": {"id": "29:1alice", "name": "Alice Smith", "aadObjectId": "aad-alice"},
            "recipient": {"id": "28:coach", "name": "Coach"},
            "conversation": {"id": "a:1alice", "conversationType": "personal", "tenantId": "tenant-1"},
            "channelData": {"tenant": {"id": "tenant-1"}}}
    if value is not None:
        body["value"] = value
    else:
        body["text"] = text
    return body


def drive(send, first: str) -> None:
    """A conversation to its end: the first choice offered (a new client), then "no", "skip" and
    "save" wherever they are offered."""
    offered = send(first)
    for _ in range(12):
        if not offered:
            return
        offered = send(next((a for a in ("save", "skip", "no") if a in offered), offered[0]))


def teams_session(slack: CanaryHarness, connector: FakeConnector) -> str:
    """Anonymous local mode on the same server; the bearer token a credentialed endpoint refused."""
    with slack.coach.uow_factory() as uow:
        alice = uow.people.by_email(WORKSPACE, "alice@acme.example")
        uow.people.link_platform(WORKSPACE, alice.id, "teams", "aad-alice")
        uow.commit()
    url = f"{slack.url}/api/messages"

    def send(text: str, typed: bool = False) -> list[str]:
        before = len(connector.posts())
        sent = teams_activity(connector.url, text) if typed else teams_activity(connector.url, value={"choice": text})
        assert http("POST", url, sent)[0] == 202
        return choices_of(connector.wait_for(before + 1)[-1].body)

    drive(lambda text: send(text, typed=text.startswith("/")),
          "/logmeeting Kobe Steelworks visit give: shared the quokka study, promised the tapir memo by Friday")
    send("ledger Kobe Steelworks", typed=True)
    send("promises", typed=True)
    # the message action on a client's message, and the credentialed endpoint refusing a token
    invoke = {**teams_activity(connector.url, ""), "type": "invoke", "name": "composeExtension/fetchTask",
              "value": {"commandId": MESSAGE_ACTION, "messagePayload": {
                  "body": {"contentType": "html", "content": "<p>Kobe wants the quokka figures</p>"}}}}
    assert http("POST", url, invoke)[0] == 200
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    token = jwt.encode({"iss": "https://api.botframework.com", "aud": TEAMS_CREDENTIALS[
        "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID"], "nbf": now - 60, "exp": now + 600}, key,
        algorithm="RS256")
    with serving(create_web_app(slack.coach, slack.settings, env=TEAMS_CREDENTIALS)) as guarded:
        status, _ = http("POST", f"{guarded}/api/messages", teams_activity(connector.url, "help"),
                         headers={"Authorization": f"Bearer {token}"})
    assert status == 401
    return token


def console_session(slack: CanaryHarness) -> None:
    channel = ConsoleChannel(slack.coach, "alice@acme.example")
    for step in FREE_EN.steps:
        channel.send(str(step.number) if isinstance(step, Pick) else step.text)

    def send(text: str) -> list[str]:
        _, outcome = channel.send(text)
        return [c.value for reply in outcome.replies for c in reply.choices] if outcome else []

    drive(send, "/logmeeting Acme Corp: narwhal workshop went well")


def import_session(slack: CanaryHarness, tmp_path: Path) -> None:
    good = tmp_path / "touches.csv"
    good.write_text("date,rep,client,kind,purpose,note,promise,promise_due\n"
                    "2026-11-18,bob@acme.example,Boston Bay,call,give,sent the wombat survey,"
                    "send the axolotl proposal,2026-11-20\n", encoding="utf-8")
    assert importer.import_interactions(slack.coach, good, progress=False).added == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("date,rep,client,kind,purpose,note\n"
                   "2026-11-18,nobody@acme.example,Boston Bay,call,give,the wombat survey again\n", encoding="utf-8")
    with pytest.raises(importer.ImportFailed):
        importer.import_interactions(slack.coach, bad, progress=False)


def test_a_full_session_logs_no_secret_token_or_note(database_url, logs, tmp_path, monkeypatch):
    monkeypatch.setenv("TEAMS_ANONYMOUS", "true")  # Teams' local mode on the Slack harness's server
    clock = MovableClock(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    connector = FakeConnector()
    with FakeSlackApi().started_in_thread() as api, FakeOpenAI().started_in_thread() as llm, \
            serving(connector.app()) as connector_url:
        connector.url = connector_url
        # a structured reading for the first free-text note, then tips; anything past the script is
        # answered 500, and the coach falls back to its rules (also a path worth logging safely)
        llm.script(Reply.structured({"client_name": "Acme", "occurred_on": None, "kind": "meeting",
                                     "purpose": "give", "summary": "Showed the case.", "proof_shown": True,
                                     "promises": [], "problem": None, "asked_for": None,
                                     "demanded_justification": None}),
                   *[Reply.content("Deliver a day early.") for _ in range(6)])
        slack = CanaryHarness(database_url, api, llm, clock, tmp_path / "data")
        with slack.running():
            console_session(slack)
            slack_session(slack)
            bearer = teams_session(slack, connector)
            import_session(slack, tmp_path)
            clock.now = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # 09:00 in New York: Bob's digest
            report = CoachScheduler(slack.coach).run_once()  # through the real Slack notifier
        assert llm.requests and llm.requests[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"
        assert {c.token for c in api.calls if c.token} == {BOT_TOKEN}  # the token was in use throughout
    assert report.job("digest").sent >= 1 and connector.posts()
    with slack.coach.uow_factory() as uow:  # the marked words were really typed, and stored
        notes = " ".join(t.note for c in uow.clients.list(WORKSPACE)
                         for t in uow.interactions.for_client(WORKSPACE, c.id, limit=100))
    assert not [w for w in ("pelican", "quokka", "narwhal", "wombat", "flamingo") if w not in notes], notes
    assert "capybara" not in notes  # a captured channel message's words are never kept

    lines = [(record, logs.format(record)) for record in logs.records]
    secrets = (*SECRETS, bearer)
    found_secrets = [(r.name, r.pathname, r.lineno, s) for r, text in lines for s in secrets if s in text]
    headers = [(r.name, r.lineno, m.group(0)) for r, text in lines if (m := AUTHORIZATION.search(text))]
    typed = [(r, word) for r, text in lines for word in NOTE_WORDS if word in text]
    ours = [(r.name, r.pathname, r.lineno, w) for r, w in typed if _ours(r)]
    loud = [(r.name, r.levelname, r.lineno, w) for r, w in typed if r.levelno >= logging.INFO]
    others = sorted({r.name for r, _ in typed if not r.name.startswith(BODY_LOGGERS)})
    assert len(lines) > 500  # a real session's worth of records
    assert not found_secrets, found_secrets
    assert not headers, headers
    assert not ours, ours
    assert not loud, loud
    assert not others, others


def _ours(record: logging.LogRecord) -> bool:
    path = Path(record.pathname).resolve()
    return PROJECT in path.parents and ".venv" not in path.parts


def test_the_server_logs_paths_without_query_strings_and_keeps_chatty_libraries_at_info(caplog):
    """An OAuth redirect carries its one-time code in the query string; slack_sdk and the other
    HTTP clients print whole bodies at DEBUG."""
    import asyncio
    import logging
    import urllib.request

    from aiohttp import web

    from bot import logs

    logs.configure(logging.DEBUG)
    assert all(logging.getLogger(name).getEffectiveLevel() == logging.INFO for name in logs.CHATTY)

    async def serve_once() -> None:
        app = web.Application()
        app.router.add_get("/slack/oauth_redirect", lambda request: web.Response(text="ok"))
        runner = web.AppRunner(app, access_log_class=logs.AccessLogger)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}/slack/oauth_redirect?code=one-time-secret&state=xyz"
        await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read())
        await runner.cleanup()

    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        asyncio.run(serve_once())
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert lines and "/slack/oauth_redirect" in lines[0]
    assert not any("one-time-secret" in line or "code=" in line for line in lines)


# ---- one request, one access-log line ------------------------------------------------------

# Request targets as a client may send them: percent-encoded line breaks (request.path decodes
# them), Unicode line and paragraph separators, bidi overrides, an escape sequence, raw UTF-8
# bytes (aiohttp's parser refuses those: 400, logged as "UNKNOWN /"); each would let a client
# write a line of its own into the access log.
FORGING_TARGETS = (
    b"/healthz%0A127.0.0.1%20GET%20/admin%20200",
    b"/healthz%0D%0A127.0.0.1%20GET%20/admin%20200%200.001s",
    b"/healthz%E2%80%A8127.0.0.1%20GET%20/admin",
    b"/healthz%E2%80%A9x%E2%80%85y",
    b"/healthz%E2%80%AEnimda/%E2%81%A6x%E2%81%A9",
    b"/healthz%1B%5B2K%08%00%7F",
    b"/nowhere\xe2\x80\xa8127.0.0.1\xe2\x80\xaex",
    b"/slack/oauth_redirect?code=one-time-secret%0Aforged&state=xyz",
)


@pytest.fixture(scope="module")
def coach_address(tmp_path_factory) -> Iterator[tuple[str, int]]:
    """The coach's own app, with the access logger ``coach serve`` gives it, on loopback."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('access-log') / 'coach.sqlite3'}"
    db.upgrade(database_url)
    settings = Settings(_env_file=None, DATABASE_URL=database_url, COACH_WORKSPACE=WORKSPACE)
    app = create_web_app(bootstrap(settings), settings, env={})
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log_class=logs_module.AccessLogger)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", port
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def raw_get(address: tuple[str, int], target: bytes) -> bytes:
    """One GET with ``target`` sent byte for byte (no client library re-encodes it)."""
    with socket.create_connection(address, timeout=5) as connection:
        connection.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: coach.example\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def access_records(caplog, at_least: int = 1) -> list[logging.LogRecord]:
    """The access log's records, once there are ``at_least`` (each is written after its answer)."""
    deadline = time.monotonic() + 5
    while True:
        records = [r for r in caplog.records if r.name == "aiohttp.access"]
        if len(records) >= at_least or time.monotonic() > deadline:
            return records
        time.sleep(0.02)


@pytest.mark.parametrize("target", FORGING_TARGETS, ids=lambda target: target.decode("latin-1")[:40])
def test_a_request_writes_one_access_log_line_whatever_its_path_holds(coach_address, caplog, target):
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        answer = raw_get(coach_address, target)
        records = access_records(caplog)
        time.sleep(0.1)  # anything more would come now
        records = access_records(caplog)
    assert answer.startswith(b"HTTP/1.")  # answered (raw non-ASCII bytes get 400 from the parser)
    [record] = records  # one record for the one request
    line = logging.Formatter(logs_module.FORMAT).format(record)
    assert all(ch.isprintable() for ch in line), line  # no \n, \r, U+2028/U+2029, bidi control, ESC, NUL
    assert "one-time-secret" not in line and "forged" not in line


def test_whatever_a_parser_lets_through_is_escaped(caplog):
    """aiohttp's C parser refuses raw control bytes in a request line; a request it did let
    through (its pure-Python parser, a proxy's rewrite) still makes one printable line."""
    from aiohttp.test_utils import make_mocked_request

    request = make_mocked_request("GET", "/healthz\n127.0.0.1 GET /admin\u2028\u202e\x1b[2K\\x?code=secret\n")
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        logs_module.AccessLogger(logging.getLogger("aiohttp.access"), "").log(request, web.Response(), 0.001)
    [line] = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert line.endswith(r"GET /healthz\n127.0.0.1 GET /admin\u2028\u202e\x1b[2K\\x 200 0.001s")
    assert all(ch.isprintable() for ch in line)
