"""Set-based reads for the daily nudge scan and team health.

``client_histories`` runs four queries for the whole workspace (or one rep's book, or some
teams), whatever the number of clients:

1. clients, each with its balance, its balance ``TREND_DAYS`` earlier, last setback (all three
   from one pass over the ledger) and last won deal, as LEFT JOINs on aggregated subqueries;
2. recent touches: ``ROW_NUMBER() OVER (PARTITION BY client_id ORDER BY occurred_on DESC, id
   DESC)`` keeps the latest N per client plus every touch in the window; the newest (rank 1)
   also brings its note, the others none;
3. open promises;
4. problems still waiting for a first response.

All four are ordered by client id and streamed (``yield_per``, a server-side cursor on
PostgreSQL), then merged in Python one client at a time, so memory stays bounded however many
clients there are. Client id is the order of ``ix_interactions_client_recent``: the touches
stream comes out of the index scan and the window function already in that order, with no sort
of millions of rows (ordering by owner first spilled that sort to disk on large books).
Consume the iterator before committing the unit of work: a commit closes PostgreSQL's
server-side cursors.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any, Iterable, Iterator, Sequence

from sqlalchemy import ColumnElement, Result, Select, case, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from coaching.model import Problem, Promise, PromiseStatus, Purpose, Reason
from coaching.nudges import FOLLOW_UP_DAYS, TREND_DAYS, AnsweredProblem, ClientHistory, OpenPromise, Touch, WaitingProblem
from coaching.records import TouchRow
from storage.activity import IN_CHUNK, problem, promise
from storage.models import ClientRow, DealRow, InteractionRow, LedgerEntryRow, ProblemRow, PromiseRow
from storage.repositories import trust

PURPOSES = {purpose.value: purpose for purpose in Purpose}
SETBACKS = (Reason.PROMISE_BROKEN.value, Reason.HONESTY_BREACH.value, Reason.MISUNDERSTANDING.value)
Key = int  # client id: the order every stream arrives in


class _Stream:
    """One query's rows, grouped by client, consumed in step with the client stream. Every
    stream selects ``owner_id, client_id`` first."""

    def __init__(self, rows: Iterable[Any]) -> None:
        self._groups = groupby(rows, key=itemgetter(1))
        self._head = next(self._groups, None)

    def take(self, key: Key) -> list[Any]:
        # Groups before ``key`` belong to no listed client: the client changed owner or team
        # between two of the queries (each statement sees its own snapshot under READ
        # COMMITTED), so it was in scope for this query and not for the clients query. Skip them.
        while self._head is not None and self._head[0] < key:
            self._head = next(self._groups, None)
        if self._head is None or self._head[0] != key:
            return []
        rows = list(self._head[1])
        self._head = next(self._groups, None)
        return rows


def _problems(rows: list[Any], as_of: date) -> tuple[tuple[WaitingProblem, ...], tuple[AnsweredProblem, ...]]:
    """A client's unsolved problems as of ``as_of``: waiting for a first response, or answered."""
    waiting = tuple(WaitingProblem(r[2], r[3], r[4]) for r in rows if r[5] is None or r[5] > as_of)
    answered = tuple(AnsweredProblem(r[2], r[3], r[5]) for r in rows if r[5] is not None and r[5] <= as_of)
    return waiting, answered


def _note(note: str | None) -> str | None:
    """A touch's note as ``ClientHistory.last_note`` holds it: ``None`` when blank."""
    return note if note and note.strip() else None


class SqlHistoryRepository:
    def __init__(self, session: Session, batch_size: int = 10_000) -> None:
        self.session = session
        self.batch_size = batch_size

    def client_histories(
        self, workspace_id: str, as_of: date, *, rep_id: int | None = None,
        team_ids: Sequence[int] | None = None, touches_per_client: int = 12, window_days: int = 90,
        rep_ids: Sequence[int] | None = None,
    ) -> Iterator[ClientHistory]:
        """Clients of ``rep_id`` (their owner) and/or of ``team_ids``; all when both are None.
        Balance, setbacks, wins, promises made and problems raised count up to ``as_of``;
        ``balance_before`` is the balance as of ``as_of - TREND_DAYS`` (``None`` when the client
        had no ledger entry by then), ``last_note`` the note of the newest touch (``None`` when
        it is blank)."""
        if (team_ids is not None and not team_ids) or (rep_ids is not None and not rep_ids):
            return
        scope = self._scope(workspace_id, rep_id, team_ids, rep_ids)
        if self.session.get_bind().dialect.name == "postgresql":
            # The planner's cost for a whole workspace's scan crosses the JIT thresholds, and
            # compiling the expressions took longer than it saved (0.18 s of a 1 s query on a
            # million touches). For the rest of this transaction only.
            self.session.execute(text("SET LOCAL jit = off"))
        results = [
            self._stream(self._clients(workspace_id, as_of, scope, filtered=len(scope) > 1)),
            self._stream(self._touches(workspace_id, as_of, scope, touches_per_client, window_days)),
            self._stream(self._open_promises(workspace_id, as_of, scope)),
            self._stream(self._waiting_problems(workspace_id, as_of, scope)),
        ]
        try:
            clients, touches, promises, problems = results[0], *map(_Stream, results[1:])
            for owner_id, client_id, name, created_on, level, balance, before, setback, put_right, won in clients:
                key = client_id
                recent = touches.take(key)
                waiting, answered = _problems(problems.take(key), as_of)
                yield ClientHistory(
                    client_id, name, owner_id, created_on,
                    touches=tuple(Touch(t[2], PURPOSES[t[3]]) for t in recent),
                    open_promises=tuple(OpenPromise(*p[2:]) for p in promises.take(key)),
                    waiting_problems=waiting, answered_problems=answered,
                    last_won_on=won, last_setback_on=setback, last_put_right_on=put_right, trust_level=trust(level),
                    balance=int(balance or 0), balance_before=None if before is None else int(before),
                    last_note=_note(recent[0][4]) if recent else None,
                )
        finally:
            for result in results:
                result.close()

    def rep_touch_counts(
        self, workspace_id: str, as_of: date, recent_days: int, baseline_days: int
    ) -> dict[int, tuple[int, int]]:
        """Only reps with at least one touch in either period appear."""
        recent_start = as_of - timedelta(days=recent_days)  # recent: recent_start < on <= as_of
        baseline_start = recent_start - timedelta(days=baseline_days)
        i = InteractionRow
        stmt = select(
            i.rep_id,
            func.sum(case((i.occurred_on > recent_start, 1), else_=0)),
            func.sum(case((i.occurred_on <= recent_start, 1), else_=0)),
        ).where(
            i.workspace_id == workspace_id, i.voided.is_(False),
            i.occurred_on > baseline_start, i.occurred_on <= as_of,
        ).group_by(i.rep_id)
        return {rep: (int(recent), int(baseline)) for rep, recent, baseline in self.session.execute(stmt)}

    def touches_between(self, workspace_id: str, team_ids: Sequence[int], start: date, end: date) -> list[TouchRow]:
        """Oldest first; voided touches left out."""
        if not team_ids:
            return []
        i = InteractionRow
        stmt = select(i.rep_id, i.client_id, i.occurred_on, i.purpose, i.source).join(
            ClientRow, ClientRow.id == i.client_id
        ).where(
            i.workspace_id == workspace_id, i.voided.is_(False), i.occurred_on.between(start, end),
            *self._scope(workspace_id, None, team_ids),
        ).order_by(i.occurred_on, i.id)
        return [TouchRow(r.rep_id, r.client_id, r.occurred_on, Purpose(r.purpose), r.source)
                for r in self.session.execute(stmt)]

    def last_logged(self, workspace_id: str, rep_ids: Sequence[int], as_of: date) -> dict[int, date]:
        """One grouped read over ``ix_interactions_rep`` (workspace, rep, occurred_on)."""
        i = InteractionRow
        found: dict[int, date] = {}
        ids = sorted(set(rep_ids))
        for start in range(0, len(ids), IN_CHUNK):
            stmt = select(i.rep_id, func.max(i.occurred_on)).where(
                i.workspace_id == workspace_id, i.rep_id.in_(ids[start:start + IN_CHUNK]),
                i.voided.is_(False), i.occurred_on <= as_of,
            ).group_by(i.rep_id)
            found.update({rep: day for rep, day in self.session.execute(stmt)})
        return found

    def promises_closed_between(self, workspace_id: str, team_ids: Sequence[int], start: date, end: date) -> list[Promise]:
        """By closing date."""
        if not team_ids:
            return []
        p = PromiseRow
        stmt = select(p).join(ClientRow, ClientRow.id == p.client_id).where(
            p.workspace_id == workspace_id, p.status != PromiseStatus.OPEN.value,
            p.closed_on.between(start, end), *self._scope(workspace_id, None, team_ids),
        ).order_by(p.closed_on, p.id)
        return [promise(row) for row in self.session.scalars(stmt)]

    def problems_raised_between(self, workspace_id: str, team_ids: Sequence[int], start: date, end: date) -> list[Problem]:
        """By the day raised."""
        if not team_ids:
            return []
        p = ProblemRow
        stmt = select(p).join(ClientRow, ClientRow.id == p.client_id).where(
            p.workspace_id == workspace_id, p.raised_on.between(start, end),
            *self._scope(workspace_id, None, team_ids),
        ).order_by(p.raised_on, p.id)
        return [problem(row) for row in self.session.scalars(stmt)]

    def owner_balances(self, workspace_id: str, team_ids: Sequence[int], dates: Sequence[date]) -> dict[int, list[int]]:
        """One aggregate over the teams' ledger: a conditional sum per requested date."""
        if not team_ids or not dates:
            return {}
        c, le = ClientRow, LedgerEntryRow
        sums = [func.coalesce(func.sum(case((le.occurred_on <= d, le.amount), else_=0)), 0) for d in dates]
        stmt = select(c.owner_id, *sums).select_from(c).outerjoin(
            le, (le.client_id == c.id) & (le.workspace_id == workspace_id)
        ).where(*self._scope(workspace_id, None, team_ids)).group_by(c.owner_id)
        return {row[0]: [int(v) for v in row[1:]] for row in self.session.execute(stmt)}

    # -- the four streams of client_histories ------------------------------------------------

    @staticmethod
    def _scope(workspace_id: str, rep_id: int | None, team_ids: Sequence[int] | None,
               rep_ids: Sequence[int] | None = None) -> list[ColumnElement[bool]]:
        """Conditions on ``clients`` picking the clients asked for."""
        scope = [ClientRow.workspace_id == workspace_id]
        if rep_id is not None:
            scope.append(ClientRow.owner_id == rep_id)
        if rep_ids is not None:  # the reps due in one scheduler batch: a few hundred at most
            scope.append(ClientRow.owner_id.in_(sorted(set(rep_ids))))
        if team_ids is not None:
            scope.append(ClientRow.team_id.in_(list(team_ids)))
        return scope

    def _stream(self, stmt: Select[Any]) -> Result[Any]:
        # Core, not ORM, execution: these are plain tuples, and the ORM's row processing
        # would cost more than the queries themselves.
        return self.session.connection().execute(stmt, execution_options={"yield_per": self.batch_size})

    @staticmethod
    def _clients(workspace_id: str, as_of: date, scope: list[ColumnElement[bool]], filtered: bool) -> Select[Any]:
        c, le, d = ClientRow, LedgerEntryRow, DealRow
        before = as_of - timedelta(days=TREND_DAYS)
        ledger = select(
            le.client_id,
            func.sum(le.amount).label("balance"),
            # No ELSE: the CASE is NULL for later entries, and SUM of nothing but NULLs is NULL,
            # so a client without entries by then gets None, not 0 (entries summing to 0 give 0).
            func.sum(case((le.occurred_on <= before, le.amount))).label("balance_before"),
            func.max(case((le.reason.in_(SETBACKS), le.occurred_on))).label("last_setback_on"),
            func.max(case((le.reason == Reason.PUT_RIGHT.value, le.occurred_on))).label("last_put_right_on"),
        ).where(le.workspace_id == workspace_id, le.occurred_on <= as_of).group_by(le.client_id)
        deals = select(d.client_id, func.max(d.won_on).label("last_won_on")).where(
            d.workspace_id == workspace_id, d.won_on <= as_of).group_by(d.client_id)
        if filtered:  # aggregate only the clients asked for, not the whole workspace
            chosen = select(c.id).where(*scope)
            ledger = ledger.where(le.client_id.in_(chosen))
            deals = deals.where(d.client_id.in_(chosen))
        ledger_sq, deals_sq = ledger.subquery("ledger"), deals.subquery("deals")
        return select(
            c.owner_id, c.id, c.name, c.created_on, c.trust_level,
            ledger_sq.c.balance, ledger_sq.c.balance_before, ledger_sq.c.last_setback_on,
            ledger_sq.c.last_put_right_on, deals_sq.c.last_won_on,
        ).outerjoin(ledger_sq, ledger_sq.c.client_id == c.id).outerjoin(
            deals_sq, deals_sq.c.client_id == c.id
        ).where(*scope).order_by(c.id)

    @staticmethod
    def _touches(
        workspace_id: str, as_of: date, scope: list[ColumnElement[bool]], limit: int, window_days: int,
    ) -> Select[Any]:
        # The ranking reads only columns of ix_interactions_client_recent (an index-only scan);
        # the newest touch's note is then looked up by id, one row per client, not per touch.
        i = InteractionRow
        rank = func.row_number().over(partition_by=i.client_id, order_by=(i.occurred_on.desc(), i.id.desc()))
        ranked = select(
            ClientRow.owner_id, i.client_id, i.id, i.occurred_on, i.purpose, rank.label("rank"),
        ).join(ClientRow, ClientRow.id == i.client_id).where(
            i.workspace_id == workspace_id, i.voided.is_(False), i.occurred_on <= as_of, *scope,
        ).subquery("ranked")
        window_start = as_of - timedelta(days=window_days)
        noted = aliased(InteractionRow, name="noted")
        note = select(noted.note).where(noted.id == ranked.c.id).scalar_subquery()
        newest_note = case((ranked.c.rank == 1, note))  # evaluated for rank 1 only
        return select(
            ranked.c.owner_id, ranked.c.client_id, ranked.c.occurred_on, ranked.c.purpose, newest_note,
        ).where(
            or_(ranked.c.rank <= limit, ranked.c.occurred_on > window_start)
        ).order_by(ranked.c.client_id, ranked.c.occurred_on.desc(), ranked.c.id.desc())

    @staticmethod
    def _open_promises(workspace_id: str, as_of: date, scope: list[ColumnElement[bool]]) -> Select[Any]:
        p = PromiseRow
        return select(ClientRow.owner_id, p.client_id, p.id, p.text, p.due_on).join(
            ClientRow, ClientRow.id == p.client_id
        ).where(  # open as of that day: still open, or closed only after it
            p.workspace_id == workspace_id,
            or_(p.status == PromiseStatus.OPEN.value, p.closed_on > as_of),
            p.made_on <= as_of, *scope,
        ).order_by(p.client_id, p.due_on, p.id)

    @staticmethod
    def _waiting_problems(workspace_id: str, as_of: date, scope: list[ColumnElement[bool]]) -> Select[Any]:
        p = ProblemRow
        # As of that day: still waiting for a first response, or answered lately and not solved.
        recent = as_of - timedelta(days=FOLLOW_UP_DAYS)
        return select(ClientRow.owner_id, p.client_id, p.id, p.text, p.raised_on, p.first_response_on).join(
            ClientRow, ClientRow.id == p.client_id
        ).where(
            p.workspace_id == workspace_id, p.raised_on <= as_of,
            or_(p.resolved_on.is_(None), p.resolved_on > as_of),
            or_(p.first_response_on.is_(None), p.first_response_on > recent), *scope,
        ).order_by(p.client_id, p.raised_on, p.id)
