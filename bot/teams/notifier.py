"""Digests into a rep's personal chat with the coach in Teams (proactive messages).

Teams' limits for a bot: about 7 messages a second per conversation and 1,800 an hour; one
digest per rep per day stays far below them. A 403 means the rep blocked or removed the app:
the saved conversation reference is marked inactive and the run goes on.

The Bot Connector cannot be asked afterwards whether an activity arrived, so each failure is
sorted by what it says about the activity:

* not taken, retried here with backoff (honouring ``Retry-After``): 429 and 412, which
  Microsoft asks bots to retry; 502 (the gateway got no proper answer from the service; Microsoft
  asks for a retry too); any 5xx that carries ``Retry-After`` (the service asks to come back);
  a connection that could not be made (nothing was sent);
* refused, not retried: any other 4xx (the run records it failed; a later tick tries again);
* unknown, never sent again (``MaybeDeliveredOn("teams")``): 500, 503 or 504 without
  ``Retry-After``, a timeout (``timeout`` seconds) or a connection dropped once the request
  was out. The digest may be lost: at most once wins over at least once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import aiohttp
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from bot.bootstrap import Coach
from bot.teams.app import CHANNEL_PREFIX, TeamsEndpoint, reply_activity
from coaching import chats
from coaching.errors import MaybeDeliveredOn
from coaching.model import Person
from coaching.replies import Reply

log = logging.getLogger(__name__)
RETRIED = {412, 429, 502}  # the connector did not take the activity


class _NotTaken(Exception):
    """A failure after which the activity is known not to have been taken: safe to send again."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _classify(error: Exception) -> Exception:
    """``_NotTaken`` (retry), the error itself (a refusal: 4xx) or ``MaybeDeliveredOn`` (anything
    else, an error of the SDK's included: the request may have left)."""
    if isinstance(error, aiohttp.ClientResponseError):
        headers = error.headers or {}
        if error.status in RETRIED or (error.status >= 500 and "Retry-After" in headers):
            return _NotTaken(error)
        if error.status < 500:
            return error
    elif isinstance(error, aiohttp.ClientConnectorError):  # no connection: nothing went out
        return _NotTaken(error)
    return MaybeDeliveredOn("teams", _detail(error))


def _wait(state) -> float:
    """Retry-After when Teams gives one, else exponential backoff (0.5 s, 1 s, 2 s…)."""
    error = state.outcome.exception() if state.outcome else None
    headers = getattr(getattr(error, "error", None), "headers", None) or {}
    try:
        return min(float(headers.get("Retry-After", "")), 30.0)
    except ValueError:
        return wait_exponential(multiplier=0.5, max=8)(state)


class TeamsNotifier:
    name = "teams"

    def __init__(self, coach: Coach, endpoint: TeamsEndpoint, attempts: int = 5, timeout: float = 30) -> None:
        self.coach, self.endpoint, self.attempts, self.timeout = coach, endpoint, attempts, timeout

    def send(self, person: Person, reply: Reply, key: str | None = None) -> str | None:
        """``key`` is not sent: nothing could read it back."""
        return asyncio.run(self.send_async(person, reply))

    def send_channel(self, channel: str, reply: Reply, locale: str | None, key: str | None = None) -> str | None:
        """A team channel where a manager said "teamhealth channel here" (its saved reference)."""
        return asyncio.run(self._send(CHANNEL_PREFIX + channel, None, reply, locale))

    async def send_async(self, person: Person, reply: Reply) -> str | None:
        return await self._send(None, person.id, reply, person.locale)

    def find(self, person: Person, key: str, since: datetime, platform: str | None = None) -> str | None:
        """Teams cannot be read back: unknown, unless no message could have gone (no active chat)."""
        return self._unknown(None, person.id, platform)

    def find_channel(self, channel: str, key: str, since: datetime, platform: str | None = None) -> str | None:
        return self._unknown(CHANNEL_PREFIX + channel, None, platform)

    def _unknown(self, user_id: str | None, person_id: int | None, platform: str | None) -> None:
        if platform not in (None, self.name) or self._reference(user_id, person_id) is None:
            return None
        raise MaybeDeliveredOn(self.name, "Teams cannot be asked what a chat received")

    def _reference(self, user_id: str | None, person_id: int | None):
        return chats.active(self.coach.uow_factory, self.coach.workspace, "teams", user=user_id, person_id=person_id)

    async def _send(self, user_id: str | None, person_id: int | None, reply: Reply, locale: str | None) -> str | None:
        ref = self._reference(user_id, person_id)
        if ref is None:
            log.info("no Teams conversation saved for this recipient yet")
            return None
        activity = reply_activity(reply, self.coach, locale)

        async def once() -> None:
            try:
                await asyncio.wait_for(self.endpoint.send_to(ref.reference, activity), self.timeout)
            except Exception as error:
                classified = _classify(error)
                if classified is error:
                    raise
                raise classified from error

        try:
            async for attempt in AsyncRetrying(retry=retry_if_exception(lambda e: isinstance(e, _NotTaken)),
                                               wait=_wait, stop=stop_after_attempt(self.attempts), reraise=True):
                with attempt:
                    await once()
        except _NotTaken as failure:
            log.warning("a Teams message could not be delivered: %s", _detail(failure.error))
            return None
        except aiohttp.ClientResponseError as error:
            if error.status == 403:
                chats.set_aside(self.coach.uow_factory, self.coach.workspace, "teams", ref.user_id)
            log.warning("a Teams message could not be delivered: HTTP %s", error.status)
            return None
        return self.name


def _detail(error: BaseException) -> str:
    status = getattr(error, "status", None)
    return f"HTTP {status}" if status is not None else type(error).__name__
