"""Where the scheduler's messages go: a rep's Slack DM or Teams chat, whichever reaches them
first; a team's channel; the log (the console) when no platform is configured. Each implements
``coaching.ports.Notifier`` and ``coaching.ports.Traceable``: a message carries its delivery's
key, and a send whose outcome is unknown can be looked up afterwards where the platform allows."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.slack import render
from bot.teams.auth import access_from as teams_access
from bot.terminal import render_with_chart
from coaching.errors import MaybeDelivered, MaybeDeliveredOn
from coaching.messages import Catalog
from coaching.model import Person
from coaching.replies import Reply

log = logging.getLogger(__name__)


EVENT_TYPE = "coach_delivery"  # the metadata a Slack message of the scheduler carries: its delivery's key
LOOKBACK = timedelta(hours=1)  # how far before a send a look-up reads (clock skew, an earlier attempt)
HISTORY_PAGES = 5  # of 200 messages: more than a DM or a team channel holds in an hour


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class FirstThatDelivers:
    """Each message goes once: to the first platform that can reach the person. When none
    can, ``fallback`` (the log) still shows it, and the delivery is reported as not made.

    With a ``key``, the platforms that can tag a message tag it, and ``find`` asks them later
    whether a message with that key arrived (``coaching.ports.Traceable``)."""

    def __init__(self, notifiers: list, fallback: LogNotifier | None = None) -> None:
        self.notifiers, self.fallback = notifiers, fallback

    def send(self, person: Person, reply: Reply, key: str | None = None) -> str | None:
        for notifier in self.notifiers:
            if channel := self._try(_keyed(notifier.send, notifier, key), person, reply):
                return channel
        if self.fallback is not None:
            self.fallback.send(person, reply)
        else:
            log.warning("no platform reached person %s; the message stays in the delivery records", person.id)
        return None

    def send_channel(self, channel: str, reply: Reply, locale: str | None, key: str | None = None) -> str | None:
        for notifier in self.notifiers:
            if sent := self._try(_keyed(notifier.send_channel, notifier, key), channel, reply, locale):
                return sent
        if self.fallback is not None:
            self.fallback.send_channel(channel, reply, locale)
        return None

    def find(self, person: Person, key: str, since: datetime, platform: str | None = None) -> str | None:
        """Asks each platform that may have sent it (only ``platform`` when known), in order."""
        return self._find("find", person, key, since, platform)

    def find_channel(self, channel: str, key: str, since: datetime, platform: str | None = None) -> str | None:
        return self._find("find_channel", channel, key, since, platform)

    def _find(self, how: str, recipient, key: str, since: datetime, platform: str | None) -> str | None:
        for notifier in self.notifiers:
            name = getattr(notifier, "name", None)
            if platform is not None and name != platform:
                continue
            finder = getattr(notifier, how, None)
            if finder is None:
                raise MaybeDelivered(f"{name or 'a platform'} cannot be asked")
            if found := finder(recipient, key, since):
                return found
        return None


    @staticmethod
    def _try(send, *args) -> str | None:
        """One platform's failure (Slack down) must not keep the next one (Teams) from trying,
        unless the message may already have arrived: then nothing else is tried."""
        try:
            return send(*args)
        except MaybeDelivered:
            raise
        except Exception as error:
            log.warning("a platform failed (%s); trying the next one", type(error).__name__)
            return None


def _keyed(send, notifier, key: str | None):
    """``send`` with the delivery's key, for a notifier that tags its messages (one with ``find``)."""
    if key is None or not hasattr(notifier, "find"):
        return send
    return lambda *args: send(*args, key=key)


class LogNotifier:
    """Writes each message to a stream (the terminal, a log): the notifier that always works. A
    reply's chart is saved in ``directory`` (when given) and its path written after the text."""

    name = "log"

    def __init__(self, catalog: Catalog, write, directory: Path | None = None) -> None:
        self.catalog, self.write, self.directory = catalog, write, directory

    def send(self, person: Person, reply: Reply, key: str | None = None) -> str | None:
        self.write(f"--- {person.email}\n{render_with_chart(reply, self.catalog, person.locale, self.directory)}")
        return self.name

    def send_channel(self, channel: str, reply: Reply, locale: str | None, key: str | None = None) -> str | None:
        self.write(f"--- #{channel}\n{render_with_chart(reply, self.catalog, locale, self.directory)}")
        return self.name

    def find(self, person: Person, key: str, since: datetime, platform: str | None = None) -> str | None:
        return self._unknown(platform)

    def find_channel(self, channel: str, key: str, since: datetime, platform: str | None = None) -> str | None:
        return self._unknown(platform)

    def _unknown(self, platform: str | None) -> None:
        if platform not in (None, self.name):
            return None
        raise MaybeDelivered("what was written to the log cannot be read back")


# Slack answers these with HTTP 200 and ok:false, and the post may have been made all the same
SLACK_MAY_HAVE_POSTED = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})


class SlackNotifier:
    """A rep's DM with the coach, found from their Slack user id or their e-mail.

    A post whose outcome is unknown (5xx, a timeout, a dropped connection) is looked up at once
    in the conversation's history by its delivery's key (the message's ``metadata``); found, it
    counts as delivered; otherwise ``MaybeDeliveredOn("slack")`` leaves the verdict to a later
    run (Slack may still be taking it), which asks again through ``find``."""

    name = "slack"

    def __init__(self, catalog: Catalog, token: str, api_url: str, timeout: float = 30,
                 clock: Callable[[], datetime] = _utc_now) -> None:
        self.catalog, self.clock = catalog, clock
        # Look-ups and history reads are safe to retry; a post is not (Slack cannot tell a
        # repeat), so the poster retries only rate limits, where Slack says it took nothing.
        self.client = WebClient(token=token, base_url=api_url, timeout=timeout, retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=3), ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2)])
        self.poster = WebClient(token=token, base_url=api_url, timeout=timeout,
                                retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)])

    def user_id(self, person: Person) -> str | None:
        if person.slack_user_id:
            return person.slack_user_id
        try:
            return self.client.users_lookupByEmail(email=person.email)["user"]["id"]
        except SlackApiError as error:
            log.warning("no Slack user for a rep: %s", error.response.get("error"))
            return None

    def send(self, person: Person, reply: Reply, key: str | None = None) -> str | None:
        user = self.user_id(person)
        if user is None:
            return None
        try:
            channel = self.client.conversations_open(users=user)["channel"]["id"]
        except SlackApiError as error:
            log.warning("a digest could not be delivered: %s", error.response.get("error"))
            return None
        return self.send_channel(channel, reply, person.locale, key)

    def send_channel(self, channel: str, reply: Reply, locale: str | None, key: str | None = None) -> str | None:
        if not channel.startswith(("C", "G", "D")):  # not a Slack conversation id (a Teams one)
            return None
        metadata = {"event_type": EVENT_TYPE, "event_payload": {"delivery": key}} if key else None
        text, blocks = render.fallback_text(reply, self.catalog, locale), render.blocks(reply, self.catalog, locale)
        began = self.clock()
        try:
            self.poster.chat_postMessage(channel=channel, text=text, blocks=blocks, metadata=metadata)
        except SlackApiError as error:
            code = error.response.get("error")
            if error.response.status_code < 500 and code not in SLACK_MAY_HAVE_POSTED:
                log.warning("a message could not be delivered: %s", code)
                return None
            self._look_up_or_raise(channel, key, began, f"Slack answered {error.response.status_code} {code}", error)
        except OSError as error:
            if _never_connected(error):  # nothing went out: as safe to retry as a rate limit
                log.warning("a message could not be delivered: Slack could not be reached")
                return None
            self._look_up_or_raise(channel, key, began, type(error).__name__, error)
        except Exception as error:  # the request went out and no answer came back (an incomplete
            # read, a bad status line, any client error): it may have been posted
            self._look_up_or_raise(channel, key, began, type(error).__name__, error)
        if reply.chart is not None:
            self.upload_chart(channel, reply, locale)
        return self.name

    def _look_up_or_raise(self, channel: str, key: str | None, began: datetime, detail: str,
                          error: Exception) -> None:
        """The post went out and its answer did not come back: returns when the message is in
        the conversation, else raises ``MaybeDeliveredOn``."""
        if key is not None:
            try:
                if self._in_history(channel, key, began):
                    log.info("a post Slack did not confirm (%s) is in the conversation", detail)
                    return
            except MaybeDelivered:
                pass
        raise MaybeDeliveredOn(self.name, detail) from error

    def find(self, person: Person, key: str, since: datetime, platform: str | None = None) -> str | None:
        if platform not in (None, self.name):
            return None
        user = person.slack_user_id
        if not user:
            try:
                user = self.client.users_lookupByEmail(email=person.email)["user"]["id"]
            except SlackApiError as error:
                if error.response.get("error") == "users_not_found":
                    return None  # not in Slack: nothing was posted there
                raise MaybeDeliveredOn(self.name, str(error.response.get("error"))) from error
            except (SlackClientError, OSError) as error:
                raise MaybeDeliveredOn(self.name, type(error).__name__) from error
        try:
            channel = self.client.conversations_open(users=user)["channel"]["id"]
        except (SlackClientError, OSError) as error:
            raise MaybeDeliveredOn(self.name, type(error).__name__) from error
        return self.name if self._in_history(channel, key, since) else None

    def find_channel(self, channel: str, key: str, since: datetime, platform: str | None = None) -> str | None:
        if platform not in (None, self.name) or not channel.startswith(("C", "G", "D")):
            return None
        return self.name if self._in_history(channel, key, since) else None

    def _in_history(self, channel: str, key: str, since: datetime) -> bool:
        """Whether a message of the conversation since shortly before ``since`` carries ``key``
        (a read: retried on rate limits, 5xx and dropped connections). ``MaybeDeliveredOn`` when
        the history cannot be read to the end of that window."""
        oldest = f"{(since - LOOKBACK).timestamp():.6f}"
        cursor = None
        for _ in range(HISTORY_PAGES):
            try:
                page = self.client.conversations_history(channel=channel, oldest=oldest, include_all_metadata=True,
                                                         limit=200, cursor=cursor)
            except SlackApiError as error:
                raise MaybeDeliveredOn(self.name, f"history: {error.response.get('error')}") from error
            except (SlackClientError, OSError) as error:
                raise MaybeDeliveredOn(self.name, f"history: {type(error).__name__}") from error
            for message in page.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == EVENT_TYPE and payload.get("delivery") == key:
                    return True
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not page.get("has_more") or not cursor:
                return False
        raise MaybeDeliveredOn(self.name, "too much history to tell")

    def upload_chart(self, channel: str, reply: Reply, locale: str | None) -> bool:
        """The reply's chart as a PNG file in ``channel``, under the message. A failure is logged
        and the message counts as delivered all the same (its text went out; sending it again
        elsewhere would say it twice)."""
        assert reply.chart is not None
        try:
            self.poster.files_upload_v2(channel=channel, **render.chart_upload(reply.chart, self.catalog, locale))
        except SlackClientError as error:
            detail = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
            log.warning("a chart could not be uploaded: %s", detail)
            return False
        except Exception:  # a chart that cannot be drawn must not undo a delivered message
            log.exception("a chart could not be drawn")
            return False
        return True


def _never_connected(error: OSError) -> bool:
    """A connection refused: the request never left (urllib wraps it in a URLError)."""
    reason = getattr(error, "reason", error)
    return isinstance(reason, ConnectionRefusedError)


def build_notifier(coach, write=None) -> FirstThatDelivers:
    """Slack and Teams as configured, in that order; the log when neither is.

    ``write`` (the CLI's terminal) shows the messages no platform could deliver. A server or
    scheduler passes none: then an undelivered message is only recorded (``coach deliveries``
    lists it) and logged as one line naming the rep's id, so client notes never reach the logs.
    With no platform configured at all, the log *is* the channel (the demo, a console install).
    """
    settings = coach.settings
    platforms: list = []
    if settings.slack_bot_token:
        platforms.append(SlackNotifier(coach.catalog, settings.slack_bot_token, settings.slack_api_url,
                                       clock=coach.clock))
    if settings.teams_enabled and teams_access(os.environ) is not None:
        from bot.teams.app import TeamsEndpoint
        from bot.teams.notifier import TeamsNotifier

        platforms.append(TeamsNotifier(coach, TeamsEndpoint(coach)))
    printer = LogNotifier(coach.catalog, write or log.info, settings.data_dir / "charts")
    if not platforms:
        return FirstThatDelivers([printer])
    return FirstThatDelivers(platforms, fallback=printer if write is not None else None)
