"""A stand-in for the Teams connector service (an activity's serviceUrl): records what the coach
sends, answers like the real one, and can be told to fail first (429, 403, 5xx).

``script`` is a list of ``(status, headers)`` answers for the next POSTs, in order. For more,
``fail_next(status, headers, ...)`` answers the next POST(s) (to one ``conversation`` when given)
with an error, after ``hang`` seconds (a sender with a shorter timeout gives up: ``status=None``
then answers normally, too late), and with ``after=True`` only once the activity was taken: it is
in ``received`` as if delivered, as when the service stored it and then failed to answer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from typing import Any

from aiohttp import web


@dataclasses.dataclass
class Call:
    method: str
    path: str
    body: Any
    headers: dict[str, str]

    @property
    def conversation(self) -> str:
        """The conversation id in the path (``/v3/conversations/<id>/activities...``)."""
        return self.path.split("/")[3] if self.path.startswith("/v3/conversations/") else ""


@dataclasses.dataclass
class _Failure:
    status: int | None  # None: a hang alone, then the normal answer
    headers: dict[str, str]
    times: int = 1
    after: bool = False
    hang: float = 0.0
    conversation: str | None = None


class FakeConnector:
    """The Bot Connector service a Teams activity's ``serviceUrl`` points at: records what the
    coach sends and answers like the real one (``{"id": ...}``)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.members: dict[str, dict[str, Any]] = {}  # what a member lookup answers, by member id
        self.received: list[Call] = []  # the activities taken (what a user would see)
        self.script: list[tuple[int, dict[str, str]]] = []
        self.url = ""
        self._failures: list[_Failure] = []
        self._changed = threading.Condition()

    def fail_next(self, status: int | None, headers: dict[str, str] | None = None, *, times: int = 1,
                  after: bool = False, hang: float = 0.0, conversation: str | None = None) -> None:
        """Answer the next ``times`` POSTs (into ``conversation``, when given) with ``status``,
        after ``hang`` seconds; ``after``: once the activity was taken."""
        with self._changed:
            self._failures.append(_Failure(status, dict(headers or {}), times, after, hang, conversation))

    def unmet(self) -> list[tuple[int | None, bool]]:
        """Failures set up that no POST has met yet: (status, after), one per time left."""
        with self._changed:
            return [(f.status, f.after) for f in self._failures for _ in range(f.times)]

    def _failure_for(self, call: Call) -> _Failure | None:
        with self._changed:
            if self.script:  # scripted failures first (status, headers), then success
                status, headers = self.script.pop(0)
                return _Failure(status, headers)
            failure = next((f for f in self._failures
                            if f.conversation is None or f.conversation == call.conversation), None)
            if failure is not None:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
            return failure

    def app(self) -> web.Application:
        async def record(request: web.Request) -> web.Response:
            body = await request.json() if request.can_read_body else None
            call = Call(request.method, request.path, body, dict(request.headers))
            with self._changed:
                self.calls.append(call)
                self._changed.notify_all()
            if request.method == "GET":  # member lookups: those in ``members``, else nobody
                member = self.members.get(request.match_info.get("member", ""))
                return web.json_response(member) if member else \
                    web.json_response({"error": {"code": "NotFound"}}, status=404)
            failure = self._failure_for(call)
            if failure is None or failure.after:
                with self._changed:
                    self.received.append(call)
                    self._changed.notify_all()
            if failure is None:
                return web.json_response({"id": f"reply-{len(self.calls)}"})
            if failure.hang:
                await asyncio.sleep(failure.hang)
            if failure.status is None:
                return web.json_response({"id": f"reply-{len(self.calls)}"})
            return web.json_response({"error": {"code": str(failure.status)}}, status=failure.status,
                                     headers=failure.headers)

        app = web.Application()
        app.router.add_post("/v3/conversations/{conversation}/activities", record)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", record)
        app.router.add_get("/v3/conversations/{conversation}/members/{member}", record)
        return app

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Call]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.posts()) >= count, timeout):
                raise AssertionError(f"the coach posted {len(self.posts())} activities, not {count}: {self.calls}")
            return self.posts()

    def posts(self) -> list[Call]:
        return [c for c in self.calls if c.method == "POST"]

    async def __aenter__(self) -> "FakeConnector":
        """Serve in the running event loop (async tests); ``serving()`` runs it in a thread."""
        self._runner = web.AppRunner(self.app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()
