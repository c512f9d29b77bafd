"""Where the scheduler's messages go: a rep's Slack DM or Teams chat, whichever reaches them
first; a team's channel; the log (the console) when no platform is configured. Each implements
``coaching.ports.Notifier`` and ``coaching.ports.Traceable``: a message carries its delivery's
key, and a send whose outcome is unknown can be looked up afterwards where the platform allows.

The platforms' own notifiers live with their apps (``bot.slack.notifier``,
``bot.teams.notifier``); this module holds what they share: the order they are tried in, the
log, and ``build_notifier``."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

from bot.teams.auth import access_from as teams_access
from bot.terminal import render_with_chart
from coaching.errors import MaybeDelivered
from bot.catalog import Catalog
from coaching.model import Person
from coaching.replies import Reply

# the Slack notifier lives with the Slack app; its names are still importable from here
from bot.slack.notifier import (  # noqa: F401  (re-exported)
    EVENT_TYPE, HISTORY_PAGES, LOOKBACK, SLACK_MAY_HAVE_POSTED, SlackNotifier, _never_connected, _utc_now)

log = logging.getLogger(__name__)


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
