"""SQLAlchemy repositories for what happens with clients: touches, promises, problems, deals,
the ledger, the dialog state between two messages, and the claims of platform messages already
taken on.

Appends that carry an idempotency key (a touch's ``external_id``, a ledger entry's ``key``, a
claim) use
``INSERT ... ON CONFLICT DO NOTHING RETURNING id``: a duplicate returns no row, the method returns
``None``, and the surrounding transaction stays usable (no exception, no savepoint).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from coaching.model import (
    EntryDraft,
    Interaction,
    InteractionDraft,
    Kind,
    LedgerEntry,
    Problem,
    Promise,
    PromiseStatus,
    Purpose,
    Reason,
)
from coaching.records import DialogState
from storage.models import (
    ConversationRow,
    DealRow,
    InteractionRow,
    LedgerEntryRow,
    ProblemRow,
    ProcessedRequestRow,
    PromiseRow,
)
from storage.repositories import insert_for, scoped_get

IN_CHUNK = 1000  # ids per IN (...) list; drivers cap bound parameters per statement


def as_utc(moment: datetime) -> datetime:
    """SQLite keeps no offset: store UTC, and read naive values back as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def interaction(row: InteractionRow) -> Interaction:
    return Interaction(
        row.id, row.workspace_id, row.client_id, row.rep_id, row.occurred_on, Kind(row.kind),
        Purpose(row.purpose), note=row.note, proof_shown=row.proof_shown, source=row.source,
        voided=row.voided,
    )


def promise(row: PromiseRow) -> Promise:
    return Promise(
        row.id, row.workspace_id, row.client_id, row.rep_id, row.interaction_id, row.text,
        row.made_on, row.due_on, status=PromiseStatus(row.status), closed_on=row.closed_on,
    )


def problem(row: ProblemRow) -> Problem:
    return Problem(
        row.id, row.workspace_id, row.client_id, row.rep_id, row.interaction_id, row.text,
        row.raised_on, first_response_on=row.first_response_on, resolved_on=row.resolved_on,
    )


def ledger_entry(row: LedgerEntryRow) -> LedgerEntry:
    return LedgerEntry(
        row.id, row.workspace_id, row.client_id, row.rep_id, row.amount, Reason(row.reason),
        row.occurred_on, row.key, cause=row.cause, detail=dict(row.detail or {}),
        reverses_id=row.reverses_id,
    )


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
        )
        stmt = insert_for(self.session, InteractionRow).values(**values)
        if draft.external_id is not None:
            stmt = stmt.on_conflict_do_nothing(index_elements=["workspace_id", "external_id"])
        new_id = self.session.execute(stmt.returning(InteractionRow.id)).scalar_one_or_none()
        if new_id is None:
            return None
        return Interaction(
            new_id, workspace_id, draft.client_id, rep_id, draft.occurred_on, draft.kind,
            draft.purpose, note=draft.note, proof_shown=draft.proof_shown, source=draft.source,
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
        self.session.flush()

    def for_client(self, workspace_id: str, client_id: int, limit: int = 20) -> list[Interaction]:
        stmt = select(InteractionRow).where(
            InteractionRow.workspace_id == workspace_id, InteractionRow.client_id == client_id,
            InteractionRow.voided.is_(False),
        ).order_by(InteractionRow.occurred_on.desc(), InteractionRow.id.desc()).limit(limit)
        return [interaction(row) for row in self.session.scalars(stmt)]

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
        self.session.flush()
        return interaction(row)


class SqlPromiseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self, workspace_id: str, client_id: int, rep_id: int, interaction_id: int | None,
        text: str, made_on: date, due_on: date,
    ) -> Promise:
        row = PromiseRow(
            workspace_id=workspace_id, client_id=client_id, rep_id=rep_id,
            interaction_id=interaction_id, text=text, made_on=made_on, due_on=due_on,
            status=PromiseStatus.OPEN.value,
        )
        self.session.add(row)
        self.session.flush()
        return promise(row)

    def get(self, workspace_id: str, promise_id: int) -> Promise | None:
        row = scoped_get(self.session, PromiseRow, workspace_id, promise_id)
        return None if row is None else promise(row)

    def close(self, workspace_id: str, promise_id: int, status: PromiseStatus, closed_on: date) -> Promise:
        row = scoped_get(self.session, PromiseRow, workspace_id, promise_id)
        if row is None:
            raise LookupError(f"no promise {promise_id} in workspace {workspace_id!r}")
        row.status, row.closed_on = status.value, closed_on
        self.session.flush()
        return promise(row)

    def open_for(self, workspace_id: str, rep_id: int | None = None, client_id: int | None = None) -> list[Promise]:
        stmt = self._open(workspace_id)
        if rep_id is not None:
            stmt = stmt.where(PromiseRow.rep_id == rep_id)
        if client_id is not None:
            stmt = stmt.where(PromiseRow.client_id == client_id)
        return [promise(row) for row in self.session.scalars(stmt)]

    def open_due_before(self, workspace_id: str, day: date) -> list[Promise]:
        stmt = self._open(workspace_id).where(PromiseRow.due_on < day)
        return [promise(row) for row in self.session.scalars(stmt)]

    @staticmethod
    def _open(workspace_id: str) -> Any:
        return select(PromiseRow).where(
            PromiseRow.workspace_id == workspace_id, PromiseRow.status == PromiseStatus.OPEN.value,
        ).order_by(PromiseRow.due_on, PromiseRow.id)


class SqlProblemRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self, workspace_id: str, client_id: int, rep_id: int, interaction_id: int | None,
        text: str, raised_on: date, first_response_on: date | None = None,
    ) -> Problem:
        row = ProblemRow(
            workspace_id=workspace_id, client_id=client_id, rep_id=rep_id,
            interaction_id=interaction_id, text=text, raised_on=raised_on,
            first_response_on=first_response_on,
        )
        self.session.add(row)
        self.session.flush()
        return problem(row)

    def unanswered(self, workspace_id: str, client_id: int | None = None) -> list[Problem]:
        """Problems with no first response yet, longest waiting first."""
        stmt = select(ProblemRow).where(
            ProblemRow.workspace_id == workspace_id, ProblemRow.first_response_on.is_(None))
        if client_id is not None:
            stmt = stmt.where(ProblemRow.client_id == client_id)
        stmt = stmt.order_by(ProblemRow.raised_on, ProblemRow.id)
        return [problem(row) for row in self.session.scalars(stmt)]

    def answer(self, workspace_id: str, problem_id: int, on: date) -> Problem:
        """Records the first response; answering again keeps the first date."""
        row = scoped_get(self.session, ProblemRow, workspace_id, problem_id)
        if row is None:
            raise LookupError(f"no problem {problem_id} in workspace {workspace_id!r}")
        if row.first_response_on is None:
            row.first_response_on = on
            self.session.flush()
        return problem(row)


class SqlDealRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, workspace_id: str, client_id: int, rep_id: int, interaction_id: int | None, won_on: date, note: str) -> None:
        self.session.add(DealRow(
            workspace_id=workspace_id, client_id=client_id, rep_id=rep_id,
            interaction_id=interaction_id, won_on=won_on, note=note,
        ))
        self.session.flush()


class SqlLedgerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, workspace_id: str, draft: EntryDraft) -> LedgerEntry | None:
        detail = dict(draft.detail)
        stmt = insert_for(self.session, LedgerEntryRow).values(
            workspace_id=workspace_id, client_id=draft.client_id, rep_id=draft.rep_id,
            amount=draft.amount, reason=draft.reason.value, occurred_on=draft.occurred_on,
            key=draft.key, cause=draft.cause, detail=detail, reverses_id=draft.reverses_id,
        ).on_conflict_do_nothing(index_elements=["workspace_id", "key"])
        new_id = self.session.execute(stmt.returning(LedgerEntryRow.id)).scalar_one_or_none()
        if new_id is None:
            return None
        return LedgerEntry(
            new_id, workspace_id, draft.client_id, draft.rep_id, draft.amount, draft.reason,
            draft.occurred_on, draft.key, cause=draft.cause, detail=detail,
            reverses_id=draft.reverses_id,
        )

    def for_client(self, workspace_id: str, client_id: int) -> list[LedgerEntry]:
        stmt = select(LedgerEntryRow).where(
            LedgerEntryRow.workspace_id == workspace_id, LedgerEntryRow.client_id == client_id,
        ).order_by(LedgerEntryRow.occurred_on, LedgerEntryRow.id)
        return [ledger_entry(row) for row in self.session.scalars(stmt)]

    def for_cause(self, workspace_id: str, cause: str) -> list[LedgerEntry]:
        """In the order they were stored."""
        stmt = select(LedgerEntryRow).where(
            LedgerEntryRow.workspace_id == workspace_id, LedgerEntryRow.cause == cause,
        ).order_by(LedgerEntryRow.id)
        return [ledger_entry(row) for row in self.session.scalars(stmt)]

    def balance(self, workspace_id: str, client_id: int) -> int:
        return self.balances(workspace_id, [client_id])[client_id]

    def balances(self, workspace_id: str, client_ids: Sequence[int], as_of: date | None = None) -> dict[int, int]:
        result = dict.fromkeys(client_ids, 0)
        ids = list(result)
        for start in range(0, len(ids), IN_CHUNK):
            stmt = select(LedgerEntryRow.client_id, func.sum(LedgerEntryRow.amount)).where(
                LedgerEntryRow.workspace_id == workspace_id,
                LedgerEntryRow.client_id.in_(ids[start:start + IN_CHUNK]),
            ).group_by(LedgerEntryRow.client_id)
            if as_of is not None:
                stmt = stmt.where(LedgerEntryRow.occurred_on <= as_of)
            for client_id, total in self.session.execute(stmt):
                result[client_id] = int(total or 0)
        return result


class SqlDialogRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, workspace_id: str, conversation: str, user: str) -> DialogState | None:
        stmt = select(ConversationRow.state, ConversationRow.updated_at).where(*self._key(workspace_id, conversation, user))
        row = self.session.execute(stmt).one_or_none()
        return None if row is None else DialogState(dict(row.state), as_utc(row.updated_at))

    def save(self, workspace_id: str, conversation: str, user: str, state: dict[str, Any], now: datetime) -> None:
        """Insert or replace, atomically (two retried events cannot both insert)."""
        values = {"state": dict(state), "updated_at": as_utc(now)}
        stmt = insert_for(self.session, ConversationRow).values(
            workspace_id=workspace_id, conversation=conversation, user=user, **values,
        ).on_conflict_do_update(index_elements=["workspace_id", "conversation", "user"], set_=values)
        self.session.execute(stmt)

    def delete(self, workspace_id: str, conversation: str, user: str) -> None:
        self.session.execute(delete(ConversationRow).where(*self._key(workspace_id, conversation, user)))

    @staticmethod
    def _key(workspace_id: str, conversation: str, user: str) -> tuple[Any, ...]:
        return (
            ConversationRow.workspace_id == workspace_id,
            ConversationRow.conversation == conversation,
            ConversationRow.user == user,
        )


class SqlClaimRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self, workspace_id: str, key: str, now: datetime) -> bool:
        """True the first time ``key`` is seen in the workspace, False for a repeat. Rolled back
        with the transaction; on PostgreSQL a concurrent claim of the same key waits for this
        transaction and then returns False (committed) or True (rolled back)."""
        stmt = insert_for(self.session, ProcessedRequestRow).values(
            workspace_id=workspace_id, key=key, seen_at=as_utc(now),
        ).on_conflict_do_nothing(index_elements=["workspace_id", "key"])
        claimed = self.session.execute(stmt.returning(ProcessedRequestRow.key)).scalar_one_or_none()
        return claimed is not None
