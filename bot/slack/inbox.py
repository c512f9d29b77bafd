"""The Slack app's request inbox: every signed request is kept before it is acknowledged, and
settled once its listener is done; what a stopped process left pending is replayed.

Before a request is acknowledged, a middleware keeps its body in the request inbox
(storage/requests.py, through ``InboxWriter``: a thread of its own and group commits), keyed by
its signature; a listener settles it when its work is done. A
request still pending a minute later belonged to a process that died after acknowledging it: a
background task replays it through a second app that skips the signature check (it was checked
when the request arrived) and runs each listener to the end. The same key refuses a replayed
copy of a signed request with 401.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot import logs
from bot.slack.inbox_writer import InboxWriter
from coaching.errors import StorageRefused, StorageUnavailable

# the Slack app's logger, named as it was before bot/slack/app.py was split by role
log = logging.getLogger("bot.slack.app")

INBOX_KEY = "coach_inbox_key"  # the request's key in the inbox, in Bolt's context
REPLAY_EVERY_S = 30
KEEP_SIGNATURES = timedelta(minutes=10)  # Bolt accepts a request's timestamp for five minutes
SETTLE_EVERY_S, SETTLE_WARN_S = 2, 300  # marking a request done is retried until it works
DRAIN_POLL_S = 0.02

Listener = Callable[..., Awaitable[None]]


class SlackInbox:
    """The inbox's side of the Slack app: ``keep_request`` (a middleware), ``settling`` (around
    each listener that changes something) and the replaying of what was left pending.

    ``requests`` is the coach's request store; ``replayer`` the app that runs a replayed request
    (the same listeners, run to the end, without the signature check)."""

    def __init__(self, requests: Any, replayer: AsyncApp, replay_after: timedelta) -> None:
        self.requests, self.replayer, self.replay_after = requests, replayer, replay_after
        self.writer = InboxWriter(requests)  # the keeping before the acknowledgement: a path of its own
        self.unsettled: dict[str, float] = {}  # this process's requests not yet done: key -> since
        self.settle_tasks: dict[str, asyncio.Task] = {}  # requests whose settle waits out an outage
        self.working = 0  # listeners running now, their settle included: what stopping waits for

    async def keep_request(self, req: AsyncBoltRequest, next) -> BoltResponse:
        """Keep a signed request before any listener acknowledges it; refuse a copy already seen."""
        signature = (req.headers.get("x-slack-signature") or [""])[0]
        if req.mode != "http" or not signature or read_only(req.body):
            return await next()
        key = hashlib.sha256(signature.encode()).hexdigest()
        try:
            fresh = await self.writer.store(key, "slack", req.raw_body, _media_type(req), datetime.now(UTC))
        except StorageUnavailable:  # the listener will meet the outage too, and say so
            log.warning("the request inbox is unavailable; a Slack request goes through without it")
            return await next()
        except StorageRefused as error:  # a body no database takes (a raw NUL): not one Slack sends
            log.info("refused a Slack request that cannot be stored: %s", error.detail)
            return BoltResponse(status=400, body="")
        if not fresh:
            log.warning("refused a replayed Slack request")
            return BoltResponse(status=401, body="")
        req.context[INBOX_KEY] = key
        self.unsettled[key] = time.monotonic()
        # Bolt runs the listener after the whole middleware chain: ``next`` returns before it.
        # A request no listener takes stays pending and is replayed once, to no effect.
        return await next()

    def settling(self, listener: Listener) -> Listener:
        """``listener``, then its request settled in the inbox. After an error the request is
        left to this process's replayer (once, a minute on). The listener takes ``context``."""
        @functools.wraps(listener)  # Bolt reads the listener's own parameters through this
        async def settled(**kwargs: Any) -> None:
            self.working += 1
            try:
                try:
                    await listener(**kwargs)
                except Exception:
                    self.unsettled.pop(kwargs["context"].get(INBOX_KEY), None)
                    raise
                await self.settle(kwargs["context"])
            finally:
                self.working -= 1

        return settled

    async def settle(self, context: Any) -> None:
        """The request's work is done (or the user was told to try again): never replay it. A
        database outage is waited out in the background for a few minutes."""
        key = context.get(INBOX_KEY) if context is not None else None
        if key is None:
            return
        if await self._try_settle(key):
            return
        task = asyncio.create_task(self._settle_later(key))
        self.settle_tasks[key] = task
        task.add_done_callback(lambda _: self.settle_tasks.pop(key, None))

    async def _try_settle(self, key: str) -> bool:
        try:
            await asyncio.to_thread(self.requests.settle, key)
        except StorageUnavailable:
            return False
        self.unsettled.pop(key, None)
        return True

    async def _settle_later(self, key: str) -> None:
        """Until it works: while the key is unsettled no process of this one replays it, and a
        replica replays it only once it is ``replay_after`` old."""
        waited = 0
        while not await self._try_settle(key):
            await asyncio.sleep(SETTLE_EVERY_S)
            waited += SETTLE_EVERY_S
            if waited % SETTLE_WARN_S == 0:
                log.warning("a handled Slack request still cannot be marked done (database unavailable)")

    async def drain(self, within: float) -> int:
        """When the server stops: wait, at most ``within`` seconds, for the listeners still running
        to finish and settle their requests. Returns how many did not; their requests stay
        pending and are replayed by the next process to start (or a replica), not lost. Settles
        waiting out a database outage are given up the same way."""
        deadline = time.monotonic() + within
        while self.working and time.monotonic() < deadline:
            await asyncio.sleep(DRAIN_POLL_S)
        if self.working:
            log.warning("stopping with %d Slack request(s) still being handled; "
                        "they will be replayed", self.working)
        for task in list(self.settle_tasks.values()):
            task.cancel()
        return self.working

    async def replay_stale(self) -> int:
        """Run each request another process acknowledged but never finished, once."""
        now = datetime.now(UTC)
        self._forget_unclaimed()
        taken = await asyncio.to_thread(self.requests.take_stale, "slack", now - self.replay_after,
                                        frozenset(self.unsettled), abandoned_before=now - KEEP_SIGNATURES)
        for request in taken:
            await self._replay(request)
        if taken:
            log.info("replayed %d Slack request(s) left pending by a stopped process", len(taken))
        await asyncio.to_thread(self.requests.purge, now - KEEP_SIGNATURES)
        return len(taken)

    def _forget_unclaimed(self) -> None:
        """This process's own requests are its listeners' to settle, unless none ever will (no
        listener took them): after ten minutes they are anybody's."""
        forgotten = time.monotonic() - KEEP_SIGNATURES.total_seconds()
        for key in [k for k, since in self.unsettled.items() if since < forgotten and k not in self.settle_tasks]:
            del self.unsettled[key]

    async def _replay(self, request: Any) -> None:
        headers = {"content-type": [request.content_type]} if request.content_type else {}
        # the id its acknowledgement was logged with: the listeners' tasks copy it
        token = logs.REQUEST_ID.set(logs.slack_request_id(request.key))
        try:
            await self.replayer.async_dispatch(AsyncBoltRequest(body=request.body, headers=headers))
        except Exception:  # one request that cannot be replayed must not stop the others
            log.exception("a pending Slack request could not be replayed")
        finally:
            logs.REQUEST_ID.reset(token)
        await self._try_settle(request.key)

    async def keep_replaying(self) -> None:
        """At start-up and every half minute after, for as long as the server runs."""
        while True:
            try:
                await self.replay_stale()
            except StorageUnavailable:
                log.warning("the request inbox is unavailable; replaying later")
            except Exception:  # replaying must outlive any one failure
                log.exception("replaying pending Slack requests failed; trying again later")
            await asyncio.sleep(min(REPLAY_EVERY_S, self.replay_after.total_seconds()))


def _media_type(req: AsyncBoltRequest) -> str | None:
    """The request's media type only (the header is not signed, and its length is the sender's
    to choose)."""
    return ((req.headers.get("content-type") or [""])[0].split(";")[0].strip()[:100]) or None


def read_only(body: dict[str, Any]) -> bool:
    """Requests that change nothing and need no inbox: type-ahead searches and the Home tab."""
    if body.get("type") == "block_suggestion":
        return True
    return body.get("type") == "event_callback" and (body.get("event") or {}).get("type") == "app_home_opened"
