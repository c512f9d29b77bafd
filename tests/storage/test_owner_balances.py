"""``owner_balances``: each owner's book balance at several dates in one pass (the team-health
chart), on the real schema and on the fakes."""

from __future__ import annotations

from datetime import date
from typing import Any, Callable

from coaching.model import EntryDraft, Reason
from tests.storage.checks import storage_and_fake_tests
from tests.storage.world import build_world

Factory = Callable[[], Any]
D1, D2, D3 = date(2024, 3, 1), date(2024, 3, 8), date(2024, 3, 15)


def _entry(uow: Any, ws: str, client_id: int, rep_id: int, amount: int, on: date, key: str) -> None:
    uow.ledger.add(ws, EntryDraft(client_id, rep_id, amount, Reason.GIVE_TOUCH, on, key))


def balances_per_owner_at_each_date(factory: Factory) -> None:
    with factory() as uow:
        w = build_world(uow)
        _entry(uow, "w1", w.acme.id, w.ann.id, 2, D1, "a1")
        _entry(uow, "w1", w.beta.id, w.ann.id, 3, D2, "b1")
        _entry(uow, "w1", w.acme.id, w.ann.id, -10, D3, "a2")
        _entry(uow, "w1", w.corp.id, w.bob.id, 5, D2, "c1")
        other = build_world(uow, "w2")  # another workspace's entries never count
        _entry(uow, "w2", other.acme.id, other.ann.id, 100, D1, "x")
        uow.commit()
    with factory() as uow:
        both = uow.histories.owner_balances("w1", [w.north.id, w.south.id], [D1, D2, D3])
        assert both == {w.ann.id: [2, 5, -5], w.bob.id: [0, 5, 5]}
        assert uow.histories.owner_balances("w1", [w.north.id], [date(2024, 1, 1), D3]) == {w.ann.id: [0, -5]}
        assert uow.histories.owner_balances("w1", [], [D1]) == {}
        assert uow.histories.owner_balances("w1", [w.north.id], []) == {}


def an_owner_with_clients_but_no_entries_has_zeros(factory: Factory) -> None:
    with factory() as uow:
        w = build_world(uow)
        uow.commit()
    with factory() as uow:
        assert uow.histories.owner_balances("w1", [w.south.id], [D1, D2]) == {w.bob.id: [0, 0]}


test_storage, test_fakes = storage_and_fake_tests([balances_per_owner_at_each_date,
                                                    an_owner_with_clients_but_no_entries_has_zeros])
