"""Digests into a rep's personal chat with the coach in Teams (proactive messages).

Teams' limits for a bot: about 7 messages a second per conversation and 1,800 an hour; one
digest per rep per day stays far below them, and answers of 429, 412, 502 and 504 are retried
with backoff (honouring ``Retry-After``). A 403 means the rep blocked or removed the app: the
saved conversation reference is marked inactive and the run goes on.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from bot.bootstrap import Coach
from bot.teams.app import CHANNEL_PREFIX, TeamsEndpoint, reply_activity
from coaching.model import Person
from coaching.replies import Reply

log = logging.getLogger(__name__)
RETRIED = {412, 429, 502, 504}


def _retryable(error: BaseException) -> bool:
    if isinstance(error, aiohttp.ClientResponseError):
        return error.status in RETRIED
    return isinstance(error, (aiohttp.ClientConnectionError, asyncio.TimeoutError))


def _wait(state) -> float:
    """Retry-After when Teams gives one, else exponential backoff (0.5 s, 1 s, 2 s…)."""
    error = state.outcome.exception() if state.outcome else None
    headers = getattr(error, "headers", None) or {}
    try:
        return min(float(headers.get("Retry-After", "")), 30.0)
    except ValueError:
        return wait_exponential(multiplier=0.5, max=8)(state)


class TeamsNotifier:
    name = "teams"

    def __init__(self, coach: Coach, endpoint: TeamsEndpoint, attempts: int = 5) -> None:
        self.coach, self.endpoint, self.attempts = coach, endpoint, attempts

    def send(self, person: Person, reply: Reply) -> str | None:
        return asyncio.run(self.send_async(person, reply))

    def send_channel(self, channel: str, reply: Reply, locale: str | None) -> str | None:
        """A team channel where a manager said "teamhealth channel here" (its saved reference)."""
        return asyncio.run(self._send(CHANNEL_PREFIX + channel, None, reply, locale))

    async def send_async(self, person: Person, reply: Reply) -> str | None:
        return await self._send(None, person.id, reply, person.locale)

    async def _send(self, user_id: str | None, person_id: int | None, reply: Reply, locale: str | None) -> str | None:
        workspace = self.coach.workspace
        with self.coach.uow_factory() as uow:
            ref = (uow.references.for_person(workspace, "teams", person_id) if person_id is not None
                   else uow.references.for_user(workspace, "teams", user_id or ""))
        if ref is None or not ref.active:
            log.info("no Teams conversation saved for this recipient yet")
            return None
        activity = reply_activity(reply, self.coach, locale)
        try:
            async for attempt in AsyncRetrying(retry=retry_if_exception(_retryable), wait=_wait,
                                               stop=stop_after_attempt(self.attempts), reraise=True):
                with attempt:
                    await self.endpoint.send_to(ref.reference, activity)
        except aiohttp.ClientResponseError as error:
            if error.status == 403:
                with self.coach.uow_factory() as uow:
                    uow.references.deactivate(workspace, "teams", ref.user_id)
                    uow.commit()
            log.warning("a Teams message could not be delivered: HTTP %s", error.status)
            return None
        except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as error:
            log.warning("a Teams message could not be delivered: %s", type(error).__name__)
            return None
        return self.name
