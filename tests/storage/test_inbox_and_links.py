"""The inbox of requests already taken on, team digest channels and platform links.

Each check runs against the real schema (SQLite, and PostgreSQL with TEST_DATABASE_URL) and
against the in-memory fakes of tests/fakes.py, so the fakes keep the same semantics.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Callable

import pytest
from sqlalchemy import select

from coaching.model import Workspace
from storage.models import ProcessedRequestRow
from storage.uow import SqlAlchemyUnitOfWork
from tests.storage.world import build_world
from tests.storage.checks import storage_and_fake_tests

Factory = Callable[[], Any]  # a SqlAlchemyUnitOfWork or a FakeUnitOfWork factory
NOW = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)


def claim_twice_is_true_then_false(factory: Factory) -> None:
    with factory() as uow:
        uow.workspaces.add(Workspace("w1", "One"))
        assert uow.claims.claim("w1", "ev-1", NOW) is True
        assert uow.claims.claim("w1", "ev-1", NOW) is False  # same transaction
        assert uow.claims.claim("w1", "ev-2", NOW) is True
        uow.commit()
    with factory() as uow:
        assert uow.claims.claim("w1", "ev-1", NOW + timedelta(minutes=1)) is False  # after commit
        assert uow.claims.claim("w1", "ev-2", NOW) is False


def claim_is_undone_by_rollback(factory: Factory) -> None:
    with factory() as uow:
        uow.workspaces.add(Workspace("w1", "One"))
        uow.commit()
        assert uow.claims.claim("w1", "ev-1", NOW) is True
        uow.rollback()
        assert uow.claims.claim("w1", "ev-1", NOW) is True  # the failed turn can be retried
        # Leaving without commit un-claims it too.
    with factory() as uow:
        assert uow.claims.claim("w1", "ev-1", NOW) is True
        uow.commit()
    with factory() as uow:
        assert uow.claims.claim("w1", "ev-1", NOW) is False


def same_key_in_two_workspaces_is_claimed_in_each(factory: Factory) -> None:
    with factory() as uow:
        uow.workspaces.add(Workspace("w1", "One"))
        uow.workspaces.add(Workspace("w2", "Two"))
        assert uow.claims.claim("w1", "ev-1", NOW) is True
        assert uow.claims.claim("w2", "ev-1", NOW) is True
        assert uow.claims.claim("w2", "ev-1", NOW) is False
        uow.commit()


def digest_channel_round_trip(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        build_world(uow, "w2")
        updated = uow.teams.set_digest_channel("w1", world.north.id, "C123")
        assert updated == type(world.north)(world.north.id, "w1", "North", "C123")
        uow.commit()
    with factory() as uow:
        assert uow.teams.get("w1", world.north.id).digest_channel == "C123"
        assert uow.teams.get("w1", world.south.id).digest_channel is None
        assert uow.teams.set_digest_channel("w1", world.north.id, None).digest_channel is None
        with pytest.raises(LookupError):
            uow.teams.set_digest_channel("w2", world.north.id, "C9")  # another workspace's team
        uow.commit()
    with factory() as uow:
        assert uow.teams.get("w1", world.north.id).digest_channel is None
        assert uow.teams.by_name("w2", "North").digest_channel is None


def link_platform_then_find_by_platform_id(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        build_world(uow, "w2")
        linked = uow.people.link_platform("w1", world.ann.id, "slack", "U1")
        assert linked.slack_user_id == "U1" and linked.teams_user_id is None
        assert linked.team_ids == world.ann.team_ids and linked.email == world.ann.email
        assert uow.people.link_platform("w1", world.ann.id, "teams", "29:ann").slack_user_id == "U1"
        with pytest.raises(ValueError):
            uow.people.link_platform("w1", world.ann.id, "discord", "D1")
        with pytest.raises(LookupError):
            uow.people.link_platform("w2", world.ann.id, "slack", "U1")  # Ann is not in w2
        with pytest.raises(LookupError):
            uow.people.link_platform("w1", 10_000, "slack", "U1")
        uow.commit()
    with factory() as uow:
        ann = uow.people.get("w1", world.ann.id)
        assert (ann.slack_user_id, ann.teams_user_id) == ("U1", "29:ann")
        assert uow.people.by_platform_id("w1", "slack", "U1") == ann
        assert uow.people.by_platform_id("w1", "teams", "29:ann") == ann
        assert uow.people.by_platform_id("w2", "slack", "U1") is None
        # Re-linking replaces the old id.
        uow.people.link_platform("w1", world.ann.id, "slack", "U1b")
        assert uow.people.by_platform_id("w1", "slack", "U1") is None
        assert uow.people.by_platform_id("w1", "slack", "U1b").id == world.ann.id


CHECKS = [
    claim_twice_is_true_then_false,
    claim_is_undone_by_rollback,
    same_key_in_two_workspaces_is_claimed_in_each,
    digest_channel_round_trip,
    link_platform_then_find_by_platform_id,
]


test_storage, test_fakes = storage_and_fake_tests(CHECKS)


def test_claim_stores_when_in_utc(uow_factory: Callable[[], SqlAlchemyUnitOfWork]) -> None:
    tokyo = timezone(timedelta(hours=9))
    with uow_factory() as uow:
        uow.workspaces.add(Workspace("w1", "One"))
        uow.claims.claim("w1", "ev-1", datetime(2024, 5, 2, 18, 30, tzinfo=tokyo))
        uow.commit()
        seen_at = uow.session.scalars(select(ProcessedRequestRow.seen_at)).one()
    assert seen_at.replace(tzinfo=seen_at.tzinfo or UTC) == NOW
