"""One conversation engine for every channel.

A channel (console, Slack, Teams) turns what the user did into an :class:`Inbound` and renders
the :class:`Outcome`'s replies its own way. Each call is one unit of work: the conversation
state and anything recorded are committed together, or not at all, so a crash or a second
process never sees half a turn.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Protocol
from zoneinfo import ZoneInfo

from coaching import commands as c
from coaching import handlers, health, home, logflow, services, views
from coaching.commands import WORDS as COMMANDS  # noqa: F401  (the typed commands' words, for tests and help)
from coaching.messages import Msg, language_of, msg
from coaching.model import Person, Source
from coaching.ports import UnitOfWork, UnitOfWorkFactory
from coaching.reading import NoteReader, RuleReader
from coaching.replies import Reply
from coaching.rules import Rules
from coaching.services import CoachError

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
        person = None
        if inbound.platform_user_id and inbound.platform in ("slack", "teams"):
            person = uow.people.by_platform_id(inbound.workspace_id, inbound.platform, inbound.platform_user_id)
        if person is None and inbound.email:
            person = uow.people.by_email(inbound.workspace_id, inbound.email)
            if person is not None and inbound.platform_user_id and inbound.platform in ("slack", "teams"):
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
            today = services.local_today(person, now)
            if request.client_id is None and (problem := logflow.name_problem(request.client_name)):
                raise CoachError(problem)
            if request.client_id is not None and not 1 <= request.client_id <= c.MAX_ID:
                raise CoachError(msg("error.no_client_none", name=str(request.client_id)))
            form = dataclasses.replace(
                request, source=Source.FORM.value, client_name=logflow.storable(request.client_name),
                note=logflow.storable(request.note),
                problem=logflow.storable(request.problem) if request.problem else request.problem,
                promises=tuple(dataclasses.replace(p, text=logflow.storable(p.text)) for p in request.promises))
            logged = services.log_request(uow, person, form, self.rules, today, inbound.external_id)
            return [views.logged(logged)], logged
        return self._unit(inbound, work)

    def log_message(self, inbound: Inbound, text: str, at: datetime, channel: str | None = None) -> Outcome:
        """Log a chat message as a touch (a Slack message shortcut, a Teams message action):
        start the logging conversation in ``inbound.conversation`` (the rep's chat with the
        coach) with the message as the note, its day as the date, and the client of the
        channel it was posted in when an admin mapped one (else whatever the note names)."""
        def work(uow: UnitOfWork, person: Person, now: datetime):
            today = services.local_today(person, now)
            on = services.local_today(person, at)
            directory = services.RosterDirectory(uow, person)
            mapped = services.captured_client(uow, inbound.workspace_id, inbound.platform, channel) if channel else None
            client = directory.by_id(mapped.id) if mapped is not None else None
            whole = logflow.storable(text).strip()
            limit = self.rules.conversations.max_note_chars
            note = whole[:limit]  # a posted message is not shortened here: keep its start, and say so
            proposal = self.reader.read(note, today, [c.name for c in directory.clients],
                                        language_of(person.locale or inbound.locale)) if note else None
            turn = logflow.from_message(today, on, note, directory, self.rules.conversations,
                                             client=client, proposal=proposal)
            prefix = [msg("log.restarted")] if uow.dialogs.get(
                inbound.workspace_id, inbound.conversation, inbound.user_key) else []
            if len(whole) > limit:
                prefix.append(msg("log.note_cut", length=len(whole), limit=limit))
            uow.dialogs.save(inbound.workspace_id, inbound.conversation, inbound.user_key, turn.state or {}, now)
            return [self._prefixed([msg("log.from_message"), *prefix], turn.reply)], None
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
            touch = services.capture_message(uow, person, inbound.platform, inbound.conversation,
                                             services.local_today(person, at))
            return [], touch
        outcome = self._unit(dataclasses.replace(inbound, external_id=None), work)
        return dataclasses.replace(outcome, replies=())

    def home(self, inbound: Inbound) -> Outcome:
        """The rep's own overview: today's nudges, open promises, clients by risk."""
        def work(uow: UnitOfWork, person: Person, now: datetime):
            return [home.overview(uow, person, services.local_today(person, now), self.rules)], None
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
            if person is None:
                return []
            directory = services.RosterDirectory(uow, person)
            found = directory.similar(query, limit) if query.strip() else directory.recent(limit)
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
        dialog = _Dialog(uow, inbound, now)
        state, prefix = dialog.load(self.rules.conversations.expire_minutes)
        if state and state.get("flow") == "pick":  # a number picks from the last command's choices
            text, state = _picked(state, text), None
            dialog.end()
        command = c.parse(text)
        if state and state.get("flow") == "logmeeting":
            if isinstance(command, c.KEEPS_CONVERSATION):  # a digest or promise button mid-log: act, keep it
                return [handlers.answer(self._context(uow, person, inbound, now), command)], None
            if not (text.startswith(("/", "tap:")) and not isinstance(command, c.Unknown)):  # an answer
                turn = logflow.answer(state, text, services.local_today(person, now),
                                           services.RosterDirectory(uow, person), self.rules.conversations)
                return self._logged(uow, person, inbound, dialog, turn, prefix, now)
        if isinstance(command, (c.LogMeeting, c.Tap, c.PickClient, c.NewClient)):
            turn = self._start(uow, person, inbound, command, now, proposal)
            return self._logged(uow, person, inbound, dialog, turn, prefix + [msg("log.restarted")] * bool(state), now)
        if state:
            dialog.end()
            prefix += [] if isinstance(command, c.Cancel) else [msg("log.set_aside")]
        reply = handlers.answer(self._context(uow, person, inbound, now), command)
        if reply.choices:  # a number typed next picks one of them
            dialog.save({"flow": "pick", "choices": [choice.value for choice in reply.choices]})
        return [self._prefixed(prefix, reply)], None

    def _context(self, uow: UnitOfWork, person: Person, inbound: Inbound, now: datetime) -> handlers.Context:
        return handlers.Context(uow, person, now, self.rules, inbound.conversation, inbound.platform,
                                inbound.direct, self.working_days,
                                llm_configured=self.llm_reader is not None or self.tips is not None)

    def _start(self, uow: UnitOfWork, person: Person, inbound: Inbound, command: c.Command, now: datetime,
               proposal=None) -> logflow.Turn:
        """A new logging conversation: ``/logmeeting [quick form]``, a check-in tap, or a client
        picked from the type-ahead."""
        today, rules = services.local_today(person, now), self.rules.conversations
        directory = services.RosterDirectory(uow, person)
        if isinstance(command, c.LogMeeting):
            if proposal is None and command.text.strip():  # no LLM (or not allowed): the rules read it
                proposal = self.reader.read(command.text, today, [x.name for x in directory.clients],
                                            language_of(person.locale or inbound.locale))
            return logflow.start(today, directory, rules, quick=command.text, proposal=proposal)
        if isinstance(command, c.NewClient):
            found = directory.exact(command.name)
            return logflow.tap(today, found[0] if found else None, found[1] if found else command.name,
                                    directory, rules)
        if isinstance(command, (c.Tap, c.PickClient)) and (command.client_id or command.raw):
            found = directory.by_id(command.client_id) if command.client_id else None
            if found is None:
                raise CoachError(msg("error.no_client_none", name=command.raw))
            return logflow.tap(today, found[0], found[1], directory, rules)
        return logflow.tap(today, None, "", directory, rules)  # "someone else"

    def _logged(self, uow: UnitOfWork, person: Person, inbound: Inbound, dialog: "_Dialog",
                turn: logflow.Turn, prefix: list[Msg], now: datetime):
        """The turn's replies; the touch recorded when the rep confirmed; the state kept or ended."""
        logged = None
        replies = [self._prefixed(prefix, turn.reply)] if turn.reply.lines or prefix else []
        if turn.finished is not None:
            logged = services.log_request(uow, person, turn.finished, self.rules,
                                          services.local_today(person, now), inbound.external_id)
            replies.append(views.logged(logged))
        if turn.state is None:
            dialog.end()
        else:
            dialog.save(turn.state)
        return replies, logged

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
            if person is None or not handlers.llm_allowed(uow, person):
                return None
            today = services.local_today(person, self.clock())
            names = [c.name for c in services.RosterDirectory(uow, person).clients]
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

    @staticmethod
    def _prefixed(prefix: list[Msg], reply: Reply) -> Reply:
        if not prefix:
            return reply
        counts = (0,) * len(prefix) + reply.line_choices if reply.line_choices else ()
        return dataclasses.replace(reply, lines=tuple(prefix) + reply.lines, line_choices=counts)


def _picked(state: dict[str, Any], text: str) -> str:
    """A number typed after a command's answer picks its numbered choice (the promises list)."""
    choices = state.get("choices") or []
    if text.isdecimal() and len(text) <= 3 and 1 <= int(text) <= len(choices):
        return choices[int(text) - 1]
    return text


class _Dialog:
    """The saved conversation of one person in one place (the logging flow, or the choices of
    the last answer), read and written inside the turn's unit of work."""

    def __init__(self, uow: UnitOfWork, inbound: Inbound, now: datetime) -> None:
        self.uow, self.now = uow, now
        self.key = (inbound.workspace_id, inbound.conversation, inbound.user_key)

    def load(self, expire_minutes: int) -> tuple[dict[str, Any] | None, list[Msg]]:
        """The state, and what to say first (an expired conversation was dropped)."""
        record = self.uow.dialogs.get(*self.key)
        if record is None:
            return None, []
        if self.now - record.updated_at > timedelta(minutes=expire_minutes):
            self.end()
            return None, [msg("log.expired")]
        return record.state, []

    def save(self, state: dict[str, Any]) -> None:
        self.uow.dialogs.save(*self.key, state, self.now)

    def end(self) -> None:
        self.uow.dialogs.delete(*self.key)
