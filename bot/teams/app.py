"""The coach in Microsoft Teams, on the Microsoft 365 Agents SDK, kept thin: it translates
activities to the shared engine and replies as Adaptive Cards.

With credentials (the SDK's own settings, ``CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID``,
``…__CLIENTSECRET``, ``…__TENANTID``) every request must carry a valid token (401 otherwise). With
none it runs in anonymous local mode, which ``coach serve`` allows on a loopback address only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from datetime import datetime, timezone
from typing import Any, Mapping

import jwt
from aiohttp import web
from pydantic import ValidationError
from microsoft_agents.activity import Activity, Attachment, load_configuration_from_env
from microsoft_agents.hosting.aiohttp import CloudAdapter, jwt_authorization_middleware
from microsoft_agents.hosting.core import ActivityHandler, TurnContext
from microsoft_agents.hosting.core.authorization import AgentAuthConfiguration, AnonymousTokenProvider
from microsoft_agents.hosting.core.authorization.connection_manager import ConnectionManager
from sqlalchemy.exc import OperationalError

from bot.bootstrap import Coach
from bot.teams import cards
from coaching.engine import Inbound, Outcome
from coaching.messages import msg
from coaching.ports import ConversationReference
from coaching.replies import Reply

log = logging.getLogger(__name__)
CLIENT_ID_SETTING = "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID"
CHANNEL_PREFIX = "conversation:"  # a channel's saved reference: "conversation:" + its conversation id


def credentials_configured(env: Mapping[str, str] = os.environ) -> bool:
    return bool(env.get(CLIENT_ID_SETTING))


def _connections(env: Mapping[str, str]) -> tuple[Any, AgentAuthConfiguration]:
    if credentials_configured(env):
        from microsoft_agents.authentication.msal import MsalConnectionManager

        manager = MsalConnectionManager(**load_configuration_from_env(dict(env)))
        return manager, manager.get_default_connection_configuration()
    config = AgentAuthConfiguration(anonymous_allowed=True)
    manager = ConnectionManager(lambda _: AnonymousTokenProvider(), {"SERVICE_CONNECTION": config})
    return manager, config


def _user_id(activity: Activity) -> str:
    sender = activity.from_property
    return (getattr(sender, "aad_object_id", None) or sender.id) if sender else ""


def _client_timezone(activity: Activity) -> str | None:
    for entity in activity.entities or []:
        data = entity.model_dump() if hasattr(entity, "model_dump") else dict(entity)
        if data.get("type") == "clientInfo" and data.get("timezone"):
            return str(data["timezone"])
    return None


class CoachAgent(ActivityHandler):
    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    # --- translation ---------------------------------------------------------------------

    def inbound(self, activity: Activity, text: str, email: str | None = None) -> Inbound:
        return Inbound(self.coach.workspace, activity.conversation.id, text, email=email, platform="teams",
                       platform_user_id=_user_id(activity), locale=activity.locale,
                       external_id=f"teams:{activity.conversation.id}:{activity.id}" if activity.id else None,
                       timezone=_client_timezone(activity))

    async def email_of(self, context: TurnContext) -> str | None:
        """The member's e-mail from the Teams connector (the roster match of last resort)."""
        connector = context.turn_state.get("ConnectorClient")
        activity = context.activity
        try:
            member = await connector.conversations.get_conversation_member(activity.conversation.id,
                                                                           activity.from_property.id)
        except Exception as error:  # the member lookup is a courtesy; any failure means "unknown"
            log.info("no member details from the Teams connector: %s", type(error).__name__)
            return None
        extra = getattr(member, "model_extra", None) or {}
        return getattr(member, "email", None) or extra.get("email") or extra.get("userPrincipalName")

    async def run(self, context: TurnContext, inbound: Inbound, work=None) -> Outcome:
        work = work or self.coach.engine.handle
        try:
            outcome = await asyncio.to_thread(work, inbound)
            if outcome.person is None and inbound.email is None and (email := await self.email_of(context)):
                outcome = await asyncio.to_thread(work, dataclasses.replace(inbound, email=email))
        except OperationalError:
            log.warning("database unavailable while handling a Teams activity")
            return Outcome((Reply.of(msg("error.storage_down")),), inbound.locale)
        return outcome

    async def send(self, context: TurnContext, outcome: Outcome) -> None:
        for reply in outcome.replies:
            if reply.chart is not None:  # drawing the chart takes CPU for a moment: not on the event loop
                activity = await asyncio.to_thread(reply_activity, reply, self.coach, outcome.locale)
            else:
                activity = reply_activity(reply, self.coach, outcome.locale)
            await context.send_activity(activity)

    def remember(self, activity: Activity) -> None:
        """Save where to reach this person later: their personal chat (digests are private),
        or, for a channel or group chat, the conversation itself (a team's channel digest)."""
        personal = (activity.conversation.conversation_type or "personal") == "personal"
        reference = activity.get_conversation_reference()
        user = _user_id(activity) if personal else CHANNEL_PREFIX + activity.conversation.id
        with self.coach.uow_factory() as uow:
            person = uow.people.by_platform_id(self.coach.workspace, "teams", user) if personal else None
            uow.references.save(self.coach.workspace, ConversationReference(
                "teams", user, activity.conversation.id, activity.service_url,
                reference.model_dump(mode="json", by_alias=True, exclude_none=True),
                person.id if person else None), datetime.now(timezone.utc))
            uow.commit()

    # --- activities ------------------------------------------------------------------------

    async def on_message_activity(self, context: TurnContext) -> None:
        activity = context.activity
        text = cards.chosen(activity.value)
        if text is None:
            if activity.conversation.conversation_type not in (None, "personal"):
                text = activity.remove_recipient_mention() or ""  # channels: only when mentioned
            else:
                text = activity.text or ""
        await asyncio.to_thread(self.remember, activity)
        await self.send(context, await self.run(context, self.inbound(activity, text.strip())))

    async def on_installation_update_add(self, context: TurnContext) -> None:
        await asyncio.to_thread(self.remember, context.activity)
        await self.send(context, await self.run(context, self.inbound(context.activity, "help")))

    async def on_members_added_activity(self, members_added, context: TurnContext) -> None:
        await asyncio.to_thread(self.remember, context.activity)


def reply_activity(reply: Reply, coach: Coach, locale: str | None) -> Activity:
    # The text goes in ``summary`` (notifications, the chat list), not ``text``: Teams shows a
    # message's text above its card, so every answer would appear twice.
    summary = cards.summary(reply, coach.catalog, locale)
    card = cards.card(reply, coach.catalog, locale, room=cards.MESSAGE_ROOM - cards.json_size(summary))
    return Activity(type="message", summary=summary,
                    attachments=[Attachment(content_type=cards.CONTENT_TYPE, content=card)])


@web.middleware
async def _refuse_tokens_without_key_id(request: web.Request, handler):
    """The SDK (1.9) answers 500 to a well-formed JWT with no ``kid`` header (a KeyError while it
    looks up the signing key); no key id means no key to check it with, so that is a 401."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        try:
            header = jwt.get_unverified_header(token.strip())
        except jwt.PyJWTError:
            header = None  # not a JWT at all: the SDK's own check answers 401
        if header is not None and not header.get("kid"):
            return web.json_response({"error": "Invalid token or authentication failed."}, status=401)
    return await handler(request)


class TeamsEndpoint:
    """``/api/messages``: the JWT check, the SDK's adapter, and the coach's agent."""

    def __init__(self, coach: Coach, env: Mapping[str, str] = os.environ) -> None:
        self.coach = coach
        self.connections, self.auth_config = _connections(env)
        self.anonymous = not credentials_configured(env)
        self.adapter = CloudAdapter(connection_manager=self.connections)
        self.adapter.on_turn_error = self.on_turn_error
        self.agent = CoachAgent(coach)

    async def on_turn_error(self, context: TurnContext, error: Exception) -> None:
        """Log the failure for the operator; tell the user, in their language, to try again."""
        log.error("a Teams turn failed: %s", type(error).__name__, exc_info=error)
        reply = Reply.of(msg("error.storage_down") if isinstance(error, OperationalError) else msg("teams.failed"))
        await context.send_activity(reply_activity(reply, self.coach, context.activity.locale))

    def sub_app(self) -> web.Application:
        api = web.Application(middlewares=[_refuse_tokens_without_key_id, jwt_authorization_middleware],
                              client_max_size=1024 * 1024)
        api["agent_configuration"] = self.auth_config

        async def messages(request: web.Request) -> web.StreamResponse:
            try:
                return await self.adapter.process(request, self.agent)
            except ValidationError as error:  # JSON that is not an activity: the sender's mistake
                fields = sorted({".".join(str(p) for p in e["loc"]) for e in error.errors()})[:5]
                return web.json_response({"error": "not a valid activity", "fields": fields}, status=400)

        api.router.add_post("/messages", messages)
        return api

    async def send_to(self, reference: dict[str, Any], activity: Activity) -> None:
        """Proactive: continue a saved conversation and send ``activity`` into it."""
        from microsoft_agents.activity import ConversationReference as SdkReference

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
