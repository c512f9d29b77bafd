"""Set-based reads: client histories, rep touch counts, team-health windows."""

from __future__ import annotations

from datetime import date
from typing import Any, Callable

import pytest
from sqlalchemy import event

from coaching.model import EntryDraft, InteractionDraft, Kind, PromiseStatus, Purpose, Reason, TrustLevel
from coaching.nudges import ClientHistory, OpenPromise, Touch, WaitingProblem
from coaching.records import TouchRow
from storage.history import SqlHistoryRepository
from storage.uow import SqlAlchemyUnitOfWork
from tests.storage.world import World, build_world, touch

UowFactory = Callable[[], SqlAlchemyUnitOfWork]
AS_OF = date(2024, 6, 30)
G, A, S = Purpose.GIVE, Purpose.ASK, Purpose.SERVICE


def d(month: int, day: int) -> date:
    return date(2024, month, day)


def _entry(uow: SqlAlchemyUnitOfWork, world: World, amount: int, reason: Reason, on: date) -> None:
    uow.ledger.add(world.workspace_id, EntryDraft(
        world.acme.id, world.ann.id, amount, reason, on, key=f"{reason.value}:{on}"))


@pytest.fixture
def world(uow_factory: UowFactory) -> World:
    """Acme (Ann's) has a rich past; Beta (Ann's) none; Corp (Bob's) one touch."""
    with uow_factory() as uow:
        world = build_world(uow)
        ws, acme = world.workspace_id, world.acme
        for on, purpose in [(d(1, 10), A), (d(2, 10), G), (d(4, 10), G), (d(4, 10), A),
                            (d(5, 31), G), (d(6, 5), G), (d(6, 20), A), (d(6, 25), S),
                            (d(7, 5), G)]:  # the last is after as_of
            touch(uow, world, acme, on, purpose)
        uow.interactions.void(ws, touch(uow, world, acme, d(6, 28)))
        touch(uow, world, world.corp, d(6, 1), A, rep=world.bob)

        promise = uow.promises.add
        promise(ws, acme.id, world.ann.id, None, "send deck", d(6, 20), d(7, 2))
        overdue = promise(ws, acme.id, world.ann.id, None, "call back", d(5, 1), d(6, 1))
        kept = promise(ws, acme.id, world.ann.id, None, "quote", d(5, 1), d(5, 5))
        uow.promises.close(ws, kept.id, PromiseStatus.KEPT, d(5, 4))
        promise(ws, acme.id, world.ann.id, None, "made later", d(7, 1), d(7, 9))
        assert overdue.id

        problem = uow.problems.add
        problem(ws, acme.id, world.ann.id, None, "invoice wrong", d(6, 10))
        problem(ws, acme.id, world.ann.id, None, "answered", d(6, 1), first_response_on=d(6, 2))
        problem(ws, acme.id, world.ann.id, None, "raised later", d(7, 2))

        for on in (d(3, 1), d(5, 15), d(7, 10)):
            uow.deals.add(ws, acme.id, world.ann.id, None, on, "won")
        _entry(uow, world, 3, Reason.GIVE_TOUCH, d(6, 5))
        _entry(uow, world, -10, Reason.PROMISE_BROKEN, d(4, 1))
        _entry(uow, world, -5, Reason.HONESTY_BREACH, d(2, 1))
        _entry(uow, world, 2, Reason.GIVE_TOUCH, d(7, 3))  # after as_of
        _entry(uow, world, -10, Reason.PROMISE_BROKEN, d(7, 2))  # after as_of
        uow.ledger.add(ws, EntryDraft(world.corp.id, world.bob.id, 1, Reason.ASK_TOUCH, d(6, 1), "corp"))
        uow.clients.set_trust(ws, acme.id, TrustLevel.WHOLE_BUSINESS, d(6, 1), None, None)
        uow.commit()
    return world


def test_client_histories(uow_factory: UowFactory, world: World) -> None:
    with uow_factory() as uow:
        histories = list(uow.histories.client_histories("w1", AS_OF, touches_per_client=2, window_days=30))
    corp, acme, beta = histories
    assert [h.client_id for h in histories] == [world.corp.id, world.acme.id, world.beta.id]  # by client id
    # The latest two, plus everything after 31 May; voided and future touches left out.
    assert acme.touches == (Touch(d(6, 25), S), Touch(d(6, 20), A), Touch(d(6, 5), G))
    assert acme.last_touch == d(6, 25)
    [call_back, send_deck] = acme.open_promises
    assert (call_back.text, call_back.due_on) == ("call back", d(6, 1))
    assert send_deck == OpenPromise(send_deck.id, "send deck", d(7, 2))
    assert [(p.text, p.raised_on) for p in acme.waiting_problems] == [("invoice wrong", d(6, 10))]
    assert isinstance(acme.waiting_problems[0], WaitingProblem)
    assert (acme.last_won_on, acme.last_setback_on) == (d(5, 15), d(4, 1))
    assert (acme.balance, acme.trust_level) == (-12, TrustLevel.WHOLE_BUSINESS)
    assert (acme.client_name, acme.owner_id, acme.created_on) == ("Acme", world.ann.id, world.acme.created_on)
    assert beta == ClientHistory(world.beta.id, "Beta", world.ann.id, world.beta.created_on)
    assert (corp.touches, corp.balance, corp.owner_id) == ((Touch(d(6, 1), A),), 1, world.bob.id)


def test_touch_limit_beyond_the_window_breaks_ties_by_id(uow_factory: UowFactory, world: World) -> None:
    with uow_factory() as uow:
        acme = next(h for h in uow.histories.client_histories("w1", AS_OF, touches_per_client=6, window_days=30)
                    if h.client_id == world.acme.id)
    assert acme.touches == (Touch(d(6, 25), S), Touch(d(6, 20), A), Touch(d(6, 5), G),
                            Touch(d(5, 31), G), Touch(d(4, 10), A), Touch(d(4, 10), G))


def test_an_earlier_as_of_sees_an_earlier_past(uow_factory: UowFactory, world: World) -> None:
    with uow_factory() as uow:
        acme = next(h for h in uow.histories.client_histories("w1", d(3, 15), window_days=0) if h.client_id == world.acme.id)
    assert acme.touches == (Touch(d(2, 10), G), Touch(d(1, 10), A))
    assert (acme.balance, acme.last_setback_on, acme.last_won_on) == (-5, d(2, 1), d(3, 1))
    assert (acme.open_promises, acme.waiting_problems) == ((), ())


def test_filters(uow_factory: UowFactory, world: World) -> None:
    def ids(**filters: object) -> list[int]:
        with uow_factory() as uow:
            return [h.client_id for h in uow.histories.client_histories("w1", AS_OF, **filters)]

    assert ids(rep_id=world.ann.id) == [world.acme.id, world.beta.id]
    assert ids(rep_id=world.meg.id) == []
    assert ids(team_ids=[world.south.id]) == [world.corp.id]
    assert ids(team_ids=[world.south.id, world.north.id]) == [world.corp.id, world.acme.id, world.beta.id]
    assert ids(team_ids=[]) == []
    assert ids(rep_id=world.bob.id, team_ids=[world.north.id]) == []
    with uow_factory() as uow:
        [corp] = uow.histories.client_histories("w1", AS_OF, team_ids=[world.south.id])
        filtered_acme = next(uow.histories.client_histories("w1", AS_OF, rep_id=world.ann.id))
    assert corp.balance == 1 and corp.touches == (Touch(d(6, 1), A),)
    assert filtered_acme.balance == -12 and filtered_acme.last_won_on == d(5, 15)


def test_a_few_queries_however_many_clients(uow_factory: UowFactory, world: World) -> None:
    with uow_factory() as uow:
        for n in range(30):
            client = uow.clients.add("w1", f"Extra {n}", world.north.id, world.ann.id, d(1, 1))
            touch(uow, world, client, d(6, 1 + n % 28))
        noted = uow.interactions.add("w1", world.ann.id, InteractionDraft(
            world.acme.id, AS_OF, Kind.EMAIL, G, note="sent the quote"))
        assert noted is not None
        uow.commit()
        statements: list[str] = []
        engine = uow.session.get_bind()
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            # Small batches: the merge must survive streams that arrive in many fetches.
            histories = list(SqlHistoryRepository(uow.session, batch_size=2).client_histories("w1", AS_OF))
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    assert len(histories) == 33
    # Which clients the summaries cannot answer for (Acme's holds July, after as_of), the three
    # summary streams, and Acme's full read (four more): eight, however many clients there are.
    assert len([s for s in statements if not s.startswith("SET ")]) == 8  # PostgreSQL also turns JIT off
    extras = [h for h in histories if h.client_name.startswith("Extra")]
    assert all(len(h.touches) == 1 for h in extras)
    acme = next(h for h in histories if h.client_id == world.acme.id)
    assert acme.balance == -12
    # balance_before and last_note ride on the same four queries.
    assert (acme.balance_before, acme.last_note) == (-15, "sent the quote")  # entries up to 2 June
    corp = next(h for h in histories if h.client_id == world.corp.id)
    assert (corp.balance_before, corp.last_note) == (1, None)
    assert all(h.balance_before is None and h.last_note is None for h in extras)


def test_rep_touch_counts(uow_factory: UowFactory, world: World) -> None:
    with uow_factory() as uow:
        # recent: 17-30 June; baseline: 20 May - 16 June. Voided and future touches never count.
        counts = uow.histories.rep_touch_counts("w1", AS_OF, recent_days=14, baseline_days=28)
    assert counts == {world.ann.id: (2, 2), world.bob.id: (0, 1)}


def test_rep_touch_counts_read_ranges_of_the_rep_index_alone(uow_factory: UowFactory, world: World) -> None:
    """Each rep's two counts are ranges of ix_interactions_rep read from the index alone, never a
    scan of the workspace's touches: what they read grows with the periods, not the history.
    Shown by SQLite's plan; PostgreSQL's planner prices a table this small by other means (it
    took the same index-only ranges at L, BENCHMARKS.md), so the plan is checked on SQLite."""
    statements: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append((statement, parameters))

    with uow_factory() as uow:
        engine = uow.session.get_bind()
        if engine.dialect.name != "sqlite":
            pytest.skip("the plan is checked where a small table gives the plan a large one gets")
        event.listen(engine, "before_cursor_execute", keep)
        try:
            uow.histories.rep_touch_counts("w1", AS_OF, recent_days=14, baseline_days=28)
        finally:
            event.remove(engine, "before_cursor_execute", keep)
        statement, parameters = statements[-1]
        cursor = uow.session.connection().connection.driver_connection.cursor()
        plan = [row[3] for row in cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()]
    reads = [line for line in plan if "interactions" in line]
    assert len(reads) == 2 and all("USING COVERING INDEX ix_interactions_rep" in line for line in reads), plan


def test_team_windows(uow_factory: UowFactory, world: World) -> None:
    with uow_factory() as uow:
        north = uow.histories.touches_between("w1", [world.north.id], d(6, 5), d(6, 28))
        assert north == [TouchRow(world.ann.id, world.acme.id, d(6, 5), G),
                         TouchRow(world.ann.id, world.acme.id, d(6, 20), A),
                         TouchRow(world.ann.id, world.acme.id, d(6, 25), S)]
        assert uow.histories.touches_between("w1", [world.south.id], d(6, 1), d(6, 1)) == [
            TouchRow(world.bob.id, world.corp.id, d(6, 1), A)]
        assert uow.histories.touches_between("w1", [], d(1, 1), d(12, 31)) == []

        closed = uow.histories.promises_closed_between("w1", [world.north.id], d(5, 1), d(5, 31))
        assert [(p.text, p.status, p.closed_on) for p in closed] == [("quote", PromiseStatus.KEPT, d(5, 4))]
        assert uow.histories.promises_closed_between("w1", [world.south.id], d(5, 1), d(5, 31)) == []

        raised = uow.histories.problems_raised_between("w1", [world.north.id], d(6, 1), d(6, 30))
        assert [p.text for p in raised] == ["answered", "invoice wrong"]
        assert uow.histories.problems_raised_between("w1", [world.south.id], d(6, 1), d(6, 30)) == []


def test_writing_while_streaming_histories(uow_factory: UowFactory, world: World) -> None:
    """The daily run's shape: read histories and append ledger entries as it goes, then
    commit once the iterator is exhausted."""
    with uow_factory() as uow:
        seen = []
        for history in SqlHistoryRepository(uow.session, batch_size=1).client_histories("w1", AS_OF):
            seen.append(history.client_id)
            uow.ledger.add("w1", EntryDraft(history.client_id, history.owner_id, -1, Reason.SILENCE,
                                            AS_OF, key=f"silence:{history.client_id}"))
        uow.commit()
    with uow_factory() as uow:
        assert seen == [world.corp.id, world.acme.id, world.beta.id]
        # -12 up to as_of, +2 and -10 after it, -1 now.
        assert uow.ledger.balances("w1", seen) == {world.acme.id: -21, world.beta.id: -1, world.corp.id: 0}


def test_the_summaries_alone_answer_a_day_after_everything(uow_factory: UowFactory, world: World) -> None:
    """A day on or after every record: the stale check and the three summary streams, nothing more."""
    with uow_factory() as uow:
        engine, statements = uow.session.get_bind(), []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            histories = list(uow.histories.client_histories("w1", d(7, 31)))
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    assert len([s for s in statements if not s.startswith("SET ")]) == 4
    assert not any("row_number" in s.lower() for s in statements)  # no touch was ranked
    acme = next(h for h in histories if h.client_id == world.acme.id)
    assert acme.last_touch == d(7, 5) and acme.balance == -20 and acme.last_won_on == d(7, 10)


def test_the_nudge_runs_statements_are_compiled_without_the_orm(uow_factory: UowFactory, world: World) -> None:
    """The morning run's reads name tables, not mapped classes: a statement naming one is
    compiled through the ORM's plugin, about twice the work, and a fresh process compiles each
    of them once (docs/performance.md). Both paths: the summaries, and every client read in full."""
    from coaching import daily
    from coaching.rules import DEFAULT_RULES

    executed: list[Any] = []

    def keep(conn, clauseelement, multiparams, params, execution_options) -> None:
        executed.append(clauseelement)

    for day in (AS_OF, date(2024, 3, 1)):  # today's summaries; a past day, read in full
        with uow_factory() as uow:
            engine = uow.session.get_bind()
            event.listen(engine, "before_execute", keep)
            try:
                list(daily.nudges(uow, world.workspace_id, day, DEFAULT_RULES))
            finally:
                event.remove(engine, "before_execute", keep)
    selects = [s for s in executed if getattr(s, "is_select", False)]
    assert len(selects) >= 8, selects
    assert [str(s)[:80] for s in selects if s._propagate_attrs.get("compile_state_plugin") == "orm"] == []
