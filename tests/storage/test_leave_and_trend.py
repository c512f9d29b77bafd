"""People on leave, and the two newer fields of a client's history: the balance ``TREND_DAYS``
before, and the note of the latest touch.

Each check runs against the real schema (SQLite, and PostgreSQL with TEST_DATABASE_URL) and
against the in-memory fakes of tests/fakes.py, so the fakes keep the same semantics. That the
history stays four queries is checked in test_history.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any, Callable

import pytest

from coaching.model import EntryDraft, InteractionDraft, Kind, Purpose, Reason
from coaching.nudges import TREND_DAYS, ClientHistory
from coaching.records import PersonDraft
from tests.storage.checks import storage_and_fake_tests
from tests.storage.world import World, build_world

Factory = Callable[[], Any]  # a SqlAlchemyUnitOfWork or a FakeUnitOfWork factory
AS_OF = date(2024, 6, 30)
CUTOFF = AS_OF - timedelta(days=TREND_DAYS)  # 2 June: entries up to here make balance_before


# -- on leave -----------------------------------------------------------------------------------


def set_on_leave_and_back(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        ann = world.ann
        assert ann.on_leave is False
        away = uow.people.set_on_leave("w1", ann.id, True)
        assert away == replace(ann, on_leave=True)  # nothing else changes
        assert uow.people.get("w1", ann.id) == away
        assert uow.people.set_on_leave("w1", ann.id, True) == away  # twice is harmless
        uow.commit()
    with factory() as uow:
        assert uow.people.get("w1", ann.id).on_leave is True
        assert uow.people.by_email("w1", "ann@example.com").on_leave is True
        assert {p.name: p.on_leave for p in uow.people.list("w1")} == {"Ann": True, "Bob": False, "Meg": False}
        assert [p.on_leave for p in uow.people.list("w1", team_id=world.north.id)] == [True, False]  # Ann, Meg
        assert uow.people.set_on_leave("w1", ann.id, False) == ann
        uow.commit()
    with factory() as uow:
        assert uow.people.get("w1", ann.id) == ann


def a_roster_import_does_not_end_a_leave(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        uow.people.set_on_leave("w1", world.ann.id, True)
        again = uow.people.upsert("w1", PersonDraft("ANN@example.com", "Ann Smith", world.ann.role, (world.north.id,)))
        assert again.on_leave is True and again.name == "Ann Smith"
        uow.commit()
    with factory() as uow:
        assert uow.people.get("w1", world.ann.id).on_leave is True


def leave_belongs_to_one_workspace(factory: Factory) -> None:
    with factory() as uow:
        one, two = build_world(uow, "w1"), build_world(uow, "w2")
        with pytest.raises(LookupError):
            uow.people.set_on_leave("w1", two.ann.id, True)
        with pytest.raises(LookupError):
            uow.people.set_on_leave("w1", two.meg.id + 1000, True)
        uow.people.set_on_leave("w2", two.ann.id, True)
        uow.commit()
    with factory() as uow:
        assert uow.people.get("w1", one.ann.id).on_leave is False
        assert uow.people.get("w2", two.ann.id).on_leave is True


def leave_is_undone_by_rollback(factory: Factory) -> None:
    with factory() as uow:
        ann = build_world(uow).ann
        uow.commit()
        uow.people.set_on_leave("w1", ann.id, True)
        uow.rollback()
        assert uow.people.get("w1", ann.id).on_leave is False
        uow.people.set_on_leave("w1", ann.id, True)
        # Leaving without commit discards it too.
    with factory() as uow:
        assert uow.people.get("w1", ann.id).on_leave is False


# -- balance_before and last_note ---------------------------------------------------------------


def _entry(uow: Any, world: World, client_id: int, amount: int, on: date, key: str) -> None:
    uow.ledger.add(world.workspace_id, EntryDraft(client_id, world.ann.id, amount, Reason.GIVE_TOUCH, on, key))


def _touch(uow: Any, world: World, client_id: int, on: date, note: str) -> int:
    stored = uow.interactions.add(world.workspace_id, world.ann.id,
                                  InteractionDraft(client_id, on, Kind.CALL, Purpose.GIVE, note=note))
    return stored.id


def _histories(factory: Factory, as_of: date = AS_OF, **filters: Any) -> dict[str, ClientHistory]:
    with factory() as uow:
        return {h.client_name: h for h in uow.histories.client_histories("w1", as_of, **filters)}


def balance_before_is_the_balance_trend_days_earlier(factory: Factory) -> None:
    assert TREND_DAYS == 28 and CUTOFF == date(2024, 6, 2)
    with factory() as uow:
        world = build_world(uow)
        acme, beta, corp = world.acme.id, world.beta.id, world.corp.id
        _entry(uow, world, acme, -5, date(2024, 2, 1), "a1")
        _entry(uow, world, acme, 3, CUTOFF, "a2")  # on the day itself: counted
        _entry(uow, world, acme, 4, CUTOFF + timedelta(days=1), "a3")  # the day after: not
        _entry(uow, world, acme, 10, AS_OF + timedelta(days=5), "a4")  # after as_of: in neither
        _entry(uow, world, beta, 1, date(2024, 6, 10), "b1")  # entries only after the cutoff
        _entry(uow, world, corp, 2, date(2024, 1, 15), "c1")
        _entry(uow, world, corp, -2, date(2024, 1, 20), "c2")  # zero, but not "no entries"
        uow.commit()
    got = _histories(factory)
    assert (got["Acme"].balance, got["Acme"].balance_before) == (2, -2)
    assert (got["Beta"].balance, got["Beta"].balance_before) == (1, None)
    assert (got["Corp"].balance, got["Corp"].balance_before) == (0, 0)
    later = _histories(factory, AS_OF + timedelta(days=1))  # the cutoff moves with as_of
    assert later["Acme"].balance_before == 2
    earlier = _histories(factory, date(2024, 3, 1))  # cutoff 2 February
    assert (earlier["Acme"].balance, earlier["Acme"].balance_before) == (-5, -5)
    assert (earlier["Beta"].balance, earlier["Beta"].balance_before) == (0, None)
    assert earlier["Corp"].balance_before == 0
    assert _histories(factory, date(2024, 2, 1))["Acme"].balance_before is None
    # The filtered forms (one rep's book, some teams) aggregate the same way.
    assert _histories(factory, rep_id=world.ann.id)["Acme"].balance_before == -2
    assert _histories(factory, team_ids=[world.south.id])["Corp"].balance_before == 0


def last_note_is_the_newest_touchs(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        acme, beta = world.acme.id, world.beta.id
        _touch(uow, world, acme, date(2024, 6, 20), "sent the deck")
        _touch(uow, world, acme, date(2024, 6, 25), "asked about budget")
        _touch(uow, world, acme, date(2024, 6, 25), "called back about the budget")  # same day, later
        _touch(uow, world, acme, date(2024, 6, 10), "logged late, happened earlier")
        uow.interactions.void("w1", _touch(uow, world, acme, date(2024, 6, 28), "voided"))
        _touch(uow, world, acme, date(2024, 7, 2), "after as_of")
        _touch(uow, world, beta, date(2024, 6, 1), "first call")
        _touch(uow, world, beta, date(2024, 6, 3), "  ")  # blank: no note
        uow.commit()
    got = _histories(factory)
    assert got["Acme"].last_note == "called back about the budget"
    assert got["Acme"].last_touch == date(2024, 6, 25)
    assert got["Beta"].last_note is None  # the newest touch has none; an older one's is not used
    assert got["Corp"].last_note is None  # no touches at all
    assert _histories(factory, date(2024, 6, 24))["Acme"].last_note == "sent the deck"
    assert _histories(factory, date(2024, 7, 2))["Acme"].last_note == "after as_of"
    assert _histories(factory, date(2024, 6, 2))["Beta"].last_note == "first call"
    with factory() as uow:
        few = next(uow.histories.client_histories("w1", AS_OF, rep_id=world.ann.id, touches_per_client=1,
                                                   window_days=0))
    assert few.last_note == "called back about the budget" and len(few.touches) == 1


CHECKS = [
    set_on_leave_and_back,
    a_roster_import_does_not_end_a_leave,
    leave_belongs_to_one_workspace,
    leave_is_undone_by_rollback,
    balance_before_is_the_balance_trend_days_earlier,
    last_note_is_the_newest_touchs,
]


test_storage, test_fakes = storage_and_fake_tests(CHECKS)
