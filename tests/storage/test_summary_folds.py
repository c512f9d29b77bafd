"""Appended records folded into a client's stored summary (storage.summary_upkeep): the same
summary as a recomputation from every record, and the client's records not read again."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, Callable

from sqlalchemy import event

from coaching.model import EntryDraft, InteractionDraft, Kind, Purpose, Reason
from storage import summaries
from storage.summary_upkeep import Appended, _stored, fold
from storage.uow import SqlAlchemyUnitOfWork
from tests.storage.world import DAY0, World, build_world

UowFactory = Callable[[], SqlAlchemyUnitOfWork]
REASONS = [Reason.GIVE_TOUCH, Reason.ASK_TOUCH, Reason.PROMISE_BROKEN, Reason.HONESTY_BREACH,
           Reason.MISUNDERSTANDING, Reason.PUT_RIGHT, Reason.PROMISE_KEPT]
PURPOSES = [p.value for p in Purpose]


def _records(rnd: random.Random, n: int) -> list[tuple[str, Any]]:
    """``n`` records in the order a client's transactions would append them: touches mostly
    later than the last, some on the same day or backdated; entries and wins of any day."""
    day, out, days = DAY0, [], []
    # a busy client (touched every day or two: more than KEPT_TOUCHES within the window), or not
    steps = [0, 1, 1, 2, 3, -1] if rnd.random() < 0.5 else [0, 1, 1, 2, 3, 5, 20, 60, 100, -5]
    for k in range(n):
        day += timedelta(days=rnd.choice(steps))
        if days and rnd.random() < 0.1:  # exactly a window after an earlier touch: the kept touches' edge
            day = max(day, rnd.choice(days[-30:]) + timedelta(days=summaries.WINDOW_DAYS))
        what = rnd.random()
        if what < 0.5:
            days.append(day)
            # ids rise as a sequence gives them; now and then a lower one, as a transaction that
            # took its id first and committed second has
            touch_id = 10 * k - (15 if rnd.random() < 0.1 else 0)
            out.append(("touch", (day, rnd.choice(PURPOSES), rnd.choice([None, "", " ", f"note {k}"]), touch_id)))
        elif what < 0.9:
            on = day - timedelta(days=rnd.choice([0, 0, 1, 10, 40, 400]))
            out.append(("entry", (on, rnd.randint(-15, 10), rnd.choice(REASONS).value)))
        else:
            out.append(("won", day - timedelta(days=rnd.choice([0, 3]))))
    return out


def _summarize(records: list[tuple[str, Any]]) -> summaries.Summary:
    """What the recomputation gives: touches newest first (by day, then id), every entry, the
    last win."""
    touches = sorted((v for kind, v in records if kind == "touch"), key=lambda t: (t[0], t[3]), reverse=True)
    entries = [v for kind, v in records if kind == "entry"]
    wins = [v for kind, v in records if kind == "won"]
    return summaries.summarize(7, [t[:3] for t in touches], entries, max(wins) if wins else None,
                               touches[0][3] if touches else None)


def test_a_fold_gives_the_recomputed_summary_or_declines() -> None:
    """Pure: for random histories cut at random points into transactions, folding each
    transaction's records into the summary of those before gives the summary of all of them;
    it declines exactly when a touch is not the newest so far (by day, then id)."""
    rnd, folded, declined = random.Random(5), 0, 0
    for _ in range(400):
        records = _records(rnd, rnd.randint(1, 90))
        cut = sorted(rnd.sample(range(len(records) + 1), k=min(4, len(records) + 1)))
        summary = _summarize([])
        for a, b in zip([0, *cut], [*cut, len(records)]):
            new = Appended()
            for kind, value in records[a:b]:
                {"touch": new.touches, "entry": new.entries, "won": new.won}[kind].append(value)
            expected = _summarize(records[:b])
            result = fold(summary, new)
            assert (result is None) == _declines(summary, new)
            if result is None:
                declined += 1
            else:
                folded += 1
                assert result == expected, (records[:b], a)
            summary = expected
    assert folded > 1000 and declined > 100, (folded, declined)


def test_a_same_day_touch_is_not_folded_into_a_summary_that_does_not_know_its_newest_id() -> None:
    """A summary written without the newest touch's id (by a release before migration 0014,
    still running beside this one) cannot place a touch of the same day: recomputed."""
    known = summaries.summarize(7, [(DAY0, "give", None)], [], None, 40)
    unknown = replace(known, last_touch_id=None)
    same_day = Appended(touches=[(DAY0, "ask", None, 41)])
    assert fold(known, same_day) is not None and fold(unknown, same_day) is None
    assert fold(unknown, Appended(touches=[(DAY0 + timedelta(days=1), "ask", None, 41)])) is not None


def _declines(summary: summaries.Summary, new: Appended) -> bool:
    """A touch of ``new`` that is not the newest of those before it and itself (by day, then id)."""
    newest = (summary.touches[0][0], summary.last_touch_id) if summary.touches else None
    for on, _, _, touch_id in new.touches:
        if newest is not None and (on, touch_id) < newest:
            return True
        newest = (on, touch_id)
    return False


def _statements(uow: SqlAlchemyUnitOfWork) -> list[str]:
    seen: list[str] = []
    event.listen(uow.session.get_bind(), "before_cursor_execute",
                 lambda conn, cursor, statement, *args: seen.append(" ".join(statement.split())))
    return seen


def _reads_records(statements: list[str]) -> bool:
    return any(s.startswith("SELECT") and any(f"FROM {t} " in s + " " for t in ("interactions", "ledger_entries", "deals"))
               for s in statements)


def _log(uow: SqlAlchemyUnitOfWork, world: World, client_id: int, on: date, n: int, rnd: random.Random) -> None:
    stored = uow.interactions.add(world.workspace_id, world.ann.id, InteractionDraft(
        client_id, on, Kind.CALL, rnd.choice(list(Purpose)), note=rnd.choice(["", f"note {n}"])))
    assert stored is not None
    for k in range(rnd.randint(0, 2)):
        uow.ledger.add(world.workspace_id, EntryDraft(client_id, world.ann.id, rnd.randint(-12, 5), rnd.choice(REASONS),
                                                      on - timedelta(days=rnd.choice([0, 0, 35])), key=f"{n}:{k}"))
    if rnd.random() < 0.1:
        uow.deals.add(world.workspace_id, client_id, world.ann.id, None, on, "won")


def test_logged_touches_are_folded_in_and_every_summary_stays_exact(uow_factory: UowFactory) -> None:
    """One log a transaction, as the chat makes them: a touch later than the client's last is
    folded in without reading the client's records (a second one the same day too: it has the
    higher id); a backdated or voided one is recomputed. After every commit each summary equals its recomputation."""
    rnd = random.Random(11)
    with uow_factory() as uow:
        world = build_world(uow)
        uow.commit()
    clients, day = [world.acme.id, world.beta.id, world.corp.id], {}
    folds = recomputes = 0
    for n in range(120):
        client_id = rnd.choice(clients)
        day[client_id] = day.get(client_id, DAY0) + timedelta(days=rnd.choice([0, 1, 2, 7, 95, -3]))
        with uow_factory() as uow:
            _log(uow, world, client_id, day[client_id], n, rnd)
            if rnd.random() < 0.05:
                last = uow.interactions.for_client(world.workspace_id, client_id, limit=1)[0]
                uow.interactions.void(world.workspace_id, last.id)
            if rnd.random() < 0.1:  # two clients in one transaction: the records are read
                _log(uow, world, rnd.choice(clients), day[client_id], 1000 + n, rnd)
            # what the reply shows, from the summary where it can: as the records give it
            ws = world.workspace_id
            assert uow.ledger.balance(ws, client_id) == uow.ledger.balances(ws, [client_id])[client_id], n
            assert uow.interactions.recent_purposes(ws, client_id, 5) == [
                t.purpose for t in uow.interactions.for_client(ws, client_id, 5)], n
            seen = _statements(uow)
            uow.commit()
        folded = not _reads_records(seen)
        folds, recomputes = folds + folded, recomputes + (not folded)
        with uow_factory() as uow:
            assert summaries.check(uow.session, world.workspace_id) == [], n
    assert folds > 60 and recomputes > 10, (folds, recomputes)


def test_a_touch_after_the_last_commits_without_reading_the_clients_records(uow_factory: UowFactory) -> None:
    """A log's whole transaction: the touch and its entry written, the balance and the latest
    purposes for the reply read, the commit. The client's stored summary is read once (and
    locked), nothing of its records."""
    with uow_factory() as uow:
        world = build_world(uow)
        _log(uow, world, world.acme.id, DAY0, 0, random.Random(1))
        uow.commit()
    with uow_factory() as uow:
        before = uow.ledger.balance(world.workspace_id, world.acme.id)
        seen = _statements(uow)
        uow.interactions.add(world.workspace_id, world.ann.id, InteractionDraft(
            world.acme.id, DAY0 + timedelta(days=1), Kind.CALL, Purpose.GIVE, note="sent the benchmark"))
        uow.ledger.add(world.workspace_id, EntryDraft(world.acme.id, world.ann.id, 3, Reason.GIVE_TOUCH,
                                                      DAY0 + timedelta(days=1), key="give"))
        balance = uow.ledger.balance(world.workspace_id, world.acme.id)
        purposes = uow.interactions.recent_purposes(world.workspace_id, world.acme.id, 5)
        postgres = uow.session.get_bind().dialect.name == "postgresql"
        uow.commit()
    assert balance == before + 3 and purposes[0] is Purpose.GIVE
    assert not _reads_records(seen), seen
    assert sum("client_summaries" in s for s in seen) == 2, seen  # its row read (and locked), then written
    # the two INSERTs, the summary read and written, the team snapshots from that day removed:
    # on PostgreSQL in the summary's statement
    assert len(seen) == (4 if postgres else 5), seen
    assert any(s.startswith("WITH") and "DELETE FROM team_snapshots" in s for s in seen) == postgres, seen
    with uow_factory() as uow:
        assert summaries.check(uow.session, world.workspace_id) == []
        acme = next(summaries.compute(uow.session, world.workspace_id, [world.acme.id]))
    assert acme.last_note == "sent the benchmark" and acme.touches[0] == (DAY0 + timedelta(days=1), "give")


def test_a_record_appended_after_the_reply_asked_is_folded_in_too(uow_factory: UowFactory) -> None:
    """The reply's reads and the commit share one fold, made again when the transaction appended
    more after a read: the later entry is in the next read and in the stored summary."""
    with uow_factory() as uow:
        world = build_world(uow)
        _log(uow, world, world.acme.id, DAY0, 0, random.Random(1))
        uow.commit()
    ws, acme, on = world.workspace_id, world.acme.id, DAY0 + timedelta(days=1)
    with uow_factory() as uow:
        before = uow.ledger.balance(ws, acme)
        uow.interactions.add(ws, world.ann.id, InteractionDraft(acme, on, Kind.CALL, Purpose.GIVE))
        uow.ledger.add(ws, EntryDraft(acme, world.ann.id, 3, Reason.GIVE_TOUCH, on, key="give"))
        first = uow.ledger.balance(ws, acme)
        uow.ledger.add(ws, EntryDraft(acme, world.ann.id, -2, Reason.PROMISE_BROKEN, on, key="late"))
        second = uow.ledger.balance(ws, acme)
        uow.commit()
    assert (first, second) == (before + 3, before + 1)
    with uow_factory() as uow:
        assert summaries.check(uow.session, ws) == []
        stored = _stored(uow.session, ws, [acme])[acme]  # the row as the commit wrote it
    assert stored.balance == before + 1 and stored.last_setback_on == on
