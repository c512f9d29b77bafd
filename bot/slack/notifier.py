"""The scheduler's messages in Slack: a rep's DM with the coach, or a team's channel.

A message carries its delivery's key in its ``metadata``, so a post whose outcome is unknown can
be looked up afterwards in the conversation's history (``coaching.ports.Traceable``)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.slack import render
from coaching.errors import MaybeDelivered, MaybeDeliveredOn
from bot.catalog import Catalog
from coaching.model import Person
from coaching.replies import Reply

# the notifiers' logger, named as it was before the Slack notifier left bot/notifiers.py
log = logging.getLogger("bot.notifiers")

EVENT_TYPE = "coach_delivery"  # the metadata a Slack message of the scheduler carries: its delivery's key
LOOKBACK = timedelta(hours=1)  # how far before a send a look-up reads (clock skew, an earlier attempt)
HISTORY_PAGES = 5  # of 200 messages: more than a DM or a team channel holds in an hour
# Slack answers these with HTTP 200 and ok:false, and the post may have been made all the same
SLACK_MAY_HAVE_POSTED = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})
CONVERSATION_PREFIXES = ("C", "G", "D")  # a Slack conversation id (not a Teams one)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


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

    # --- sending -------------------------------------------------------------------------

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
        if not channel.startswith(CONVERSATION_PREFIXES):
            return None
        if not self._post(channel, reply, locale, key):
            return None
        if reply.chart is not None:
            self.upload_chart(channel, reply, locale)
        return self.name

    def _post(self, channel: str, reply: Reply, locale: str | None, key: str | None) -> bool:
        """Whether the message is in the conversation: False when Slack refused it or it never
        left; ``MaybeDeliveredOn`` when it may have arrived and the history does not show it."""
        metadata = {"event_type": EVENT_TYPE, "event_payload": {"delivery": key}} if key else None
        text, blocks = render.fallback_text(reply, self.catalog, locale), render.blocks(reply, self.catalog, locale)
        began = self.clock()
        try:
            self.poster.chat_postMessage(channel=channel, text=text, blocks=blocks, metadata=metadata)
        except SlackApiError as error:
            code = error.response.get("error")
            if error.response.status_code < 500 and code not in SLACK_MAY_HAVE_POSTED:
                log.warning("a message could not be delivered: %s", code)
                return False
            self._look_up_or_raise(channel, key, began, f"Slack answered {error.response.status_code} {code}", error)
        except OSError as error:
            if _never_connected(error):  # nothing went out: as safe to retry as a rate limit
                log.warning("a message could not be delivered: Slack could not be reached")
                return False
            self._look_up_or_raise(channel, key, began, type(error).__name__, error)
        except Exception as error:  # the request went out and no answer came back (an incomplete
            # read, a bad status line, any client error): it may have been posted
            self._look_up_or_raise(channel, key, began, type(error).__name__, error)
        return True

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

    # --- looking up ------------------------------------------------------------------------

    def find(self, person: Person, key: str, since: datetime, platform: str | None = None) -> str | None:
        if platform not in (None, self.name):
            return None
        user = person.slack_user_id
        if not user:
            user = self._user_to_find(person)
            if user is None:
                return None  # not in Slack: nothing was posted there
        try:
            channel = self.client.conversations_open(users=user)["channel"]["id"]
        except (SlackClientError, OSError) as error:
            raise MaybeDeliveredOn(self.name, type(error).__name__) from error
        return self.name if self._in_history(channel, key, since) else None

    def _user_to_find(self, person: Person) -> str | None:
        """The person's Slack user id by e-mail; None when Slack has no such user, and
        ``MaybeDeliveredOn`` when Slack cannot be asked."""
        try:
            return self.client.users_lookupByEmail(email=person.email)["user"]["id"]
        except SlackApiError as error:
            if error.response.get("error") == "users_not_found":
                return None
            raise MaybeDeliveredOn(self.name, str(error.response.get("error"))) from error
        except (SlackClientError, OSError) as error:
            raise MaybeDeliveredOn(self.name, type(error).__name__) from error

    def find_channel(self, channel: str, key: str, since: datetime, platform: str | None = None) -> str | None:
        if platform not in (None, self.name) or not channel.startswith(CONVERSATION_PREFIXES):
            return None
        return self.name if self._in_history(channel, key, since) else None

    def _in_history(self, channel: str, key: str, since: datetime) -> bool:
        """Whether a message of the conversation since shortly before ``since`` carries ``key``
        (a read: retried on rate limits, 5xx and dropped connections). ``MaybeDeliveredOn`` when
        the history cannot be read to the end of that window."""
        oldest = f"{(since - LOOKBACK).timestamp():.6f}"
        cursor = None
        for _ in range(HISTORY_PAGES):
            page = self._history_page(channel, oldest, cursor)
            if any(_carries(message, key) for message in page.get("messages") or []):
                return True
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not page.get("has_more") or not cursor:
                return False
        raise MaybeDeliveredOn(self.name, "too much history to tell")

    def _history_page(self, channel: str, oldest: str, cursor: str | None) -> Any:
        try:
            return self.client.conversations_history(channel=channel, oldest=oldest, include_all_metadata=True,
                                                     limit=200, cursor=cursor)
        except SlackApiError as error:
            raise MaybeDeliveredOn(self.name, f"history: {error.response.get('error')}") from error
        except (SlackClientError, OSError) as error:
            raise MaybeDeliveredOn(self.name, f"history: {type(error).__name__}") from error


def _carries(message: dict[str, Any], key: str) -> bool:
    """Whether a message of the history is the scheduler's, for the delivery ``key``."""
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return metadata.get("event_type") == EVENT_TYPE and payload.get("delivery") == key


def _never_connected(error: OSError) -> bool:
    """A connection refused: the request never left (urllib wraps it in a URLError)."""
    reason = getattr(error, "reason", error)
    return isinstance(reason, ConnectionRefusedError)
