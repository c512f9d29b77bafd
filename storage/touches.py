"""SQLAlchemy repository for touches (``interactions``): adding one (idempotent on its
``external_id``), reading them back, voiding and re-classifying them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from coaching.model import Interaction, InteractionDraft, Kind, Purpose, TrustLevel
from coaching.trust import Signal, assess
from storage.models import InteractionRow
from storage.common import built_once
from storage.repositories import scoped_get
from storage.summaries import KEPT_TOUCHES
from storage.summary_upkeep import current, mark


def interaction(row: Any) -> Interaction:
    return Interaction(
        row.id, row.workspace_id, row.client_id, row.rep_id, row.occurred_on, Kind(row.kind),
        Purpose(row.purpose), note=row.note, proof_shown=row.proof_shown, source=row.source,
        voided=row.voided, asked_for=_level(row.asked_for), demanded_justification=row.demanded_justification,
    )


def _level(value: int | None) -> TrustLevel | None:
    return None if value is None else TrustLevel(value)


class SqlInteractionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, workspace_id: str, rep_id: int, draft: InteractionDraft) -> Interaction | None:
        """Only the touch itself: its promises, problem and deal are stored by their own
        repositories."""
        values = dict(
            workspace_id=workspace_id, client_id=draft.client_id, rep_id=rep_id,
            occurred_on=draft.occurred_on, kind=draft.kind.value, purpose=draft.purpose.value,
            note=draft.note, proof_shown=draft.proof_shown, source=draft.source,
            external_id=draft.external_id, voided=False, logged_at=datetime.now(UTC),
            asked_for=None if draft.asked_for is None else int(draft.asked_for),
            demanded_justification=draft.demanded_justification,
        )
        stmt = built_once(self.session, "interactions.add", lambda insert: insert(InteractionRow).on_conflict_do_nothing(
            index_elements=["workspace_id", "external_id"]).returning(InteractionRow.id))
        new_id = self.session.execute(stmt, values).scalar_one_or_none()
        if new_id is None:
            return None
        mark(self.session, workspace_id, draft.client_id, draft.occurred_on,
             touch=(draft.occurred_on, draft.purpose.value, draft.note, new_id))
        return Interaction(
            new_id, workspace_id, draft.client_id, rep_id, draft.occurred_on, draft.kind,
            draft.purpose, note=draft.note, proof_shown=draft.proof_shown, source=draft.source,
            asked_for=draft.asked_for, demanded_justification=draft.demanded_justification,
        )

    def get(self, workspace_id: str, interaction_id: int) -> Interaction | None:
        row = scoped_get(self.session, InteractionRow, workspace_id, interaction_id)
        return None if row is None else interaction(row)

    def last_by_rep(self, workspace_id: str, rep_id: int) -> Interaction | None:
        stmt = select(InteractionRow).where(
            InteractionRow.workspace_id == workspace_id, InteractionRow.rep_id == rep_id,
            InteractionRow.voided.is_(False),
        ).order_by(InteractionRow.logged_at.desc(), InteractionRow.id.desc()).limit(1)
        row = self.session.scalars(stmt).one_or_none()
        return None if row is None else interaction(row)

    def void(self, workspace_id: str, interaction_id: int) -> None:
        row = scoped_get(self.session, InteractionRow, workspace_id, interaction_id)
        if row is None:
            raise LookupError(f"no interaction {interaction_id} in workspace {workspace_id!r}")
        row.voided = True
        mark(self.session, workspace_id, row.client_id, row.occurred_on)
        self.session.flush()

    def for_client(self, workspace_id: str, client_id: int, limit: int = 20) -> list[Interaction]:
        """Newest first (every log's tip reads the latest few: rows of the table, no ORM objects)."""
        params = {"ws": workspace_id, "client": client_id, "limit": limit}
        return [interaction(row) for row in self.session.execute(_FOR_CLIENT, params)]

    def recent_purposes(self, workspace_id: str, client_id: int, limit: int) -> list[Purpose]:
        # A client this transaction logged to: the latest touches its summary will keep (every
        # touch up to KEPT_TOUCHES of them).
        summary = current(self.session, workspace_id, client_id) if limit <= KEPT_TOUCHES else None
        if summary is not None:
            return [Purpose(purpose) for _, purpose in summary.touches[:limit]]
        return [touch.purpose for touch in self.for_client(workspace_id, client_id, limit)]

    def for_rep_on(self, workspace_id: str, rep_id: int, day: date) -> list[Interaction]:
        stmt = select(InteractionRow).where(
            InteractionRow.workspace_id == workspace_id, InteractionRow.rep_id == rep_id,
            InteractionRow.occurred_on == day, InteractionRow.voided.is_(False),
        ).order_by(InteractionRow.id)
        return [interaction(row) for row in self.session.scalars(stmt)]

    def set_purpose(self, workspace_id: str, interaction_id: int, purpose: Purpose) -> Interaction:
        row = scoped_get(self.session, InteractionRow, workspace_id, interaction_id)
        if row is None:
            raise LookupError(f"no interaction {interaction_id} in workspace {workspace_id!r}")
        row.purpose = purpose.value
        mark(self.session, workspace_id, row.client_id, row.occurred_on)
        self.session.flush()
        return interaction(row)

    def trust_signals(self, workspace_id: str, client_id: int, after: date | None, limit: int) -> list[Signal]:
        """The latest ``limit`` touches of the client that said what the client asked of the
        rep, newest first, dated after ``after`` (when the rep last stated the level)."""
        i = InteractionRow
        stmt = select(i.occurred_on, i.asked_for, i.demanded_justification).where(
            i.workspace_id == workspace_id, i.client_id == client_id, i.voided.is_(False),
            i.asked_for.is_not(None), *([i.occurred_on > after] if after is not None else []),
        ).order_by(i.occurred_on.desc(), i.id.desc()).limit(limit)
        return [Signal(on, assess(TrustLevel(level), justify))  # type: ignore[arg-type]
                for on, level, justify in self.session.execute(stmt)]


_touches = InteractionRow.__table__
_FOR_CLIENT = select(_touches).where(
    _touches.c.workspace_id == bindparam("ws"), _touches.c.client_id == bindparam("client"), _touches.c.voided.is_(False),
).order_by(_touches.c.occurred_on.desc(), _touches.c.id.desc()).limit(bindparam("limit"))
