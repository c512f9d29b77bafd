"""The daily run: the entries time alone earns (promises overdue, problems left waiting,
silence past a client's rhythm) and the nudges the scheduler sends, as of one day. Idempotent:
a re-run books nothing twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Collection, Iterator

from coaching import ledger
from coaching.model import PromiseStatus
from coaching.nudges import ClientHistory, Nudge, cadence_days, detect, detect_busy_lapse
from coaching.ports import UnitOfWork
from coaching.rules import Rules


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
    for history in uow.histories.client_histories(workspace_id, as_of, rep_id=rep_id, rep_ids=scope,
                                                  quiet_for=rules.nudging):
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
