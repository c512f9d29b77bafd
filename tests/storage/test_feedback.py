"""Nudge feedback: snoozes, "not relevant" dismissals and "acted" records.

Each check runs against the real schema (SQLite, and PostgreSQL with TEST_DATABASE_URL) and
against the in-memory fakes of tests/fakes.py, so the fakes keep the same semantics.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Callable

import pytest

from coaching.records import NudgeFeedback
from storage.feedback import DISMISS_DAYS
from tests import fakes
from tests.storage.world import build_world
from tests.storage.checks import storage_and_fake_tests

Factory = Callable[[], Any]  # a SqlAlchemyUnitOfWork or a FakeUnitOfWork factory
D = date(2024, 6, 10)
QUIET = "client:4:quiet"


def days(n: int) -> date:
    return D + timedelta(days=n)


def snooze_holds_from_on_until_the_day_before_until(factory: Factory) -> None:
    with factory() as uow:
        ann = build_world(uow).ann
        uow.feedback.record("w1", NudgeFeedback(ann.id, QUIET, "quiet", "snoozed", D, days(7)))
        uow.commit()
    with factory() as uow:
        assert uow.feedback.suppressed("w1", days(-1)) == set()  # not yet
        assert uow.feedback.suppressed("w1", D) == {(ann.id, QUIET)}
        assert uow.feedback.suppressed("w1", days(6)) == {(ann.id, QUIET)}
        assert uow.feedback.suppressed("w1", days(7)) == set()  # until is exclusive


def dismissal_holds_dismiss_days(factory: Factory) -> None:
    assert DISMISS_DAYS == fakes.DISMISS_DAYS == 30
    with factory() as uow:
        ann = build_world(uow).ann
        uow.feedback.record("w1", NudgeFeedback(ann.id, "promise:12", "promise_due", "dismissed", D))
        uow.commit()
    with factory() as uow:
        assert uow.feedback.suppressed("w1", days(-1)) == set()
        assert uow.feedback.suppressed("w1", D) == {(ann.id, "promise:12")}
        assert uow.feedback.suppressed("w1", days(DISMISS_DAYS - 1)) == {(ann.id, "promise:12")}
        assert uow.feedback.suppressed("w1", days(DISMISS_DAYS)) == set()


def acted_never_suppresses(factory: Factory) -> None:
    with factory() as uow:
        ann = build_world(uow).ann
        uow.feedback.record("w1", NudgeFeedback(ann.id, QUIET, "quiet", "acted", D))
        uow.feedback.record("w1", NudgeFeedback(ann.id, QUIET, "quiet", "acted", D, days(5)))
        for n in (0, 1, 4, 29):
            assert uow.feedback.suppressed("w1", days(n)) == set()
        assert len(uow.feedback.for_period("w1", [ann.id], D, D)) == 2  # but kept


def several_records_per_subject_each_count(factory: Factory) -> None:
    with factory() as uow:
        ann = build_world(uow).ann
        uow.feedback.record("w1", NudgeFeedback(ann.id, QUIET, "quiet", "snoozed", D, days(3)))
        uow.feedback.record("w1", NudgeFeedback(ann.id, QUIET, "quiet", "acted", days(1)))
        uow.feedback.record("w1", NudgeFeedback(ann.id, QUIET, "quiet", "snoozed", days(40), days(45)))
        assert uow.feedback.suppressed("w1", days(2)) == {(ann.id, QUIET)}  # one pair, not two
        assert uow.feedback.suppressed("w1", days(3)) == set()
        assert uow.feedback.suppressed("w1", days(44)) == {(ann.id, QUIET)}


def rep_filter(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        ann, bob = world.ann, world.bob
        uow.feedback.record("w1", NudgeFeedback(ann.id, QUIET, "quiet", "dismissed", D))
        uow.feedback.record("w1", NudgeFeedback(bob.id, QUIET, "quiet", "snoozed", D, days(2)))
        uow.feedback.record("w1", NudgeFeedback(bob.id, "promise:3", "promise_due", "dismissed", D))
        uow.commit()
    with factory() as uow:
        assert uow.feedback.suppressed("w1", D) == {(ann.id, QUIET), (bob.id, QUIET), (bob.id, "promise:3")}
        assert uow.feedback.suppressed("w1", D, ann.id) == {(ann.id, QUIET)}
        assert uow.feedback.suppressed("w1", D, rep_id=bob.id) == {(bob.id, QUIET), (bob.id, "promise:3")}
        assert uow.feedback.suppressed("w1", D, world.meg.id) == set()


def workspaces_are_sealed_off(factory: Factory) -> None:
    with factory() as uow:
        one, two = build_world(uow, "w1"), build_world(uow, "w2")
        uow.feedback.record("w2", NudgeFeedback(two.ann.id, QUIET, "quiet", "dismissed", D))
        uow.commit()
    with factory() as uow:
        assert uow.feedback.suppressed("w1", D) == set()
        assert uow.feedback.suppressed("w1", D, two.ann.id) == set()
        assert uow.feedback.for_period("w1", [one.ann.id, two.ann.id], D, D) == []
        assert uow.feedback.suppressed("w2", D) == {(two.ann.id, QUIET)}
        assert len(uow.feedback.for_period("w2", [two.ann.id], D, D)) == 1


def records_are_undone_by_rollback(factory: Factory) -> None:
    with factory() as uow:
        ann = build_world(uow).ann
        uow.commit()
        uow.feedback.record("w1", NudgeFeedback(ann.id, QUIET, "quiet", "dismissed", D))
        assert uow.feedback.suppressed("w1", D) == {(ann.id, QUIET)}  # seen in its own transaction
        uow.rollback()
        assert uow.feedback.suppressed("w1", D) == set()
        uow.feedback.record("w1", NudgeFeedback(ann.id, "promise:1", "promise_due", "dismissed", D))
        # Leaving without commit discards it too.
    with factory() as uow:
        assert uow.feedback.suppressed("w1", D) == set()
        assert uow.feedback.for_period("w1", [ann.id], D, D) == []
        uow.feedback.record("w1", NudgeFeedback(ann.id, QUIET, "quiet", "snoozed", D, days(1)))
        uow.commit()
    with factory() as uow:
        assert uow.feedback.suppressed("w1", D) == {(ann.id, QUIET)}


def for_period_filters_and_orders(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        ann, bob, meg = world.ann, world.bob, world.meg
        late = NudgeFeedback(ann.id, "a", "quiet", "acted", days(5))
        first = NudgeFeedback(bob.id, "b", "quiet", "snoozed", D, days(7))
        second = NudgeFeedback(ann.id, "c", "promise_due", "dismissed", D)
        before = NudgeFeedback(ann.id, "d", "quiet", "acted", days(-1))
        after = NudgeFeedback(ann.id, "e", "quiet", "acted", days(6))
        megs = NudgeFeedback(meg.id, "f", "quiet", "acted", days(2))
        for feedback in (late, first, second, before, after, megs):
            uow.feedback.record("w1", feedback)
        uow.commit()
    with factory() as uow:
        # start <= on <= end, by on, then in the order recorded; other reps left out.
        assert uow.feedback.for_period("w1", [ann.id, bob.id], D, days(5)) == [first, second, late]
        assert uow.feedback.for_period("w1", [ann.id], D, days(5)) == [second, late]
        assert uow.feedback.for_period("w1", [ann.id], days(-1), days(6)) == [before, second, late, after]
        assert uow.feedback.for_period("w1", [], days(-10), days(10)) == []
        assert uow.feedback.for_period("w1", [ann.id], days(7), days(10)) == []
        many = [*range(100_000, 102_500), meg.id, bob.id]  # more ids than one IN list holds
        assert uow.feedback.for_period("w1", many, D, days(5)) == [first, megs]


def nonsense_is_refused(factory: Factory) -> None:
    with factory() as uow:
        ann = build_world(uow).ann
        with pytest.raises(ValueError):
            uow.feedback.record("w1", NudgeFeedback(ann.id, QUIET, "quiet", "ignored", D))
        with pytest.raises(ValueError):
            uow.feedback.record("w1", NudgeFeedback(ann.id, QUIET, "quiet", "snoozed", D))  # no until
        assert uow.feedback.for_period("w1", [ann.id], D, D) == []


CHECKS = [
    snooze_holds_from_on_until_the_day_before_until,
    dismissal_holds_dismiss_days,
    acted_never_suppresses,
    several_records_per_subject_each_count,
    rep_filter,
    workspaces_are_sealed_off,
    records_are_undone_by_rollback,
    for_period_filters_and_orders,
    nonsense_is_refused,
]


test_storage, test_fakes = storage_and_fake_tests(CHECKS)
