"""SQLAlchemy repositories for what a touch leaves behind: promises, problems and deals."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coaching.model import Problem, Promise, PromiseStatus
from storage.models import DealRow, ProblemRow, PromiseRow
from storage.repositories import scoped_get
from storage.summary_upkeep import mark


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
        mark(self.session, workspace_id, client_id, made_on)
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
        mark(self.session, workspace_id, row.client_id, closed_on)
        self.session.flush()
        return promise(row)

    def for_client(self, workspace_id: str, client_id: int) -> list[Promise]:
        stmt = select(PromiseRow).where(
            PromiseRow.workspace_id == workspace_id, PromiseRow.client_id == client_id,
        ).order_by(PromiseRow.due_on, PromiseRow.id)
        return [promise(row) for row in self.session.scalars(stmt)]

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
        mark(self.session, workspace_id, client_id, raised_on)
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
            mark(self.session, workspace_id, row.client_id, on)
            self.session.flush()
        return problem(row)


    def unresolved(self, workspace_id: str, client_id: int) -> list[Problem]:
        """The client's problems not marked solved, oldest first."""
        stmt = select(ProblemRow).where(
            ProblemRow.workspace_id == workspace_id, ProblemRow.client_id == client_id,
            ProblemRow.resolved_on.is_(None),
        ).order_by(ProblemRow.raised_on, ProblemRow.id)
        return [problem(row) for row in self.session.scalars(stmt)]

    def resolve(self, workspace_id: str, problem_id: int, on: date) -> Problem:
        """Marks the problem solved (answered too, that day, if it never was)."""
        row = scoped_get(self.session, ProblemRow, workspace_id, problem_id)
        if row is None:
            raise LookupError(f"no problem {problem_id} in workspace {workspace_id!r}")
        row.resolved_on = row.resolved_on or on
        row.first_response_on = row.first_response_on or on
        mark(self.session, workspace_id, row.client_id, on)
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
        mark(self.session, workspace_id, client_id, won_on, won_on=won_on)
        self.session.flush()
