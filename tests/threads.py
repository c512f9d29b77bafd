"""Run an asyncio test server (a fake platform API) in a background thread of its own."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Awaitable, Callable, Iterator


@contextlib.contextmanager
def serving_in_thread(start: Callable[[], Awaitable[object]], stop: Callable[[], Awaitable[None]],
                      name: str) -> Iterator[None]:
    """``start()`` in a fresh event loop on a daemon thread; ``stop()`` there on leaving."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as error:  # reported to the starting thread below
            errors.append(error)
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.run_until_complete(stop())
        loop.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    if not ready.wait(10) or errors:
        raise RuntimeError(f"{name} did not start") from (errors[0] if errors else None)
    try:
        yield
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
