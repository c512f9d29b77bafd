"""Quiet days (storage.quiet_days): a nudge run that leaves the quiet clients unread raises what
a run reading every client raises, on every day the days were kept for and after, whatever is
written meanwhile, on both databases."""

from __future__ import annotations

import random
import threading
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy import event, insert, select, update

from coaching.jobs import UPKEEP, ScheduledJobs
from coaching.model import Client, EntryDraft, InteractionDraft, Kind, PromiseStatus, Purpose, Reason
from coaching import daily, nudges
from coaching.nudges import detect
from coaching.rules import DEFAULT_RULES as RULES
from coaching.schedule import Schedule
from storage import quiet_days, summaries, summary_decoder
from storage.models import ClientSummaryRow, InteractionRow, ProblemRow, PromiseRow
from storage.uow import SqlAlchemyUnitOfWork
from tests.storage.world import World, build_world

UowFactory = Callable[[], SqlAlchemyUnitOfWork]
TODAY = date(2024, 6, 30)
PURPOSES = [Purpose.GIVE, Purpose.ASK, Purpose.ASK, Purpose.SERVICE, Purpose.CONTACT]


def _touch(uow: SqlAlchemyUnitOfWork, world: World, client: Client, on: date, purpose: Purpose) -> None:
    uow.interactions.add(world.workspace_id, client.owner_id, InteractionDraft(client.id, on, Kind.CALL, purpose))


def _entry(uow: SqlAlchemyUnitOfWork, world: World, client: Client, reason: Reason, on: date, amount: int) -> None:
    uow.ledger.add(world.workspace_id, EntryDraft(client.id, client.owner_id, amount, reason, on,
                                                  key=f"{client.id}:{reason.value}:{on}"))


def _past(uow: SqlAlchemyUnitOfWork, world: World, rnd: random.Random, client: Client) -> None:
    """A client's past up to TODAY: a rhythm of its own (or none), now and then a setback (put
    right or not), a win, an open promise, a problem."""
    gap, last = rnd.choice([1, 3, 7, 14, 30]), TODAY - timedelta(days=rnd.choice([0, 1, 5, 10, 20, 40, 90, 200]))
    for k in range(rnd.choice([0, 1, 2, 4, 8, 15, 30])):
        _touch(uow, world, client, last - timedelta(days=k * gap + rnd.randint(0, gap // 2)), rnd.choice(PURPOSES))
    ws, rep, what = world.workspace_id, client.owner_id, rnd.random()
    if rnd.random() < 0.05:  # one dated ahead (a meeting logged in advance): no quiet days before it
        _touch(uow, world, client, TODAY + timedelta(days=rnd.randint(1, 9)), Purpose.GIVE)
    if what < 0.15:
        setback = TODAY - timedelta(days=rnd.randint(0, 70))
        _entry(uow, world, client, Reason.PROMISE_BROKEN, setback, -10)
        if rnd.random() < 0.5:
            _entry(uow, world, client, Reason.PUT_RIGHT, setback + timedelta(days=rnd.randint(0, 5)), 3)
    elif what < 0.3:
        uow.deals.add(ws, client.id, rep, None, TODAY - timedelta(days=rnd.randint(0, 50)), "won")
    elif what < 0.4:
        uow.promises.add(ws, client.id, rep, None, "send the deck", TODAY - timedelta(days=3),
                         TODAY + timedelta(days=rnd.randint(-3, 20)))
    elif what < 0.5:
        raised = TODAY - timedelta(days=rnd.randint(0, 20))
        uow.problems.add(ws, client.id, rep, None, "invoice wrong", raised,
                         first_response_on=raised + timedelta(days=1) if rnd.random() < 0.5 else None)


def _populate(uow_factory: UowFactory, seed: int, clients: int = 90) -> tuple[World, list[Client]]:
    rnd = random.Random(seed)
    with uow_factory() as uow:
        world = build_world(uow)
        made = []
        for n in range(clients):
            team, owner = rnd.choice([(world.north, world.ann), (world.south, world.bob)])
            created = TODAY - timedelta(days=rnd.choice([0, 10, 30, 100, 400]))
            made.append(uow.clients.add(world.workspace_id, f"Client {n}", team.id, owner.id, created))
        for client in made:
            _past(uow, world, rnd, client)
        uow.commit()
    return world, made


def _jobs(uow_factory: UowFactory) -> ScheduledJobs:
    return ScheduledJobs(uow_factory, None, RULES, Schedule(), lambda: datetime.now(timezone.utc))  # type: ignore[arg-type]


def _upkeep(uow_factory: UowFactory, world: World, day: date) -> None:
    """The scheduler's daily upkeep of ``day``: silence booked, then the quiet days kept."""
    _jobs(uow_factory).run(world.workspace_id, datetime.combine(day, time(5), timezone.utc), jobs=(UPKEEP,))


def _run(uow_factory: UowFactory, world: World, day: date, rules=RULES.nudging) -> tuple[set[int], list[tuple]]:
    """The clients read and the nudges raised by a run leaving the quiet clients out (``rules``:
    the run's), and by one reading every client; asserts both raise the same."""
    found = {}
    with uow_factory() as uow:
        for quiet in (rules, None):
            histories = list(uow.histories.client_histories(world.workspace_id, day, quiet_for=quiet))
            raised = sorted((n.client_id, n.kind.value, n.subject, n.stake)
                            for h in histories for n in detect(h, day, RULES.nudging))
            found[quiet is None] = ({h.client_id for h in histories}, raised)
    assert found[False][1] == found[True][1], day
    assert len(found[False][0]) + len(found[True][0] - found[False][0]) == len(found[True][0])
    return found[True][0] - found[False][0], found[True][1]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_run_leaving_quiet_clients_out_raises_what_reading_all_raises(uow_factory: UowFactory, seed: int) -> None:
    """Every day from the upkeep's to a week past the last it could keep, nothing written: the
    same nudges, and on the first days many clients were not read."""
    world, _ = _populate(uow_factory, seed)
    _upkeep(uow_factory, world, TODAY)
    skipped = [len(_run(uow_factory, world, TODAY + timedelta(days=n))[0]) for n in range(quiet_days.DAYS + 8)]
    assert skipped[0] >= 20 and skipped[1] >= 15, skipped  # most of the quiet ones (90 clients)
    assert _run(uow_factory, world, TODAY - timedelta(days=1))[0] == set()  # kept from TODAY only
    assert skipped[quiet_days.DAYS + 1:] == [0] * 7  # never beyond the days worked out
    assert sorted(skipped, reverse=True) == skipped  # a client's days run out; none begin later


def test_the_daily_nudge_run_leaves_quiet_clients_unread(uow_factory: UowFactory) -> None:
    """``daily.nudges`` (the digests, ``/nudges``, ``coach nudges``) asks for the quiet days to
    be used: its summaries' read filters on them, and it raises what reading every client does."""
    world, _ = _populate(uow_factory, 10)
    _upkeep(uow_factory, world, TODAY)
    statements: list[str] = []

    def keep(conn, cursor, statement: str, parameters, context, executemany) -> None:
        statements.append(statement)

    with uow_factory() as uow:
        engine = uow.session.get_bind()
        event.listen(engine, "before_cursor_execute", keep)
        try:
            found = sorted((n.client_id, n.subject) for n in daily.nudges(uow, world.workspace_id, TODAY, RULES)
                           if n.client_id is not None)
        finally:
            event.remove(engine, "before_cursor_execute", keep)
    assert any("quiet_until" in s and "FROM clients" in s for s in statements)
    raised = _run(uow_factory, world, TODAY)[1]
    assert found == sorted((client, subject) for client, _, subject, _ in raised)


def test_only_clients_with_nothing_open_get_quiet_days(uow_factory: UowFactory) -> None:
    """Never a client with an open promise, an unsolved problem or a record dated after the
    day (their days could change without a write)."""
    world, _ = _populate(uow_factory, 9, clients=150)
    _upkeep(uow_factory, world, TODAY)
    s, p, pr = ClientSummaryRow, PromiseRow, ProblemRow
    with uow_factory() as uow:
        kept = set(uow.session.scalars(select(s.client_id).where(s.quiet_key.is_not(None))))
        promised = set(uow.session.scalars(select(p.client_id).where(p.status == PromiseStatus.OPEN.value)))
        troubled = set(uow.session.scalars(select(pr.client_id).where(pr.resolved_on.is_(None))))
        ahead = set(uow.session.scalars(select(s.client_id).where(s.through_on > TODAY)))
    assert kept and promised and troubled and ahead
    assert not kept & (promised | troubled | ahead)


def test_the_key_covers_the_deciding_code() -> None:
    """The key digests the source of the detectors, the decoder, the summaries' encoding and
    the upkeep itself: an upgrade changing any of them reads every client until worked out again."""
    code = quiet_days._code()
    for module in (nudges, summary_decoder, summaries, quiet_days):
        assert Path(module.__file__).read_bytes() in code


def test_writes_clear_a_clients_quiet_days(uow_factory: UowFactory) -> None:
    """Each day, something is written to some clients kept quiet (a touch that makes a run of
    asks, a backdated touch, a voided touch, a setback, a win, a promise or a problem) without
    another upkeep: the runs of that day and the next still raise what reading every client
    raises."""
    world, clients = _populate(uow_factory, 3)
    _upkeep(uow_factory, world, TODAY)
    rnd = random.Random(4)
    for n in range(1, 9):
        day = TODAY + timedelta(days=n)
        quiet = sorted(_run(uow_factory, world, day)[0])
        with uow_factory() as uow:
            for client in [c for c in clients if c.id in quiet[:6]]:
                _write(uow, world, rnd, client, day)
            uow.commit()
        _run(uow_factory, world, day)
        _run(uow_factory, world, day + timedelta(days=1))


def _write(uow: SqlAlchemyUnitOfWork, world: World, rnd: random.Random, client: Client, day: date) -> None:
    ws, rep, what = world.workspace_id, client.owner_id, rnd.randrange(7)
    if what == 6:  # its newest touch voided
        newest = uow.session.scalar(select(InteractionRow.id).where(
            InteractionRow.client_id == client.id, InteractionRow.voided.is_(False)).order_by(
            InteractionRow.occurred_on.desc(), InteractionRow.id.desc()).limit(1))
        if newest is not None:
            uow.interactions.void(ws, newest)
    elif what == 0:
        for back in (0, 1, 2):
            _touch(uow, world, client, day - timedelta(days=back), Purpose.ASK)
    elif what == 1:
        _touch(uow, world, client, day - timedelta(days=rnd.randint(40, 80)), Purpose.GIVE)
    elif what == 2:
        _entry(uow, world, client, Reason.HONESTY_BREACH, day, -8)
    elif what == 3:
        uow.deals.add(ws, client.id, rep, None, day - timedelta(days=rnd.randint(0, 5)), "won")
    elif what == 4:
        uow.promises.add(ws, client.id, rep, None, "call back", day, day + timedelta(days=1))
    else:
        uow.problems.add(ws, client.id, rep, None, "delivery late", day - timedelta(days=5))


def test_a_promise_written_around_the_summary_is_still_read(uow_factory: UowFactory) -> None:
    """A promise stored without its client's summary being rewritten (a write path that forgot
    it, as a raw INSERT does) leaves the client's quiet days in place; the run reads that client
    in full anyway, as the promise stream names it."""
    world, _ = _populate(uow_factory, 5)
    _upkeep(uow_factory, world, TODAY)
    day = TODAY + timedelta(days=1)
    quiet = sorted(_run(uow_factory, world, day)[0])
    with uow_factory() as uow:
        row = uow.session.execute(select(ClientSummaryRow.client_id).where(
            ClientSummaryRow.client_id == quiet[0])).scalar_one()
        uow.session.execute(insert(PromiseRow).values(
            workspace_id=world.workspace_id, client_id=row, rep_id=world.ann.id, text="sneaked in",
            made_on=day, due_on=day, status=PromiseStatus.OPEN.value))
        uow.commit()
    skipped, raised = _run(uow_factory, world, day)
    assert quiet[0] not in skipped
    assert any(r[0] == quiet[0] and r[1] == "promise_due" for r in raised)


def test_other_rules_or_code_read_every_client(uow_factory: UowFactory) -> None:
    """Quiet days are kept under a key of the rules and the deciding code: a run with other
    rules reads every client (and raises what they raise)."""
    world, _ = _populate(uow_factory, 6)
    _upkeep(uow_factory, world, TODAY)
    assert _run(uow_factory, world, TODAY)[0]
    other = RULES.with_overrides({"nudging": {"quiet_factor": RULES.nudging.quiet_factor / 2}}).nudging
    assert quiet_days.key(other) != quiet_days.key(RULES.nudging)
    assert _run(uow_factory, world, TODAY, rules=other)[0] == set()


def test_the_upkeep_works_through_its_chunks(uow_factory: UowFactory) -> None:
    """Kept a few clients at a time, the same quiet days as in one go."""
    world, _ = _populate(uow_factory, 7)
    kept = {}
    for chunk in (7, quiet_days.CHUNK):
        after: int | None = 0
        with uow_factory() as uow:
            while after is not None:
                after, _ = quiet_days.keep(uow.session, world.workspace_id, TODAY, RULES.nudging, after, chunk=chunk)
            s = ClientSummaryRow
            kept[chunk] = uow.session.execute(select(s.client_id, s.quiet_from, s.quiet_until).where(
                s.quiet_key.is_not(None)).order_by(s.client_id)).all()
            uow.rollback()
    assert kept[7] == kept[quiet_days.CHUNK] and len(kept[7]) > 14


def test_a_write_while_the_upkeep_works_leaves_no_quiet_days(uow_factory: UowFactory) -> None:
    """A touch committed between the upkeep reading a summary and storing its quiet days leaves
    that client without any: the store finds the summary changed (PostgreSQL's UPDATE sees the
    committed row under read committed; SQLite's write transaction begins at the store)."""
    world, clients = _populate(uow_factory, 8)
    _upkeep(uow_factory, world, TODAY)
    day = TODAY + timedelta(days=1)
    target = next(c for c in clients if c.id in _run(uow_factory, world, day)[0])
    with uow_factory() as uow:  # its days run out, to be worked out again (they would hold ``day``)
        uow.session.execute(update(ClientSummaryRow).where(ClientSummaryRow.client_id == target.id).values(
            quiet_from=None, quiet_until=None, quiet_key=None))
        uow.commit()

    def write_first(conn, cursor, statement: str, parameters, context, executemany) -> None:
        if statement.startswith("UPDATE client_summaries SET quiet_from") and not written.is_set():
            written.set()
            worker = threading.Thread(target=_asks, args=(uow_factory, world, target, day))
            worker.start()
            worker.join()

    written = threading.Event()
    with uow_factory() as uow:
        engine = uow.session.get_bind()
        event.listen(engine, "before_cursor_execute", write_first)
        try:
            after: int | None = 0
            while after is not None:
                after, _ = uow.histories.keep_quiet_days(world.workspace_id, day, RULES.nudging, after)
            uow.commit()
        finally:
            event.remove(engine, "before_cursor_execute", write_first)
    assert written.is_set()
    with uow_factory() as uow:
        row = uow.session.get(ClientSummaryRow, target.id)
        assert row is not None and row.quiet_until is None
    assert target.id not in _run(uow_factory, world, day)[0]


def _asks(uow_factory: UowFactory, world: World, client: Client, day: date) -> None:
    with uow_factory() as uow:
        for back in (0, 1, 2, 3):
            _touch(uow, world, client, day - timedelta(days=back), Purpose.ASK)
        uow.commit()
