"""Touches, promises, problems and deals."""

from __future__ import annotations

from datetime import date
from typing import Callable

import pytest
from sqlalchemy import func, select

from coaching.model import Interaction, InteractionDraft, Kind, PromiseStatus, Purpose
from storage.models import InteractionRow
from storage.uow import SqlAlchemyUnitOfWork
from tests.storage.world import build_world, touch

UowFactory = Callable[[], SqlAlchemyUnitOfWork]


def test_interaction_round_trip(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        world = build_world(uow)
        draft = InteractionDraft(
            world.acme.id, date(2024, 5, 2), Kind.VISIT, Purpose.SERVICE, note="fixed the feed",
            proof_shown=True, source="import", external_id="csv:7",
        )
        stored = uow.interactions.add("w1", world.ann.id, draft)
        uow.commit()
    assert stored == Interaction(
        stored.id, "w1", world.acme.id, world.ann.id, date(2024, 5, 2), Kind.VISIT,
        Purpose.SERVICE, note="fixed the feed", proof_shown=True, source="import",
    )
    with uow_factory() as uow:
        assert uow.interactions.get("w1", stored.id) == stored
        assert uow.interactions.get("w2", stored.id) is None


def test_interaction_with_a_known_external_id_is_stored_once(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        world = build_world(uow)
        draft = InteractionDraft(world.acme.id, date(2024, 5, 2), Kind.CALL, Purpose.GIVE, external_id="ev-1")
        first = uow.interactions.add("w1", world.ann.id, draft)
        assert first is not None
        assert uow.interactions.add("w1", world.ann.id, draft) is None
        uow.commit()
    with uow_factory() as uow:  # a retry in a later transaction, too
        assert uow.interactions.add("w1", world.bob.id, draft) is None
        # The transaction is still usable after the ignored duplicate.
        assert touch(uow, world, world.acme, date(2024, 5, 3)) > first.id
        # Touches without an external id never collide.
        touch(uow, world, world.acme, date(2024, 5, 3))
        uow.commit()
        count = uow.session.scalar(select(func.count()).select_from(InteractionRow).where(
            InteractionRow.external_id == "ev-1"))
        assert count == 1
        assert len(uow.interactions.for_client("w1", world.acme.id)) == 3


def test_last_by_rep_void_and_for_client(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        world = build_world(uow)
        assert uow.interactions.last_by_rep("w1", world.ann.id) is None
        old = touch(uow, world, world.acme, date(2024, 5, 10))
        backdated = touch(uow, world, world.beta, date(2024, 4, 1))  # logged last, happened first
        same_day = touch(uow, world, world.acme, date(2024, 5, 10), Purpose.ASK)
        by_bob = touch(uow, world, world.acme, date(2024, 5, 1), rep=world.bob)
        uow.commit()
        assert uow.interactions.last_by_rep("w1", world.ann.id).id == same_day
        uow.interactions.void("w1", same_day)
        uow.commit()
    with uow_factory() as uow:
        assert uow.interactions.get("w1", same_day).voided
        assert uow.interactions.last_by_rep("w1", world.ann.id).id == backdated
        assert [(i.id, i.occurred_on) for i in uow.interactions.for_client("w1", world.acme.id)] == [
            (old, date(2024, 5, 10)), (by_bob, date(2024, 5, 1))]
        assert len(uow.interactions.for_client("w1", world.acme.id, limit=1)) == 1
        with pytest.raises(LookupError):
            uow.interactions.void("w2", old)


def test_promises(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        world = build_world(uow)
        touch_id = touch(uow, world, world.acme, date(2024, 5, 1))
        late = uow.promises.add("w1", world.acme.id, world.ann.id, touch_id, "send the quote",
                                date(2024, 5, 1), date(2024, 5, 10))
        soon = uow.promises.add("w1", world.acme.id, world.ann.id, None, "call back",
                                date(2024, 5, 1), date(2024, 5, 3))
        bobs = uow.promises.add("w1", world.corp.id, world.bob.id, None, "demo",
                                date(2024, 5, 1), date(2024, 5, 5))
        uow.commit()
    assert (late.status, late.closed_on, late.interaction_id) == (PromiseStatus.OPEN, None, touch_id)
    with uow_factory() as uow:
        assert uow.promises.get("w1", late.id) == late
        assert uow.promises.get("w2", late.id) is None
        assert uow.promises.open_for("w1") == [soon, bobs, late]
        assert uow.promises.open_for("w1", rep_id=world.ann.id) == [soon, late]
        assert uow.promises.open_for("w1", client_id=world.corp.id) == [bobs]
        assert uow.promises.open_due_before("w1", date(2024, 5, 5)) == [soon]
        kept = uow.promises.close("w1", soon.id, PromiseStatus.KEPT_LATE, date(2024, 5, 4))
        assert (kept.status, kept.closed_on) == (PromiseStatus.KEPT_LATE, date(2024, 5, 4))
        uow.commit()
    with uow_factory() as uow:
        assert uow.promises.get("w1", soon.id) == kept
        assert uow.promises.open_for("w1") == [bobs, late]
        with pytest.raises(LookupError):
            uow.promises.close("w2", late.id, PromiseStatus.BROKEN, date(2024, 5, 20))


def test_problems(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        world = build_world(uow)
        waiting = uow.problems.add("w1", world.acme.id, world.ann.id, None, "invoice wrong", date(2024, 5, 2))
        first = uow.problems.add("w1", world.corp.id, world.bob.id, None, "late delivery", date(2024, 5, 1))
        answered = uow.problems.add("w1", world.acme.id, world.ann.id, None, "login", date(2024, 5, 1),
                                    first_response_on=date(2024, 5, 1))
        uow.commit()
    with uow_factory() as uow:
        assert uow.problems.unanswered("w1") == [first, waiting]
        assert uow.problems.unanswered("w1", client_id=world.acme.id) == [waiting]
        assert answered.first_response_on == date(2024, 5, 1) and answered.resolved_on is None
        done = uow.problems.answer("w1", waiting.id, date(2024, 5, 3))
        assert done.first_response_on == date(2024, 5, 3)
        assert uow.problems.answer("w1", waiting.id, date(2024, 5, 9)).first_response_on == date(2024, 5, 3)
        uow.commit()
    with uow_factory() as uow:
        assert uow.problems.unanswered("w1") == [first]
        with pytest.raises(LookupError):
            uow.problems.answer("w2", first.id, date(2024, 5, 3))


def test_deals(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        world = build_world(uow)
        touch_id = touch(uow, world, world.acme, date(2024, 5, 1))
        assert uow.deals.add("w1", world.acme.id, world.ann.id, touch_id, date(2024, 5, 1), "3-year renewal") is None
        uow.deals.add("w1", world.acme.id, world.ann.id, None, date(2024, 6, 1), "")
        uow.commit()
        [history] = [h for h in uow.histories.client_histories("w1", date(2024, 6, 30))
                     if h.client_id == world.acme.id]
        assert history.last_won_on == date(2024, 6, 1)
