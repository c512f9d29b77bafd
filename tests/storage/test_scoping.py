"""Two workspaces with the same names everywhere never see each other's rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Callable

import pytest

from coaching.model import EntryDraft, PromiseStatus, Purpose, Reason
from storage.uow import SqlAlchemyUnitOfWork
from tests.storage.world import World, build_world, touch

UowFactory = Callable[[], SqlAlchemyUnitOfWork]
ON = date(2024, 6, 1)
AS_OF = date(2024, 6, 30)


def _activity(uow: SqlAlchemyUnitOfWork, world: World, amount: int) -> dict[str, int]:
    """The same facts in each workspace, only the amounts differ; returns the new ids."""
    ws, acme, ann = world.workspace_id, world.acme, world.ann
    touch_id = touch(uow, world, acme, ON, Purpose.ASK, external_id="shared-event")
    promise = uow.promises.add(ws, acme.id, ann.id, touch_id, "deck", ON, date(2024, 6, 20))
    closed = uow.promises.add(ws, acme.id, ann.id, None, "quote", ON, date(2024, 6, 2))
    uow.promises.close(ws, closed.id, PromiseStatus.KEPT, date(2024, 6, 2))
    problem = uow.problems.add(ws, acme.id, ann.id, touch_id, "invoice", ON)
    uow.deals.add(ws, acme.id, ann.id, touch_id, ON, "won")
    entry = uow.ledger.add(ws, EntryDraft(acme.id, ann.id, amount, Reason.PROMISE_BROKEN, ON, "same-key",
                                          cause="promise:1"))
    uow.dialogs.save(ws, "D1", "U1", {"workspace": ws}, datetime(2024, 6, 1, tzinfo=UTC))
    return {"touch": touch_id, "promise": promise.id, "problem": problem.id, "entry": entry.id}


def test_workspaces_are_sealed_off(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        one, two = build_world(uow, "w1"), build_world(uow, "w2")
        ids_one, ids_two = _activity(uow, one, -1), _activity(uow, two, -2)
        uow.commit()
    with uow_factory() as uow:
        for mine, theirs, ids, foreign in ((one, two, ids_one, ids_two), (two, one, ids_two, ids_one)):
            ws = mine.workspace_id
            assert uow.teams.list(ws) == [mine.north, mine.south]
            assert uow.teams.by_name(ws, "North") == mine.north
            assert uow.teams.get(ws, theirs.north.id) is None
            assert uow.people.by_email(ws, "ann@example.com") == mine.ann
            assert uow.people.get(ws, theirs.ann.id) is None
            assert {p.id for p in uow.people.list(ws)} == {mine.ann.id, mine.bob.id, mine.meg.id}
            assert uow.people.list(ws, team_id=theirs.north.id) == []
            assert uow.clients.by_name(ws, "ACME") == mine.acme
            assert uow.clients.get(ws, theirs.acme.id) is None
            assert {c.id for c in uow.clients.list(ws)} == {mine.acme.id, mine.beta.id, mine.corp.id}
            assert uow.clients.list(ws, [theirs.north.id]) == []

            assert uow.interactions.get(ws, foreign["touch"]) is None
            assert [i.id for i in uow.interactions.for_client(ws, mine.acme.id)] == [ids["touch"]]
            assert uow.interactions.for_client(ws, theirs.acme.id) == []
            assert uow.interactions.last_by_rep(ws, mine.ann.id).id == ids["touch"]
            assert uow.interactions.last_by_rep(ws, theirs.ann.id) is None
            assert [p.id for p in uow.promises.open_for(ws)] == [ids["promise"]]
            assert [p.id for p in uow.promises.open_due_before(ws, date(2025, 1, 1))] == [ids["promise"]]
            assert uow.promises.get(ws, foreign["promise"]) is None
            assert [p.id for p in uow.problems.unanswered(ws)] == [ids["problem"]]
            assert [e.id for e in uow.ledger.for_client(ws, mine.acme.id)] == [ids["entry"]]
            assert uow.ledger.for_client(ws, theirs.acme.id) == []
            assert [e.id for e in uow.ledger.for_cause(ws, "promise:1")] == [ids["entry"]]
            own_amount = -1 if ws == "w1" else -2
            assert uow.ledger.balances(ws, [mine.acme.id, theirs.acme.id]) == {
                mine.acme.id: own_amount, theirs.acme.id: 0}
            assert uow.dialogs.get(ws, "D1", "U1").state == {"workspace": ws}

            histories = list(uow.histories.client_histories(ws, AS_OF))
            assert {h.client_id for h in histories} == {mine.acme.id, mine.beta.id, mine.corp.id}
            acme = next(h for h in histories if h.client_id == mine.acme.id)
            assert (len(acme.touches), len(acme.open_promises), len(acme.waiting_problems)) == (1, 1, 1)
            assert list(uow.histories.client_histories(ws, AS_OF, rep_id=theirs.ann.id)) == []
            assert list(uow.histories.client_histories(ws, AS_OF, team_ids=[theirs.north.id])) == []
            assert uow.histories.rep_touch_counts(ws, AS_OF, 14, 28) == {mine.ann.id: (0, 1)}
            teams = [mine.north.id, mine.south.id, theirs.north.id]
            assert len(uow.histories.touches_between(ws, teams, ON, AS_OF)) == 1
            assert len(uow.histories.promises_closed_between(ws, teams, ON, AS_OF)) == 1
            assert len(uow.histories.problems_raised_between(ws, teams, ON, AS_OF)) == 1
            assert uow.histories.touches_between(ws, [theirs.north.id], ON, AS_OF) == []


def test_writes_by_id_stay_in_their_workspace(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        one, two = build_world(uow, "w1"), build_world(uow, "w2")
        ids_two = _activity(uow, two, -2)
        uow.commit()
        uow.dialogs.delete("w1", "D1", "U1")
        uow.commit()
        assert uow.dialogs.get("w2", "D1", "U1") is not None
        assert one.acme.name == two.acme.name
        for write in (
            lambda: uow.interactions.void("w1", ids_two["touch"]),
            lambda: uow.promises.close("w1", ids_two["promise"], PromiseStatus.BROKEN, AS_OF),
            lambda: uow.problems.answer("w1", ids_two["problem"], AS_OF),
            lambda: uow.clients.set_trust("w1", two.acme.id, None, AS_OF, None, None),
        ):
            with pytest.raises(LookupError):
                write()
        assert not uow.interactions.get("w2", ids_two["touch"]).voided
