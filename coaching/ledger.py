"""The credit ledger (信用貯金): an append-only passbook per client.

Each function turns one fact into the entries it is worth under the point rules. Nothing is
ever edited: a correction is a reversing entry. Every entry carries an idempotency ``key`` so the
same fact, seen twice (a platform retry, a re-run daily job, a re-imported file), counts once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable, Sequence

from coaching.model import (
    EntryDraft,
    Interaction,
    LedgerEntry,
    Problem,
    Promise,
    PromiseStatus,
    Purpose,
    Reason,
)
from coaching.rules import Points


def balance(entries: Iterable[LedgerEntry | EntryDraft]) -> int:
    return sum(e.amount for e in entries)


@dataclass(frozen=True)
class PassbookLine:
    entry: LedgerEntry
    balance_after: int


def passbook(entries: Sequence[LedgerEntry]) -> list[PassbookLine]:
    """Entries oldest first, each with the balance right after it."""
    ordered = sorted(entries, key=lambda e: (e.occurred_on, e.id))
    lines, running = [], 0
    for entry in ordered:
        running += entry.amount
        lines.append(PassbookLine(entry, running))
    return lines


def for_interaction(interaction: Interaction, points: Points) -> list[EntryDraft]:
    """Deposits earned by the touch itself: giving without asking, proof that fits the client."""
    drafts = []
    base = f"interaction:{interaction.id}"
    earned = {Purpose.GIVE: (points.give_touch, Reason.GIVE_TOUCH), Purpose.ASK: (points.ask_touch, Reason.ASK_TOUCH)}
    amount, reason = earned.get(interaction.purpose, (0, None))
    if amount and reason is not None:
        drafts.append(
            EntryDraft(
                interaction.client_id, interaction.rep_id, amount, reason, interaction.occurred_on,
                key=f"{base}:{interaction.purpose.value}", cause=base, detail={"kind": interaction.kind.value},
            )
        )
    if interaction.proof_shown and points.proof_shown:
        drafts.append(
            EntryDraft(
                interaction.client_id, interaction.rep_id, points.proof_shown, Reason.PROOF_SHOWN,
                interaction.occurred_on, key=f"{base}:proof", cause=base,
            )
        )
    return drafts


def for_closed_promise(promise: Promise, points: Points) -> EntryDraft | None:
    """Kept on time, kept late or broken: the entry a closed promise is worth."""
    if promise.status is PromiseStatus.OPEN or promise.closed_on is None:
        return None
    amount, reason = {
        PromiseStatus.KEPT: (points.promise_kept, Reason.PROMISE_KEPT),
        PromiseStatus.KEPT_LATE: (points.promise_kept_late, Reason.PROMISE_KEPT_LATE),
        PromiseStatus.BROKEN: (points.promise_broken, Reason.PROMISE_BROKEN),
    }[promise.status]
    return EntryDraft(
        promise.client_id, promise.rep_id, amount, reason, promise.closed_on,
        key=f"promise:{promise.id}:closed", cause=f"promise:{promise.id}",
        detail={"promise": promise.text, "due": promise.due_on.isoformat()},
    )


def promise_outcome(due_on: date, kept_on: date) -> PromiseStatus:
    return PromiseStatus.KEPT if kept_on <= due_on else PromiseStatus.KEPT_LATE


def overdue_break_date(promise: Promise, as_of: date, points: Points) -> date | None:
    """The day an open promise counts as broken, if that day has come by ``as_of``."""
    if promise.status is not PromiseStatus.OPEN:
        return None
    breaks_on = promise.due_on + timedelta(days=points.promise_broken_after_days)
    return breaks_on if as_of >= breaks_on else None


def for_problem(problem: Problem, as_of: date, points: Points) -> list[EntryDraft]:
    """A fast first response earns credit; a problem left waiting past the limit costs it.

    Both are judged on rep-local dates: "within 24 h" means answered the same day or the next.
    """
    drafts = []
    cause = f"problem:{problem.id}"
    detail = {"problem": problem.text}
    waited = (problem.first_response_on or as_of) - problem.raised_on
    if problem.first_response_on is not None and waited.days <= points.problem_answered_within_days:
        drafts.append(
            EntryDraft(
                problem.client_id, problem.rep_id, points.problem_answered_fast,
                Reason.PROBLEM_ANSWERED_FAST, problem.first_response_on,
                key=f"{cause}:fast", cause=cause, detail=detail,
            )
        )
    elif waited.days >= points.problem_unanswered_after_days:
        drafts.append(
            EntryDraft(
                problem.client_id, problem.rep_id, points.problem_unanswered,
                Reason.PROBLEM_UNANSWERED,
                problem.raised_on + timedelta(days=points.problem_unanswered_after_days),
                key=f"{cause}:unanswered", cause=cause, detail=detail,
            )
        )
    return drafts


def for_breach(
    client_id: int, rep_id: int, current_balance: int, on: date, key: str, what: str, points: Points
) -> EntryDraft:
    """An honesty breach resets the balance to ``breach_reset_to``; it never raises it."""
    amount = min(0, points.breach_reset_to - current_balance)
    return EntryDraft(
        client_id, rep_id, amount, Reason.HONESTY_BREACH, on, key=key, cause=key,
        detail={"what": what},
    )


def for_misunderstanding(
    client_id: int, rep_id: int, on: date, key: str, what: str, points: Points
) -> EntryDraft:
    """A misunderstanding the rep's message caused: their responsibility, a smaller debit than a lie."""
    return EntryDraft(
        client_id, rep_id, points.misunderstanding, Reason.MISUNDERSTANDING, on, key=key, cause=key,
        detail={"what": what},
    )


def for_put_right(
    client_id: int, rep_id: int, setback_on: date, on: date, key: str, what: str, points: Points
) -> EntryDraft:
    """A correction after a setback: always booked (it ends the recovery, and the passbook says
    so); it earns ``put_right_fast`` only when it came within ``put_right_fast_days``."""
    fast = 0 <= (on - setback_on).days <= points.put_right_fast_days
    return EntryDraft(
        client_id, rep_id, points.put_right_fast if fast else 0, Reason.PUT_RIGHT, on, key=key, cause=key,
        detail={"what": what, "setback": setback_on.isoformat()},
    )


SETBACKS = (Reason.PROMISE_BROKEN, Reason.HONESTY_BREACH, Reason.MISUNDERSTANDING)


def open_setback(entries: Iterable[LedgerEntry], as_of: date, window_days: int) -> LedgerEntry | None:
    """The latest setback (a broken promise, a false claim, a misunderstanding) booked on or
    before ``as_of`` and within ``window_days`` of it, if nothing put it right since."""
    known = [e for e in entries if e.occurred_on <= as_of]
    setbacks = [e for e in known if e.reason in SETBACKS and (as_of - e.occurred_on).days <= window_days]
    if not setbacks:
        return None
    latest = max(setbacks, key=lambda e: (e.occurred_on, e.id))
    repaired = any(e.reason is Reason.PUT_RIGHT and e.occurred_on >= latest.occurred_on for e in known)
    return None if repaired else latest


def for_silence(
    client_id: int, rep_id: int, last_touch: date, cadence_days: int, as_of: date, points: Points
) -> list[EntryDraft]:
    """One entry per full week of silence beyond the client's cadence, dated when it accrued."""
    if not points.silence_per_week:
        return []
    drafts = []
    week = 1
    while True:
        accrues_on = last_touch + timedelta(days=cadence_days + 7 * week)
        if accrues_on > as_of:
            return drafts
        drafts.append(
            EntryDraft(
                client_id, rep_id, points.silence_per_week, Reason.SILENCE, accrues_on,
                key=f"silence:{client_id}:{last_touch.isoformat()}:{week}",
                cause=f"client:{client_id}",
                detail={"weeks": str(week), "cadence": str(cadence_days)},
            )
        )
        week += 1


def reversal(entry: LedgerEntry, on: date, why: str = "") -> EntryDraft:
    """The entry that cancels ``entry``; the original stays in the passbook."""
    return EntryDraft(
        entry.client_id, entry.rep_id, -entry.amount, Reason.CORRECTION, on,
        key=f"reverse:{entry.id}", cause=f"entry:{entry.id}",
        detail={"reverses": entry.reason.value, "why": why}, reverses_id=entry.id,
    )
