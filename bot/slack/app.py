"""The coach as a Slack app: Bolt's AsyncApp, translating Slack payloads to the shared engine.

Every listener acknowledges first (Slack's 3-second limit) and does the database work after,
in a worker thread. Each request carries an idempotency key (the event id, the clicked message
and value, the submitted view), claimed in the same transaction as its effects, so Slack's
retries and double clicks never record anything twice.

Before a request is acknowledged, a middleware keeps its body in the request inbox
(storage/requests.py), keyed by its signature; a listener settles it when its work is done. A
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
import re
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.bootstrap import Coach
from bot.settings import Settings
from bot.slack import form, privacy, render
from bot.slack.privacy import ids as _ids
from coaching.engine import Inbound, Outcome
from coaching.errors import StorageRefused, StorageUnavailable
from coaching.messages import msg
from coaching.replies import Reply

log = logging.getLogger(__name__)

# Slash command -> the engine command it runs ("" : the text is the command, as typed in the DM).
# A test keeps this and manifest.yml in step.
COMMANDS = {"/logmeeting": "logmeeting", "/ledger": "ledger", "/promises": "promises", "/teamhealth": "teamhealth",
            "/coach": ""}
SHORTCUT = "log_message_touch"  # the message shortcut "Log as client touch" (manifest.yml)
CAPTURED_CHANNELS = ("channel", "group")  # public and private channels (Slack Connect ones too)
INBOX_KEY = "coach_inbox_key"  # the request's key in the inbox, in Bolt's context
REPLAY_EVERY_S = 30
KEEP_SIGNATURES = timedelta(minutes=10)  # Bolt accepts a request's timestamp for five minutes
SETTLE_EVERY_S, SETTLE_WARN_S = 2, 300  # marking a request done is retried until it works


def web_client(settings: Settings, token: str | None = None) -> AsyncWebClient:
    """Slack's Web API client, retrying rate limits (honouring Retry-After), 5xx and dropped connections."""
    return AsyncWebClient(
        token=token, base_url=settings.slack_api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=3),
                        AsyncServerErrorRetryHandler(max_retry_count=2),
                        AsyncConnectionErrorRetryHandler(max_retry_count=2)],
    )


class SlackAdapter:
    def __init__(self, coach: Coach, settings: Settings, oauth_settings: Any = None) -> None:
        self.coach, self.settings = coach, settings
        self.profiles: dict[tuple[str, str], tuple[str | None, str | None, str | None]] = {}
        self.inbox = coach.requests
        self.unsettled: dict[str, float] = {}  # this process's requests not yet done: key -> since
        self.replay_after = timedelta(seconds=settings.inbox_replay_after_seconds)
        self._settle_tasks: dict[str, asyncio.Task] = {}  # requests whose settle waits out an outage
        self.app = self._bolt_app(oauth_settings)
        self.app.use(self._one_team_only if oauth_settings is None else self._team_named)
        self.app.use(self._keep_request)
        # the replayer: the same listeners, run to the end, for requests verified on arrival
        self.replayer = self._bolt_app(oauth_settings, request_verification_enabled=False,
                                       process_before_response=True)
        for app in (self.app, self.replayer):
            self._register(app)

    def _bolt_app(self, oauth_settings: Any, **options: Any) -> AsyncApp:
        settings = self.settings
        if oauth_settings is not None:
            return AsyncApp(signing_secret=settings.slack_signing_secret, oauth_settings=oauth_settings,
                            client=web_client(settings), **options)
        return AsyncApp(signing_secret=settings.slack_signing_secret,
                        client=web_client(settings, settings.slack_bot_token), **options)

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

    # --- the request inbox -------------------------------------------------------------

    async def _keep_request(self, req: AsyncBoltRequest, next) -> BoltResponse:
        """Keep a signed request before any listener acknowledges it; refuse a copy already seen."""
        signature = (req.headers.get("x-slack-signature") or [""])[0]
        if req.mode != "http" or not signature or _read_only(req.body):
            return await next()
        key = hashlib.sha256(signature.encode()).hexdigest()
        # the media type only (the header is not signed, and its length is the sender's to choose)
        content_type = ((req.headers.get("content-type") or [""])[0].split(";")[0].strip()[:100]) or None
        try:
            fresh = await asyncio.to_thread(self.inbox.store, key, "slack", req.raw_body, content_type,
                                            datetime.now(UTC))
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

    async def settle(self, context: Any) -> None:
        """The request's work is done (or the user was told to try again): never replay it. A
        database outage is waited out in the background for a few minutes."""
        key = context.get(INBOX_KEY) if context is not None else None
        if key is None:
            return
        if await self._try_settle(key):
            return
        task = asyncio.create_task(self._settle_later(key))
        self._settle_tasks[key] = task
        task.add_done_callback(lambda _: self._settle_tasks.pop(key, None))

    async def _try_settle(self, key: str) -> bool:
        try:
            await asyncio.to_thread(self.inbox.settle, key)
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

    async def replay_stale(self) -> int:
        """Run each request another process acknowledged but never finished, once."""
        now = datetime.now(UTC)
        # this process's own requests are its listeners' to settle, unless none ever will (no
        # listener took them): after ten minutes they are anybody's
        forgotten = time.monotonic() - KEEP_SIGNATURES.total_seconds()
        for key in [k for k, since in self.unsettled.items() if since < forgotten and k not in self._settle_tasks]:
            del self.unsettled[key]
        taken = await asyncio.to_thread(self.inbox.take_stale, "slack", now - self.replay_after,
                                        frozenset(self.unsettled), abandoned_before=now - KEEP_SIGNATURES)
        for request in taken:
            headers = {"content-type": [request.content_type]} if request.content_type else {}
            try:
                await self.replayer.async_dispatch(AsyncBoltRequest(body=request.body, headers=headers))
            except Exception:  # one request that cannot be replayed must not stop the others
                log.exception("a pending Slack request could not be replayed")
            await self._try_settle(request.key)
        if taken:
            log.info("replayed %d Slack request(s) left pending by a stopped process", len(taken))
        await asyncio.to_thread(self.inbox.purge, now - KEEP_SIGNATURES)
        return len(taken)

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

    # --- translation -------------------------------------------------------------------

    def workspace(self, team_id: str | None) -> str:
        """One workspace per Slack team with OAuth installs (never the configured one: a request
        naming no team is refused by ``_team_named``); else the configured workspace."""
        if not self.settings.slack_multi_workspace:
            return self.coach.workspace
        if not team_id:
            raise privacy.NoTeam("a Slack request names no team")
        return team_id

    async def profile(self, client: AsyncWebClient, team_id: str, user_id: str) -> tuple[str | None, str | None, str | None]:
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
            locale = inbound.locale
            if locale is None and inbound.platform_user_id:  # Slack knows the user's language
                locale = (await self.profile(client, inbound.workspace_id, inbound.platform_user_id))[1]
            return Outcome((Reply.of(msg("error.storage_down")),), locale)
        return outcome

    async def post(self, client: AsyncWebClient, channel: str, outcome: Outcome) -> None:
        catalog = self.coach.catalog
        for reply in outcome.replies:
            await client.chat_postMessage(channel=channel, text=render.fallback_text(reply, catalog, outcome.locale),
                                          blocks=render.blocks(reply, catalog, outcome.locale))
            if reply.chart is not None:
                await self.upload_chart(client, channel, reply, outcome.locale)

    async def respond(self, respond: Callable[..., Awaitable[Any]], outcome: Outcome, client: AsyncWebClient,
                      user: str, channel: str | None = None) -> None:
        """Ephemeral answers (only the asking user sees them). A file cannot be ephemeral, so a
        reply's chart goes to the user's DM with the coach: where they asked, if they asked there;
        otherwise not into a channel (or a DM with someone else) that only saw the ephemeral text."""
        catalog = self.coach.catalog
        for reply in outcome.replies:
            await _ephemeral(respond, text=render.fallback_text(reply, catalog, outcome.locale),
                             blocks=render.blocks(reply, catalog, outcome.locale), response_type="ephemeral")
            if reply.chart is not None:
                try:
                    dm = (await client.conversations_open(users=user))["channel"]["id"]
                except SlackApiError as error:
                    log.warning("no DM for a chart: %s", error.response.get("error"))
                    continue
                if await self.upload_chart(client, dm, reply, outcome.locale) and dm != channel:
                    note = catalog.render(msg("slack.chart_in_dm"), outcome.locale, render.escape)
                    await _ephemeral(respond, text=note, response_type="ephemeral")

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

    def inbound(self, team_id: str, user_id: str, conversation: str, text: str, external_id: str | None) -> Inbound:
        return Inbound(self.workspace(team_id), conversation, text, platform="slack",
                       platform_user_id=user_id, external_id=external_id,
                       direct=privacy.is_dm(conversation))

    # --- listeners ---------------------------------------------------------------------

    def _register(self, app: AsyncApp) -> None:
        settled = self._settling
        for command in COMMANDS:
            app.command(command)(settled(self.on_command))
        app.event("message")(settled(self.on_message))
        app.event("app_home_opened")(self.on_home)
        app.action(re.compile(r"^choice:"))(settled(self.on_choice))
        app.action("client_search")(settled(self.on_choice))
        app.action("open_form")(settled(self.on_open_form))
        app.options("client_search")(self.on_client_search)
        app.view(form.CALLBACK_ID)(settled(self.on_form_submitted))
        app.message_shortcut(SHORTCUT)(settled(self.on_message_shortcut))

    def _settling(self, listener: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        """``listener``, then its request settled in the inbox. After an error the request is
        left to this process's replayer (once, a minute on). The listener takes ``context``."""
        @functools.wraps(listener)  # Bolt reads the listener's own parameters through this
        async def settled(**kwargs: Any) -> None:
            try:
                await listener(**kwargs)
            except Exception:
                self.unsettled.pop(kwargs["context"].get(INBOX_KEY), None)
                raise
            await self.settle(kwargs["context"])

        return settled

    async def on_command(self, ack, command: dict, client: AsyncWebClient, respond, context) -> None:
        await ack()
        name, text = COMMANDS[command["command"]], render.plain(command.get("text") or "")
        team, user = command["team_id"], command["user_id"]
        key = f"command:{command.get('trigger_id')}"
        if name == "logmeeting":  # a conversation: it runs in the rep's DM with the bot
            dm = (await client.conversations_open(users=user))["channel"]["id"]
            outcome = await self.run(client, self.inbound(team, user, dm, f"/logmeeting {text}", key))
            await self.post(client, dm, outcome)
            if command.get("channel_id") != dm and outcome.person is not None:
                await _ephemeral(respond, text=self.coach.catalog.render(msg("slack.dm_sent"), outcome.locale),
                                 response_type="ephemeral")
            return
        typed = f"/{name} {text}" if name else text or "help"
        outcome = await self.run(client, self.inbound(team, user, command["channel_id"], typed, key))
        await self.respond(respond, outcome, client, user, command["channel_id"])

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
        inbound = self.inbound(body.get("team_id", ""), event["user"], event["channel"],
                               render.plain(event.get("text") or ""), f"event:{body.get('event_id')}")
        await self.post(client, event["channel"], await self.run(client, inbound))

    async def on_channel_message(self, event: dict, body: dict, client: AsyncWebClient) -> None:
        """A message in a channel the coach was invited to. Unless an admin opted the channel in
        to capture, nothing more happens (one keyed lookup); if they did, the author's message
        counts as a touch with the channel's client, once per author and day. Nothing is said in
        the channel, and the message's words are not kept."""
        workspace, channel = self.workspace(body.get("team_id")), event.get("channel", "")
        if not event.get("user") or not await asyncio.to_thread(self.coach.engine.captures, workspace, "slack", channel):
            return
        inbound = self.inbound(body.get("team_id", ""), event["user"], channel, "", None)
        await self.run(client, inbound, lambda i: self.coach.engine.capture(i, _moment(event.get("ts"))))

    async def on_message_shortcut(self, ack, shortcut: dict, client: AsyncWebClient, respond, context) -> None:
        """"Log as client touch" on any message: the logging conversation opens in the rep's DM
        with the message as the note, its day as the date, and the channel's client if the
        channel is mapped to one."""
        await ack()
        team, user = _ids(shortcut)
        if not user:
            return
        message, channel = shortcut.get("message") or {}, (shortcut.get("channel") or {}).get("id")
        dm = (await client.conversations_open(users=user))["channel"]["id"]
        key = f"shortcut:{shortcut.get('trigger_id')}"
        at = _moment(message.get("ts") or shortcut.get("message_ts"))
        outcome = await self.run(client, self.inbound(team, user, dm, "", key),
                                 lambda i: self.coach.engine.log_message(i, message_text(message), at, channel))
        await self.post(client, dm, outcome)
        if channel != dm and outcome.person is not None and shortcut.get("response_url"):
            await _ephemeral(respond, text=self.coach.catalog.render(msg("slack.dm_sent"), outcome.locale),
                             response_type="ephemeral")

    async def on_choice(self, ack, body: dict, action: dict, client: AsyncWebClient, respond, context) -> None:
        await ack()
        value = action.get("value") or (action.get("selected_option") or {}).get("value", "")
        container = body.get("container", {})
        channel = container.get("channel_id") or body.get("channel", {}).get("id", "")
        key = f"action:{channel}:{container.get('message_ts')}:{action['action_id']}:{value}"
        team, user = _ids(body)
        if not user:
            return
        if container.get("is_ephemeral"):  # a message only the user sees: answered the same way
            outcome = await self.run(client, self.inbound(team, user, channel, value, key))
            await self.respond(respond, outcome, client, user, channel)
            return
        # a message others may see (a channel's), or a view: the answer goes to the user's DM
        dm = await privacy.dm_of(client, user, channel)
        outcome = await self.run(client, self.inbound(team, user, dm, value, key))
        await self.post(client, dm, outcome)
        if dm != channel and outcome.replies and body.get("response_url"):
            await _ephemeral(respond, text=self.coach.catalog.render(msg("slack.answered_in_dm"), outcome.locale),
                             response_type="ephemeral")

    async def on_client_search(self, ack, body: dict, client: AsyncWebClient) -> None:
        team, user = _ids(body)
        if not user:
            await ack(options=[])
            return
        email, locale, zone = await self.profile(client, team, user)
        inbound = replace(self.inbound(team, user, "search", "", None), email=email, locale=locale, timezone=zone)
        query = body.get("value", "")
        try:
            found = await asyncio.to_thread(self.coach.engine.suggest_clients, inbound, query)
        except StorageUnavailable:  # no suggestions while the database is away; the rep can type again
            log.warning("database unavailable while searching clients")
            found = []
        await ack(options=render.search_options(found, query, self.coach.catalog, locale))

    async def locale(self, client: AsyncWebClient, team: str, user: str) -> str | None:
        email, slack_locale, zone = await self.profile(client, team, user)
        inbound = replace(self.inbound(team, user, "", "", None), email=email, locale=slack_locale, timezone=zone)
        try:
            return await asyncio.to_thread(self.coach.engine.locale_of, inbound)
        except StorageUnavailable:
            return slack_locale

    async def on_open_form(self, ack, body: dict, client: AsyncWebClient, context) -> None:
        await ack()
        channel = body.get("container", {}).get("channel_id") or body.get("channel", {}).get("id", "")
        team, user = _ids(body)
        if not user:
            return
        locale = await self.locale(client, team, user)
        await client.views_open(trigger_id=body["trigger_id"], view=form.modal(self.coach.catalog, locale, channel))

    async def on_form_submitted(self, ack, body: dict, view: dict, client: AsyncWebClient, context) -> None:
        team, user = _ids(body)
        if not user:
            await ack()
            return
        today = self.coach.clock().date()
        request, errors = form.parse(view, today, self.coach.rules.conversations)
        if errors:
            locale = await self.locale(client, team, user)
            catalog = self.coach.catalog
            await ack(response_action="errors", errors={k: catalog.render(m, locale) for k, m in errors.items()})
            return
        await ack()
        # the form was opened where the rep clicked (a channel, perhaps shared, or a DM with someone
        # else): the answer is theirs alone, in their own DM with the coach, whatever the view says
        dm = await privacy.dm_of(client, user)
        inbound = self.inbound(team, user, dm, "", f"view:{view.get('id')}")
        outcome = await self.run(client, inbound, lambda i: self.coach.engine.log_form(i, request))
        await self.post(client, dm, outcome)

    async def on_home(self, event: dict, body: dict, client: AsyncWebClient) -> None:
        if event.get("tab") != "home" or not event.get("user"):
            return
        inbound = self.inbound(body.get("team_id", ""), event["user"], "home", "", None)
        outcome = await self.run(client, inbound, self.coach.engine.home)
        if outcome.replies:
            view = render.home_view(outcome.replies[0], self.coach.catalog, outcome.locale)
            await client.views_publish(user_id=event["user"], view=view)


def _moment(ts: str | None) -> datetime:
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


def _read_only(body: dict[str, Any]) -> bool:
    """Requests that change nothing and need no inbox: type-ahead searches and the Home tab."""
    if body.get("type") == "block_suggestion":
        return True
    return body.get("type") == "event_callback" and (body.get("event") or {}).get("type") == "app_home_opened"


async def _ephemeral(respond: Callable[..., Awaitable[Any]], **message: Any) -> bool:
    """An answer through the request's response_url; one that has expired or cannot be reached
    is logged, not raised (the work behind it is done either way)."""
    try:
        await respond(**message)
    except Exception as error:  # aiohttp's client errors, an invalid URL
        log.warning("an ephemeral answer could not be delivered: %s", type(error).__name__)
        return False
    return True
