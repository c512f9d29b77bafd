"""Where the scheduler's messages go: a rep's Slack DM or Teams chat, whichever reaches them
first; a team's channel; the log (the console) when no platform is configured. Each implements
``coaching.ports.Notifier``."""

from __future__ import annotations

import logging
from pathlib import Path

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.slack import render
from bot.terminal import render_with_chart
from coaching.messages import Catalog
from coaching.model import Person
from coaching.ports import MaybeDelivered
from coaching.replies import Reply

log = logging.getLogger(__name__)


class FirstThatDelivers:
    """Each message goes once: to the first platform that can reach the person. When none
    can, ``fallback`` (the log) still shows it, and the delivery is reported as not made."""

    def __init__(self, notifiers: list, fallback: LogNotifier | None = None) -> None:
        self.notifiers, self.fallback = notifiers, fallback

    def send(self, person: Person, reply: Reply) -> str | None:
        for notifier in self.notifiers:
            if channel := self._try(notifier.send, person, reply):
                return channel
        if self.fallback is not None:
            self.fallback.send(person, reply)
        else:
            log.warning("no platform reached person %s; the message stays in the delivery records", person.id)
        return None

    def send_channel(self, channel: str, reply: Reply, locale: str | None) -> str | None:
        for notifier in self.notifiers:
            if sent := self._try(notifier.send_channel, channel, reply, locale):
                return sent
        if self.fallback is not None:
            self.fallback.send_channel(channel, reply, locale)
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


class LogNotifier:
    """Writes each message to a stream (the terminal, a log): the notifier that always works. A
    reply's chart is saved in ``directory`` (when given) and its path written after the text."""

    name = "log"

    def __init__(self, catalog: Catalog, write, directory: Path | None = None) -> None:
        self.catalog, self.write, self.directory = catalog, write, directory

    def send(self, person: Person, reply: Reply) -> str | None:
        self.write(f"--- {person.email}\n{render_with_chart(reply, self.catalog, person.locale, self.directory)}")
        return self.name

    def send_channel(self, channel: str, reply: Reply, locale: str | None) -> str | None:
        self.write(f"--- #{channel}\n{render_with_chart(reply, self.catalog, locale, self.directory)}")
        return self.name


class SlackNotifier:
    """A rep's DM with the coach, found from their Slack user id or their e-mail."""

    name = "slack"

    def __init__(self, catalog: Catalog, token: str, api_url: str) -> None:
        self.catalog = catalog
        # Look-ups are safe to retry; a post is not (Slack cannot tell a repeat), so the poster
        # retries only rate limits, where Slack says it did not take the message.
        self.client = WebClient(token=token, base_url=api_url, retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=3), ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2)])
        self.poster = WebClient(token=token, base_url=api_url,
                                retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)])

    def user_id(self, person: Person) -> str | None:
        if person.slack_user_id:
            return person.slack_user_id
        try:
            return self.client.users_lookupByEmail(email=person.email)["user"]["id"]
        except SlackApiError as error:
            log.warning("no Slack user for a rep: %s", error.response.get("error"))
            return None

    def send(self, person: Person, reply: Reply) -> str | None:
        user = self.user_id(person)
        if user is None:
            return None
        try:
            channel = self.client.conversations_open(users=user)["channel"]["id"]
        except SlackApiError as error:
            log.warning("a digest could not be delivered: %s", error.response.get("error"))
            return None
        return self.send_channel(channel, reply, person.locale)

    def send_channel(self, channel: str, reply: Reply, locale: str | None) -> str | None:
        if not channel.startswith(("C", "G", "D")):  # not a Slack conversation id (a Teams one)
            return None
        try:
            self.poster.chat_postMessage(channel=channel, text=render.fallback_text(reply, self.catalog, locale),
                                         blocks=render.blocks(reply, self.catalog, locale))
        except SlackApiError as error:
            if error.response.status_code >= 500:
                raise MaybeDelivered(f"Slack answered {error.response.status_code}") from error
            log.warning("a message could not be delivered: %s", error.response.get("error"))
            return None
        except (SlackClientError, OSError) as error:  # the request went out; the answer did not come
            raise MaybeDelivered(type(error).__name__) from error
        if reply.chart is not None:
            self.upload_chart(channel, reply, locale)
        return self.name

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
        platforms.append(SlackNotifier(coach.catalog, settings.slack_bot_token, settings.slack_api_url))
    if settings.teams_enabled:
        from bot.teams.app import TeamsEndpoint
        from bot.teams.notifier import TeamsNotifier

        platforms.append(TeamsNotifier(coach, TeamsEndpoint(coach)))
    printer = LogNotifier(coach.catalog, write or log.info, settings.data_dir / "charts")
    if not platforms:
        return FirstThatDelivers([printer])
    return FirstThatDelivers(platforms, fallback=printer if write is not None else None)
