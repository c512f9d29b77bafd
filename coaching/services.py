"""Service functions: the verbs of the coach, over an open unit of work.

Each function does one thing a user or a job asks for and leaves committing to its caller, so
one conversation turn (state + records) or one import is a single transaction: nothing is ever
half-written. Authorization is checked here, once, for every channel.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Collection, Iterator, Sequence
from zoneinfo import ZoneInfo

from coaching import ledger, tips, trust
from coaching.logflow import LogRequest
from coaching.messages import Msg
from coaching.model import (
    Client,
    EntryDraft,
    Interaction,
    InteractionDraft,
    Kind,
    LedgerEntry,
    Person,
    ProblemDraft,
    Promise,
    PromiseStatus,
    Purpose,
    Role,
    Source,
    Team,
)
from coaching.nudges import ClientHistory, Nudge, NudgeKind, cadence_days, detect, detect_busy_lapse
from coaching.ports import UnitOfWork
from coaching.records import ChannelCapture, NudgeFeedback
from coaching.rules import Rules
from coaching.vocabulary import norm


class CoachError(Exception):
    """A request the coach cannot carry out; ``message`` says why, in the catalogue's words."""

    def __init__(self, message: Msg) -> None:
        super().__init__(message.key)
        self.message = message


def local_today(person: Person, now: datetime) -> date:
    """The rep's own date: what "today" and "Friday" mean to them."""
    try:
        return now.astimezone(ZoneInfo(person.timezone)).date()
    except (KeyError, ValueError):
        return now.date()


# --- who may see what -------------------------------------------------------------------

def visible_team_ids(uow: UnitOfWork, person: Person) -> tuple[int, ...]:
    """Admins see every team of their workspace; everyone else the teams they are on."""
    if person.role is Role.ADMIN:
        return tuple(t.id for t in uow.teams.list(person.workspace_id))
    return person.team_ids


def visible_clients(uow: UnitOfWork, person: Person) -> list[Client]:
    return uow.clients.list(person.workspace_id, visible_team_ids(uow, person))


MAX_NAME_SHOWN = 80


def find_client(uow: UnitOfWork, person: Person, name: str) -> Client:
    """The client the person means by ``name``, if they may see it; else a clear error."""
    directory = RosterDirectory(uow, person)
    if found := directory.exact(name):
        return uow.clients.get(person.workspace_id, found[0])  # type: ignore[return-value]
    similar = [n for _, n in directory.similar(name, 3)]
    shown = name if len(name) <= MAX_NAME_SHOWN else name[:MAX_NAME_SHOWN] + "…"  # not 4,000 characters back
    raise CoachError(Msg("error.no_client", {"name": shown, "similar": similar}) if similar
                     else Msg("error.no_client_none", {"name": shown}))


class RosterDirectory:
    """The clients one person may log against, for the conversation's client step."""

    def __init__(self, uow: UnitOfWork, person: Person) -> None:
        self.uow, self.person = uow, person
        self._clients: list[Client] | None = None

    @property
    def clients(self) -> list[Client]:
        if self._clients is None:
            self._clients = visible_clients(self.uow, self.person)
        return self._clients

    def exact(self, name: str) -> tuple[int, str] | None:
        client = self.uow.clients.by_name(self.person.workspace_id, name)
        if client and client.team_id in visible_team_ids(self.uow, self.person):
            return client.id, client.name
        return None

    def by_id(self, client_id: int) -> tuple[int, str] | None:
        client = self.uow.clients.get(self.person.workspace_id, client_id)
        if client and client.team_id in visible_team_ids(self.uow, self.person):
            return client.id, client.name
        return None

    def similar(self, name: str, limit: int) -> list[tuple[int, str]]:
        wanted = norm(name)
        keyed = {norm(c.name): c for c in self.clients}
        contains = [c for k, c in keyed.items() if wanted and (wanted in k or k in wanted)]
        close = [keyed[k] for k in difflib.get_close_matches(wanted, list(keyed), n=limit, cutoff=0.6)]
        picked = list(dict.fromkeys(contains + close))[:limit]
        return [(c.id, c.name) for c in picked]

    def recent(self, limit: int) -> list[tuple[int, str]]:
        mine = [c for c in self.clients if c.owner_id == self.person.id] or self.clients
        return [(c.id, c.name) for c in mine[:limit]]

    def assessed_on(self, client_id: int) -> date | None:
        """When the client's trust level was last assessed (``None``: never, or not a client
        this person can see)."""
        client = self.uow.clients.get(self.person.workspace_id, client_id)
        if client and client.team_id in visible_team_ids(self.uow, self.person):
            return client.trust_assessed_on
        return None


# --- logging a touch --------------------------------------------------------------------

@dataclass(frozen=True)
class LogResult:
    client: Client
    interaction: Interaction | None  # None: already recorded (a retry or a re-import)
    entries: tuple[LedgerEntry, ...]
    balance: int
    tip: Msg | None

    @property
    def duplicate(self) -> bool:
        return self.interaction is None


def log_request(
    uow: UnitOfWork, rep: Person, request: LogRequest, rules: Rules, today: date, external_id: str | None = None
) -> LogResult:
    """Record a touch confirmed in the conversation (creating the client if it is new)."""
    client = (
        uow.clients.get(rep.workspace_id, request.client_id) if request.client_id is not None
        else ensure_client(uow, rep, request.client_name, request.occurred_on)
    )
    if client is None or client.team_id not in visible_team_ids(uow, rep):
        # what the rep sent (a form sends only the id): never the name of a client they may not see
        raise CoachError(Msg("error.no_client_none", {"name": request.client_name or str(request.client_id)}))
    draft = InteractionDraft(
        client_id=client.id, occurred_on=request.occurred_on, kind=request.kind, purpose=request.purpose,
        note=request.note, proof_shown=request.proof_shown, promises=request.promises,
        problem=ProblemDraft(request.problem) if request.problem else None,
        asked_for=request.asked_for, demanded_justification=request.demanded_justification,
        source=request.source, external_id=external_id,
    )
    return record_touch(uow, rep, client, draft, rules, today)


def ensure_client(uow: UnitOfWork, rep: Person, name: str, created_on: date) -> Client:
    if existing := uow.clients.by_name(rep.workspace_id, name):
        if existing.team_id not in visible_team_ids(uow, rep):
            raise CoachError(Msg("error.client_other_team", {"name": existing.name}))
        return existing
    if not rep.team_ids:
        raise CoachError(Msg("error.no_team", {}))
    return uow.clients.add(rep.workspace_id, name.strip(), rep.team_ids[0], rep.id, created_on)


def record_touch(
    uow: UnitOfWork, rep: Person, client: Client, draft: InteractionDraft, rules: Rules, today: date
) -> LogResult:
    """Store one touch and every ledger entry it earns, exactly once."""
    ws, points = rep.workspace_id, rules.points
    interaction = uow.interactions.add(ws, rep.id, draft)
    if interaction is None:
        return LogResult(client, None, (), uow.ledger.balance(ws, client.id), None)
    drafts: list[EntryDraft] = ledger.for_interaction(interaction, points)
    for promise in draft.promises:
        stored = uow.promises.add(ws, client.id, rep.id, interaction.id, promise.text, draft.occurred_on, promise.due_on)
        if promise.status is not PromiseStatus.OPEN and promise.closed_on is not None:
            stored = uow.promises.close(ws, stored.id, promise.status, promise.closed_on)
            drafts.append(ledger.for_closed_promise(stored, points))  # type: ignore[arg-type]
    if draft.purpose is Purpose.SERVICE:
        drafts += _answered_problems(uow, ws, client.id, draft.occurred_on, today, rules)
    if draft.problem:
        problem = uow.problems.add(ws, client.id, rep.id, interaction.id, draft.problem.text,
                                   draft.occurred_on, draft.problem.first_response_on)
        drafts += ledger.for_problem(problem, today, points)
    signals = draft.asked_for is not None or draft.demanded_justification is not None
    newest = client.trust_assessed_on is None or draft.occurred_on >= client.trust_assessed_on
    if signals and newest:  # a back-dated touch never overwrites a newer assessment
        level = trust.assess(draft.asked_for, draft.demanded_justification) or client.trust_level
        uow.clients.set_trust(ws, client.id, level, draft.occurred_on, draft.asked_for, draft.demanded_justification)
    if draft.won_deal is not None:
        uow.deals.add(ws, client.id, rep.id, interaction.id, draft.occurred_on, draft.won_deal)
    entries = tuple(e for d in drafts if (e := uow.ledger.add(ws, d)) is not None)
    balance = uow.ledger.balance(ws, client.id)
    recent = uow.interactions.for_client(ws, client.id, limit=5)
    situation = tips.Situation(
        client=client.name, purpose=draft.purpose, promises_made=len(draft.promises),
        problem_raised=draft.problem is not None,
        recent_asks=sum(i.purpose is Purpose.ASK for i in recent),
        recent_gives=sum(i.purpose is Purpose.GIVE for i in recent),
        trust_level=trust.assess(draft.asked_for, draft.demanded_justification) or client.trust_level,
        demanded_justification=draft.demanded_justification, balance=balance,
    )
    return LogResult(client, interaction, entries, balance, tips.choose(situation))


def _answered_problems(uow: UnitOfWork, ws: str, client_id: int, on: date, today: date, rules: Rules) -> list[EntryDraft]:
    """A service touch answers the client's problems raised by then: what answering earns."""
    drafts: list[EntryDraft] = []
    for problem in uow.problems.unanswered(ws, client_id):
        if problem.raised_on <= on:
            drafts += ledger.for_problem(uow.problems.answer(ws, problem.id, on), today, rules.points)
    return drafts


@dataclass(frozen=True)
class PurposeResult:
    client: Client
    touch: Interaction
    entries: tuple[LedgerEntry, ...]
    balance: int
    already: bool  # the purpose had been said before: nothing changed


def state_purpose(uow: UnitOfWork, rep: Person, touch_id: int, purpose: Purpose, rules: Rules,
                  today: date) -> PurposeResult:
    """Why a captured touch happened, said at the check-in: it now earns what its purpose
    earns (the same ledger keys as a touch logged with that purpose, so never twice)."""
    ws = rep.workspace_id
    touch = uow.interactions.get(ws, touch_id)
    client = uow.clients.get(ws, touch.client_id) if touch is not None else None
    if touch is None or client is None or touch.rep_id != rep.id or touch.voided or purpose is Purpose.PENDING:
        raise CoachError(Msg("error.no_touch", {}))
    if touch.purpose is not Purpose.PENDING:
        return PurposeResult(client, touch, (), uow.ledger.balance(ws, client.id), True)
    touch = uow.interactions.set_purpose(ws, touch.id, purpose)
    drafts = ledger.for_interaction(touch, rules.points)
    if purpose is Purpose.SERVICE:
        drafts += _answered_problems(uow, ws, client.id, touch.occurred_on, today, rules)
    entries = tuple(e for d in drafts if (e := uow.ledger.add(ws, d)) is not None)
    return PurposeResult(client, touch, entries, uow.ledger.balance(ws, client.id), False)


# --- capture from client channels -------------------------------------------------------

def capture_channel(uow: UnitOfWork, admin: Person, platform: str, channel: str, client_name: str,
                    today: date) -> Client:
    """An admin opts a shared channel in: the roster's own messages there become touches with
    ``client_name`` (an existing client; capture never creates one). ``platform`` is
    ``slack`` or ``teams`` for a channel; anything else (a DM, the console) is refused."""
    if admin.role is not Role.ADMIN:
        raise CoachError(Msg("error.admins_only", {}))
    if not channel or platform not in ("slack", "teams"):
        raise CoachError(Msg("capture.not_a_channel", {}))
    client = find_client(uow, admin, client_name)
    uow.captures.save(admin.workspace_id, ChannelCapture(platform, channel, client.id, admin.id, today))
    return client


def release_channel(uow: UnitOfWork, admin: Person, platform: str, channel: str) -> bool:
    """Stop capturing a channel; False when it was not captured."""
    if admin.role is not Role.ADMIN:
        raise CoachError(Msg("error.admins_only", {}))
    return uow.captures.remove(admin.workspace_id, platform, channel)


def captured_client(uow: UnitOfWork, workspace_id: str, platform: str, channel: str) -> Client | None:
    """The client a channel is mapped to, or ``None`` when the channel is not opted in."""
    capture = uow.captures.get(workspace_id, platform, channel)
    return uow.clients.get(workspace_id, capture.client_id) if capture is not None else None


def capture_message(uow: UnitOfWork, person: Person, platform: str, channel: str, on: date) -> Interaction | None:
    """A person's own message in an opted-in channel, as a touch of kind ``message`` whose
    purpose the check-in asks for. At most one per person, channel and day (the key says so),
    so a busy thread, an edit or a platform retry never counts twice. ``None`` when nothing is
    recorded: the channel is not opted in, the client is not the person's to see, or the day's
    touch is recorded already. The message's words are not stored."""
    client = captured_client(uow, person.workspace_id, platform, channel)
    if client is None or client.team_id not in visible_team_ids(uow, person):
        return None
    draft = InteractionDraft(client.id, on, Kind.MESSAGE, Purpose.PENDING, source=Source.CHANNEL.value,
                             external_id=f"channel:{platform}:{channel}:{person.id}:{on.isoformat()}")
    return uow.interactions.add(person.workspace_id, person.id, draft)


def tip_facts(uow: UnitOfWork, rep: Person, result: LogResult) -> dict[str, object]:
    """What a tip writer may know: this touch and the client's own record, nothing else."""
    ws, client = rep.workspace_id, result.client
    recent = uow.interactions.for_client(ws, client.id, limit=6)
    touch = result.interaction
    return {
        "client": client.name,
        "this_touch": {"purpose": touch.purpose.value, "kind": touch.kind.value,
                       "on": touch.occurred_on.isoformat()} if touch else {},
        "recent_purposes": [i.purpose.value for i in recent],
        "balance": result.balance,
        "trust_level": int(client.trust_level) if client.trust_level else None,
        "open_promises": [{"promise": p.text, "due": p.due_on.isoformat()}
                          for p in uow.promises.open_for(ws, client_id=client.id)[:5]],
        "problems_waiting": len(uow.problems.unanswered(ws, client.id)),
        "entries_now": [{"amount": e.amount, "reason": e.reason.value} for e in result.entries],
    }


# --- promises and breaches --------------------------------------------------------------

def open_promises(uow: UnitOfWork, rep: Person) -> list[Promise]:
    return uow.promises.open_for(rep.workspace_id, rep_id=rep.id)


def close_promise(uow: UnitOfWork, rep: Person, promise_id: int, kept: bool, today: date, rules: Rules) -> tuple[Promise, LedgerEntry | None]:
    promise = uow.promises.get(rep.workspace_id, promise_id)
    if promise is None or promise.rep_id != rep.id:
        raise CoachError(Msg("error.no_promise", {}))
    if promise.status is not PromiseStatus.OPEN:
        raise CoachError(Msg("error.promise_closed", {"promise": promise.text}))
    status = ledger.promise_outcome(promise.due_on, today) if kept else PromiseStatus.BROKEN
    closed = uow.promises.close(rep.workspace_id, promise.id, status, today)
    draft = ledger.for_closed_promise(closed, rules.points)
    return closed, uow.ledger.add(rep.workspace_id, draft) if draft else None


def record_breach(uow: UnitOfWork, actor: Person, client: Client, what: str, today: date, rules: Rules) -> LedgerEntry | None:
    """A claim that proved false: the balance drops to the reset value, at once."""
    current = uow.ledger.balance(actor.workspace_id, client.id)
    key = f"breach:{client.id}:{today.isoformat()}:{norm(what)[:80]}"
    draft = ledger.for_breach(client.id, client.owner_id, current, today, key, what, rules.points)
    return uow.ledger.add(actor.workspace_id, draft)


# --- the daily run ----------------------------------------------------------------------

@dataclass(frozen=True)
class UpkeepResult:
    promises_broken: int
    problems_unanswered: int
    silence_entries: int


def apply_daily_rules(uow: UnitOfWork, workspace_id: str, as_of: date, rules: Rules) -> UpkeepResult:
    """The entries time alone earns: overdue promises, waiting problems, silence. Idempotent."""
    points = rules.points
    broken = unanswered = silence = 0
    for promise in uow.promises.open_due_before(workspace_id, as_of):
        if (breaks_on := ledger.overdue_break_date(promise, as_of, points)) is not None:
            closed = uow.promises.close(workspace_id, promise.id, PromiseStatus.BROKEN, breaks_on)
            broken += uow.ledger.add(workspace_id, ledger.for_closed_promise(closed, points)) is not None  # type: ignore[arg-type]
    for problem in uow.problems.unanswered(workspace_id):
        for draft in ledger.for_problem(problem, as_of, points):
            unanswered += uow.ledger.add(workspace_id, draft) is not None
    for history in uow.histories.client_histories(workspace_id, as_of):
        last = history.last_touch or history.created_on
        cadence = cadence_days([t.on for t in history.touches], rules.nudging)
        for draft in ledger.for_silence(history.client_id, history.owner_id, last, cadence, as_of, points):
            silence += uow.ledger.add(workspace_id, draft) is not None
    return UpkeepResult(broken, unanswered, silence)


def nudges(uow: UnitOfWork, workspace_id: str, as_of: date, rules: Rules, rep_id: int | None = None) -> Iterator[Nudge]:
    """Every nudge the run for ``as_of`` would raise, client by client, then per-rep lapses."""
    for nudge, _ in nudges_with_histories(uow, workspace_id, as_of, rules, rep_id=rep_id):
        yield nudge


def nudges_with_histories(
    uow: UnitOfWork, workspace_id: str, as_of: date, rules: Rules, rep_id: int | None = None,
    rep_ids: Collection[int] | None = None,
) -> Iterator[tuple[Nudge, ClientHistory | None]]:
    """Each nudge with the client history it came from (``None`` for a rep's lapse), leaving
    out what its rep snoozed or dismissed. ``rep_ids`` narrows a workspace scan to some reps."""
    quiet = uow.feedback.suppressed(workspace_id, as_of, rep_id)  # snoozed or dismissed by the rep
    scope = sorted(rep_ids) if rep_ids is not None else None
    for history in uow.histories.client_histories(workspace_id, as_of, rep_id=rep_id, rep_ids=scope):
        for n in detect(history, as_of, rules.nudging):
            if (n.rep_id, n.subject) not in quiet:
                yield n, history
    counts = uow.histories.rep_touch_counts(
        workspace_id, as_of, rules.nudging.busy_recent_days, rules.nudging.busy_baseline_days)
    for rid, (recent, baseline) in sorted(counts.items()):
        if (rep_id is None or rid == rep_id) and (rep_ids is None or rid in rep_ids):
            lapse = detect_busy_lapse(rid, recent, baseline, rules.nudging)
            if lapse is not None and (rid, lapse.subject) not in quiet:
                yield lapse, None


# --- reading ----------------------------------------------------------------------------

@dataclass(frozen=True)
class PassbookView:
    client: Client
    lines: tuple[ledger.PassbookLine, ...]  # newest first
    balance: int
    open_promises: tuple[Promise, ...]


def passbook(uow: UnitOfWork, viewer: Person, client_name: str) -> PassbookView:
    client = find_client(uow, viewer, client_name)
    lines = ledger.passbook(uow.ledger.for_client(viewer.workspace_id, client.id))
    promises = uow.promises.open_for(viewer.workspace_id, client_id=client.id)
    balance = lines[-1].balance_after if lines else 0
    return PassbookView(client, tuple(reversed(lines)), balance, tuple(promises))


def teams_for_health(uow: UnitOfWork, viewer: Person, team_name: str | None) -> list[Team]:
    """The teams a /teamhealth request covers, or an error saying why not."""
    if viewer.role is Role.REP:
        raise CoachError(Msg("error.managers_only", {}))
    allowed = visible_team_ids(uow, viewer)
    if team_name:
        team = uow.teams.by_name(viewer.workspace_id, team_name)
        if team is None:
            names = [t.name for t in uow.teams.list(viewer.workspace_id) if t.id in allowed]
            raise CoachError(Msg("error.no_team_named", {"team": team_name, "teams": names}))
        if team.id not in allowed:
            raise CoachError(Msg("error.not_your_team", {"team": team.name}))
        return [team]
    teams = [t for t in uow.teams.list(viewer.workspace_id) if t.id in allowed]
    if not teams:
        raise CoachError(Msg("error.no_team", {}))
    return teams


SNOOZE_DAYS = 7


def record_feedback(uow: UnitOfWork, rep: Person, kind: str, subject: str, action: str, today: date) -> NudgeFeedback:
    """A rep snoozes a nudge for a week, or marks it not relevant; either way it stops for a while."""
    if kind not in {k.value for k in NudgeKind} or action not in ("snoozed", "dismissed"):
        raise CoachError(Msg("help.unknown", {"text": f"{action} {kind}"}))
    until = today + timedelta(days=SNOOZE_DAYS) if action == "snoozed" else None
    feedback = NudgeFeedback(rep.id, subject[:200], kind, action, today, until)
    uow.feedback.record(rep.workspace_id, feedback)
    return feedback


def set_on_leave(uow: UnitOfWork, person: Person, on_leave: bool) -> Person:
    """A rep away (holiday, leave) gets no scheduled messages until they say they are back."""
    return uow.people.set_on_leave(person.workspace_id, person.id, on_leave)


def set_digest_channel(uow: UnitOfWork, person: Person, channel: str) -> list[Team]:
    """A manager chooses where their team's digest goes: their own team(s), never another's."""
    if person.role is Role.REP:
        raise CoachError(Msg("error.managers_only", {}))
    if not person.team_ids:
        raise CoachError(Msg("error.no_team", {}))
    return [uow.teams.set_digest_channel(person.workspace_id, tid, channel) for tid in person.team_ids]


def balances(uow: UnitOfWork, workspace_id: str, client_ids: Sequence[int], as_of: date | None = None) -> dict[int, int]:
    return uow.ledger.balances(workspace_id, client_ids, as_of)
