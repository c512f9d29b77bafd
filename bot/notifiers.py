"""Where digests go: a rep's Slack DM or Teams chat, whichever reaches them first; the log
(the console) when no platform is configured."""

from __future__ import annotations

import logging
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.slack import render
from bot.terminal import render as render_text
from coaching.messages import Catalog
from coaching.model import Person
from coaching.replies import Reply

log = logging.getLogger(__name__)


class Notifier(Protocol):
    def send(self, person: Person, reply: Reply) -> bool:
        """Deliver one message to one person; False (with the reason logged) when it could not."""


class FirstThatDelivers:
    """Each rep gets the digest once: on the first platform that can reach them."""

    def __init__(self, notifiers: list[Notifier]) -> None:
        self.notifiers = notifiers

    def send(self, person: Person, reply: Reply) -> bool:
        return any(n.send(person, reply) for n in self.notifiers)


class LogNotifier:
    """Writes each digest to a stream (the terminal, a log): the notifier that always works."""

    def __init__(self, catalog: Catalog, write) -> None:
        self.catalog, self.write = catalog, write

    def send(self, person: Person, reply: Reply) -> bool:
        self.write(f"--- {person.email}\n{render_text(reply, self.catalog, person.locale)}")
        return True


class SlackNotifier:
    """A rep's DM with the coach, found from their Slack user id or their e-mail."""

    def __init__(self, catalog: Catalog, token: str, api_url: str) -> None:
        self.catalog = catalog
        self.client = WebClient(token=token, base_url=api_url, retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=3), ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2)])

    def user_id(self, person: Person) -> str | None:
        if person.slack_user_id:
            return person.slack_user_id
        try:
            return self.client.users_lookupByEmail(email=person.email)["user"]["id"]
        except SlackApiError as error:
            log.warning("no Slack user for a rep: %s", error.response.get("error"))
            return None

    def send(self, person: Person, reply: Reply) -> bool:
        user = self.user_id(person)
        if user is None:
            return False
        try:
            channel = self.client.conversations_open(users=user)["channel"]["id"]
            self.client.chat_postMessage(channel=channel, text=render.fallback_text(reply, self.catalog, person.locale),
                                         blocks=render.blocks(reply, self.catalog, person.locale))
        except SlackApiError as error:
            log.warning("a digest could not be delivered: %s", error.response.get("error"))
            return False
        return True
