"""The coach in Microsoft Teams, on the Microsoft 365 Agents SDK, kept thin: it translates
activities to the shared engine and replies as Adaptive Cards.

With credentials (the SDK's own settings, ``CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID``,
``…__CLIENTSECRET``, ``…__TENANTID``) every request must carry a valid token (401 otherwise). With
none it runs in anonymous local mode, which ``coach serve`` allows on a loopback address only; the
endpoint itself also answers 401 to any peer that is not this machine (or that came through a
proxy), so a server bound to every interface by some other route still serves nobody else.

This module is the wiring: ``/api/messages`` (the token check, what a request must be, the SDK's
adapter) and proactive sends. The roles live beside it: ``listeners`` (the agent, what each
activity does), ``activities`` (what the coach reads off an activity), ``render`` (answers as
activities), ``cards`` (Adaptive Cards), ``auth`` (tokens and connectors), ``notifier`` (the
scheduler's messages).
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any, Mapping
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import ValidationError
from microsoft_agents.activity import Activity, ActivityTypes, InvokeResponse, load_configuration_from_env
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import TurnContext
from microsoft_agents.hosting.core.authorization import AgentAuthConfiguration, AnonymousTokenProvider
from microsoft_agents.hosting.core.authorization.connection_manager import ConnectionManager

from bot import logs
from bot.bootstrap import Coach
from bot.teams import auth, cards
from bot.teams.listeners import CoachAgent
from bot.teams.render import reply_activity, task_message
from coaching.errors import StorageUnavailable
from coaching.messages import msg
from coaching.replies import Reply

# the names this module had before it was split by role, still importable from here
from bot.teams.activities import (  # noqa: F401  (re-exported)
    _THREAD_SUFFIX, _PlainText, channel_id, client_timezone as _client_timezone, html_text,
    mentions_coach as _mentions_coach, message_text, moment as _moment, shared as _shared, user_id as _user_id,
    where as _where)
from bot.teams.listeners import ACTION_INVOKES, CHANNEL_PREFIX, Sender  # noqa: F401  (re-exported)

log = logging.getLogger(__name__)


def _connections(env: Mapping[str, str], access: auth.Access) -> tuple[Any, AgentAuthConfiguration]:
    if not access.anonymous:
        from microsoft_agents.authentication.msal import MsalConnectionManager

        manager = MsalConnectionManager(**load_configuration_from_env(dict(env)))
        return manager, manager.get_default_connection_configuration()
    config = AgentAuthConfiguration(anonymous_allowed=True)
    manager = ConnectionManager(lambda _: AnonymousTokenProvider(), {"SERVICE_CONNECTION": config})
    return manager, config


class _AnonymousAppIdNotice(logging.Filter):
    """The SDK warns on every anonymous turn that no app id is known; in anonymous mode that is
    the design, said once when the server starts."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("App ID is not provided")


_APP_ID_NOTICE = _AnonymousAppIdNotice()
_SDK_TOKEN_CLIENT_LOG = "microsoft_agents.hosting.core.connector.client.user_token_client"


def _not_an_activity(body: Any) -> dict[str, Any] | None:
    """Why a request's JSON is not an activity, checked before the SDK sees it: its own check raises
    more than ``ValidationError`` (an empty ``channelId`` is a ``TypeError``, and worse), and it
    fails later on a ``serviceUrl`` that is missing or not a URL; each would be a 500."""
    try:
        activity = Activity.model_validate(body)
    except ValidationError as error:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in error.errors()})[:5]
        return {"error": "not a valid activity", "fields": fields}
    except Exception as error:  # a TypeError, or a bare Exception for a channel id its productInfo contradicts
        return {"error": "not a valid activity", "detail": str(error).splitlines()[0][:200]}
    # every activity names the connector to answer through; the SDK fails on one that is not a URL
    url = urlsplit(activity.service_url or "")
    if url.scheme.lower() not in ("http", "https") or not url.hostname:
        return {"error": "not a valid activity", "fields": ["serviceUrl"]}
    return None


class TeamsEndpoint:
    """``/api/messages``: the JWT check, the SDK's adapter, and the coach's agent."""

    def __init__(self, coach: Coach, env: Mapping[str, str] = os.environ, connections: Any = None,
                 keys: Any = None) -> None:
        """``connections`` (the SDK's connection manager: how the bot gets its own token) and
        ``keys`` (Bot Framework's key set) default to the real ones; tests hand in local stand-ins."""
        access = auth.access_from(env)
        if access is None:
            raise auth.NotConfigured("Teams is not configured: set its credentials, or TEAMS_ANONYMOUS=true "
                                     "for local use")
        self.coach, self.access = coach, access
        self.connections, self.auth_config = _connections(env, access)
        if connections is not None:
            self.connections = connections
        self.tokens = None if access.anonymous else auth.BotFrameworkTokens(access, keys)
        if self.tokens is not None:
            self.tokens.self_test()
        self.adapter = CloudAdapter(connection_manager=self.connections)
        self.adapter.on_turn_error = self.on_turn_error
        self.agent = CoachAgent(coach, sender=self.send_to, access=access)
        if self.anonymous:
            sdk_log = logging.getLogger(_SDK_TOKEN_CLIENT_LOG)
            if _APP_ID_NOTICE not in sdk_log.filters:
                sdk_log.addFilter(_APP_ID_NOTICE)

    @property
    def anonymous(self) -> bool:
        return self.access.anonymous

    async def on_turn_error(self, context: TurnContext, error: Exception) -> None:
        """Log the failure for the operator; tell the user, in their language, to try again (an
        invoke gets it as its answer, a 200 with a dialog message, never a message in the chat)."""
        log.error("a Teams turn failed: %s", type(error).__name__, exc_info=error)
        reply = Reply.of(msg("error.storage_down") if isinstance(error, StorageUnavailable) else msg("teams.failed"))
        if context.activity.type == ActivityTypes.invoke:
            text = cards.plain_text(reply, self.coach.catalog, context.activity.locale)
            answer = InvokeResponse(status=200, body=task_message(text))
            await context.send_activity(Activity(type=ActivityTypes.invoke_response,
                                                 value=answer.model_dump(by_alias=True, exclude_none=True)))
            return
        try:
            await context.send_activity(reply_activity(reply, self.coach, context.activity.locale))
        except Exception as failure:  # the connector is unreachable (often why the turn failed): nobody to tell
            log.warning("the failure could not be reported in Teams either: %s", type(failure).__name__)

    def sub_app(self) -> web.Application:
        guard = auth.local_callers_only if self.tokens is None else auth.token_check(self.tokens)
        api = web.Application(middlewares=[guard], client_max_size=1024 * 1024)
        with warnings.catch_warnings():  # the SDK reads this plain string key
            warnings.simplefilter("ignore", web.NotAppKeyWarning)
            api["agent_configuration"] = self.auth_config
        if self.anonymous:
            async def warn(_: web.Application) -> None:
                log.warning("Teams runs in anonymous local mode (TEAMS_ANONYMOUS): /api/messages answers "
                            "this machine only; set the CONNECTIONS__SERVICE_CONNECTION__SETTINGS__* "
                            "credentials to connect Teams")

            api.on_startup.append(warn)
        api.router.add_post("/messages", self.messages)
        return api

    async def messages(self, request: web.Request) -> web.StreamResponse:
        """An authenticated request (the sub-app's guard ran): a valid activity, from a connector
        the coach may answer, in the served tenant; then the SDK's adapter and the agent."""
        try:
            body = await request.json()  # aiohttp keeps the body: the SDK reads it again
        except Exception:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        if problem := _not_an_activity(body):
            return web.json_response(problem, status=400)
        if request_id := logs.platform_request_id("teams", body.get("id")):
            logs.REQUEST_ID.set(request_id)  # the rest of this request's lines name the activity
        if not auth.connector_allowed(body.get("serviceUrl"), self.access):
            log.warning("refused a Teams activity whose serviceUrl is not a Teams connector")
            return web.json_response({"error": "serviceUrl is not a Teams connector served here"}, status=403)
        if self.access.tenant and (tenant := auth.tenant_of(body)) != self.access.tenant:
            log.warning("refused a Teams activity from another tenant")
            return web.json_response({"error": "this Microsoft 365 tenant is not served here",
                                      "tenant": tenant}, status=403)
        return await self.adapter.process(request, self.agent)

    async def send_to(self, reference: dict[str, Any], activity: Activity) -> None:
        """Proactive: continue a saved conversation and send ``activity`` into it."""
        from microsoft_agents.activity import ConversationReference as SdkReference

        if not auth.connector_allowed(reference.get("serviceUrl"), self.access):
            raise PermissionError("the saved conversation's serviceUrl is not a Teams connector served here")
        continuation = SdkReference.model_validate(reference).get_continuation_activity()

        failures: list[Exception] = []

        async def callback(context: TurnContext) -> None:
            try:
                await context.send_activity(activity)
            except Exception as error:  # the SDK's turn-error hook would swallow it; the caller decides
                failures.append(error)

        if self.anonymous:  # local mode: the same anonymous identity the inbound turns have
            from microsoft_agents.hosting.core.authorization import ClaimsIdentity

            await self.adapter.continue_conversation_with_claims(ClaimsIdentity({}, "anonymous"), continuation, callback)
        else:
            await self.adapter.continue_conversation(self.auth_config.CLIENT_ID or "", continuation, callback)
        if failures:
            raise failures[0]
