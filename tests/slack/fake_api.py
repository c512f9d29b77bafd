"""A local, recording stand-in for Slack's Web API.

Point a real slack_sdk client at it (``base_url=f"{api.url}/api/"``) and assert on what was sent::

    async with FakeSlackApi() as api:                  # async tests: runs in the current loop
        client = AsyncWebClient(token="xoxb-test", base_url=f"{api.url}/api/")
        ...
        [call] = await api.wait_for("chat.postMessage")

    with FakeSlackApi().started_in_thread() as api:    # sync tests: own loop in a thread
        ...
        api.wait_for_sync("chat.postMessage")

Every request is recorded as a ``Call``; JSON strings inside form data (``blocks``, ``view``,
``files``...) are decoded. POSTs to ``/response/<name>`` (use ``api.response_url()`` as a
slash command's response_url) are recorded as method ``"response_url"``, uploads to the URL
handed out by ``files.getUploadURLExternal`` as method ``"upload"`` (bytes in ``api.uploads``).
``wait_for_sync`` blocks its thread: call it only when the fake runs in another thread.

Socket Mode: ``apps.connections.open`` hands out ``ws://.../socket``; a client connecting there
(recorded as ``"socket_connect"``) gets Slack's ``hello``, then whatever envelopes the test pushes
with ``await api.socket_send(envelope)`` (or ``api.socket_send_sync`` from another thread). Every
message the client sends back (acks: ``{"envelope_id": ..., "payload": ...}``) is recorded as
method ``"socket_ack"``.

Holding an answer: ``held = api.hold("chat.postMessage", 3)`` keeps the answer to the third call
to that method (counted over every call the fake received) until ``held.release()`` (or the fake
stops). The call is recorded when it arrives, as any other (a post is in its conversation from
then on: only the answer is late), and ``held.arrived`` (a ``threading.Event``) is set then,
``held.call`` holding it: the moment to kill a client with a request in flight.
``with api.hold(...) as held:`` releases it on leaving the block.

Failing: ``api.fail_next(method, status, ...)`` answers the next call(s) to ``method`` with an
error (429 with Retry-After); ``where={"channel": "D1"}`` limits it to calls with those
parameters, ``hang=SECONDS`` keeps the answer that long first (a client with a shorter timeout
gives up: ``status=None`` then answers normally, too late), and ``after=True`` fails only once
the call has taken effect (the message is in the conversation), as a Slack that stored a post
and then failed to answer would. ``api.hang_next(...)`` is the same for a hang alone.

Conversations: every message ``chat.postMessage`` took is kept with its ``metadata`` (see
``api.messages(channel)``), and ``conversations.history`` answers from them as Slack does:
newest first, ``oldest``/``latest`` exclusive unless ``inclusive``, ``limit`` with a cursor,
and each message's metadata only with ``include_all_metadata``. A message's ``ts`` comes from
``clock`` (seconds since the epoch, e.g. ``time.time`` or the test's clock), or without one
from a counter starting at 1700000000.

OAuth: ``oauth.v2.access`` answers with ``api.oauth_install`` (a bot token for team T9 unless
changed), and ``auth.test`` then knows that token's team. The client id and secret, which
slack_sdk sends with HTTP basic auth, are recorded as ``client_id`` / ``client_secret``.
Token rotation: ``oauth.v2.access`` with ``grant_type=refresh_token`` answers with
``api.refreshes[refresh_token]`` (a new ``access_token``, ``refresh_token`` and ``expires_in``;
``token_type`` bot unless given), and ``invalid_refresh_token`` for a refresh token not listed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from aiohttp import web

from tests.threads import serving_in_thread

JSON_FIELDS = {"blocks", "attachments", "view", "files", "metadata", "unfurls", "user_auth_blocks"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None = None  # from the Authorization header (or a ``token`` parameter)
    path: str = ""
    number: int = 0  # the how-manyth call to its method this fake received (1 = the first)
    peer: tuple[str, int] | None = None  # the caller's address and port: one per connection


class Hold:
    """The answer to one call, kept until :meth:`release` (see the module)."""

    def __init__(self, method: str, nth: int) -> None:
        self.method, self.nth = method, nth
        self.arrived = threading.Event()  # set when the call has arrived (and been recorded)
        self.call: Call | None = None
        self._released = threading.Event()
        self._wake: Any = None  # sets the waiting handler's asyncio.Event, from any thread

    @property
    def released(self) -> bool:
        return self._released.is_set()

    def wait_arrived(self, timeout: float = 5.0) -> Call:
        """Block until the held call has arrived (only when the fake runs in another thread)."""
        if not self.arrived.wait(timeout):
            raise AssertionError(f"call {self.nth} to {self.method} did not arrive within {timeout} s")
        assert self.call is not None
        return self.call

    def release(self) -> None:
        """Let the held call be answered (now, or at once when it arrives). Idempotent."""
        self._released.set()
        if self._wake is not None:
            self._wake()

    async def _wait(self, call: Call) -> None:
        loop = asyncio.get_running_loop()
        event = asyncio.Event()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
                loop.call_soon_threadsafe(event.set)

        self._wake = wake
        self.call = call
        self.arrived.set()
        if not self._released.is_set():
            await event.wait()

    def __enter__(self) -> "Hold":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


@dataclass
class _Failure:
    status: int | None  # None: a hang alone, then the normal answer
    retry_after: int | None
    times: int = field(default=1)
    after: bool = False  # fail once the call has taken effect
    hang: float = 0.0  # seconds before answering
    where: dict[str, Any] = field(default_factory=dict)

    def matches(self, call: Call) -> bool:
        return all(call.params.get(key) == value for key, value in self.where.items())


class FakeSlackApi:
    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self.calls: list[Call] = []
        self.clock = clock
        self.conversations: dict[str, list[dict[str, Any]]] = {}  # channel -> messages, oldest first
        self._counts: dict[str, int] = {}  # calls per method, for holds
        self._last_ts = 0  # microseconds: each message's ts is later than the last
        self._stopping: asyncio.Event | None = None
        self.users: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, bytes] = {}
        self.url = ""
        self._changed = threading.Condition()
        self._failures: dict[str, list[_Failure]] = {}
        self._holds: list[Hold] = []
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self.oauth_install: dict[str, Any] = {
            "access_token": "xoxb-installed", "token_type": "bot",
            "scope": "commands,chat:write,im:history,im:write,users:read,users:read.email,files:write",
            "bot_user_id": "UBOT9", "app_id": "A0TEST", "team": {"id": "T9", "name": "Team Nine"},
            "enterprise": None, "is_enterprise_install": False,
            "authed_user": {"id": "UINSTALLER"},
        }
        # auth.test's answer per token (tokens not listed get the default test team)
        self.identities: dict[str, dict[str, Any]] = {}
        # oauth.v2.access's answer per refresh token (grant_type=refresh_token: token rotation)
        self.refreshes: dict[str, dict[str, Any]] = {}

    # ---- configuration -------------------------------------------------------------------
    def add_user(self, user_id: str, email: str, *, tz: str = "Asia/Tokyo", locale: str = "ja-JP",
                 real_name: str = "Test User") -> dict[str, Any]:
        self.users[user_id] = {"id": user_id, "name": user_id.lower(), "real_name": real_name,
                               "tz": tz, "locale": locale,
                               "profile": {"email": email, "real_name": real_name}}
        return self.users[user_id]

    def fail_next(self, method: str, status: int | None = 429, retry_after: int | None = 1,
                  times: int = 1, *, after: bool = False, hang: float = 0.0,
                  where: dict[str, Any] | None = None) -> None:
        """Answer the next ``times`` calls to ``method`` (those with the parameters in ``where``)
        with ``status`` (429 adds Retry-After), after ``hang`` seconds; ``after``: once the call
        has taken effect. Failures queue per method, first come first served."""
        with self._changed:
            self._failures.setdefault(method, []).append(
                _Failure(status, retry_after, times, after, hang, dict(where or {})))

    def hang_next(self, method: str, seconds: float, times: int = 1, *, after: bool = False,
                  where: dict[str, Any] | None = None) -> None:
        """Keep the answer to the next ``times`` calls for ``seconds``: a client that gives up
        sooner sees a timeout. ``after``: the call has taken effect by then."""
        self.fail_next(method, None, None, times, after=after, hang=seconds, where=where)

    def hold(self, method: str, nth: int = 1) -> Hold:
        """Keep the answer to the ``nth`` call to ``method`` (1 = the first call this fake ever
        received) until the returned :class:`Hold` is released; the call is recorded on arrival.
        Only Web API methods (``/api/<method>``) can be held."""
        with self._changed:
            if nth < 1 or nth <= sum(call.method == method for call in self.calls):
                raise ValueError(f"call {nth} to {method} has already arrived (or is not a call number)")
            held = Hold(method, nth)
            self._holds.append(held)
            return held

    def response_url(self, name: str = "1") -> str:
        return f"{self.url}/response/{name}"

    # ---- Socket Mode ---------------------------------------------------------------------
    @property
    def socket_url(self) -> str:
        return "ws" + self.url.removeprefix("http") + "/socket"

    async def socket_send(self, envelope: dict[str, Any]) -> None:
        """Push an envelope to the most recently connected Socket Mode client."""
        open_sockets = [ws for ws in self._sockets if not ws.closed]
        if not open_sockets:
            raise AssertionError("no Socket Mode client is connected")
        await open_sockets[-1].send_json(envelope)

    def socket_send_sync(self, envelope: dict[str, Any], timeout: float = 5.0) -> None:
        """``socket_send`` from another thread (the fake runs in ``started_in_thread``)."""
        if self._loop is None:
            raise RuntimeError("FakeSlackApi is not running")
        asyncio.run_coroutine_threadsafe(self.socket_send(envelope), self._loop).result(timeout)

    # ---- inspection ----------------------------------------------------------------------
    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """The messages conversations hold (posts that took effect), oldest first; each has
        ``channel``, ``ts``, ``text``, ``blocks`` and ``metadata`` (None when posted without)."""
        with self._changed:
            if channel is not None:
                return list(self.conversations.get(channel, []))
            return sorted((m for ms in self.conversations.values() for m in ms), key=lambda m: m["ts"])

    def unmet(self) -> list[tuple[str, int | None, bool]]:
        """Failures set up that no call has met yet: (method, status, after), one per time left."""
        with self._changed:
            return [(method, f.status, f.after) for method, failures in self._failures.items()
                    for f in failures for _ in range(f.times)]

    def calls_to(self, method: str) -> list[Call]:
        with self._changed:
            return [call for call in self.calls if call.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while len(found := self.calls_to(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(self._missing(method, count, found))
            await asyncio.sleep(0.01)
        return found

    def wait_for_sync(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.calls_to(method)) >= count, timeout):
                raise AssertionError(self._missing(method, count, self.calls_to(method)))
            return self.calls_to(method)

    def _missing(self, method: str, count: int, found: list[Call]) -> str:
        seen = [call.method for call in self.calls]
        return f"expected {count} call(s) to {method}, got {len(found)}; all calls: {seen}"

    # ---- lifecycle -----------------------------------------------------------------------
    async def start(self) -> "FakeSlackApi":
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response/{name:.*}", self._response_url)
        app.router.add_get("/socket", self._socket)
        app.on_shutdown.append(self._close_sockets)
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        for held in self._holds:  # a held answer must not keep the server from stopping
            held.release()
        if self._stopping is not None:  # nor a hanging one
            self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeSlackApi":
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @contextlib.contextmanager
    def started_in_thread(self) -> Iterator["FakeSlackApi"]:
        with serving_in_thread(self.start, self.stop, "FakeSlackApi"):
            yield self

    # ---- HTTP handlers -------------------------------------------------------------------
    def _record(self, call: Call) -> _Failure | None:
        """Record ``call``; the failure it is to meet, if any."""
        with self._changed:
            self.calls.append(call)
            self._counts[call.method] = self._counts.get(call.method, 0) + 1
            call.number = self._counts[call.method]
            self._changed.notify_all()
            pending = self._failures.get(call.method, [])
            failure = next((f for f in pending if f.matches(call)), None)
            if failure is None:
                return None
            failure.times -= 1
            if failure.times <= 0:
                pending.remove(failure)
            return failure

    def _held(self, call: Call) -> Hold | None:
        """The hold waiting for ``call`` (just recorded), if any."""
        with self._changed:
            return next((h for h in self._holds if h.method == call.method and h.nth == call.number), None)

    async def _fail(self, failure: _Failure, answer: dict[str, Any] | None = None) -> web.Response:
        if failure.hang and self._stopping is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), failure.hang)
        if failure.status is None:
            return web.json_response(answer if answer is not None else {"ok": True})
        return self._failure_response(failure)

    @staticmethod
    def _failure_response(failure: _Failure) -> web.Response:
        headers = {}
        if failure.status == 429 and failure.retry_after is not None:
            headers["Retry-After"] = str(failure.retry_after)
        error = "ratelimited" if failure.status == 429 else "internal_error"
        return web.json_response({"ok": False, "error": error}, status=failure.status,
                                 headers=headers)

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json() if request.can_read_body else {})
        elif request.method == "POST":
            for key, value in (await request.post()).items():
                params[key] = value if isinstance(value, str) else value.file.read()
        for key in JSON_FIELDS & params.keys():
            if isinstance(params[key], str) and params[key].startswith(("[", "{")):
                params[key] = json.loads(params[key])
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):  # oauth.v2.access: the app's client id and secret
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            params.update(client_id=client_id, client_secret=secret)
            auth = ""
        token = auth.removeprefix("Bearer ") if auth else params.pop("token", None)
        call = Call(method, params, token, request.path, peer=request.transport.get_extra_info("peername")
                    if request.transport else None)
        failure = self._record(call)
        if failure is not None and not failure.after:
            return await self._fail(failure)
        answer = self._answer(method, params, token)  # takes effect (a post is in the conversation)
        if failure is not None:
            return await self._fail(failure, answer)
        if held := self._held(call):
            await held._wait(call)
        return web.json_response(answer)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        self._record(Call("socket_connect", dict(request.query), path=request.path))
        await ws.send_json({"type": "hello", "num_connections": len(self._sockets),
                            "debug_info": {"host": "applink-fake", "build_number": 1,
                                           "approximate_connection_time": 18060},
                            "connection_info": {"app_id": "A0TEST"}})
        try:
            async for message in ws:
                if message.type == web.WSMsgType.TEXT:
                    data = json.loads(message.data)
                    self._record(Call("socket_ack", data, path=request.path))
        finally:
            self._sockets.remove(ws)
        return ws

    async def _close_sockets(self, _: web.Application) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"server shutdown")

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        content = await request.read()
        if failure := self._record(Call("upload", {"file_id": file_id, "content": content},
                                        path=request.path)):
            return await self._fail(failure)
        self.uploads[file_id] = content
        return web.Response(text=f"OK - {len(content)}")

    async def _response_url(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        if failure := self._record(Call("response_url", params, path=request.path)):
            return await self._fail(failure)
        return web.json_response({"ok": True})

    # ---- canned answers ------------------------------------------------------------------
    def _next_ts(self) -> str:
        if self.clock is None:
            return f"1700000000.{next(self._ts) * 100:06d}"
        with self._changed:  # unique and increasing, as Slack's are within a conversation
            self._last_ts = max(self._last_ts + 1, int(self.clock() * 1_000_000))
            seconds, micros = divmod(self._last_ts, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _keep(self, channel: str, message: dict[str, Any], metadata: Any) -> None:
        with self._changed:
            self.conversations.setdefault(channel, []).append(
                {**message, "channel": channel, "metadata": metadata if isinstance(metadata, dict) else None})
            self._changed.notify_all()

    def _history(self, p: dict[str, Any]) -> dict[str, Any]:
        """``conversations.history``: newest first, within ``oldest``/``latest``, by pages."""
        truthy = lambda value: str(value).lower() in {"1", "true"}  # noqa: E731
        inclusive, with_metadata = truthy(p.get("inclusive")), truthy(p.get("include_all_metadata"))
        oldest, latest = float(p.get("oldest") or 0), float(p.get("latest") or "inf")

        def within(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        with self._changed:
            found = [m for m in reversed(self.conversations.get(str(p.get("channel")), [])) if within(float(m["ts"]))]
        start = int(p.get("cursor") or 0)
        limit = min(int(p.get("limit") or 100), 999)
        page = found[start:start + limit]
        more = start + limit < len(found)
        messages = []
        for m in page:
            shown = {k: v for k, v in m.items() if k not in ("channel", "metadata")}
            if with_metadata and m["metadata"] is not None:
                shown["metadata"] = m["metadata"]
            messages.append(shown)
        return {"ok": True, "messages": messages, "has_more": more, "pin_count": 0,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _refreshed(self, p: dict[str, Any]) -> dict[str, Any]:
        """``oauth.v2.access`` for a refresh token: the next token of a rotating installation."""
        if not p.get("client_id") or not p.get("client_secret"):
            return {"ok": False, "error": "invalid_client_id"}
        answer = self.refreshes.get(str(p.get("refresh_token")))
        if answer is None:
            return {"ok": False, "error": "invalid_refresh_token"}
        return {"ok": True, "token_type": "bot", **answer}

    def _user_by_email(self, email: str) -> dict[str, Any] | None:
        return next((u for u in self.users.values() if u.get("profile", {}).get("email") == email),
                    None)

    def _answer(self, method: str, p: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        ok: dict[str, Any] = {"ok": True}
        if method == "auth.test":
            if token in self.identities:
                return ok | self.identities[token]
            return ok | {"url": "https://testteam.slack.com/", "team": "Test Team",
                         "user": "coach", "team_id": "T0TEST", "user_id": "UBOT",
                         "bot_id": "BBOT", "is_enterprise_install": False}
        if method == "apps.connections.open":
            if not str(token or "").startswith("xapp-"):
                return {"ok": False, "error": "not_allowed_token_type"}
            return ok | {"url": self.socket_url}
        if method == "oauth.v2.access":
            if p.get("grant_type") == "refresh_token":
                return self._refreshed(p)
            if not p.get("code") or not p.get("client_id") or not p.get("client_secret"):
                return {"ok": False, "error": "invalid_code" if not p.get("code") else "invalid_client_id"}
            install = self.oauth_install
            team = install.get("team") or {}
            self.identities[install["access_token"]] = {
                "url": f"https://{str(team.get('name', 'team')).lower().replace(' ', '')}.slack.com/",
                "team": team.get("name"), "user": "coach", "team_id": team.get("id"),
                "user_id": install.get("bot_user_id"), "bot_id": "B" + str(install.get("bot_user_id", "")),
                "is_enterprise_install": bool(install.get("is_enterprise_install"))}
            return ok | install
        if method in {"chat.postMessage", "chat.update"}:
            ts = p.get("ts") if method == "chat.update" else self._next_ts()
            message = {"type": "message", "user": "UBOT", "bot_id": "BBOT", "ts": ts,
                       "text": p.get("text", ""), "blocks": p.get("blocks", [])}
            if method == "chat.postMessage":
                self._keep(str(p.get("channel")), message, p.get("metadata"))
            return ok | {"channel": p.get("channel"), "ts": ts, "message": message}
        if method == "conversations.history":
            return self._history(p)
        if method == "chat.postEphemeral":
            return ok | {"channel": p.get("channel"), "message_ts": self._next_ts()}
        if method == "conversations.open":
            first = str(p.get("users", "U0")).split(",")[0]
            return ok | {"channel": {"id": f"D{first}"}}
        if method in {"users.info", "users.lookupByEmail"}:
            user = (self.users.get(p.get("user", "")) if method == "users.info"
                    else self._user_by_email(p.get("email", "")))
            if user is None:
                error = "user_not_found" if method == "users.info" else "users_not_found"
                return {"ok": False, "error": error}
            return ok | {"user": user}
        if method in {"views.open", "views.publish", "views.update", "views.push"}:
            view = p.get("view") or {}
            view_id = p.get("view_id") or f"V{next(self._ids):08d}"
            return ok | {"view": {**view, "id": view_id, "team_id": "T0TEST", "hash": "h1"}}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ids):08d}"
            return ok | {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = [{"id": f["id"], "title": f.get("title"), "name": f.get("title")}
                     for f in p.get("files", [])]
            return ok | {"files": files}
        return ok
