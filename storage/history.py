"""Set-based reads for the daily nudge scan and team health.

``client_histories`` answers from the per-client summaries (:mod:`storage.summaries`) when it
can: one ``client_summaries`` row per client joined to ``clients``, with two more streams, the
open promises and the problems still waiting or lately answered. A client whose summary cannot
answer for the day asked (none kept yet, or it holds a later day) is read in full beside them;
when they are many (a past day, as team health's previous period asks), every client is read in
full, with four queries whatever the number of clients:

1. clients, each with its balance, its balance ``TREND_DAYS`` earlier, last setback (all three
   from one pass over the ledger) and last won deal, as LEFT JOINs on aggregated subqueries;
2. recent touches: ``ROW_NUMBER() OVER (PARTITION BY client_id ORDER BY occurred_on DESC, id
   DESC)`` keeps the latest N per client plus every touch in the window; the newest (rank 1)
   also brings its note, the others none;
3. open promises;
4. problems still waiting for a first response.

With quiet days asked for (the nudge run), the summaries of clients kept quiet on the day are
left unread (:mod:`storage.quiet_days`).

All streams are ordered by client id and streamed (``yield_per``, a server-side cursor on
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

from sqlalchemy import ColumnElement, Result, Select, case, func, or_, select, text, union_all
from sqlalchemy.orm import Session

from coaching.model import PromiseStatus, Reason
from coaching.nudges import FOLLOW_UP_DAYS, TREND_DAYS, ClientHistory, OpenPromise, Touch
from coaching.rules import Nudging
from storage import quiet_days, summaries, summary_decoder
from storage.activity import IN_CHUNK
from storage.period_reads import PeriodReads
from storage.models import ClientRow, ClientSummaryRow, DealRow, InteractionRow, LedgerEntryRow, ProblemRow, PromiseRow
from storage.repositories import trust
from storage.summary_decoder import PURPOSES, Decoder, note, problems

SETBACKS = (Reason.PROMISE_BROKEN.value, Reason.HONESTY_BREACH.value, Reason.MISUNDERSTANDING.value)
Key = int  # client id: the order every stream arrives in
# Core tables, not the ORM's classes: a statement naming a mapped class is compiled through the
# ORM's plugin, about twice the work, and a fresh process compiles each of these once
CLIENTS, SUMMARIES, DEALS, TOUCHES, LEDGER, PROBLEMS, PROMISES = (row.__table__ for row in (
    ClientRow, ClientSummaryRow, DealRow, InteractionRow, LedgerEntryRow, ProblemRow, PromiseRow))
STALE_MAX = 200  # clients read in full beside the summaries; beyond this and a quarter of the
# clients in scope, all are read in full (a past day: one full read beats many small ones)


class _Stream:
    """One query's rows, grouped by client, consumed in step with the client stream. Every
    stream selects ``owner_id, client_id`` first."""

    def __init__(self, rows: Iterable[Any], passed: list[Key] | None = None) -> None:
        self._groups = groupby(rows, key=itemgetter(1))
        self._head = next(self._groups, None)
        self.passed = passed  # when a list, the clients of the groups skipped go there

    def take(self, key: Key) -> list[Any]:
        # Groups before ``key`` belong to no listed client: the client changed owner or team
        # between two of the queries (each statement sees its own snapshot under READ
        # COMMITTED), so it was in scope for this query and not for the clients query; or the
        # clients query left it out as quiet. Skip them (noting them, when asked).
        while self._head is not None and self._head[0] < key:
            self._skip()
        if self._head is None or self._head[0] != key:
            return []
        rows = list(self._head[1])
        self._head = next(self._groups, None)
        return rows

    def finish(self) -> None:
        """Skip the groups left."""
        while self._head is not None:
            self._skip()

    def _skip(self) -> None:
        if self.passed is not None:
            self.passed.append(self._head[0])  # type: ignore[index]
        self._head = next(self._groups, None)


class SqlHistoryRepository(PeriodReads):
    def __init__(self, session: Session, batch_size: int = 10_000) -> None:
        self.session = session
        self.batch_size = batch_size

    def client_histories(
        self, workspace_id: str, as_of: date, *, rep_id: int | None = None,
        team_ids: Sequence[int] | None = None, touches_per_client: int = 12, window_days: int = 90,
        rep_ids: Sequence[int] | None = None, quiet_for: Nudging | None = None,
    ) -> Iterator[ClientHistory]:
        """Clients of ``rep_id`` (their owner) and/or of ``team_ids``; all when both are None.
        Balance, setbacks, wins, promises made and problems raised count up to ``as_of``;
        ``balance_before`` is the balance as of ``as_of - TREND_DAYS`` (``None`` when the client
        had no ledger entry by then), ``last_note`` the note of the newest touch (``None`` when
        it is blank). With ``quiet_for``, the clients whose quiet days under those rules hold
        ``as_of`` are left out (:mod:`storage.quiet_days`)."""
        if (team_ids is not None and not team_ids) or (rep_ids is not None and not rep_ids):
            return
        scope = self._scope(workspace_id, rep_id, team_ids, rep_ids)
        if self.session.get_bind().dialect.name == "postgresql":
            # The planner's cost for a whole workspace's scan crosses the JIT thresholds, and
            # compiling the expressions took longer than it saved (0.18 s of a 1 s query on a
            # million touches). For the rest of this transaction only.
            self.session.execute(text("SET LOCAL jit = off"))
        if touches_per_client <= summaries.KEPT_TOUCHES and window_days <= summaries.WINDOW_DAYS:
            stale = self._stale(as_of, scope)
            if stale is not None:
                quiet = None if quiet_for is None else quiet_days.key(quiet_for, touches_per_client, window_days)
                yield from self._summarised(workspace_id, as_of, scope, stale, touches_per_client, window_days, quiet)
                return
        yield from self._full(workspace_id, as_of, scope, touches_per_client, window_days)

    def keep_quiet_days(self, workspace_id: str, day: date, rules: Nudging, after: int = 0) -> tuple[int | None, int]:
        return quiet_days.keep(self.session, workspace_id, day, rules, after)

    def _stale(self, as_of: date, scope: list[ColumnElement[bool]]) -> list[int] | None:
        """The clients in scope whose summary cannot answer for ``as_of`` (none kept, or it
        holds a later day); None when they are too many for the summaries to be worth reading."""
        c, s = CLIENTS.c, SUMMARIES.c
        unusable = select(c.id).outerjoin(SUMMARIES, s.client_id == c.id).where(
            *scope, s.client_id.is_(None) | (s.through_on > as_of))
        stale = list(self.session.scalars(unusable.limit(STALE_MAX + 1)))  # the usual case: none, or a few
        if len(stale) <= STALE_MAX:
            return stale
        total = self.session.scalar(select(func.count()).select_from(CLIENTS).where(*scope)) or 0
        stale = list(self.session.scalars(unusable))
        return None if len(stale) > total // 4 else stale

    def _summarised(self, workspace_id: str, as_of: date, scope: list[ColumnElement[bool]], stale: list[int],
                    limit: int, window_days: int, quiet: str | None) -> Iterator[ClientHistory]:
        """One ``client_summaries`` row per client, with its open promises and problems; the
        clients in ``stale`` read in full. With ``quiet`` (a key of :mod:`storage.quiet_days`),
        the clients quiet on ``as_of`` are left out, and then read in full after the others
        should a promise or a problem stream name one (a write that did not clear its days)."""
        fallback: dict[int, ClientHistory] = {}
        for start in range(0, len(stale), IN_CHUNK):
            part = [*scope, CLIENTS.c.id.in_(stale[start:start + IN_CHUNK])]
            fallback.update((h.client_id, h) for h in self._full(workspace_id, as_of, part, limit, window_days))
        rows = select(*summary_decoder.columns()).outerjoin(
            SUMMARIES, SUMMARIES.c.client_id == CLIENTS.c.id).where(*scope).order_by(CLIENTS.c.id)
        passed: list[int] | None = None if quiet is None else []
        if quiet is not None:
            rows = rows.where(quiet_days.unread(as_of, quiet))
        results = [self._stream(rows), self._stream(self._open_promises(workspace_id, as_of, scope)),
                   self._stream(self._waiting_problems(workspace_id, as_of, scope))]
        decode = Decoder(as_of, limit, window_days)
        try:
            clients, promises, problem_rows = results[0], _Stream(results[1], passed), _Stream(results[2], passed)
            for row in clients:
                client_id = row[1]
                open_promises, waiting_rows = promises.take(client_id), problem_rows.take(client_id)
                history = fallback.pop(client_id, None)
                yield history if history is not None else decode(row, open_promises, waiting_rows)
            promises.finish()
            problem_rows.finish()
        finally:
            for result in results:
                result.close()
        if quiet is not None:  # none of these unless a write left stored quiet days behind
            yield from fallback.values()
            yield from self._again(workspace_id, as_of, scope, sorted(set(passed or ()) - set(fallback)), limit, window_days)

    def _again(self, workspace_id: str, as_of: date, scope: list[ColumnElement[bool]], ids: list[int], limit: int,
               window_days: int) -> Iterator[ClientHistory]:
        for start in range(0, len(ids), IN_CHUNK):
            yield from self._full(workspace_id, as_of, [*scope, CLIENTS.c.id.in_(ids[start:start + IN_CHUNK])],
                                  limit, window_days)

    def _full(self, workspace_id: str, as_of: date, scope: list[ColumnElement[bool]], touches_per_client: int,
              window_days: int) -> Iterator[ClientHistory]:
        """Every client in scope from the tables of record (ranking its touches, summing its
        ledger): a day before the summaries' (a past period), or no summaries yet."""
        results = [
            self._stream(self._clients(workspace_id, as_of, scope, filtered=len(scope) > 1)),
            self._stream(self._touches(workspace_id, as_of, scope, touches_per_client, window_days)),
            self._stream(self._open_promises(workspace_id, as_of, scope)),
            self._stream(self._waiting_problems(workspace_id, as_of, scope)),
        ]
        try:
            clients, touches, promises, problem_rows = results[0], *map(_Stream, results[1:])
            for owner_id, client_id, name, created_on, level, balance, before, setback, put_right, won in clients:
                key = client_id
                recent = touches.take(key)
                waiting, answered = problems(problem_rows.take(key), as_of)
                yield ClientHistory(
                    client_id, name, owner_id, created_on,
                    touches=tuple(Touch(t[2], PURPOSES[t[3]]) for t in recent),
                    open_promises=tuple(OpenPromise(*p[2:]) for p in promises.take(key)),
                    waiting_problems=waiting, answered_problems=answered,
                    last_won_on=won, last_setback_on=setback, last_put_right_on=put_right, trust_level=trust(level),
                    balance=int(balance or 0), balance_before=None if before is None else int(before),
                    last_note=note(recent[0][4]) if recent else None,
                )
        finally:
            for result in results:
                result.close()

    # -- the four streams of client_histories ------------------------------------------------

    def _stream(self, stmt: Select[Any]) -> Result[Any]:
        # Core, not ORM, execution: these are plain tuples, and the ORM's row processing
        # would cost more than the queries themselves.
        return self.session.connection().execute(stmt, execution_options={"yield_per": self.batch_size})

    @staticmethod
    def _clients(workspace_id: str, as_of: date, scope: list[ColumnElement[bool]], filtered: bool) -> Select[Any]:
        c, le, d = CLIENTS.c, LEDGER.c, DEALS.c
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
        i, c = TOUCHES.c, CLIENTS.c
        rank = func.row_number().over(partition_by=i.client_id, order_by=(i.occurred_on.desc(), i.id.desc()))
        ranked = select(
            c.owner_id, i.client_id, i.id, i.occurred_on, i.purpose, rank.label("rank"),
        ).join(CLIENTS, c.id == i.client_id).where(
            i.workspace_id == workspace_id, i.voided.is_(False), i.occurred_on <= as_of, *scope,
        ).subquery("ranked")
        window_start = as_of - timedelta(days=window_days)
        noted = TOUCHES.alias("noted")
        note = select(noted.c.note).where(noted.c.id == ranked.c.id).scalar_subquery()
        newest_note = case((ranked.c.rank == 1, note))  # evaluated for rank 1 only
        return select(
            ranked.c.owner_id, ranked.c.client_id, ranked.c.occurred_on, ranked.c.purpose, newest_note,
        ).where(
            or_(ranked.c.rank <= limit, ranked.c.occurred_on > window_start)
        ).order_by(ranked.c.client_id, ranked.c.occurred_on.desc(), ranked.c.id.desc())

    @staticmethod
    def _open_promises(workspace_id: str, as_of: date, scope: list[ColumnElement[bool]]) -> Select[Any]:
        # Open as of that day: still open, or closed only after it. Two index ranges
        # (ix_promises_status_due, ix_promises_closed), not one scan of every promise.
        p, c = PROMISES.c, CLIENTS.c
        parts = [select(c.owner_id, p.client_id, p.id, p.text, p.due_on).join(
            CLIENTS, c.id == p.client_id,
        ).where(p.workspace_id == workspace_id, p.made_on <= as_of, which, *scope)
            for which in (p.status == PromiseStatus.OPEN.value, (p.status != PromiseStatus.OPEN.value) & (p.closed_on > as_of))]
        both = union_all(*parts).subquery("open_promises")
        return select(*both.c).order_by(both.c.client_id, both.c.due_on, both.c.id)

    @staticmethod
    def _waiting_problems(workspace_id: str, as_of: date, scope: list[ColumnElement[bool]]) -> Select[Any]:
        # As of that day: still waiting for a first response, or answered lately and not solved.
        # Two ranges of ix_problems_waiting (no response; a response since ``recent``); those
        # raised after that day are left out by _problems (in SQL, the condition would lead
        # SQLite's planner to walk ix_problems_raised back to the first day instead).
        p, c = PROBLEMS.c, CLIENTS.c
        recent = as_of - timedelta(days=FOLLOW_UP_DAYS)
        parts = [select(c.owner_id, p.client_id, p.id, p.text, p.raised_on, p.first_response_on).join(
            CLIENTS, c.id == p.client_id,
        ).where(p.workspace_id == workspace_id, which, or_(p.resolved_on.is_(None), p.resolved_on > as_of), *scope)
            for which in (p.first_response_on.is_(None), p.first_response_on > recent)]
        both = union_all(*parts).subquery("waiting_problems")
        return select(*both.c).order_by(both.c.client_id, both.c.raised_on, both.c.id)
