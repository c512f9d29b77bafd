"""Service functions: the verbs of the coach, over an open unit of work.

Each function does one thing a user or a job asks for and leaves committing to its caller, so
one conversation turn (state + records) or one import is a single transaction: nothing is ever
half-written. Authorization is checked here (who may reach what: :mod:`coaching.access`),
once, for every channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Sequence

from coaching import ledger, tips, trust
from coaching import vocabulary as vocab
from coaching.logflow import LogRequest
from coaching.messages import Msg
from coaching.model import (
    Client,
    EntryDraft,
    Interaction,
    InteractionDraft,
    LedgerEntry,
    Person,
    ProblemDraft,
    Promise,
    PromiseStatus,
    Purpose,
    Role,
    Setback,
    Source,
    Team,
)
from coaching.nudges import NudgeKind
from coaching.ports import UnitOfWork
from coaching.records import NudgeFeedback
from coaching.rules import Rules
from coaching.access import CoachError, visible_team_ids
from coaching.commands import MAX_SUBJECTS
from coaching.vocabulary import norm



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
        source=request.source, external_id=external_id, won_deal="" if request.won else None,
    )
    result = record_touch(uow, rep, client, draft, rules, today)
    if request.trust_skipped and result.interaction is not None:
        # Asked and skipped: the question is not put again for trust_reassess_days (the level,
        # and why it is what it is, stay as they were).
        uow.clients.set_trust(rep.workspace_id, client.id, client.trust_level, request.occurred_on,
                              client.trust_asked_for, client.trust_demanded_justification)
    return result


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
    ws = rep.workspace_id
    interaction = uow.interactions.add(ws, rep.id, draft)
    if interaction is None:
        return LogResult(client, None, (), uow.ledger.balance(ws, client.id), None)
    drafts: list[EntryDraft] = ledger.for_interaction(interaction, rules.points)
    drafts += _book_promises(uow, rep, client, interaction, draft, rules)
    drafts += _book_problems(uow, rep, client, interaction, draft, rules, today)
    drafts += _book_turns(uow, rep, client, interaction, draft, rules)
    _update_trust(uow, client, draft, rules)
    if draft.won_deal is not None:
        uow.deals.add(ws, client.id, rep.id, interaction.id, draft.occurred_on, draft.won_deal)
    entries = tuple(e for d in drafts if (e := uow.ledger.add(ws, d)) is not None)
    balance = uow.ledger.balance(ws, client.id)
    return LogResult(client, interaction, entries, balance, _tip(uow, client, draft, balance))


def _book_promises(uow: UnitOfWork, rep: Person, client: Client, interaction: Interaction,
                   draft: InteractionDraft, rules: Rules) -> list[EntryDraft]:
    """The touch's promises; one already settled (an import says so) is closed and booked."""
    drafts: list[EntryDraft] = []
    for promise in draft.promises:
        stored = uow.promises.add(rep.workspace_id, client.id, rep.id, interaction.id, promise.text,
                                  draft.occurred_on, promise.due_on)
        if promise.status is not PromiseStatus.OPEN and promise.closed_on is not None:
            stored = uow.promises.close(rep.workspace_id, stored.id, promise.status, promise.closed_on)
            drafts.append(ledger.for_closed_promise(stored, rules.points))  # type: ignore[arg-type]
    return drafts


def _book_problems(uow: UnitOfWork, rep: Person, client: Client, interaction: Interaction,
                   draft: InteractionDraft, rules: Rules, today: date) -> list[EntryDraft]:
    """A service touch answers the problems waiting by then; a problem raised here is stored."""
    ws, drafts = rep.workspace_id, []
    if draft.purpose is Purpose.SERVICE:
        drafts += _answered_problems(uow, ws, client.id, draft.occurred_on, today, rules)
    if draft.problem:
        # Raised and answered in the same service touch: answered that day, never "waiting". (An
        # import says when it was answered in its own column; empty there means not yet.)
        on_the_spot = draft.purpose is Purpose.SERVICE and draft.source != Source.IMPORT.value
        answered = draft.problem.first_response_on or (draft.occurred_on if on_the_spot else None)
        problem = uow.problems.add(ws, client.id, rep.id, interaction.id, draft.problem.text,
                                   draft.occurred_on, answered)
        drafts += ledger.for_problem(problem, today, rules.points)
    return drafts


def _book_turns(uow: UnitOfWork, rep: Person, client: Client, interaction: Interaction,
                draft: InteractionDraft, rules: Rules) -> list[EntryDraft]:
    """A setback the touch records (an import says so), or the correction it carries."""
    ws, on, what = rep.workspace_id, draft.occurred_on, (draft.note or "")[:300]
    cause = f"interaction:{interaction.id}"
    if draft.setback is Setback.FALSE_CLAIM:
        return [ledger.for_breach(client.id, rep.id, uow.ledger.balance(ws, client.id), on, f"{cause}:false_claim",
                                  what, rules.points)]
    if draft.setback is Setback.MISUNDERSTANDING:
        return [ledger.for_misunderstanding(client.id, rep.id, on, f"{cause}:misunderstanding", what, rules.points)]
    setback = ledger.open_setback(uow.ledger.for_client(ws, client.id), on, rules.nudging.recovery_window_days) \
        if draft.correction else None
    if setback is None:
        return []
    return [ledger.for_put_right(client.id, rep.id, setback.occurred_on, on, f"put_right:{setback.id}", what,
                                 rules.points)]


def _update_trust(uow: UnitOfWork, client: Client, draft: InteractionDraft, rules: Rules) -> None:
    """The client's position after this touch's signal: set by the first signal, then moved
    only when the last signals agree (:func:`trust.move`). A level the rep stated holds until
    the signals since then agree on another."""
    if draft.asked_for is None:
        return
    stated = client.trust_level is not None and client.trust_asked_for is None
    after = client.trust_assessed_on if stated else None
    signals = uow.interactions.trust_signals(client.workspace_id, client.id, after, rules.trusting.trust_window)
    level = trust.move(client.trust_level, signals, rules.trusting)
    if not signals or (stated and level == client.trust_level):
        return
    uow.clients.set_trust(client.workspace_id, client.id, level, signals[0].on, draft.asked_for,
                          draft.demanded_justification)


def _tip(uow: UnitOfWork, client: Client, draft: InteractionDraft, balance: int) -> Msg | None:
    recent = uow.interactions.recent_purposes(client.workspace_id, client.id, 5)
    return tips.choose(tips.Situation(
        client=client.name, purpose=draft.purpose, promises_made=len(draft.promises),
        problem_raised=draft.problem is not None and draft.purpose is not Purpose.SERVICE,  # else answered here
        concession=vocab.mentions(draft.note, vocab.CONCESSION_WORDS),
        recent_asks=sum(p is Purpose.ASK for p in recent),
        recent_gives=sum(p is Purpose.GIVE for p in recent),
        trust_level=trust.assess(draft.asked_for, draft.demanded_justification) or client.trust_level,
        demanded_justification=draft.demanded_justification, balance=balance,
    ))


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


SNOOZE_DAYS = 7


def record_feedback(uow: UnitOfWork, rep: Person, kind: str, subject: str, action: str, today: date) -> NudgeFeedback:
    """A rep snoozes a nudge for a week, marks it not useful (it stops for a month), or useful
    (recorded for the coach's own figures). ``subject`` may name several, joined by ``|``."""
    kinds = {k.value for k in NudgeKind} | {"digest"}
    if kind not in kinds or action not in ("snoozed", "dismissed", "useful"):
        raise CoachError(Msg("help.unknown", {"text": f"{action} {kind}"}))
    until = today + timedelta(days=SNOOZE_DAYS) if action == "snoozed" else None
    recorded = None
    for one in [s for s in subject.split("|") if s][:MAX_SUBJECTS]:
        one_kind, _, one_subject = one.partition("=") if "=" in one else (kind, "", one)
        recorded = NudgeFeedback(rep.id, one_subject[:200], one_kind if one_kind in kinds else kind, action, today,
                                 until)
        uow.feedback.record(rep.workspace_id, recorded)
    if recorded is None:
        raise CoachError(Msg("help.unknown", {"text": f"{action} {kind}"}))
    return recorded


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
