"""One conversation engine for every channel.

A channel (console, Slack, Teams) turns what the user did into an :class:`Inbound` and renders
the :class:`Outcome`'s replies its own way. Each call is one unit of work: the conversation
state and anything recorded are committed together, or not at all, so a crash or a second
process never sees half a turn.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Protocol
from zoneinfo import ZoneInfo

from coaching import commands as c
from coaching import access, capturing, handlers, health, home, logflow, logturns, services, views
from coaching.dialog import Dialog, picked
from coaching.messages import language_of, msg
from coaching.model import Person
from coaching.ports import UnitOfWork, UnitOfWorkFactory
from coaching.reading import NoteReader, RuleReader
from coaching.replies import Reply
from coaching.rules import Rules
from coaching.access import CoachError

MAX_TEXT = 4000


@dataclass(frozen=True)
class Inbound:
    workspace_id: str
    conversation: str  # where the user is talking (a DM, a channel, the terminal)
    text: str
    email: str | None = None
    platform: str = "console"
    platform_user_id: str | None = None
    external_id: str | None = None  # the platform's id for this message, for exactly-once
    locale: str | None = None  # the platform's idea of the user's language
    timezone: str | None = None  # the platform's idea of the user's time zone (IANA name)
    direct: bool = False  # not a client channel: a DM with the coach (in Teams, a group chat too)

    @property
    def user_key(self) -> str:
        return self.platform_user_id or (self.email or "").lower()


@dataclass(frozen=True)
class Outcome:
    replies: tuple[Reply, ...]
    locale: str | None
    person: Person | None = None
    logged: services.LogResult | None = None
    extra: dict[str, object] = field(default_factory=dict)


def known_zone(name: str | None) -> str | None:
    """An IANA time zone name this machine knows, or None."""
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return None
    return name


class TipWriter(Protocol):
    """Phrases the tip after a logged touch (an LLM); ``None`` keeps the template tip."""

    def tip(self, facts: dict[str, object], language: str) -> str | None: ...


class Engine:
    def __init__(self, uow_factory: UnitOfWorkFactory, rules: Rules, clock: Callable[[], datetime],
                 reader: NoteReader | None = None, tips: TipWriter | None = None,
                 llm_reader: NoteReader | None = None, working_days: frozenset[int] = health.WORKING_DAYS) -> None:
        self.uow_factory, self.rules, self.clock = uow_factory, rules, clock
        self.working_days = working_days  # the schedule's: team health counts logging on them
        self.reader = reader or RuleReader()  # always there: no LLM needed to read a note
        self.llm_reader, self.tips = llm_reader, tips  # used only where the workspace allows

    def identify(self, uow: UnitOfWork, inbound: Inbound) -> Person | None:
        """The person on the roster, deactivated or not (``_unit`` refuses the deactivated)."""
        person = None
        on_platform = bool(inbound.platform_user_id) and inbound.platform in ("slack", "teams")
        if on_platform:
            person = uow.people.by_platform_id(inbound.workspace_id, inbound.platform, inbound.platform_user_id)
        if person is None and inbound.email:
            person = uow.people.by_email(inbound.workspace_id, inbound.email)
            if person is not None and person.active and on_platform:
                # Found by e-mail: remember the platform id, so next time needs no profile lookup.
                person = uow.people.link_platform(inbound.workspace_id, person.id, inbound.platform,
                                                  inbound.platform_user_id, known_zone(inbound.timezone))
                uow.commit()
        return person

    def handle(self, inbound: Inbound) -> Outcome:
        """One message or button press: the next prompt, or a command's answer.

        An LLM is only ever called outside the unit of work, so a slow answer never holds a
        database lock: the note is read before it, the tip phrased after its commit."""
        inbound = dataclasses.replace(inbound, text=logflow.storable(inbound.text))
        proposal = self._llm_proposal(inbound)
        outcome = self._unit(inbound, lambda uow, person, now: self._turn(uow, person, inbound, now, proposal))
        return self._llm_tip(outcome)

    def log_form(self, inbound: Inbound, request: logflow.LogRequest) -> Outcome:
        """A touch filled in all at once (a modal form) instead of step by step."""
        def work(uow: UnitOfWork, person: Person, now: datetime):
            logged = self._log_turn(uow, person, inbound, now).form(request, inbound.external_id)
            return [views.logged(logged)], logged
        return self._unit(inbound, work)

    def log_message(self, inbound: Inbound, text: str, at: datetime, channel: str | None = None) -> Outcome:
        """Log a chat message as a touch (a Slack message shortcut, a Teams message action):
        start the logging conversation in ``inbound.conversation`` (the rep's chat with the
        coach) with the message as the note, its day as the date, and the client of the
        channel it was posted in when an admin mapped one (else whatever the note names)."""
        def work(uow: UnitOfWork, person: Person, now: datetime):
            mapped = capturing.captured_client(uow, inbound.workspace_id, inbound.platform, channel) if channel else None
            turn, length = self._log_turn(uow, person, inbound, now).message(
                text, access.local_today(person, at), mapped.id if mapped is not None else None)
            dialog = self._dialog(uow, inbound, now)
            prefix = [msg("log.restarted")] if uow.dialogs.get(*dialog.key) else []
            if length > (limit := self.rules.conversations.max_note_chars):
                prefix.append(msg("log.note_cut", length=length, limit=limit))
            dialog.save(turn.state or {})
            return [logturns.prefixed([msg("log.from_message"), *prefix], turn.reply)], None
        return self._unit(inbound, work)

    def captures(self, workspace_id: str, platform: str, channel: str) -> bool:
        """Whether an admin opted this channel in to capture (one keyed read; the message's
        text is never looked at, here or later)."""
        with self.uow_factory() as uow:
            return uow.captures.get(workspace_id, platform, channel) is not None

    def capture(self, inbound: Inbound, at: datetime) -> Outcome:
        """A person's own message in an opted-in channel: a touch, once per person, channel and
        day. Says nothing back (the channel is the client's); ``logged`` tells what happened."""
        def work(uow: UnitOfWork, person: Person, now: datetime):
            touch = capturing.capture_message(uow, person, inbound.platform, inbound.conversation,
                                             access.local_today(person, at))
            return [], touch
        outcome = self._unit(dataclasses.replace(inbound, external_id=None), work)
        return dataclasses.replace(outcome, replies=())

    def home(self, inbound: Inbound) -> Outcome:
        """The rep's own overview: today's nudges, open promises, clients by risk."""
        def work(uow: UnitOfWork, person: Person, now: datetime):
            return [home.overview(uow, person, access.local_today(person, now), self.rules)], None
        return self._unit(inbound, work)

    def locale_of(self, inbound: Inbound) -> str | None:
        """The language to speak to this person: the roster's, else the platform's."""
        with self.uow_factory() as uow:
            person = self.identify(uow, inbound)
        return (person.locale if person else None) or inbound.locale

    def suggest_clients(self, inbound: Inbound, query: str, limit: int = 20) -> list[tuple[str, str]]:
        """Type-ahead over the clients the person may log against: (value, label) pairs."""
        query = logflow.storable(query)[:MAX_TEXT]
        with self.uow_factory() as uow:
            person = self.identify(uow, inbound)
            if person is None or not person.active:
                return []
            book = access.client_book(uow, person)
            found = book.similar(query, limit) if query.strip() else book.recent(limit)
            options = [(f"client:{cid}", name) for cid, name in found]
        if (query.strip() and logflow.name_problem(query) is None
                and not any(label.casefold() == query.strip().casefold() for _, label in options)):
            options.append((f"new:{query.strip()}", ""))
        return options

    def _unit(self, inbound: Inbound, work) -> Outcome:
        with self.uow_factory() as uow:
            person = self.identify(uow, inbound)
            if person is None:
                return Outcome((Reply.of(msg("error.not_on_roster", email=inbound.email or "?")),), inbound.locale)
            locale = person.locale or inbound.locale
            if not person.active:  # deactivated (they left): told so in their language, nothing else
                return Outcome((Reply.of(msg("error.deactivated")),), locale, person, extra={"deactivated": True})
            now = self.clock()
            if inbound.external_id and not uow.claims.claim(inbound.workspace_id, inbound.external_id, now):
                return Outcome((), locale, person, extra={"duplicate": True})  # a platform retry
            try:
                replies, logged = work(uow, person, now)
            except CoachError as error:
                uow.rollback()
                return Outcome((Reply.of(error.message),), locale, person)
            uow.commit()
            return Outcome(tuple(replies), locale, person, logged)

    # --- a turn of text or a button ------------------------------------------------------------

    def _turn(self, uow: UnitOfWork, person: Person, inbound: Inbound, now: datetime, proposal=None):
        """One message: the logging conversation's next step, or a command's answer."""
        text = inbound.text.strip()
        if len(text) > MAX_TEXT:  # refused whole: a conversation under way stays where it was
            return [Reply.of(msg("error.text_too_long", length=len(text), limit=MAX_TEXT))], None
        dialog = self._dialog(uow, inbound, now)
        state, prefix = dialog.load(self.rules.conversations.expire_minutes)
        if state and state.get("flow") == "pick":  # a number picks from the last command's choices
            text, state = picked(state, text), None
            dialog.end()
        command = c.parse(text)
        log = self._log_turn(uow, person, inbound, now)
        if state and state.get("flow") == "logmeeting":
            if isinstance(command, c.KEEPS_CONVERSATION):  # a digest or promise button mid-log: act, keep it
                return [handlers.answer(self._context(uow, person, inbound, now), command)], None
            if not (text.startswith(("/", "tap:")) and not isinstance(command, c.Unknown)):  # an answer
                return log.settle(dialog, log.answer(state, text), prefix, inbound.external_id)
        if isinstance(command, logturns.STARTS):
            prefix += [msg("log.restarted")] * bool(state)
            return log.settle(dialog, log.begin(command, proposal), prefix, inbound.external_id)
        if state:
            dialog.end()
            prefix += [] if isinstance(command, c.Cancel) else [msg("log.set_aside")]
        reply = handlers.answer(self._context(uow, person, inbound, now), command)
        if reply.choices:  # a number typed next picks one of them
            dialog.save({"flow": "pick", "choices": [choice.value for choice in reply.choices]})
        return [logturns.prefixed(prefix, reply)], None

    def _context(self, uow: UnitOfWork, person: Person, inbound: Inbound, now: datetime) -> handlers.Context:
        return handlers.Context(uow, person, now, self.rules, inbound.conversation, inbound.platform,
                                inbound.direct, self.working_days,
                                llm_configured=self.llm_reader is not None or self.tips is not None)

    def _log_turn(self, uow: UnitOfWork, person: Person, inbound: Inbound, now: datetime) -> logturns.LogTurn:
        return logturns.LogTurn(uow, person, self.rules, self.reader, language_of(person.locale or inbound.locale),
                                access.local_today(person, now))

    @staticmethod
    def _dialog(uow: UnitOfWork, inbound: Inbound, now: datetime) -> Dialog:
        return Dialog(uow, (inbound.workspace_id, inbound.conversation, inbound.user_key), now)

    def _llm_proposal(self, inbound: Inbound):
        """The LLM's reading of the text after /logmeeting, when one is configured and the
        workspace allows it; gathered in a read-only unit of work that ends before the call."""
        if self.llm_reader is None:
            return None
        command = c.parse_text(inbound.text.strip())
        if not isinstance(command, c.LogMeeting) or not command.text.strip() or len(inbound.text) > MAX_TEXT:
            return None
        rest = command.text
        with self.uow_factory() as uow:
            person = self.identify(uow, inbound)
            if person is None or not person.active or not handlers.llm_allowed(uow, person):
                return None
            today = access.local_today(person, self.clock())
            names = access.client_book(uow, person).names
        return self.llm_reader.read(rest, today, names, language_of(person.locale or inbound.locale))

    def _llm_tip(self, outcome: Outcome) -> Outcome:
        """After the touch is committed: the LLM phrases the tip from the facts of the record
        (the template tip stays when it cannot)."""
        logged, person = outcome.logged, outcome.person
        if self.tips is None or logged is None or logged.duplicate or person is None:
            return outcome
        with self.uow_factory() as uow:
            if not handlers.llm_allowed(uow, person):
                return outcome
            facts = services.tip_facts(uow, person, logged)
        tip = self.tips.tip(facts, language_of(outcome.locale))
        if not tip:
            return outcome
        replies = tuple(views.logged(logged, tip) if r == views.logged(logged) else r for r in outcome.replies)
        return dataclasses.replace(outcome, replies=replies)
