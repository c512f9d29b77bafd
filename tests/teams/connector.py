"""A stand-in for the Teams connector service (an activity's serviceUrl): records what the coach
sends, answers like the real one, and can be told to fail first (429, 403, 5xx)."""

from __future__ import annotations

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


class FakeConnector:
    """The Bot Connector service a Teams activity's ``serviceUrl`` points at: records what the
    coach sends and answers like the real one (``{"id": ...}``)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.script: list[tuple[int, dict[str, str]]] = []
        self.url = ""
        self._changed = threading.Condition()

    def app(self) -> web.Application:
        async def record(request: web.Request) -> web.Response:
            body = await request.json() if request.can_read_body else None
            with self._changed:
                self.calls.append(Call(request.method, request.path, body, dict(request.headers)))
                self._changed.notify_all()
            if request.method == "GET":  # member lookups: nobody here
                return web.json_response({"error": {"code": "NotFound"}}, status=404)
            if self.script:  # scripted failures first (status, headers), then success
                status, headers = self.script.pop(0)
                return web.json_response({"error": {"code": str(status)}}, status=status, headers=headers)
            return web.json_response({"id": f"reply-{len(self.calls)}"})

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
