"""Keeping requests before their acknowledgement, cheaply under a burst.

Slack waits three seconds for an acknowledgement, and the coach keeps every request durably
before giving it (``bot/slack/inbox.py``). That write used to run in the thread pool the
listeners' turns run in, so under a burst an acknowledgement queued behind other requests' whole
turns. :class:`InboxWriter` gives it a path of its own: one thread that does nothing else, and a
group commit: while one write is on the disk, the requests that arrive queue up and go together
in the next transaction (``RequestInbox.store_many``), so a burst of 64 costs a few commits, not
64. Nothing is acknowledged before its own row is committed.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

BATCH_MAX = 256  # requests per transaction


class InboxWriter:
    def __init__(self, requests: Any) -> None:
        self.requests = requests
        self._pending: list[tuple[tuple[str, str, str, str | None, datetime], asyncio.Future]] = []
        self._draining = False
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox-writer")
        self.transactions = 0  # how many commits kept how many requests: the batching, observable
        self.kept = 0

    async def store(self, key: str, platform: str, body: str, content_type: str | None, now: datetime) -> bool:
        """``RequestInbox.store``, batched with whatever else is waiting: True when kept, False
        for a key already seen; raises what ``store`` raises (unavailable, refused)."""
        done = asyncio.get_running_loop().create_future()
        self._pending.append(((key, platform, body, content_type, now), done))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch, self._pending = self._pending[:BATCH_MAX], self._pending[BATCH_MAX:]
                try:
                    results = await loop.run_in_executor(self._thread, self.requests.store_many,
                                                         [item for item, _ in batch])
                except Exception as error:  # the database is down: every waiting request hears it
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(error)
                    continue
                self.transactions += 1
                self.kept += len(batch)
                for (_, done), result in zip(batch, results):
                    if done.done():
                        continue
                    if isinstance(result, Exception):
                        done.set_exception(result)
                    else:
                        done.set_result(result)
        finally:
            self._draining = False
