"""A Slack request as a turn of the shared engine: who asks and where (the workspace, the user's
Slack profile), the engine run off the event loop, and its answer posted back (messages,
ephemeral answers, charts as files)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any, Awaitable, Callable

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.bootstrap import Coach
from bot.settings import Settings
from bot.slack import privacy, render
from coaching.engine import Inbound, Outcome
from coaching.errors import StorageUnavailable
from coaching.messages import Msg, msg
from coaching.replies import Reply

# the Slack app's logger, named as it was before bot/slack/app.py was split by role
log = logging.getLogger("bot.slack.app")

Profile = tuple[str | None, str | None, str | None]  # e-mail, locale, time zone
Respond = Callable[..., Awaitable[Any]]


class SlackTurns:
    def __init__(self, coach: Coach, settings: Settings) -> None:
        self.coach, self.settings = coach, settings
        self.profiles: dict[tuple[str, str], Profile] = {}
        self.dms: dict[tuple[str, str], str] = {}

    # --- who and where -----------------------------------------------------------------

    def workspace(self, team_id: str | None) -> str:
        """One workspace per Slack team with OAuth installs (never the configured one: a request
        naming no team is refused by ``SlackAdapter._team_named``); else the configured workspace."""
        if not self.settings.slack_multi_workspace:
            return self.coach.workspace
        if not team_id:
            raise privacy.NoTeam("a Slack request names no team")
        return team_id

    async def profile(self, client: AsyncWebClient, team_id: str, user_id: str) -> Profile:
        """The user's e-mail, locale and time zone from Slack (users.info), cached per process."""
        key = (team_id, user_id)
        if key not in self.profiles:
            try:
                user = (await client.users_info(user=user_id, include_locale=True))["user"]
                self.profiles[key] = (user.get("profile", {}).get("email"), user.get("locale"), user.get("tz"))
            except SlackApiError as error:
                log.warning("users.info failed for a user: %s", error.response.get("error"))
                return None, None, None
        return self.profiles[key]

    async def dm(self, client: AsyncWebClient, team_id: str, user_id: str) -> str:
        """The user's DM with the coach (conversations.open), opened once per process and kept:
        it never changes, and Slack allows the call about once a second per workspace, so a burst
        of logged touches would otherwise wait out its rate limit."""
        key = (team_id, user_id)
        if key not in self.dms:
            self.dms[key] = (await client.conversations_open(users=user_id))["channel"]["id"]
        return self.dms[key]

    def inbound(self, team_id: str, user_id: str, conversation: str, text: str, external_id: str | None) -> Inbound:
        return Inbound(self.workspace(team_id), conversation, text, platform="slack",
                       platform_user_id=user_id, external_id=external_id,
                       direct=privacy.is_dm(conversation))

    async def profiled(self, client: AsyncWebClient, team: str, user: str, conversation: str) -> Inbound:
        """An inbound with nothing to say, carrying the user's Slack profile (for a look-up)."""
        email, locale, zone = await self.profile(client, team, user)
        return replace(self.inbound(team, user, conversation, "", None), email=email, locale=locale, timezone=zone)

    async def locale(self, client: AsyncWebClient, team: str, user: str) -> str | None:
        inbound = await self.profiled(client, team, user, "")
        try:
            return await asyncio.to_thread(self.coach.engine.locale_of, inbound)
        except StorageUnavailable:
            return inbound.locale

    # --- the engine ----------------------------------------------------------------------

    async def run(self, client: AsyncWebClient, inbound: Inbound,
                  work: Callable[[Inbound], Outcome] | None = None) -> Outcome:
        """Run the engine off the event loop; look the user up by e-mail only when needed."""
        work = work or self.coach.engine.handle
        try:
            outcome = await asyncio.to_thread(work, inbound)
            if outcome.person is None and inbound.platform_user_id:
                email, locale, zone = await self.profile(client, inbound.workspace_id, inbound.platform_user_id)
                if email:
                    outcome = await asyncio.to_thread(work, replace(inbound, email=email, locale=locale, timezone=zone))
        except StorageUnavailable:
            log.warning("database unavailable while handling a Slack request")
            return Outcome((Reply.of(msg("error.storage_down")),), await self._locale_when_down(client, inbound))
        return outcome

    async def _locale_when_down(self, client: AsyncWebClient, inbound: Inbound) -> str | None:
        locale = inbound.locale
        if locale is None and inbound.platform_user_id:  # Slack knows the user's language
            locale = (await self.profile(client, inbound.workspace_id, inbound.platform_user_id))[1]
        return locale

    # --- answers -------------------------------------------------------------------------

    async def post(self, client: AsyncWebClient, channel: str, outcome: Outcome) -> None:
        catalog = self.coach.catalog
        for reply in outcome.replies:
            await client.chat_postMessage(channel=channel, text=render.fallback_text(reply, catalog, outcome.locale),
                                          blocks=render.blocks(reply, catalog, outcome.locale))
            if reply.chart is not None:
                await self.upload_chart(client, channel, reply, outcome.locale)

    async def respond(self, respond: Respond, outcome: Outcome, client: AsyncWebClient,
                      user: str, channel: str | None = None) -> None:
        """Ephemeral answers (only the asking user sees them). A file cannot be ephemeral, so a
        reply's chart goes to the user's DM with the coach: where they asked, if they asked there;
        otherwise not into a channel (or a DM with someone else) that only saw the ephemeral text."""
        catalog = self.coach.catalog
        for reply in outcome.replies:
            await ephemeral(respond, text=render.fallback_text(reply, catalog, outcome.locale),
                            blocks=render.blocks(reply, catalog, outcome.locale), response_type="ephemeral")
            if reply.chart is not None:
                await self._chart_to_dm(respond, client, user, channel, reply, outcome.locale)

    async def _chart_to_dm(self, respond: Respond, client: AsyncWebClient, user: str, channel: str | None,
                           reply: Reply, locale: str | None) -> None:
        try:
            dm = (await client.conversations_open(users=user))["channel"]["id"]
        except SlackApiError as error:
            log.warning("no DM for a chart: %s", error.response.get("error"))
            return
        if await self.upload_chart(client, dm, reply, locale) and dm != channel:
            note = self.coach.catalog.render(msg("slack.chart_in_dm"), locale, render.escape)
            await ephemeral(respond, text=note, response_type="ephemeral")

    async def upload_chart(self, client: AsyncWebClient, channel: str, reply: Reply, locale: str | None) -> bool:
        """The reply's chart as a PNG file in ``channel`` (drawn in a worker thread). A failure is
        logged; the text has been sent either way."""
        assert reply.chart is not None
        try:
            upload = await asyncio.to_thread(render.chart_upload, reply.chart, self.coach.catalog, locale)
            await client.files_upload_v2(channel=channel, **upload)
        except SlackClientError as error:
            detail = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
            log.warning("a chart could not be uploaded: %s", detail)
            return False
        except Exception:  # a chart that cannot be drawn must not take the answer down with it
            log.exception("a chart could not be drawn")
            return False
        return True

    async def tell(self, respond: Respond, message: Msg, locale: str | None) -> None:
        """One ephemeral line from the catalog (where the answer went)."""
        await ephemeral(respond, text=self.coach.catalog.render(message, locale), response_type="ephemeral")


async def ephemeral(respond: Respond, **message: Any) -> bool:
    """An answer through the request's response_url; one that has expired or cannot be reached
    is logged, not raised (the work behind it is done either way)."""
    try:
        await respond(**message)
    except Exception as error:  # aiohttp's client errors, an invalid URL
        log.warning("an ephemeral answer could not be delivered: %s", type(error).__name__)
        return False
    return True
