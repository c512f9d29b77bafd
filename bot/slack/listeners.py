"""The Slack app's listeners: slash commands, messages, button clicks, the logging form, the
message shortcut and the Home tab, each translated to the shared engine.

Every listener acknowledges first (Slack's 3-second limit) and does the database work after,
in a worker thread. Each request carries an idempotency key (the event id, the clicked message
and value, the submitted view), claimed in the same transaction as its effects, so Slack's
retries and double clicks never record anything twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime
from typing import Any, Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import form, privacy, render
from bot.slack.privacy import ids as _ids
from bot.slack.turns import SlackTurns
from coaching.errors import StorageUnavailable
from coaching.messages import msg

# the Slack app's logger, named as it was before bot/slack/app.py was split by role
log = logging.getLogger("bot.slack.app")

# Slash command -> the engine command it runs ("" : the text is the command, as typed in the DM).
# A test keeps this and manifest.yml in step.
COMMANDS = {"/logmeeting": "logmeeting", "/ledger": "ledger", "/promises": "promises", "/teamhealth": "teamhealth",
            "/coach": ""}
SHORTCUT = "log_message_touch"  # the message shortcut "Log as client touch" (manifest.yml)
CAPTURED_CHANNELS = ("channel", "group")  # public and private channels (Slack Connect ones too)

Listener = Callable[..., Awaitable[None]]


class SlackListeners:
    def __init__(self, turns: SlackTurns) -> None:
        self.turns, self.coach = turns, turns.coach

    def register(self, app: AsyncApp, settled: Callable[[Listener], Listener]) -> None:
        """Every listener on ``app``; ``settled`` wraps those whose request the inbox keeps.

        Bolt tries the listeners in order and builds each matcher's arguments from the whole
        request (about 6 microseconds a listener passed over): one listener per handler, the
        busiest first."""
        app.view(form.CALLBACK_ID)(settled(self.on_form_submitted))
        app.command(re.compile("^(" + "|".join(map(re.escape, COMMANDS)) + ")$"))(settled(self.on_command))
        app.event("message")(settled(self.on_message))
        app.action(re.compile(r"^(choice:|client_search$)"))(settled(self.on_choice))
        app.action("open_form")(settled(self.on_open_form))
        app.options("client_search")(self.on_client_search)
        app.event("app_home_opened")(self.on_home)
        app.message_shortcut(SHORTCUT)(settled(self.on_message_shortcut))

    async def on_command(self, ack, command: dict, client: AsyncWebClient, respond, context) -> None:
        await ack()
        name, text = COMMANDS[command["command"]], render.plain(command.get("text") or "")
        team, user = command["team_id"], command["user_id"]
        key = f"command:{command.get('trigger_id')}"
        turns = self.turns
        if name == "logmeeting":  # a conversation: it runs in the rep's DM with the bot
            dm = await turns.dm(client, team, user)
            outcome = await turns.run(client, turns.inbound(team, user, dm, f"/logmeeting {text}", key))
            await turns.post(client, dm, outcome)
            if command.get("channel_id") != dm and outcome.person is not None:
                await turns.tell(respond, msg("slack.dm_sent"), outcome.locale)
            return
        typed = f"/{name} {text}" if name else text or "help"
        outcome = await turns.run(client, turns.inbound(team, user, command["channel_id"], typed, key))
        await turns.respond(respond, outcome, client, user, command["channel_id"])

    async def on_message(self, event: dict, body: dict, client: AsyncWebClient, context) -> None:
        if event.get("bot_id") or event.get("subtype"):
            return  # people's own new messages only: no bots, edits, deletions or joins
        if event.get("channel_type") in CAPTURED_CHANNELS:
            await self.on_channel_message(event, body, client)
            return
        if event.get("channel_type") != "im" or not event.get("user") or not event.get("channel"):
            return
        # Slack sends &, < and > as entities, and links and mentions in angle brackets: the
        # engine reads what the rep typed
        turns = self.turns
        inbound = turns.inbound(body.get("team_id", ""), event["user"], event["channel"],
                                render.plain(event.get("text") or ""), f"event:{body.get('event_id')}")
        await turns.post(client, event["channel"], await turns.run(client, inbound))

    async def on_channel_message(self, event: dict, body: dict, client: AsyncWebClient) -> None:
        """A message in a channel the coach was invited to. Unless an admin opted the channel in
        to capture, nothing more happens (one keyed lookup); if they did, the author's message
        counts as a touch with the channel's client, once per author and day. Nothing is said in
        the channel, and the message's words are not kept."""
        workspace, channel = self.turns.workspace(body.get("team_id")), event.get("channel", "")
        if not event.get("user") or not await asyncio.to_thread(self.coach.engine.captures, workspace, "slack", channel):
            return
        inbound = self.turns.inbound(body.get("team_id", ""), event["user"], channel, "", None)
        await self.turns.run(client, inbound, lambda i: self.coach.engine.capture(i, moment(event.get("ts"))))

    async def on_message_shortcut(self, ack, shortcut: dict, client: AsyncWebClient, respond, context) -> None:
        """"Log as client touch" on any message: the logging conversation opens in the rep's DM
        with the message as the note, its day as the date, and the channel's client if the
        channel is mapped to one."""
        await ack()
        team, user = _ids(shortcut)
        if not user:
            return
        message, channel = shortcut.get("message") or {}, (shortcut.get("channel") or {}).get("id")
        turns = self.turns
        dm = await turns.dm(client, team, user)
        key = f"shortcut:{shortcut.get('trigger_id')}"
        at = moment(message.get("ts") or shortcut.get("message_ts"))
        outcome = await turns.run(client, turns.inbound(team, user, dm, "", key),
                                  lambda i: self.coach.engine.log_message(i, message_text(message), at, channel))
        await turns.post(client, dm, outcome)
        if channel != dm and outcome.person is not None and shortcut.get("response_url"):
            await turns.tell(respond, msg("slack.dm_sent"), outcome.locale)

    async def on_choice(self, ack, body: dict, action: dict, client: AsyncWebClient, respond, context) -> None:
        await ack()
        value = action.get("value") or (action.get("selected_option") or {}).get("value", "")
        container = body.get("container", {})
        channel = container.get("channel_id") or body.get("channel", {}).get("id", "")
        key = f"action:{channel}:{container.get('message_ts')}:{action['action_id']}:{value}"
        team, user = _ids(body)
        if not user:
            return
        turns = self.turns
        if container.get("is_ephemeral"):  # a message only the user sees: answered the same way
            outcome = await turns.run(client, turns.inbound(team, user, channel, value, key))
            await turns.respond(respond, outcome, client, user, channel)
            return
        # a message others may see (a channel's), or a view: the answer goes to the user's DM
        dm = channel if privacy.is_dm(channel) else await turns.dm(client, team, user)
        outcome = await turns.run(client, turns.inbound(team, user, dm, value, key))
        await turns.post(client, dm, outcome)
        if dm != channel and outcome.replies and body.get("response_url"):
            await turns.tell(respond, msg("slack.answered_in_dm"), outcome.locale)

    async def on_client_search(self, ack, body: dict, client: AsyncWebClient) -> None:
        team, user = _ids(body)
        if not user:
            await ack(options=[])
            return
        inbound = await self.turns.profiled(client, team, user, "search")
        value = body.get("value")
        query = value if isinstance(value, str) else ""  # a forged payload may send anything
        try:
            found = await asyncio.to_thread(self.coach.engine.suggest_clients, inbound, query)
        except StorageUnavailable:  # no suggestions while the database is away; the rep can type again
            log.warning("database unavailable while searching clients")
            found = []
        await ack(options=render.search_options(found, query, self.coach.catalog, inbound.locale))

    async def on_open_form(self, ack, body: dict, client: AsyncWebClient, context) -> None:
        await ack()
        channel = body.get("container", {}).get("channel_id") or body.get("channel", {}).get("id", "")
        team, user = _ids(body)
        if not user:
            return
        locale = await self.turns.locale(client, team, user)
        await client.views_open(trigger_id=body["trigger_id"], view=form.modal(self.coach.catalog, locale, channel))

    async def on_form_submitted(self, ack, body: dict, view: dict, client: AsyncWebClient, context) -> None:
        team, user = _ids(body)
        if not user:
            await ack()
            return
        today = self.coach.clock().date()
        request, errors = form.parse(view, today, self.coach.rules.conversations)
        if errors:
            locale = await self.turns.locale(client, team, user)
            catalog = self.coach.catalog
            await ack(response_action="errors", errors={k: catalog.render(m, locale) for k, m in errors.items()})
            return
        await ack()
        # the form was opened where the rep clicked (a channel, perhaps shared, or a DM with someone
        # else): the answer is theirs alone, in their own DM with the coach, whatever the view says
        dm = await self.turns.dm(client, team, user)
        inbound = self.turns.inbound(team, user, dm, "", f"view:{view.get('id')}")
        outcome = await self.turns.run(client, inbound, lambda i: self.coach.engine.log_form(i, request))
        await self.turns.post(client, dm, outcome)

    async def on_home(self, event: dict, body: dict, client: AsyncWebClient) -> None:
        if event.get("tab") != "home" or not event.get("user"):
            return
        inbound = self.turns.inbound(body.get("team_id", ""), event["user"], "home", "", None)
        outcome = await self.turns.run(client, inbound, self.coach.engine.home)
        if outcome.replies:
            view = render.home_view(outcome.replies[0], self.coach.catalog, outcome.locale)
            await client.views_publish(user_id=event["user"], view=view)


def moment(ts: str | None) -> datetime:
    """A Slack message timestamp ("1732345678.000200") as an aware time; now if absent."""
    try:
        return datetime.fromtimestamp(float(ts), UTC) if ts else datetime.now(UTC)
    except (TypeError, ValueError, OverflowError):
        return datetime.now(UTC)


def message_text(message: dict[str, Any]) -> str:
    """What a message says: its text, else its attachments' (a forwarded e-mail or a shared
    message arrives as attachments), as plain text."""
    parts = [message.get("text") or ""]
    if not parts[0].strip():
        parts = [a.get("text") or a.get("fallback") or "" for a in message.get("attachments") or []]
    return render.plain("\n".join(p for p in parts if p.strip()))
