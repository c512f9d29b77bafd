"""The coach as a Slack app: Bolt's AsyncApp, translating Slack payloads to the shared engine.

This module is the wiring: it builds the app (and the replayer, a second app for the request
inbox), puts the team check and the inbox in front of every request, and registers the
listeners. The roles live beside it: ``listeners`` (what each Slack request does), ``turns``
(a request as a turn of the engine, and its answer), ``inbox`` (requests kept before they are
acknowledged, and replayed when a process died with them), ``render`` (Block Kit), ``privacy``
(where an answer may go).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, AsyncIterator

import aiohttp

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.bootstrap import Coach
from bot.settings import Settings
from bot.slack import privacy
from bot.slack.inbox import SlackInbox
from bot.slack.listeners import SlackListeners
from bot.slack.turns import SlackTurns
from coaching.messages import msg

# the names this module had before it was split by role, still importable from here
from bot.slack.inbox import (  # noqa: F401  (re-exported)
    INBOX_KEY, KEEP_SIGNATURES, REPLAY_EVERY_S, SETTLE_EVERY_S, SETTLE_WARN_S, read_only as _read_only)
from bot.slack.listeners import (  # noqa: F401  (re-exported)
    CAPTURED_CHANNELS, COMMANDS, SHORTCUT, message_text, moment as _moment)
from bot.slack.turns import ephemeral as _ephemeral  # noqa: F401  (re-exported)

log = logging.getLogger(__name__)


def web_client(settings: Settings, token: str | None = None) -> AsyncWebClient:
    """Slack's Web API client, retrying rate limits (honouring Retry-After), 5xx and dropped connections."""
    return AsyncWebClient(
        token=token, base_url=settings.slack_api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=3),
                        AsyncServerErrorRetryHandler(max_retry_count=2),
                        AsyncConnectionErrorRetryHandler(max_retry_count=2)],
    )


class SlackAdapter(SlackTurns):
    """The Slack app: a translator of turns (``SlackTurns``: ``run``, ``post``, ``respond``...)
    that builds its Bolt apps and puts its listeners on them."""

    def __init__(self, coach: Coach, settings: Settings, oauth_settings: Any = None) -> None:
        super().__init__(coach, settings)
        self.listeners = SlackListeners(self)
        self.app = self._bolt_app(oauth_settings)
        # the replayer: the same listeners, run to the end, for requests verified on arrival
        self.replayer = self._bolt_app(oauth_settings, request_verification_enabled=False,
                                       process_before_response=True)
        self.inbox = SlackInbox(coach.requests, self.replayer,
                                timedelta(seconds=settings.inbox_replay_after_seconds))
        self.app.use(self._one_team_only if oauth_settings is None else self._team_named)
        self.app.use(self.inbox.keep_request)
        for app in (self.app, self.replayer):
            self.listeners.register(app, self.inbox.settling)

    def _bolt_app(self, oauth_settings: Any, **options: Any) -> AsyncApp:
        settings = self.settings
        if oauth_settings is not None:
            return AsyncApp(signing_secret=settings.slack_signing_secret, oauth_settings=oauth_settings,
                            client=web_client(settings), **options)
        return AsyncApp(signing_secret=settings.slack_signing_secret,
                        client=web_client(settings, settings.slack_bot_token), **options)

    # --- which team is served ----------------------------------------------------------

    async def _one_team_only(self, req: AsyncBoltRequest, context, next) -> BoltResponse:
        """With one bot token the coach serves the token's Slack team only. The same app installed
        elsewhere signs its requests with the same secret; they must not land in this workspace."""
        team = context.team_id
        installed = context.authorize_result.team_id if context.authorize_result else None
        if team and installed and team != installed and not context.is_enterprise_install:
            log.warning("refused a request from a Slack team this token is not installed in")
            return self._refusal(req)
        return await next()

    async def _team_named(self, req: AsyncBoltRequest, next) -> BoltResponse:
        """With OAuth installs each Slack team is a workspace of its own: a request that names no
        team is refused before anything is kept or answered."""
        if privacy.team_of(req.body):
            return await next()
        log.warning("refused a Slack request that names no team (OAuth installs)")
        return self._refusal(req)

    def _refusal(self, req: AsyncBoltRequest) -> BoltResponse:
        """Acknowledged, with nothing done; a slash command's user is told the app isn't set up."""
        text = self.coach.catalog.render(msg("slack.other_workspace"), None)
        return BoltResponse(status=200, body=text if req.body.get("command") else "")

    # --- one HTTP session for the Web API -------------------------------------------------

    async def http_session(self, _app: object = None) -> AsyncIterator[None]:
        """For the server's life (an aiohttp cleanup context): one HTTP session, its connections
        kept alive, for every Web API call the Bolt apps make on this event loop. Without it
        slack_sdk opens a connection (and a TLS handshake) per call, on the loop that also
        acknowledges Slack's requests."""
        session = aiohttp.ClientSession()
        clients = [self.app.client, self.replayer.client]
        for client in clients:  # each request's client is made with the app client's session
            client.session = session
        try:
            yield
        finally:
            for client in clients:
                client.session = None
            await session.close()

    # --- the inbox, for the server ----------------------------------------------------

    async def settle(self, context: Any) -> None:
        await self.inbox.settle(context)

    async def replay_stale(self) -> int:
        return await self.inbox.replay_stale()

    async def keep_replaying(self) -> None:
        await self.inbox.keep_replaying()
