"""The ledger and conversation state."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import func, select

from coaching.ledger import reversal
from coaching.model import EntryDraft, LedgerEntry, Reason
from storage.models import LedgerEntryRow
from storage.uow import SqlAlchemyUnitOfWork
from tests.storage.world import build_world

UowFactory = Callable[[], SqlAlchemyUnitOfWork]


def test_ledger_round_trip_and_queries(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        world = build_world(uow)
        acme, corp, ann = world.acme.id, world.corp.id, world.ann.id
        give = uow.ledger.add("w1", EntryDraft(
            acme, ann, 3, Reason.GIVE_TOUCH, date(2024, 5, 2), "interaction:1:give",
            cause="interaction:1", detail={"kind": "call", "note": "日本語も"}))
        proof = uow.ledger.add("w1", EntryDraft(
            acme, ann, 2, Reason.PROOF_SHOWN, date(2024, 5, 2), "interaction:1:proof", cause="interaction:1"))
        early = uow.ledger.add("w1", EntryDraft(acme, ann, -10, Reason.PROMISE_BROKEN, date(2024, 4, 1), "promise:3:closed"))
        uow.ledger.add("w1", EntryDraft(corp, world.bob.id, 4, Reason.ASK_TOUCH, date(2024, 5, 1), "interaction:2:ask"))
        uow.commit()
    assert give == LedgerEntry(give.id, "w1", acme, ann, 3, Reason.GIVE_TOUCH, date(2024, 5, 2),
                               "interaction:1:give", "interaction:1", {"kind": "call", "note": "日本語も"})
    with uow_factory() as uow:
        assert uow.ledger.for_client("w1", acme) == [early, give, proof]  # oldest first
        assert uow.ledger.for_cause("w1", "interaction:1") == [give, proof]
        assert uow.ledger.balance("w1", acme) == -5
        assert uow.ledger.balance("w1", world.beta.id) == 0
        assert uow.ledger.balances("w1", [acme, corp, world.beta.id]) == {acme: -5, corp: 4, world.beta.id: 0}
        assert uow.ledger.balances("w1", [acme], as_of=date(2024, 5, 1)) == {acme: -10}
        assert uow.ledger.balances("w1", []) == {}

        undo = uow.ledger.add("w1", reversal(give, date(2024, 5, 3), "logged twice"))
        uow.commit()
    with uow_factory() as uow:
        assert undo.reverses_id == give.id and undo.amount == -3
        assert uow.ledger.for_client("w1", acme)[-1] == undo
        assert uow.ledger.balance("w1", acme) == -8


def test_ledger_entry_with_a_known_key_counts_once(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        world = build_world(uow)
        draft = EntryDraft(world.acme.id, world.ann.id, 5, Reason.PROMISE_KEPT, date(2024, 5, 1), "promise:1:closed")
        assert uow.ledger.add("w1", draft) is not None
        assert uow.ledger.add("w1", draft) is None
        uow.commit()
    with uow_factory() as uow:
        again = EntryDraft(world.acme.id, world.ann.id, 50, Reason.PROMISE_KEPT, date(2024, 5, 2), "promise:1:closed")
        assert uow.ledger.add("w1", again) is None
        later = uow.ledger.add("w1", EntryDraft(
            world.acme.id, world.ann.id, 1, Reason.GIVE_TOUCH, date(2024, 5, 2), "interaction:9:give"))
        assert later is not None  # the transaction survived the duplicate
        uow.commit()
        rows = uow.session.scalar(select(func.count()).select_from(LedgerEntryRow).where(
            LedgerEntryRow.key == "promise:1:closed"))
        assert rows == 1
        assert uow.ledger.balance("w1", world.acme.id) == 6


def test_many_balances_at_once(uow_factory: UowFactory) -> None:
    """More ids than one IN (...) list takes."""
    with uow_factory() as uow:
        world = build_world(uow)
        uow.ledger.add("w1", EntryDraft(world.beta.id, world.ann.id, 7, Reason.GIVE_TOUCH, date(2024, 5, 1), "k"))
        ids = list(range(100_000, 102_500)) + [world.beta.id]
        balances = uow.ledger.balances("w1", ids)
    assert len(balances) == len(ids) and balances[world.beta.id] == 7 and sum(balances.values()) == 7


def test_conversations(uow_factory: UowFactory) -> None:
    tokyo = timezone(timedelta(hours=9))
    first = datetime(2024, 5, 1, 9, 30, tzinfo=tokyo)
    with uow_factory() as uow:
        build_world(uow)
        assert uow.dialogs.get("w1", "D1", "U1") is None
        uow.dialogs.save("w1", "D1", "U1", {"step": "client", "draft": {"note": "hi"}}, first)
        uow.dialogs.save("w1", "D1", "U2", {"step": "other"}, first)
        uow.commit()
    with uow_factory() as uow:
        record = uow.dialogs.get("w1", "D1", "U1")
        assert record.state == {"step": "client", "draft": {"note": "hi"}}
        assert record.updated_at == first and record.updated_at.tzinfo is not None
        assert record.updated_at.utcoffset() == timedelta(0)
        later = datetime(2024, 5, 1, 1, 0, tzinfo=UTC)
        uow.dialogs.save("w1", "D1", "U1", {"step": "purpose"}, later)
        uow.commit()
    with uow_factory() as uow:
        assert uow.dialogs.get("w1", "D1", "U1").state == {"step": "purpose"}
        assert uow.dialogs.get("w1", "D1", "U1").updated_at == later
        uow.dialogs.delete("w1", "D1", "U1")
        uow.dialogs.delete("w1", "D1", "U1")  # deleting nothing is fine
        uow.commit()
    with uow_factory() as uow:
        assert uow.dialogs.get("w1", "D1", "U1") is None
        assert uow.dialogs.get("w1", "D1", "U2").state == {"step": "other"}
