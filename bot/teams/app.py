"""The coach in Microsoft Teams, on the Microsoft 365 Agents SDK, kept thin: it translates
activities to the shared engine and replies as Adaptive Cards.

With credentials (the SDK's own settings, ``CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID``,
``…__CLIENTSECRET``, ``…__TENANTID``) every request must carry a valid token (401 otherwise). With
none it runs in anonymous local mode, which ``coach serve`` allows on a loopback address only; the
endpoint itself also answers 401 to any peer that is not this machine (or that came through a
proxy), so a server bound to every interface by some other route still serves nobody else.

In a channel or group chat a message that @mentions the coach is a command. Any other message
there (Teams sends them because of the manifest's ``ChannelMessage.Read.Group`` permission) is
looked up once by its channel id: if an admin opted the channel in to capture it counts as its
author's touch with the channel's client; either way nothing is said and its words are dropped.
The message action "Log as client touch" (a ``composeExtension/fetchTask`` invoke) starts the
logging conversation in the rep's personal chat with the coach, proactively, and answers the
invoke with a short dialog message.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import re
import warnings
from datetime import datetime, timezone
from html.parser import HTMLParser
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Mapping
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import ValidationError
from microsoft_agents.activity import (Activity, ActivityTypes, Attachment, InvokeResponse,
                                      load_configuration_from_env)
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import ActivityHandler, TurnContext
from microsoft_agents.hosting.core.authorization import AgentAuthConfiguration, AnonymousTokenProvider
from microsoft_agents.hosting.core.authorization.connection_manager import ConnectionManager

from bot.bootstrap import Coach
from bot.teams import auth, cards
from bot.teams.package import MESSAGE_ACTION
from coaching import chats
from coaching.engine import Inbound, Outcome
from coaching.errors import StorageUnavailable
from coaching.messages import msg
from coaching.replies import Reply

log = logging.getLogger(__name__)
CHANNEL_PREFIX = "conversation:"  # a channel's saved reference: "conversation:" + its channel id
ACTION_INVOKES = ("composeExtension/fetchTask", "composeExtension/submitAction")  # the message action
_THREAD_SUFFIX = re.compile(r";messageid=.*$", re.IGNORECASE | re.DOTALL)
Sender = Callable[[dict[str, Any], Activity], Awaitable[None]]  # (saved reference, activity): proactive


def _connections(env: Mapping[str, str], access: auth.Access) -> tuple[Any, AgentAuthConfiguration]:
    if not access.anonymous:
        from microsoft_agents.authentication.msal import MsalConnectionManager

        manager = MsalConnectionManager(**load_configuration_from_env(dict(env)))
        return manager, manager.get_default_connection_configuration()
    config = AgentAuthConfiguration(anonymous_allowed=True)
    manager = ConnectionManager(lambda _: AnonymousTokenProvider(), {"SERVICE_CONNECTION": config})
    return manager, config


def _user_id(activity: Activity) -> str:
    sender = activity.from_property
    return (getattr(sender, "aad_object_id", None) or sender.id) if sender else ""


def channel_id(conversation_id: str) -> str:
    """A channel's own id: a channel message's conversation id names its thread too
    (``19:…@thread.tacv2;messageid=…``); capture and the team digest key on the channel."""
    return _THREAD_SUFFIX.sub("", conversation_id or "")


def _shared(activity: Activity) -> bool:
    """A channel or a group chat (anything but the personal chat with the coach)."""
    return (activity.conversation.conversation_type or "personal") != "personal"


def _where(activity: Activity) -> str:
    """The conversation the engine hears a message in: the personal chat, else the channel."""
    return channel_id(activity.conversation.id) if _shared(activity) else activity.conversation.id


def _mentions_coach(activity: Activity) -> bool:
    recipient = activity.recipient.id if activity.recipient else None
    return bool(recipient) and any(m.mentioned is not None and m.mentioned.id == recipient
                                   for m in activity.get_mentions())


def _moment(value: Any) -> datetime | None:
    """An aware time from an ISO 8601 string or a datetime (UTC when it names no zone)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


class _PlainText(HTMLParser):
    """A Teams message body (HTML) as plain text: tags dropped, entities decoded, one line per block."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(content: str, content_type: str | None = "html") -> str:
    """A message body as plain text (HTML unless ``content_type`` says "text"), blank lines dropped."""
    if (content_type or "html").lower() == "html":
        parser = _PlainText()
        parser.feed(content)
        parser.close()
        content = "".join(parser.parts)
    lines = (" ".join(line.replace("\xa0", " ").split()) for line in content.splitlines())
    return "\n".join(line for line in lines if line)


def message_text(payload: Mapping[str, Any]) -> str:
    """What a message action's ``messagePayload`` says: its subject (a channel post's title) and
    its body, as plain text."""
    body = payload.get("body")
    body = body if isinstance(body, Mapping) else {}
    content = body.get("content")
    parts = [payload.get("subject"), html_text(content, body.get("contentType")) if isinstance(content, str) else ""]
    return "\n".join(p.strip() for p in parts if isinstance(p, str) and p.strip())


def task_message(text: str) -> dict[str, Any]:
    """An invoke answer that Teams shows as a small dialog with ``text``."""
    return {"task": {"type": "message", "value": text}}


def _client_timezone(activity: Activity) -> str | None:
    for entity in activity.entities or []:
        data = entity.model_dump() if hasattr(entity, "model_dump") else dict(entity)
        if data.get("type") == "clientInfo" and data.get("timezone"):
            return str(data["timezone"])
    return None


class CoachAgent(ActivityHandler):
    def __init__(self, coach: Coach, sender: Sender | None = None, access: auth.Access | None = None) -> None:
        self.coach = coach
        self.sender = sender  # proactive messages (the message action's questions): TeamsEndpoint.send_to
        self.access = access or auth.Access(anonymous=True)

    # --- translation ---------------------------------------------------------------------

    def inbound(self, activity: Activity, text: str, email: str | None = None) -> Inbound:
        return Inbound(self.coach.workspace, _where(activity), text, email=email, platform="teams",
                       platform_user_id=_user_id(activity), locale=activity.locale,
                       external_id=f"teams:{activity.conversation.id}:{activity.id}" if activity.id else None,
                       timezone=_client_timezone(activity),
                       # only a channel's messages reach the coach unmentioned (ChannelMessage.Read.Group):
                       # a personal or group chat is no place to capture
                       direct=activity.conversation.conversation_type != "channel")

    @property
    def trusts_connector(self) -> bool:
        """Whether what the connector says of a member (their e-mail) may name them: only with
        credentials, where the connector is Microsoft's (anonymous mode's is the sender's own)."""
        return not self.access.anonymous

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
            if outcome.person is None and inbound.email is None and self.trusts_connector \
                    and (email := await self.email_of(context)):
                outcome = await asyncio.to_thread(work, dataclasses.replace(inbound, email=email))
        except StorageUnavailable:
            log.warning("database unavailable while handling a Teams activity")
            return Outcome((Reply.of(msg("error.storage_down")),), inbound.locale)
        return outcome

    async def render(self, reply: Reply, locale: str | None) -> Activity:
        if reply.chart is not None:  # drawing the chart takes CPU for a moment: not on the event loop
            return await asyncio.to_thread(reply_activity, reply, self.coach, locale)
        return reply_activity(reply, self.coach, locale)

    async def send(self, context: TurnContext, outcome: Outcome) -> None:
        for reply in outcome.replies:
            await context.send_activity(await self.render(reply, outcome.locale))

    def remember(self, activity: Activity) -> None:
        """Save where to reach this person later: their personal chat (digests are private),
        or, for a channel or group chat, the conversation itself (a team's channel digest)."""
        if not auth.connector_allowed(activity.service_url, self.access):  # checked on arrival too
            log.warning("a conversation reference with a serviceUrl not served here was not saved")
            return
        personal = not _shared(activity)
        reference = activity.get_conversation_reference()
        user = _user_id(activity) if personal else CHANNEL_PREFIX + _where(activity)
        chats.remember(self.coach.uow_factory, self.coach.workspace, "teams", user, activity.conversation.id,
                       activity.service_url, reference.model_dump(mode="json", by_alias=True, exclude_none=True),
                       personal, datetime.now(timezone.utc))

    # --- activities ------------------------------------------------------------------------

    async def on_message_activity(self, context: TurnContext) -> None:
        activity = context.activity
        text = cards.chosen(activity.value)
        if text is None and _shared(activity):
            if not _mentions_coach(activity):  # people talking among themselves: never a command
                await self.capture(context)
                return
            text = activity.remove_recipient_mention() or ""
        elif text is None:
            text = activity.text or ""
        await asyncio.to_thread(self.remember, activity)
        await self.send(context, await self.run(context, self.inbound(activity, text.strip())))

    async def capture(self, context: TurnContext) -> None:
        """A channel or group-chat message that does not mention the coach. One keyed lookup of
        the channel; if an admin opted it in, the author's touch with its client (once a day).
        Nothing is ever said back (the channel is shared with the client), nothing else is
        written, and the words are not kept. (Edits arrive as ``messageUpdate``: not handled.)"""
        activity = context.activity
        channel = _where(activity)
        try:
            if not await asyncio.to_thread(self.coach.engine.captures, self.coach.workspace, "teams", channel):
                return
            at = _moment(activity.timestamp) or datetime.now(timezone.utc)
            outcome = await self.run(context, self.inbound(activity, ""),
                                     lambda inbound: self.coach.engine.capture(inbound, at))
        except Exception as error:  # silent in the channel, whatever happens: the log says it
            log.warning("a Teams channel message could not be captured: %s", type(error).__name__, exc_info=error)
            return
        log.debug("channel capture: %s", "recorded" if outcome.logged else "nothing recorded")

    async def on_invoke_activity(self, context: TurnContext) -> InvokeResponse | None:
        if context.activity.name in ACTION_INVOKES:
            return await self.on_message_action(context)
        if context.activity.name == "adaptiveCard/action":  # the coach's cards submit, never Execute (and the
            return InvokeResponse(status=int(HTTPStatus.NOT_IMPLEMENTED))  # SDK's own check is a 500 on a bad value)
        return await super().on_invoke_activity(context)

    async def on_message_action(self, context: TurnContext) -> InvokeResponse:
        """"Log as client touch" on a message: the logging conversation starts in the rep's
        personal chat with the coach (a proactive message: the invoke's own conversation is
        wherever the message was), and the invoke is answered with a dialog saying where to go
        on. Always a 200 with a message, whatever happens."""
        activity = context.activity
        try:
            text = await self.message_action(context)
        except Exception as error:
            log.error("the Teams message action failed: %s", type(error).__name__, exc_info=error)
            key = "error.storage_down" if isinstance(error, StorageUnavailable) else "teams.failed"
            text = self.coach.catalog.render(msg(key), activity.locale)
        return InvokeResponse(status=200, body=task_message(text))

    async def message_action(self, context: TurnContext) -> str:
        """The text of the dialog that answers the message action."""
        activity, catalog = context.activity, self.coach.catalog
        value = activity.value if isinstance(activity.value, dict) else {}
        payload = value.get("messagePayload")
        if value.get("commandId") != MESSAGE_ACTION or not isinstance(payload, dict):
            log.info("a Teams message action without a message of ours (commandId %r)", value.get("commandId"))
            return catalog.render(msg("teams.action.malformed"), activity.locale)
        at = _moment(payload.get("createdDateTime")) or _moment(activity.timestamp) or datetime.now(timezone.utc)
        channel = channel_id(activity.conversation.id)
        user = _user_id(activity)

        reference = await asyncio.to_thread(chats.active, self.coach.uow_factory, self.coach.workspace, "teams",
                                             user=user)
        inbound = Inbound(self.coach.workspace, reference.conversation_id if reference else "", "",
                          platform="teams", platform_user_id=user or None, locale=activity.locale,
                          external_id=f"teams:action:{activity.id}" if activity.id else None,
                          timezone=_client_timezone(activity), direct=True)
        if reference is None or self.sender is None:
            locale = await asyncio.to_thread(self.coach.engine.locale_of, inbound)
            return catalog.render(msg("teams.action.no_chat"), locale)
        note = message_text(payload)
        outcome = await self.run(context, inbound,
                                 lambda i: self.coach.engine.log_message(i, note, at, channel))
        if outcome.person is None:  # not on the roster (or no database): say so right here
            return "\n".join(cards.plain_text(r, catalog, outcome.locale) for r in outcome.replies) or \
                catalog.render(msg("teams.failed"), outcome.locale)
        try:
            for reply in outcome.replies:
                await self.sender(reference.reference, await self.render(reply, outcome.locale))
        except Exception as error:  # blocked, removed, or the connector is down: the rep can retry
            log.warning("the message action's question could not be sent: %s", type(error).__name__)
            return catalog.render(msg("teams.action.unreachable"), outcome.locale)
        return catalog.render(msg("teams.action.sent"), outcome.locale)

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
