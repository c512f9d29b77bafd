"""The floor for Slack's acknowledgement: a bare Bolt app that only acknowledges.

``python -m bench.ack_floor serve --port N`` serves an ``AsyncApp`` with the coach's slash
commands, each listener calling ``ack()`` and nothing else, behind the same aiohttp server and
signature check as ``coach serve``, on 127.0.0.1. :func:`measure` starts it as a separate
process and fires the same rounds of correctly signed ``/logmeeting`` commands as
``bench.endpoints`` does at the coach: what is left between the two is the coach's own cost
(keeping each request before acknowledging it, and sharing the process with the turns).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("/logmeeting", "/ledger", "/promises", "/teamhealth", "/coach")


def _app(secret: str) -> web.Application:
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp

    from slack_bolt.authorization import AuthorizeResult

    async def authorize(enterprise_id, team_id, user_id, **_: Any) -> AuthorizeResult:  # no Web API call
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id,
                               bot_token="xoxb-floor", bot_user_id="UFLOOR", bot_id="BFLOOR")

    bolt = AsyncApp(signing_secret=secret, authorize=authorize)

    async def only_ack(ack) -> None:
        await ack()

    for command in COMMANDS:
        bolt.command(command)(only_ack)

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", health)
    return app


async def _round(session: aiohttp.ClientSession, url: str, signed: list[tuple[str, dict[str, str]]]) -> list[tuple[int, float]]:
    async def one(body: str, headers: dict[str, str]) -> tuple[int, float]:
        started = time.perf_counter()
        async with session.post(url, data=body.encode(), headers=headers) as response:
            await response.read()
            return response.status, time.perf_counter() - started
    return list(await asyncio.gather(*(one(b, h) for b, h in signed)))


async def _fire(url: str, secret: str, concurrency: int, rounds: int, warmup: int) -> dict[str, Any]:
    from tests.slack.signing import signed_headers, slash_command_body

    latencies: list[float] = []
    statuses: dict[str, int] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for number in range(warmup + rounds):
            bodies = [slash_command_body("/logmeeting", f"Floor Client {i} call give: sent the sector report", f"U{i:08d}",
                                         trigger_id=f"floor-{number}-{i}") for i in range(concurrency)]
            answers = await _round(session, url, [(b, signed_headers(secret, b)) for b in bodies])
            if number >= warmup:
                latencies += [seconds for _, seconds in answers]
                for status, _ in answers:
                    statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {"concurrency": concurrency, "rounds": rounds, "latencies": latencies, "statuses": statuses}


def measure(secret: str, *, concurrency: int = 64, rounds: int = 10, warmup: int = 1) -> dict[str, Any]:
    """The bare app's acknowledgement latencies for ``rounds`` bursts of ``concurrency``."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen([sys.executable, "-m", "bench.ack_floor", "serve", "--port", str(port),
                                "--secret", secret], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        _wait_ready(f"http://127.0.0.1:{port}/healthz", process)
        return asyncio.run(_fire(f"http://127.0.0.1:{port}/slack/events", secret, concurrency, rounds, warmup))
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_ready(url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the floor server exited ({process.returncode})")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        time.sleep(0.05)
    raise RuntimeError("the floor server did not start")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ack_floor")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--secret", required=True)
    args = parser.parse_args(argv)
    web.run_app(_app(args.secret), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
