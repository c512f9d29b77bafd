"""SQLAlchemy repository for what reps said about their nudges: snoozed, dismissed, acted on.

Rows are append-only; a subject may gather several. On a given day ``as_of`` a (rep, subject)
pair is suppressed by

* a ``snoozed`` row with ``on <= as_of < until`` (``until`` is exclusive), or
* a ``dismissed`` row with ``on <= as_of < on + DISMISS_DAYS``.

``acted`` rows never suppress: they are kept for team health (``for_period``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from coaching.records import NudgeFeedback
from storage.activity import IN_CHUNK
from storage.models import NudgeFeedbackRow

DISMISS_DAYS = 30
"""How long a "not relevant" dismissal holds: from its day ``on`` up to, not including,
``on + DISMISS_DAYS`` (tests/fakes.py uses the same number)."""

SNOOZED, DISMISSED, ACTED, USEFUL = "snoozed", "dismissed", "acted", "useful"
ACTIONS = frozenset({SNOOZED, DISMISSED, ACTED, USEFUL})  # useful: recorded, suppresses nothing


def check_feedback(feedback: NudgeFeedback) -> None:
    """Refuse what could never mean anything: an unknown action, a snooze without an end."""
    if feedback.action not in ACTIONS:
        raise ValueError(f"unknown nudge feedback action {feedback.action!r}")
    if feedback.action == SNOOZED and feedback.until is None:
        raise ValueError("a snooze needs an `until` day")


def nudge_feedback(row: NudgeFeedbackRow) -> NudgeFeedback:
    return NudgeFeedback(row.rep_id, row.subject, row.kind, row.action, row.on_date, row.until)


class SqlNudgeFeedbackRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, workspace_id: str, feedback: NudgeFeedback) -> None:
        check_feedback(feedback)
        self.session.add(NudgeFeedbackRow(
            workspace_id=workspace_id, rep_id=feedback.rep_id, subject=feedback.subject,
            kind=feedback.kind, action=feedback.action, on_date=feedback.on, until=feedback.until,
        ))
        self.session.flush()

    def suppressed(self, workspace_id: str, as_of: date, rep_id: int | None = None) -> set[tuple[int, str]]:
        row = NudgeFeedbackRow.__table__.c  # Core: compiled without the ORM
        stmt = select(row.rep_id, row.subject).distinct().where(
            row.workspace_id == workspace_id,
            row.on_date <= as_of,
            or_(
                and_(row.action == SNOOZED, row.until > as_of),
                and_(row.action == DISMISSED, row.on_date > as_of - timedelta(days=DISMISS_DAYS)),
            ),
        )
        if rep_id is not None:
            stmt = stmt.where(row.rep_id == rep_id)
        return {(rep, subject) for rep, subject in self.session.execute(stmt)}

    def for_period(self, workspace_id: str, rep_ids: Sequence[int], start: date, end: date) -> list[NudgeFeedback]:
        """By ``on``, then in the order recorded."""
        ids = list(dict.fromkeys(rep_ids))
        rows: list[NudgeFeedbackRow] = []
        for first in range(0, len(ids), IN_CHUNK):
            stmt = select(NudgeFeedbackRow).where(
                NudgeFeedbackRow.workspace_id == workspace_id,
                NudgeFeedbackRow.rep_id.in_(ids[first:first + IN_CHUNK]),
                NudgeFeedbackRow.on_date >= start, NudgeFeedbackRow.on_date <= end,
            ).order_by(NudgeFeedbackRow.on_date, NudgeFeedbackRow.id)
            rows.extend(self.session.scalars(stmt))
        if len(ids) > IN_CHUNK:
            rows.sort(key=lambda r: (r.on_date, r.id))
        return [nudge_feedback(r) for r in rows]
