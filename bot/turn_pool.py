"""The threads that run the engine's turns in ``coach serve``, kept out of the acknowledgement's way.

Slack wants its 200 within three seconds and a rep feels every tenth of one. The event loop that
acknowledges shares one interpreter lock with the threads that run the turns (the work behind an
acknowledged request), so under a burst of requests a turn running in a thread slows every
acknowledgement still to be given. Two things keep the loop first:

- **few threads** (``COACH_TURN_THREADS``; unset, 4 on PostgreSQL and 2 on SQLite): Python's
  default pool (cores + 4) lets six CPU-bound turns take the lock from the loop;
- **acknowledgements first**: a turn waits to start while a request is being acknowledged (the
  loop counts them, :meth:`TurnPool.acknowledging`), at most :data:`WAIT_MAX_S`, so a burst is
  acknowledged whole before its work begins. Work already running is not interrupted.

docs/deploy-proxy.md has the figures.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterator

WAIT_MAX_S = 0.2  # a turn never waits longer than this for acknowledgements to finish


class TurnPool(ThreadPoolExecutor):
    """A thread pool whose work starts once no acknowledgement is under way (or after
    ``wait_max`` seconds). :meth:`acknowledging` is called on the event loop's thread only."""

    def __init__(self, threads: int, wait_max: float = WAIT_MAX_S) -> None:
        super().__init__(max_workers=threads, thread_name_prefix="coach-turn")
        self.wait_max = wait_max
        self._acking = 0
        self._idle = threading.Event()
        self._idle.set()
        self.waited = 0  # work that found an acknowledgement under way and waited: observable

    @property
    def under_way(self) -> int:
        """Requests being acknowledged at this moment."""
        return self._acking

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return super().submit(self._after_acknowledgements, fn, *args, **kwargs)

    def _after_acknowledgements(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._idle.is_set():
            self.waited += 1
            self._idle.wait(self.wait_max)
        return fn(*args, **kwargs)

    @contextmanager
    def acknowledging(self) -> Iterator[None]:
        """Around the handling of a request until its acknowledgement is ready."""
        self._acking += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._acking -= 1
            if not self._acking:
                self._idle.set()


def serving(pool: TurnPool):
    """An aiohttp cleanup context: ``pool`` is the loop's default executor (where every
    ``asyncio.to_thread`` runs) while the application runs."""
    async def run(_: Any):
        asyncio.get_running_loop().set_default_executor(pool)
        yield
        pool.shutdown(wait=False, cancel_futures=False)

    return run
