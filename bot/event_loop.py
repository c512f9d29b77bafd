"""The server's event loop: uvloop's where it is installed (a dependency everywhere but on
Windows, which it does not support), else asyncio's own.

uvloop is asyncio's event loop with its I/O written in C (libuv), the same API: the HTTP
server's reads and writes, the Slack and Teams clients' requests, the timers. On this project's
2-core benchmark machine it took about a tenth off the server's CPU per logged touch
(BENCHMARKS.md). ``coach serve`` runs on it with one process (:func:`new_event_loop`) and with
several (:data:`WORKER_CLASS`, aiohttp's gunicorn worker for uvloop); each server says which loop
it runs at start-up ("event loop: uvloop")."""

from __future__ import annotations

import asyncio
import logging

try:
    import uvloop
except ImportError:  # Windows: asyncio's loop
    uvloop = None

log = logging.getLogger(__name__)

WORKER_CLASS = "aiohttp.GunicornWebWorker" if uvloop is None else "aiohttp.GunicornUVLoopWebWorker"


def new_event_loop() -> asyncio.AbstractEventLoop:
    return asyncio.new_event_loop() if uvloop is None else uvloop.new_event_loop()


def name(loop: asyncio.AbstractEventLoop) -> str:
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


async def say_which(_app: object) -> None:
    """An application's start-up hook: the loop it runs on, in the log."""
    log.info("event loop: %s", name(asyncio.get_running_loop()))
