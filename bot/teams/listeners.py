"""The coach's Teams agent: each activity translated to the shared engine, its answer sent
back as Adaptive Cards.

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
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any, Awaitable, Callable

from microsoft_agents.activity import Activity, InvokeResponse
from microsoft_agents.hosting.core import ActivityHandler, TurnContext

from bot.bootstrap import Coach
from bot.teams import auth, cards
from bot.teams.activities import (channel_id, client_timezone, mentions_coach, message_text, moment, shared,
                                  user_id, where)
from bot.teams.package import MESSAGE_ACTION
from bot.teams.render import reply_activity, task_message
from coaching import chats
from coaching.engine import Inbound, Outcome
from coaching.errors import StorageUnavailable
from coaching.messages import msg
from coaching.replies import Reply

# the Teams app's logger, named as it was before bot/teams/app.py was split by role
log = logging.getLogger("bot.teams.app")

CHANNEL_PREFIX = "conversation:"  # a channel's saved reference: "conversation:" + its channel id
ACTION_INVOKES = ("composeExtension/fetchTask", "composeExtension/submitAction")  # the message action
Sender = Callable[[dict[str, Any], Activity], Awaitable[None]]  # (saved reference, activity): proactive


class CoachAgent(ActivityHandler):
    def __init__(self, coach: Coach, sender: Sender | None = None, access: auth.Access | None = None) -> None:
        self.coach = coach
        self.sender = sender  # proactive messages (the message action's questions): TeamsEndpoint.send_to
        self.access = access or auth.Access(anonymous=True)

    # --- translation ---------------------------------------------------------------------

    def inbound(self, activity: Activity, text: str, email: str | None = None) -> Inbound:
        return Inbound(self.coach.workspace, where(activity), text, email=email, platform="teams",
                       platform_user_id=user_id(activity), locale=activity.locale,
                       external_id=f"teams:{activity.conversation.id}:{activity.id}" if activity.id else None,
                       timezone=client_timezone(activity),
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
        personal = not shared(activity)
        reference = activity.get_conversation_reference()
        user = user_id(activity) if personal else CHANNEL_PREFIX + where(activity)
        chats.remember(self.coach.uow_factory, self.coach.workspace, "teams", user, activity.conversation.id,
                       activity.service_url, reference.model_dump(mode="json", by_alias=True, exclude_none=True),
                       personal, datetime.now(timezone.utc))

    # --- activities ------------------------------------------------------------------------

    async def on_message_activity(self, context: TurnContext) -> None:
        activity = context.activity
        text = cards.chosen(activity.value)
        if text is None and shared(activity):
            if not mentions_coach(activity):  # people talking among themselves: never a command
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
        channel = where(activity)
        try:
            if not await asyncio.to_thread(self.coach.engine.captures, self.coach.workspace, "teams", channel):
                return
            at = moment(activity.timestamp) or datetime.now(timezone.utc)
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

    async def on_installation_update_add(self, context: TurnContext) -> None:
        await asyncio.to_thread(self.remember, context.activity)
        await self.send(context, await self.run(context, self.inbound(context.activity, "help")))

    async def on_members_added_activity(self, members_added, context: TurnContext) -> None:
        await asyncio.to_thread(self.remember, context.activity)

    # --- the message action "Log as client touch" -----------------------------------------

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
        payload = _message_payload(activity)
        if payload is None:
            return catalog.render(msg("teams.action.malformed"), activity.locale)
        at = moment(payload.get("createdDateTime")) or moment(activity.timestamp) or datetime.now(timezone.utc)
        channel = channel_id(activity.conversation.id)
        user = user_id(activity)

        reference = await asyncio.to_thread(chats.active, self.coach.uow_factory, self.coach.workspace, "teams",
                                            user=user)
        inbound = _action_inbound(self.coach.workspace, activity, user, reference)
        if reference is None or self.sender is None:
            locale = await asyncio.to_thread(self.coach.engine.locale_of, inbound)
            return catalog.render(msg("teams.action.no_chat"), locale)
        note = message_text(payload)
        outcome = await self.run(context, inbound,
                                 lambda i: self.coach.engine.log_message(i, note, at, channel))
        if outcome.person is None or not outcome.person.active:  # unknown, deactivated, no database: say so here
            return "\n".join(cards.plain_text(r, catalog, outcome.locale) for r in outcome.replies) or \
                catalog.render(msg("teams.failed"), outcome.locale)
        return await self._ask_in_chat(reference.reference, outcome)

    async def _ask_in_chat(self, reference: dict[str, Any], outcome: Outcome) -> str:
        """The logging conversation's first question, sent into the rep's personal chat; the
        dialog's text says whether it went."""
        catalog = self.coach.catalog
        try:
            for reply in outcome.replies:
                await self.sender(reference, await self.render(reply, outcome.locale))
        except Exception as error:  # blocked, removed, or the connector is down: the rep can retry
            log.warning("the message action's question could not be sent: %s", type(error).__name__)
            return catalog.render(msg("teams.action.unreachable"), outcome.locale)
        return catalog.render(msg("teams.action.sent"), outcome.locale)


def _message_payload(activity: Activity) -> dict[str, Any] | None:
    """The message the action was taken on, or None (logged) when the invoke is not ours."""
    value = activity.value if isinstance(activity.value, dict) else {}
    payload = value.get("messagePayload")
    if value.get("commandId") != MESSAGE_ACTION or not isinstance(payload, dict):
        log.info("a Teams message action without a message of ours (commandId %r)", value.get("commandId"))
        return None
    return payload


def _action_inbound(workspace: str, activity: Activity, user: str, reference: Any) -> Inbound:
    """The message action as heard in the rep's personal chat (its saved reference, if any)."""
    return Inbound(workspace, reference.conversation_id if reference else "", "",
                   platform="teams", platform_user_id=user or None, locale=activity.locale,
                   external_id=f"teams:action:{activity.id}" if activity.id else None,
                   timezone=client_timezone(activity), direct=True)
