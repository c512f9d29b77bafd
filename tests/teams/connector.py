"""A stand-in for the Teams connector service (the activity's serviceUrl), recording what the coach sends."""

from __future__ import annotations

from aiohttp import web


class FakeConnector:
    """Plays the Teams connector service: records activities, answers scripted statuses."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.script: list[tuple[int, dict]] = []  # (status, headers) answered before a 201
        self.url = ""

    async def activity(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        if self.script:
            status, headers = self.script.pop(0)
            return web.json_response({"error": {"code": str(status)}}, status=status, headers=headers)
        return web.json_response({"id": f"a{len(self.received)}"}, status=201)

    async def __aenter__(self) -> "FakeConnector":
        app = web.Application()
        app.router.add_post("/v3/conversations/{cid}/activities", self.activity)
        app.router.add_post("/v3/conversations/{cid}/activities/{aid}", self.activity)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()
