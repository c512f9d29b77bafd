"""One conversation engine for every channel.

A channel (console, Slack, Teams) turns what the user did into an :class:`Inbound` and renders
the :class:`Outcome`'s replies its own way. Each call is one unit of work: the conversation
state and anything recorded are committed together, or not at all, so a crash or a second
process never sees half a turn.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Protocol
from zoneinfo import ZoneInfo

from coaching import checkin, conversation, health, home, services, views
from coaching.messages import Msg, language_of, msg
from coaching.model import Person, Purpose, Role, Source
from coaching.ports import UnitOfWork, UnitOfWorkFactory
from coaching.reading import NoteReader, RuleReader
from coaching.replies import Reply
from coaching.rules import Rules
from coaching.services import CoachError
from coaching.vocabulary import norm

COMMANDS = {
    "logmeeting": ("logmeeting", "log", "記録", "ログ"),
    "ledger": ("ledger", "passbook", "台帳", "通帳"),
    "promises": ("promises", "promise", "約束"),
    "clients": ("clients", "顧客", "クライアント"),
    "nudges": ("nudges", "nudge", "today", "ナッジ", "今日"),
    "home": ("home", "ホーム"),
    "teamhealth": ("teamhealth", "team", "チーム"),
    "help": ("help", "?", "ヘルプ", "使い方"),
    "cancel": ("cancel", "キャンセル", "やめる"),
    "away": ("away", "leave", "休暇", "不在"),
    "back": ("back", "復帰", "戻りました"),
    "llm": ("llm", "ai"),
    "capture": ("capture", "キャプチャ", "取り込み"),
}
MAX_TEXT = 4000
FEEDBACK = re.compile(r"(snooze|dismiss):([a-z_]+):(.+)")
FEEDBACK_ACTIONS = {"snooze": "snoozed", "dismiss": "dismissed"}
BUTTON_COMMANDS = ("feedback", "promise_action", "purpose", "not_today")  # act, keep the conversation
CHANNEL_HERE = re.compile(r"channel\s+here|チャンネル\s*(?:ここ|ここに)?|ここ")
PROMISE_ACTION = re.compile(r"(kept|broken|守った|守れなかった)[:\s]*(\d+)")
TAP = re.compile(r"tap:(\d+|other)|client:(\d+)|new:(.+)", re.DOTALL)  # a check-in tap, or a picked client
STATE_PURPOSE = re.compile(r"purpose:(\d+):(give|ask|service)")
CAPTURE_OFF = ("off", "stop", "オフ", "停止", "解除")


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
        inbound = dataclasses.replace(inbound, text=conversation.storable(inbound.text))
        proposal = self._llm_proposal(inbound)
        outcome = self._unit(inbound, lambda uow, person, now: self._turn(uow, person, inbound, now, proposal))
        return self._llm_tip(outcome)

    def log_form(self, inbound: Inbound, request: conversation.LogRequest) -> Outcome:
        """A touch filled in all at once (a modal form) instead of step by step."""
        def work(uow: UnitOfWork, person: Person, now: datetime):
            today = services.local_today(person, now)
            if request.client_id is None and (problem := conversation.name_problem(request.client_name)):
                raise CoachError(problem)
            if request.client_id is not None and not 1 <= request.client_id <= conversation.MAX_ID:
                raise CoachError(msg("error.no_client_none", name=str(request.client_id)))
            form = dataclasses.replace(
                request, source=Source.FORM.value, client_name=conversation.storable(request.client_name),
                note=conversation.storable(request.note),
                problem=conversation.storable(request.problem) if request.problem else request.problem,
                promises=tuple(dataclasses.replace(p, text=conversation.storable(p.text)) for p in request.promises))
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
            whole = conversation.storable(text).strip()
            limit = self.rules.conversations.max_note_chars
            note = whole[:limit]  # a posted message is not shortened here: keep its start, and say so
            proposal = self.reader.read(note, today, [c.name for c in directory.clients],
                                        language_of(person.locale or inbound.locale)) if note else None
            turn = conversation.from_message(today, on, note, directory, self.rules.conversations,
                                             client=client, proposal=proposal)
            prefix = [msg("log.restarted")] if uow.conversations.get(
                inbound.workspace_id, inbound.conversation, inbound.user_key) else []
            if len(whole) > limit:
                prefix.append(msg("log.note_cut", length=len(whole), limit=limit))
            uow.conversations.save(inbound.workspace_id, inbound.conversation, inbound.user_key, turn.state or {}, now)
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
        query = conversation.storable(query)[:MAX_TEXT]
        with self.uow_factory() as uow:
            person = self.identify(uow, inbound)
            if person is None:
                return []
            directory = services.RosterDirectory(uow, person)
            found = directory.similar(query, limit) if query.strip() else directory.recent(limit)
            options = [(f"client:{cid}", name) for cid, name in found]
        if (query.strip() and conversation.name_problem(query) is None
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
            if inbound.external_id and not uow.inbox.claim(inbound.workspace_id, inbound.external_id, now):
                return Outcome((), locale, person, extra={"duplicate": True})  # a platform retry
            try:
                replies, logged = work(uow, person, now)
            except CoachError as error:
                uow.rollback()
                return Outcome((Reply.of(error.message),), locale, person)
            uow.commit()
            return Outcome(tuple(replies), locale, person, logged)

    def _turn(self, uow: UnitOfWork, person: Person, inbound: Inbound, now: datetime, proposal=None):
        text = inbound.text.strip()
        if len(text) > MAX_TEXT:  # refused whole: a conversation under way stays where it was
            return [Reply.of(msg("error.text_too_long", length=len(text), limit=MAX_TEXT))], None
        record = uow.conversations.get(inbound.workspace_id, inbound.conversation, inbound.user_key)
        state = record.state if record else None
        prefix: list[Msg] = []
        if record and now - record.updated_at > timedelta(minutes=self.rules.conversations.expire_minutes):
            uow.conversations.delete(inbound.workspace_id, inbound.conversation, inbound.user_key)
            state = None
            prefix.append(msg("log.expired"))
        if state and state.get("flow") == "pick":
            # A number picks from the choices of the last command reply (the promises list).
            choices = state.get("choices") or []
            if text.isdecimal() and len(text) <= 3 and 1 <= int(text) <= len(choices):
                text = choices[int(text) - 1]
            uow.conversations.delete(inbound.workspace_id, inbound.conversation, inbound.user_key)
            state = None
        command, rest = self._command(text)
        today = services.local_today(person, now)
        directory = services.RosterDirectory(uow, person)
        rules = self.rules.conversations

        if state and state.get("flow") == "logmeeting" and command in BUTTON_COMMANDS:
            # A digest or promise button pressed mid-conversation: act on it, keep the conversation.
            return [self._command_reply(uow, person, command, rest, text, now, inbound.conversation,
                                       inbound.platform, inbound.direct)], None
        if state and state.get("flow") == "logmeeting" and not (text.startswith(("/", "tap:")) and command):
            turn = conversation.answer(state, text, today, directory, rules)
        elif command == "tap":
            if state:
                prefix.append(msg("log.restarted"))
            turn = self._tap(rest, today, directory)
        elif command == "logmeeting":
            if state:
                prefix.append(msg("log.restarted"))
            if proposal is None and rest.strip():  # no LLM (or not allowed): the rules read it
                proposal = self.reader.read(rest, today, [c.name for c in directory.clients],
                                            language_of(person.locale or inbound.locale))
            turn = conversation.start(today, directory, rules, quick=rest, proposal=proposal)
        else:
            if state:
                uow.conversations.delete(inbound.workspace_id, inbound.conversation, inbound.user_key)
                if command != "cancel":
                    prefix.append(msg("log.set_aside"))
            reply = self._command_reply(uow, person, command, rest, text, now, inbound.conversation,
                                       inbound.platform, inbound.direct)
            if reply.choices:
                uow.conversations.save(inbound.workspace_id, inbound.conversation, inbound.user_key,
                                       {"flow": "pick", "choices": [c.value for c in reply.choices]}, now)
            return [self._prefixed(prefix, reply)], None

        logged = None
        replies = [self._prefixed(prefix, turn.reply)] if turn.reply.lines or prefix else []
        if turn.finished is not None:
            logged = services.log_request(uow, person, turn.finished, self.rules, today, inbound.external_id)
            replies.append(views.logged(logged))
        if turn.state is None:
            uow.conversations.delete(inbound.workspace_id, inbound.conversation, inbound.user_key)
        else:
            uow.conversations.save(inbound.workspace_id, inbound.conversation, inbound.user_key, turn.state, now)
        return replies, logged

    def _tap(self, what: str, today, directory: services.RosterDirectory) -> conversation.Turn:
        """``tap:12`` (a check-in button), ``tap:other`` ("someone else"), or a client picked
        from the type-ahead with no conversation going (``client:12``, ``new:Name``)."""
        rules = self.rules.conversations
        m = TAP.fullmatch(what)
        assert m is not None
        number = m[1] if m[1] and m[1] != "other" else m[2]
        if number:
            found = directory.by_id(client_id) if (client_id := conversation.record_id(number)) else None
            if found is None:
                raise CoachError(msg("error.no_client_none", name=number))
            return conversation.tap(today, found[0], found[1], directory, rules)
        if m[3]:
            name = m[3].strip()
            found = directory.exact(name)
            return conversation.tap(today, found[0] if found else None, found[1] if found else name,
                                    directory, rules)
        return conversation.tap(today, None, "", directory, rules)

    def _llm_switch(self, uow: UnitOfWork, person: Person, word: str) -> Reply:
        """``llm on`` / ``llm off`` (admins): may this workspace's notes and tips go to the LLM?"""
        configured = self.llm_reader is not None or self.tips is not None
        if word in ("on", "off", "オン", "オフ"):
            if person.role is not Role.ADMIN:
                raise CoachError(msg("error.admins_only"))
            uow.workspaces.set_llm(person.workspace_id, word in ("on", "オン"))
        allowed = self._llm_allowed(uow, person)
        return Reply.of(msg("llm.status", allowed=msg("llm.allowed" if allowed else "llm.blocked"),
                            configured=msg("llm.configured" if configured else "llm.not_configured")),
                        msg("llm.how" if person.role is Role.ADMIN else "llm.ask_admin"))

    def _llm_allowed(self, uow: UnitOfWork, person: Person) -> bool:
        workspace = uow.workspaces.get(person.workspace_id)
        return workspace is None or workspace.llm_enabled

    def _llm_proposal(self, inbound: Inbound):
        """The LLM's reading of the text after /logmeeting, when one is configured and the
        workspace allows it; gathered in a read-only unit of work that ends before the call."""
        if self.llm_reader is None:
            return None
        command, rest = self._command(inbound.text.strip())
        if command != "logmeeting" or not rest.strip() or len(inbound.text) > MAX_TEXT:
            return None
        with self.uow_factory() as uow:
            person = self.identify(uow, inbound)
            if person is None or not self._llm_allowed(uow, person):
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
            if not self._llm_allowed(uow, person):
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

    @staticmethod
    def _command(text: str) -> tuple[str | None, str]:
        if PROMISE_ACTION.fullmatch(norm(text)):
            return "promise_action", text
        if FEEDBACK.fullmatch(text):
            return "feedback", text
        if TAP.fullmatch(text):
            return "tap", text
        if STATE_PURPOSE.fullmatch(text):
            return "purpose", text
        if norm(text).rstrip(".!。！") in checkin.NOT_TODAY:
            return "not_today", text
        word, _, rest = text.lstrip("/").partition(" ")
        key = norm(word)
        for command, words in COMMANDS.items():
            if key in words:
                return command, rest.strip()
        return None, text

    def _command_reply(self, uow: UnitOfWork, person: Person, command: str | None, rest: str, text: str,
                       now: datetime, where: str, platform: str = "console", direct: bool = False) -> Reply:
        today = services.local_today(person, now)
        if command == "ledger":
            if not rest:
                return home.summary(uow, person, today, self.rules)
            name, page = rest, 1
            if m := re.fullmatch(r"(.+?)\s+(?:page|p\.?|ページ)\s*(\d+)", rest):
                name, page = m[1], int(m[2])
            return views.passbook(services.passbook(uow, person, name), page)
        if command == "promises":
            promises = services.open_promises(uow, person)
            names = {c.id: c.name for c in services.visible_clients(uow, person)}
            return views.promises(promises, names)
        if command == "feedback":
            action, kind, subject = FEEDBACK.fullmatch(text).groups()  # type: ignore[union-attr]
            done = services.record_feedback(uow, person, kind, subject, FEEDBACK_ACTIONS[action], today)
            return Reply.of(msg("digest.snoozed", until=done.until) if done.until else msg("digest.dismissed"))
        if command == "promise_action":
            return self._promise_action(uow, person, text, today)
        if command == "clients":
            clients = services.visible_clients(uow, person)
            if not clients:
                return Reply.of(msg("clients.none"))
            bal = services.balances(uow, person.workspace_id, [c.id for c in clients])
            return Reply.of(msg("clients.header", count=len(clients)),
                            *[msg("clients.line", client=c.name, balance=bal.get(c.id, 0)) for c in clients[:50]])
        if command == "nudges":
            found = sorted(services.nudges(uow, person.workspace_id, today, self.rules, rep_id=person.id),
                           key=lambda n: -n.stake)
            if not found:
                return Reply.of(msg("nudge.none"))
            return Reply.of(msg("nudge.header", count=len(found)), *[views.nudge_line(n) for n in found[:10]])
        if command == "home":
            return home.overview(uow, person, today, self.rules)
        if command == "teamhealth" and CHANNEL_HERE.fullmatch(norm(rest)):
            teams = services.set_digest_channel(uow, person, where)
            return Reply.of(msg("health.channel_set", teams=[t.name for t in teams]))
        if command == "teamhealth":
            return health.reply(health.team_health(uow, person, rest or None, now, self.rules, self.working_days))
        if command == "purpose":
            m = STATE_PURPOSE.fullmatch(text)
            assert m is not None
            if (touch_id := conversation.record_id(m[1], conversation.MAX_BIG_ID)) is None:
                raise CoachError(msg("error.no_touch"))
            done = services.state_purpose(uow, person, touch_id, Purpose(m[2]), self.rules, today)
            return views.purpose_stated(done)
        if command == "not_today":
            checkin.decline(uow, person, today, now)
            return Reply.of(msg("checkin.declined"))
        if command == "capture":
            # a DM or the console is no client channel: nothing there can be captured
            return self._capture_command(uow, person, rest, where, platform if not direct else "direct", today)
        if command == "cancel":
            return Reply.of(msg("log.nothing_to_cancel"))
        if command == "llm":
            return self._llm_switch(uow, person, norm(rest))
        if command in ("away", "back"):
            services.set_on_leave(uow, person, command == "away")
            return Reply.of(msg(f"leave.{command}"))
        if command == "help":
            return Reply.of(msg("help.text"), *( [msg("help.manager")] if person.is_manager else []))
        return Reply.of(msg("help.unknown", text=text[:80]))

    def _capture_command(self, uow: UnitOfWork, person: Person, rest: str, where: str, platform: str,
                         today) -> Reply:
        """``capture <client>`` in a shared channel (admins): count the roster's own messages
        there as touches with that client; ``capture off`` stops it; ``capture`` alone says
        what this channel does."""
        if norm(rest) in CAPTURE_OFF:
            released = services.release_channel(uow, person, platform, where)
            return Reply.of(msg("capture.off" if released else "capture.was_off"))
        if rest.strip():
            client = services.capture_channel(uow, person, platform, where, rest.strip(), today)
            return Reply.of(msg("capture.on", client=client.name), msg("capture.how"))
        client = services.captured_client(uow, person.workspace_id, platform, where)
        return Reply.of(msg("capture.status_on", client=client.name) if client else msg("capture.status_off"),
                        msg("capture.usage"))

    def _promise_action(self, uow: UnitOfWork, person: Person, text: str, today) -> Reply:
        m = PROMISE_ACTION.fullmatch(norm(text))
        assert m is not None
        kept = m[1] in ("kept", "守った")
        number = conversation.record_id(m[2]) or 0
        if ":" in text:
            if not number:
                raise CoachError(msg("error.no_promise"))
            promise_id = number
        else:  # "kept 2" means the second promise in the list the rep just saw
            open_now = services.open_promises(uow, person)
            if not 1 <= number <= len(open_now):
                raise CoachError(msg("error.no_promise"))
            promise_id = open_now[number - 1].id
        promise, entry = services.close_promise(uow, person, promise_id, kept, today, self.rules)
        lines: list[Msg | str] = [msg(f"promise.closed.{promise.status.value}", promise=promise.text)]
        if entry is not None:
            lines.append(msg("ledger.change", amount=entry.amount, reason=views.reason(entry)))
            lines.append(msg("ledger.balance_only", balance=uow.ledger.balance(person.workspace_id, promise.client_id)))
        return Reply.of(*lines)
