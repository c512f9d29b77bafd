"""Deliveries: the scheduler's record of what it decided to send, and whether it went.

Each check runs against the real schema (SQLite, and PostgreSQL with TEST_DATABASE_URL) and
against the in-memory fakes of tests/fakes.py, so the fakes keep the same semantics. The tests
after the checks need a real database: statement shapes, the advisory lock, racing claims.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Callable

import pytest
from sqlalchemy import Engine, event, text

from coaching.records import FAILED, INTERRUPTED, PENDING, SENDING, SENT, SKIPPED, Delivery, DeliveryItem, SentItem
from storage.uow import SqlAlchemyUnitOfWork, lock_key
from tests.fakes import FakeStore, FakeUnitOfWork
from tests.storage.checks import storage_and_fake_tests
from tests.storage.world import World, build_world

Factory = Callable[[], Any]  # a SqlAlchemyUnitOfWork or a FakeUnitOfWork factory
UowFactory = Callable[[], SqlAlchemyUnitOfWork]
DAY = date(2024, 6, 10)
NOW = datetime(2024, 6, 10, 7, 0, tzinfo=UTC)
MAX = 3  # attempts


def days(n: int) -> date:
    return DAY + timedelta(days=n)


def minutes(n: int) -> datetime:
    return NOW + timedelta(minutes=n)


def item(rep_id: int, subject: str, kind: str = "quiet", client_id: int | None = None, stake: int = 40) -> DeliveryItem:
    return DeliveryItem(rep_id, subject, kind, client_id, stake)


def digest(uow: Any, world: World, items: list[DeliveryItem] | tuple[DeliveryItem, ...] = (), on: date = DAY,
           job: str = "digest", now: datetime = NOW, status: str = PENDING) -> Delivery:
    """Ann's message of ``job`` on ``on``; fails if it was recorded already."""
    planned = uow.deliveries.plan(world.workspace_id, job, f"person:{world.ann.id}", world.ann.id, on,
                                  items, now, status=status)
    assert planned is not None
    return planned


# -- checks, on the databases and the fakes ------------------------------------------------------


def plan_records_a_message_once(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        ann = world.ann
        quiet = item(ann.id, f"client:{world.acme.id}:quiet", client_id=world.acme.id, stake=43)
        due = item(ann.id, "promise:12", "promise_due", stake=60)
        planned = digest(uow, world, [quiet, due])
        assert planned == Delivery(planned.id, "digest", f"person:{ann.id}", ann.id, DAY, PENDING,
                                   items=(quiet, due))
        assert (planned.attempts, planned.channel, planned.reason) == (0, None, None)
        assert (planned.claimed_at, planned.finished_at) == (None, None)
        assert uow.deliveries.get("w1", planned.id) == planned  # in its own transaction
        # The same (job, recipient, local date) again: nothing recorded, its items neither.
        again = uow.deliveries.plan("w1", "digest", f"person:{ann.id}", ann.id, DAY,
                                    [item(ann.id, "promise:99", "promise_due")], minutes(5))
        assert again is None
        uow.commit()
    with factory() as uow:
        assert uow.deliveries.get("w1", planned.id) == planned
        assert uow.deliveries.plan("w1", "digest", f"person:{ann.id}", ann.id, DAY, [], minutes(60)) is None
        assert uow.deliveries.items_on("w1", ann.id, DAY) == {(quiet.subject, "quiet"), ("promise:12", "promise_due")}
        assert uow.deliveries.get("w1", planned.id + 1000) is None
        # Another job, another day or another recipient is another message.
        assert digest(uow, world, job="reminder").job == "reminder"
        assert digest(uow, world, on=days(1)).local_date == days(1)
        team = uow.deliveries.plan("w1", "team", f"team:{world.north.id}", None, DAY, [], NOW)
        assert team is not None and team.person_id is None and team.recipient == f"team:{world.north.id}"
        assert len(uow.deliveries.list("w1", DAY)) == 3


def an_item_reaches_a_rep_once_a_day(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        ann, bob = world.ann, world.bob
        quiet = item(ann.id, "client:4:quiet")
        due = item(ann.id, "promise:12", "promise_due", stake=60)
        first = digest(uow, world, [quiet, due])
        assert first.items == (quiet, due)
        other_kind = item(ann.id, "client:4:quiet", "ask_only")  # same subject, another kind
        new = item(ann.id, "promise:13", "promise_due")
        bobs = item(bob.id, "promise:12", "promise_due")  # another rep
        second = digest(uow, world, [replace(due, stake=61), other_kind, new, new, bobs], job="reminder")
        # The item the digest holds is left out; the rest kept once each, in the order given.
        assert second.items == (other_kind, new, bobs)
        assert uow.deliveries.get("w1", second.id).items == (other_kind, new, bobs)
        uow.commit()
    with factory() as uow:
        assert uow.deliveries.get("w1", first.id).items == (quiet, due)
        assert uow.deliveries.items_on("w1", ann.id, DAY) == {
            ("client:4:quiet", "quiet"), ("promise:12", "promise_due"), ("client:4:quiet", "ask_only"),
            ("promise:13", "promise_due")}
        assert uow.deliveries.items_on("w1", bob.id, DAY) == {("promise:12", "promise_due")}
        assert uow.deliveries.items_on("w1", ann.id, days(1)) == set()
        # Every item already taken: the message is still recorded, with no items.
        third = digest(uow, world, [quiet, due], job="weekly")
        assert third.items == () and uow.deliveries.get("w1", third.id).items == ()
        # The next day the same items may go again.
        tomorrow = digest(uow, world, [quiet, due], on=days(1))
        assert tomorrow.items == (quiet, due)
        assert uow.deliveries.items_on("w1", ann.id, days(1)) == {("client:4:quiet", "quiet"), ("promise:12", "promise_due")}


def skipped_records_a_day_with_nothing_to_say(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        skipped = digest(uow, world, status=SKIPPED)
        assert (skipped.status, skipped.items, skipped.attempts) == (SKIPPED, (), 0)
        assert skipped.finished_at == NOW and skipped.claimed_at is None
        uow.commit()
    with factory() as uow:
        assert uow.deliveries.get("w1", skipped.id) == skipped
        assert uow.deliveries.recorded("w1", "digest", [DAY]) == {(f"person:{world.ann.id}", DAY)}
        assert uow.deliveries.claim("w1", skipped.id, minutes(1), MAX) is None
        assert uow.deliveries.retryable("w1", [DAY], MAX) == []
        assert uow.deliveries.plan("w1", "digest", f"person:{world.ann.id}", world.ann.id, DAY, [], NOW) is None
        for status in (SENDING, "bogus"):  # "sending" is only ever set by a claim
            with pytest.raises(ValueError):
                uow.deliveries.plan("w1", "weekly", "person:1", None, DAY, [], NOW, status=status)
        assert uow.deliveries.recorded("w1", "weekly", [DAY]) == set()


def finished_messages_can_be_recorded_as_such(factory: Factory) -> None:
    """Done without sending (a day's upkeep, say): recorded sent, or failed, at once."""
    with factory() as uow:
        world = build_world(uow)
        upkeep = uow.deliveries.plan("w1", "upkeep", "workspace", None, DAY, [], NOW, status=SENT)
        assert (upkeep.status, upkeep.attempts, upkeep.finished_at, upkeep.claimed_at) == (SENT, 0, NOW, None)
        noted = digest(uow, world, [item(world.ann.id, "client:1:quiet")], status=SENT)
        gave_up = digest(uow, world, job="reminder", status=FAILED)
        uow.commit()
    with factory() as uow:
        assert uow.deliveries.get("w1", upkeep.id) == upkeep
        assert uow.deliveries.recorded("w1", "upkeep", [DAY]) == {("workspace", DAY)}
        assert uow.deliveries.claim("w1", upkeep.id, minutes(1), MAX) is None
        assert uow.deliveries.sent_items("w1", DAY) == {(world.ann.id, "client:1:quiet", "quiet"): [DAY]}
        assert noted.finished_at == NOW and uow.deliveries.get("w1", noted.id) == noted
        # Failed with no attempt yet: retryable like any other failure.
        assert uow.deliveries.retryable("w1", [DAY], MAX) == [gave_up]
        assert uow.deliveries.claim("w1", gave_up.id, minutes(1), MAX).attempts == 1


def claim_takes_a_message_once(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        planned = digest(uow, world, [item(world.ann.id, "promise:12", "promise_due")])
        uow.commit()
    with factory() as uow:
        claimed = uow.deliveries.claim("w1", planned.id, minutes(1), MAX)
        assert claimed is not None
        assert (claimed.status, claimed.attempts, claimed.claimed_at) == (SENDING, 1, minutes(1))
        assert claimed.items == planned.items and claimed.finished_at is None
        uow.commit()
    with factory() as uow:
        assert uow.deliveries.get("w1", planned.id) == claimed
        assert uow.deliveries.claim("w1", planned.id, minutes(2), MAX) is None  # another has it
        assert uow.deliveries.retryable("w1", [DAY], MAX) == []
        uow.deliveries.finish("w1", planned.id, SENT, minutes(3), channel="slack")
        uow.commit()
    with factory() as uow:
        sent = uow.deliveries.get("w1", planned.id)
        assert (sent.status, sent.channel, sent.reason, sent.attempts) == (SENT, "slack", None, 1)
        assert (sent.claimed_at, sent.finished_at) == (minutes(1), minutes(3))
        assert uow.deliveries.claim("w1", planned.id, minutes(4), MAX) is None  # done
        assert uow.deliveries.claim("w1", planned.id + 1000, minutes(4), MAX) is None  # unknown
        assert uow.deliveries.retryable("w1", [DAY], MAX) == []
        with pytest.raises(LookupError):
            uow.deliveries.finish("w1", planned.id + 1000, SENT, minutes(4))
        with pytest.raises(ValueError):
            uow.deliveries.finish("w1", planned.id, "delivered", minutes(4))


def failed_messages_are_retried_while_attempts_last(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        planned = digest(uow, world, [item(world.ann.id, "client:4:quiet")])
        untouched = digest(uow, world, job="reminder", now=minutes(-5))
        for attempt in (1, 2):
            claimed = uow.deliveries.claim("w1", planned.id, minutes(attempt), MAX)
            assert (claimed.status, claimed.attempts, claimed.reason) == (SENDING, attempt, None)
            uow.deliveries.finish("w1", planned.id, FAILED, minutes(attempt), reason="timeout")
            failed = uow.deliveries.get("w1", planned.id)
            assert (failed.status, failed.attempts, failed.reason) == (FAILED, attempt, "timeout")
            # Pending and failed-with-attempts-left, oldest first, with their items.
            assert uow.deliveries.retryable("w1", [DAY], MAX) == [untouched, failed]
            assert failed.items == planned.items
        uow.commit()
    with factory() as uow:
        assert uow.deliveries.claim("w1", planned.id, minutes(3), MAX).attempts == 3
        uow.deliveries.finish("w1", planned.id, FAILED, minutes(3), reason="timeout")
        uow.commit()
    with factory() as uow:
        # Three attempts of three: not retryable, not claimable...
        assert uow.deliveries.retryable("w1", [DAY], MAX) == [untouched]
        assert uow.deliveries.claim("w1", planned.id, minutes(4), MAX) is None
        assert uow.deliveries.get("w1", planned.id).status == FAILED
        # ...unless more attempts are allowed.
        assert [d.id for d in uow.deliveries.retryable("w1", [DAY], MAX + 1)] == [untouched.id, planned.id]
        assert uow.deliveries.claim("w1", planned.id, minutes(4), MAX + 1).attempts == 4
        assert uow.deliveries.retryable("w1", [days(1)], MAX) == []  # another day's
        assert uow.deliveries.retryable("w1", [], MAX) == []


def interrupted_messages_are_never_sent_again(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        old, fresh, edge, pending, sent = (digest(uow, world, job=job) for job in ("a", "b", "c", "d", "e"))
        uow.deliveries.claim("w1", old.id, NOW, MAX)
        uow.deliveries.claim("w1", fresh.id, minutes(20), MAX)
        uow.deliveries.claim("w1", edge.id, minutes(10), MAX)
        uow.deliveries.claim("w1", sent.id, NOW, MAX)
        uow.deliveries.finish("w1", sent.id, SENT, minutes(1), channel="teams")
        uow.commit()
    with factory() as uow:
        # Claimed before minutes(10) and still sending: only `old` (`edge` is not before it).
        assert uow.deliveries.interrupt_stale("w1", minutes(10), minutes(30)) == 1
        uow.commit()
    with factory() as uow:
        interrupted = uow.deliveries.get("w1", old.id)
        assert (interrupted.status, interrupted.reason, interrupted.attempts) == (FAILED, INTERRUPTED, 1)
        assert (interrupted.claimed_at, interrupted.finished_at) == (NOW, minutes(30))
        assert [uow.deliveries.get("w1", d.id).status for d in (fresh, edge, pending, sent)] == [
            SENDING, SENDING, PENDING, SENT]
        assert uow.deliveries.claim("w1", old.id, minutes(31), 100) is None
        assert [d.id for d in uow.deliveries.retryable("w1", [DAY], 100)] == [pending.id]
        assert uow.deliveries.interrupt_stale("w1", minutes(10), minutes(31)) == 0  # done already
        assert uow.deliveries.interrupt_stale("w1", minutes(21), minutes(32)) == 2  # fresh and edge now
        assert uow.deliveries.retryable("w1", [DAY], 100) == [uow.deliveries.get("w1", pending.id)]
        # A failure with another reason stays retryable.
        uow.deliveries.finish("w1", fresh.id, FAILED, minutes(33), reason="interrupted by a 503")
        assert [d.id for d in uow.deliveries.retryable("w1", [DAY], MAX)] == [fresh.id, pending.id]


def sent_items_counts_only_sent_messages(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        ann, bob = world.ann, world.bob
        x, y, z = (item(ann.id, s) for s in ("client:1:quiet", "client:2:quiet", "client:3:quiet"))
        bobs = item(bob.id, "client:1:quiet")

        def message(job: str, on: date, items: list[DeliveryItem], status: str | None,
                    recipient: str = f"person:{ann.id}") -> None:
            planned = uow.deliveries.plan("w1", job, recipient, None, on, items, NOW)
            if status is not None:
                uow.deliveries.claim("w1", planned.id, NOW, MAX)
                uow.deliveries.finish("w1", planned.id, status, NOW)

        message("digest", days(0), [x, y], SENT)
        message("digest", days(2), [x], SENT)
        message("reminder", days(2), [z], FAILED)
        message("digest", days(3), [z], None)  # pending
        message("weekly", days(3), [y], SKIPPED)
        message("digest", days(2), [bobs], SENT, recipient=f"person:{bob.id}")
        message("digest", days(-40), [x], SENT)
        uow.commit()
    with factory() as uow:
        key = lambda it: (it.rep_id, it.subject, it.kind)  # noqa: E731
        assert uow.deliveries.sent_items("w1", days(0)) == {
            key(x): [days(0), days(2)], key(y): [days(0)], key(bobs): [days(2)]}
        assert uow.deliveries.sent_items("w1", days(1)) == {key(x): [days(2)], key(bobs): [days(2)]}
        assert uow.deliveries.sent_items("w1", days(-40))[key(x)] == [days(-40), days(0), days(2)]
        assert uow.deliveries.sent_items("w1", days(0), [ann.id]) == {
            key(x): [days(0), days(2)], key(y): [days(0)]}
        assert uow.deliveries.sent_items("w1", days(0), rep_ids=[bob.id]) == {key(bobs): [days(2)]}
        assert uow.deliveries.sent_items("w1", days(0), []) == {}
        assert uow.deliveries.sent_items("w1", days(0), [world.meg.id]) == {}
        assert uow.deliveries.sent_items("w1", days(3)) == {}
        many = [*range(100_000, 102_500), bob.id]  # more ids than one IN list holds
        assert uow.deliveries.sent_items("w1", days(0), many) == {key(bobs): [days(2)]}


def sent_items_between_lists_sent_digest_and_reminder_items(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        ann, bob, acme = world.ann, world.bob, world.acme
        quiet = item(ann.id, f"client:{acme.id}:quiet", client_id=acme.id)
        due = item(ann.id, "promise:12", "promise_due", client_id=acme.id)
        lapse = item(ann.id, f"rep:{ann.id}:busy_lapse", "busy_lapse")
        bobs = item(bob.id, f"client:{world.corp.id}:quiet", client_id=world.corp.id)

        def message(job: str, on: date, items: list[DeliveryItem], status: str | None, who: Any = ann) -> None:
            planned = uow.deliveries.plan("w1", job, f"person:{who.id}", who.id, on, items, NOW)
            if status is not None:
                uow.deliveries.claim("w1", planned.id, NOW, MAX)
            if status not in (None, SENDING):
                uow.deliveries.finish("w1", planned.id, status, NOW)

        message("digest", days(0), [quiet, lapse], SENT)
        message("reminder", days(1), [due], SENT)
        message("digest", days(1), [quiet], FAILED)  # not delivered
        message("digest", days(2), [quiet], None)  # pending
        message("reminder", days(3), [due], SENDING)  # left mid-send: status "sending"
        message("weekly", days(4), [quiet], SENT)  # not a nudge message
        message("team", days(4), [replace(due, subject="promise:13")], SENT)
        message("digest", days(5), [quiet], SENT)
        message("digest", days(1), [bobs], SENT, who=bob)
        message("digest", days(-1), [quiet], SENT)  # before the range
        message("digest", days(9), [quiet], SENT)  # after it
        uow.commit()
    with factory() as uow:
        sent = lambda it, on: SentItem(it.rep_id, it.client_id, it.subject, it.kind, on)  # noqa: E731
        between = uow.deliveries.sent_items_between
        assert between("w1", [ann.id, bob.id], days(0), days(5)) == [
            sent(quiet, days(0)), sent(lapse, days(0)), sent(due, days(1)), sent(bobs, days(1)),
            sent(quiet, days(5))]
        assert between("w1", [ann.id], days(1), days(5)) == [sent(due, days(1)), sent(quiet, days(5))]
        assert between("w1", [bob.id, bob.id], days(-5), days(20)) == [sent(bobs, days(1))]
        assert between("w1", [ann.id], days(-1), days(-1)) == [sent(quiet, days(-1))]
        assert between("w1", [ann.id], days(9), days(9)) == [sent(quiet, days(9))]
        assert between("w1", [world.meg.id], days(-5), days(20)) == []
        assert between("w1", [], days(-5), days(20)) == []
        assert between("w1", [ann.id], days(5), days(0)) == []  # an empty range
        assert between("w2", [ann.id], days(-5), days(20)) == []  # another workspace
        many = [*range(100_000, 102_500), bob.id]  # more ids than one IN list holds
        assert between("w1", many, days(0), days(5)) == [sent(bobs, days(1))]


def recorded_lists_a_jobs_recipients_and_dates(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        ann, bob = f"person:{world.ann.id}", f"person:{world.bob.id}"
        for job, recipient, on in (("digest", ann, days(0)), ("digest", bob, days(0)), ("digest", ann, days(1)),
                                   ("reminder", bob, days(1)), ("digest", bob, days(5))):
            uow.deliveries.plan("w1", job, recipient, None, on, [], NOW)
        uow.commit()
    with factory() as uow:
        assert uow.deliveries.recorded("w1", "digest", [days(0), days(1)]) == {
            (ann, days(0)), (bob, days(0)), (ann, days(1))}
        assert uow.deliveries.recorded("w1", "reminder", [days(0), days(1)]) == {(bob, days(1))}
        assert uow.deliveries.recorded("w1", "weekly", [days(0), days(1)]) == set()
        assert uow.deliveries.recorded("w1", "digest", []) == set()
        assert uow.deliveries.recorded("w1", "digest", [days(5), days(6)]) == {(bob, days(5))}


def list_gives_a_days_messages_by_job_then_recipient(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        quiet = item(world.bob.id, "client:1:quiet")
        planned = [uow.deliveries.plan("w1", job, recipient, None, on, items, NOW)
                   for job, recipient, on, items in (
                       ("weekly", "person:2", DAY, []), ("digest", "person:9", DAY, []),
                       ("digest", "person:10", DAY, [quiet]), ("team", "team:1", DAY, []),
                       ("digest", "person:1", days(1), []))]
        uow.deliveries.claim("w1", planned[1].id, minutes(1), MAX)
        uow.commit()
    with factory() as uow:
        listed = uow.deliveries.list("w1", DAY)
        assert [(d.job, d.recipient) for d in listed] == [
            ("digest", "person:10"), ("digest", "person:9"), ("team", "team:1"), ("weekly", "person:2")]
        assert listed[0].items == (quiet,) and listed[1].status == SENDING
        assert listed == [uow.deliveries.get("w1", d.id) for d in listed]
        assert [d.recipient for d in uow.deliveries.list("w1", days(1))] == ["person:1"]
        assert uow.deliveries.list("w1", days(2)) == []


def workspaces_are_sealed_off(factory: Factory) -> None:
    with factory() as uow:
        one, two = build_world(uow, "w1"), build_world(uow, "w2")
        mine = digest(uow, one, [item(one.ann.id, "client:1:quiet")])
        # The same job, recipient and day in another workspace is another message.
        theirs = uow.deliveries.plan("w2", "digest", f"person:{one.ann.id}", two.ann.id, DAY,
                                     [item(two.ann.id, "client:1:quiet")], NOW)
        stale = uow.deliveries.plan("w2", "reminder", "person:x", None, DAY, [], NOW)
        assert theirs is not None and stale is not None
        for delivery in (mine, theirs):
            workspace = "w1" if delivery is mine else "w2"
            uow.deliveries.claim(workspace, delivery.id, NOW, MAX)
            uow.deliveries.finish(workspace, delivery.id, SENT, NOW)
        assert uow.deliveries.claim("w2", stale.id, NOW, MAX) is not None
        uow.commit()
    with factory() as uow:
        assert uow.deliveries.get("w1", theirs.id) is None
        assert uow.deliveries.claim("w1", stale.id, minutes(1), MAX) is None
        with pytest.raises(LookupError):
            uow.deliveries.finish("w1", theirs.id, FAILED, NOW)
        assert [d.id for d in uow.deliveries.list("w1", DAY)] == [mine.id]
        assert uow.deliveries.recorded("w1", "digest", [DAY]) == {(f"person:{one.ann.id}", DAY)}
        assert uow.deliveries.recorded("w1", "reminder", [DAY]) == set()
        assert uow.deliveries.items_on("w1", two.ann.id, DAY) == set()
        assert uow.deliveries.sent_items("w1", DAY) == {(one.ann.id, "client:1:quiet", "quiet"): [DAY]}
        assert uow.deliveries.sent_items("w1", DAY, [two.ann.id]) == {}
        assert uow.deliveries.retryable("w1", [DAY], MAX) == []
        assert uow.deliveries.interrupt_stale("w1", minutes(60), minutes(60)) == 0  # w2's stays sending
        uow.commit()
    with factory() as uow:
        assert uow.deliveries.get("w2", stale.id).status == SENDING
        assert uow.deliveries.get("w2", theirs.id).status == SENT
        assert uow.deliveries.items_on("w2", two.ann.id, DAY) == {("client:1:quiet", "quiet")}
        assert uow.deliveries.interrupt_stale("w2", minutes(60), minutes(60)) == 1


def writes_are_undone_by_rollback(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        uow.commit()
        digest(uow, world, [item(world.ann.id, "client:1:quiet")])
        uow.rollback()
        assert uow.deliveries.recorded("w1", "digest", [DAY]) == set()
        assert uow.deliveries.items_on("w1", world.ann.id, DAY) == set()
        kept = digest(uow, world, [item(world.ann.id, "client:1:quiet")])  # planned afresh
        assert kept.items == (item(world.ann.id, "client:1:quiet"),)
        uow.commit()
    with factory() as uow:
        uow.deliveries.claim("w1", kept.id, NOW, MAX)
        # Leaving without commit gives the claim back.
    with factory() as uow:
        assert uow.deliveries.get("w1", kept.id) == kept
        assert uow.deliveries.claim("w1", kept.id, NOW, MAX) is not None


def times_are_kept_in_utc(factory: Factory) -> None:
    berlin = timezone(timedelta(hours=2))
    with factory() as uow:
        world = build_world(uow)
        skipped = digest(uow, world, now=NOW.replace(tzinfo=None), status=SKIPPED)  # naive: UTC
        planned = digest(uow, world, job="reminder")
        claimed = uow.deliveries.claim("w1", planned.id, minutes(5).astimezone(berlin), MAX)
        uow.commit()
    with factory() as uow:
        assert uow.deliveries.get("w1", skipped.id).finished_at == NOW
        got = uow.deliveries.get("w1", planned.id)
        assert got == claimed and got.claimed_at == minutes(5) and got.claimed_at.utcoffset() == timedelta(0)
        # Compared as instants: 09:04 in Berlin is before the claim at 07:05 UTC, 09:06 after it.
        assert uow.deliveries.interrupt_stale("w1", minutes(4).astimezone(berlin), minutes(6)) == 0
        assert uow.deliveries.interrupt_stale("w1", minutes(6).astimezone(berlin), minutes(6)) == 1
        assert uow.deliveries.get("w1", planned.id).finished_at == minutes(6)


def a_failed_messages_items_go_to_the_next_message_of_the_day(factory: Factory) -> None:
    """A message that failed never reached the rep: its items are free for a later message
    that day. One interrupted mid-send may have arrived: its items stay taken."""
    with factory() as uow:
        world = build_world(uow)
        quiet, due = item(world.ann.id, "client:4:quiet"), item(world.ann.id, "promise:12", "promise_due")
        morning = digest(uow, world, [quiet, due])
        uow.deliveries.finish("w1", morning.id, FAILED, NOW, reason="unreachable")
        assert uow.deliveries.items_on("w1", world.ann.id, DAY) == set()
        afternoon = digest(uow, world, [due], job="reminder")
        assert afternoon.items == (due,)
        assert uow.deliveries.get("w1", morning.id).items == (quiet,)  # taken over, not shared
        assert uow.deliveries.items_on("w1", world.ann.id, DAY) == {("promise:12", "promise_due")}
        cut = digest(uow, world, [quiet], job="weekly")
        uow.deliveries.finish("w1", cut.id, FAILED, NOW, reason=INTERRUPTED)
        assert ("client:4:quiet", "quiet") in uow.deliveries.items_on("w1", world.ann.id, DAY)
        assert digest(uow, world, [quiet], job="team").items == ()
        uow.commit()


CHECKS = [
    plan_records_a_message_once,
    a_failed_messages_items_go_to_the_next_message_of_the_day,
    an_item_reaches_a_rep_once_a_day,
    skipped_records_a_day_with_nothing_to_say,
    finished_messages_can_be_recorded_as_such,
    claim_takes_a_message_once,
    failed_messages_are_retried_while_attempts_last,
    interrupted_messages_are_never_sent_again,
    sent_items_counts_only_sent_messages,
    sent_items_between_lists_sent_digest_and_reminder_items,
    recorded_lists_a_jobs_recipients_and_dates,
    list_gives_a_days_messages_by_job_then_recipient,
    workspaces_are_sealed_off,
    writes_are_undone_by_rollback,
    times_are_kept_in_utc,
]


test_storage, test_fakes = storage_and_fake_tests(CHECKS)


# -- statement shapes ---------------------------------------------------------------------------


class Statements:
    """Every SQL statement the engine runs inside the ``with`` block."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.seen = engine, []  # type: Engine, list[str]

    def __enter__(self) -> list[str]:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self.seen

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.seen.append(" ".join(statement.split()))


def test_plan_and_claim_are_single_conditional_statements(uow_factory: UowFactory) -> None:
    """No read-then-write: a second planner, or a second sender, cannot slip in between."""
    with uow_factory() as uow:
        world = build_world(uow)
        uow.session.flush()
        engine = uow.session.get_bind()
        items = [item(world.ann.id, f"client:{n}:quiet") for n in range(3)]
        with Statements(engine) as statements:
            planned = digest(uow, world, items)
        # the delivery; the same items taken back from a message of the day that failed; the items
        assert len(statements) == 3 and statements[1].startswith("DELETE FROM delivery_items")
        inserts = [statements[0], statements[2]]
        assert all(s.startswith("INSERT") and "ON CONFLICT" in s and "DO NOTHING" in s for s in inserts)
        with Statements(engine) as statements:
            assert uow.deliveries.claim("w1", planned.id, NOW, MAX) is not None
        assert statements[0].startswith("UPDATE deliveries SET") and "RETURNING" in statements[0]
        assert len(statements) == 2  # the UPDATE, then the items
        with Statements(engine) as statements:
            assert uow.deliveries.claim("w1", planned.id, NOW, MAX) is None
        assert len(statements) == 1 and statements[0].startswith("UPDATE")


# -- the lock ------------------------------------------------------------------------------------


def test_lock_key_is_stable_and_fits_a_bigint() -> None:
    assert lock_key("digest") == lock_key("digest") != lock_key("digest ")
    assert lock_key("digest") == -4513681976682114857  # the same in every process, forever
    for name in ("", "scheduler:w1", "ünïcode", "x" * 1000):
        assert -(2 ** 63) <= lock_key(name) < 2 ** 63


def test_the_fake_lock_only_remembers_names() -> None:
    uow = FakeUnitOfWork(FakeStore())
    with uow:
        uow.lock("scheduler:w1")
        uow.lock("scheduler:w1")
    assert uow.locks == ["scheduler:w1", "scheduler:w1"]
    with pytest.raises(RuntimeError):
        uow.lock("closed")  # as the real one: only inside `with`


def _postgres_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has one writer at a time and no advisory locks")


def _advisory_lock_of(name: str) -> dict[str, int]:
    """pg_locks' view of an advisory lock on a bigint key: the high and low 32 bits."""
    key = lock_key(name) & 0xFFFF_FFFF_FFFF_FFFF
    return {"classid": key >> 32, "objid": key & 0xFFFF_FFFF}


def _holders(engine: Engine, name: str) -> list[tuple[int, bool]]:
    """(pid, granted) of every session holding or awaiting the lock ``name``."""
    with engine.connect() as connection:
        return list(connection.execute(text(
            "SELECT pid, granted FROM pg_locks WHERE locktype = 'advisory' AND classid = :classid "
            "AND objid = :objid AND objsubid = 1 ORDER BY granted DESC"), _advisory_lock_of(name)))


def _waits(engine: Engine, pid: int) -> bool:
    """Whether the session ``pid`` is waiting for a lock (a row's, here: another's claim)."""
    with engine.connect() as connection:
        return bool(connection.execute(text(
            "SELECT count(*) FROM pg_locks WHERE pid = :pid AND NOT granted"), {"pid": pid}).scalar())


def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def test_lock_is_held_until_the_transaction_ends(uow_factory: UowFactory, migrated_engine: Engine) -> None:
    """SQLite: nothing at all. PostgreSQL: one advisory lock, gone at commit and at rollback."""
    name = f"test:{uuid.uuid4()}"
    with uow_factory() as uow:
        build_world(uow)
        uow.session.flush()
        with Statements(migrated_engine) as statements:
            uow.lock(name)
        if migrated_engine.dialect.name != "postgresql":
            assert statements == []
            return
        assert len(statements) == 1 and statements[0].startswith("SELECT pg_advisory_xact_lock(")
        pid = uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert _holders(migrated_engine, name) == [(pid, True)]
        uow.lock(name)  # taking it again in the same transaction does not wait
        uow.commit()
        assert _holders(migrated_engine, name) == []
        uow.lock(name)
        assert len(_holders(migrated_engine, name)) == 1
        uow.rollback()
        assert _holders(migrated_engine, name) == []
        uow.lock(name)
    assert _holders(migrated_engine, name) == []  # leaving the block ends it too


def test_a_second_unit_of_work_waits_for_the_lock(uow_factory: UowFactory, migrated_engine: Engine) -> None:
    _postgres_only(migrated_engine)
    name = f"test:{uuid.uuid4()}"
    events: list[tuple[str, float]] = []
    waiting_pid: list[int] = []
    done = threading.Event()
    failures: list[BaseException] = []

    def second() -> None:
        try:
            with uow_factory() as uow:
                waiting_pid.append(uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one())
                uow.lock(name)
                events.append(("second holds", time.monotonic()))
                uow.commit()
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)
        finally:
            done.set()

    with uow_factory() as first:
        first.lock(name)
        thread = threading.Thread(target=second, daemon=True)
        thread.start()
        # PostgreSQL itself says the second session waits for the lock the first holds.
        _wait_for(lambda: bool(waiting_pid) and (waiting_pid[0], False) in _holders(migrated_engine, name))
        with uow_factory() as third:
            started = time.monotonic()
            third.lock(f"{name}:other")  # another name: no waiting
            assert time.monotonic() - started < 1
        assert not done.wait(0.3) and events == []  # still waiting
        events.append(("first commits", time.monotonic()))
        first.commit()
    assert done.wait(10) and not failures, failures
    thread.join(10)
    assert [what for what, _ in events] == ["first commits", "second holds"]
    assert events[1][1] >= events[0][1]


def test_concurrent_claims_have_exactly_one_winner(uow_factory: UowFactory, migrated_engine: Engine) -> None:
    """Two senders, two connections, one message: the second UPDATE waits for the first
    transaction, re-checks its WHERE against the committed row and matches nothing."""
    _postgres_only(migrated_engine)
    with uow_factory() as uow:
        world = build_world(uow)
        planned = digest(uow, world, [item(world.ann.id, "client:1:quiet")])
        uow.commit()

    results: list[Delivery | None] = []
    pids: list[int] = []
    done = threading.Event()

    def second_sender() -> None:
        try:
            with uow_factory() as uow:
                pids.append(uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one())
                results.append(uow.deliveries.claim("w1", planned.id, minutes(1), MAX))
                uow.commit()
        finally:
            done.set()

    with uow_factory() as first:
        won = first.deliveries.claim("w1", planned.id, NOW, MAX)
        assert won is not None and won.attempts == 1
        thread = threading.Thread(target=second_sender, daemon=True)
        thread.start()
        _wait_for(lambda: bool(pids) and _waits(migrated_engine, pids[0]))  # on the first's row lock
        assert not done.is_set()
        first.commit()
    assert done.wait(10)
    thread.join(10)
    assert results == [None]
    with uow_factory() as uow:
        stored = uow.deliveries.get("w1", planned.id)
        assert (stored.status, stored.attempts, stored.claimed_at) == (SENDING, 1, NOW)


def test_a_claim_rolled_back_leaves_the_message_to_the_next_sender(
        uow_factory: UowFactory, migrated_engine: Engine) -> None:
    _postgres_only(migrated_engine)
    with uow_factory() as uow:
        world = build_world(uow)
        planned = digest(uow, world)
        uow.commit()
    results: list[Delivery | None] = []
    pids: list[int] = []

    def second_sender() -> None:
        with uow_factory() as uow:
            pids.append(uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one())
            results.append(uow.deliveries.claim("w1", planned.id, minutes(1), MAX))
            uow.commit()

    with uow_factory() as first:
        assert first.deliveries.claim("w1", planned.id, NOW, MAX) is not None
        thread = threading.Thread(target=second_sender, daemon=True)
        thread.start()
        _wait_for(lambda: bool(pids) and _waits(migrated_engine, pids[0]))
        first.rollback()
    thread.join(10)
    assert len(results) == 1 and results[0] is not None
    assert (results[0].attempts, results[0].claimed_at) == (1, minutes(1))
