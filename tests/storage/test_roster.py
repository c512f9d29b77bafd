"""Workspaces, teams, people and clients: round trips through the real schema."""

from __future__ import annotations

from datetime import date
from typing import Callable

import pytest
from sqlalchemy.exc import IntegrityError

from coaching.model import Role, TrustLevel, Workspace
from coaching.records import PersonDraft
from storage.uow import SqlAlchemyUnitOfWork
from tests.storage.world import DAY0, build_world

UowFactory = Callable[[], SqlAlchemyUnitOfWork]


def test_workspaces_and_teams(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        assert uow.workspaces.add(Workspace("T1", "Acme Sales", "slack")) == Workspace("T1", "Acme Sales", "slack")
        south, north = uow.teams.add("T1", "South"), uow.teams.add("T1", "North")
        uow.commit()
    with uow_factory() as uow:
        assert uow.workspaces.get("T1") == Workspace("T1", "Acme Sales", "slack")
        assert uow.workspaces.get("T2") is None
        assert uow.teams.get("T1", north.id) == north
        assert north.workspace_id == "T1" and north.digest_channel is None
        assert uow.teams.by_name("T1", "South") == south
        assert uow.teams.by_name("T1", "East") is None
        assert uow.teams.list("T1") == [north, south]


def test_team_names_are_unique_per_workspace(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        uow.workspaces.add(Workspace("T1", "One"))
        uow.teams.add("T1", "North")
        with pytest.raises(IntegrityError):
            uow.teams.add("T1", "North")


def test_people_round_trip_and_upsert_by_email(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        world = build_world(uow)
        uow.commit()
    with uow_factory() as uow:
        meg = uow.people.get("w1", world.meg.id)
        assert meg == world.meg
        assert meg.team_ids == (world.south.id, world.north.id)  # as given, not sorted
        assert meg.role is Role.MANAGER and meg.is_manager and not meg.on_leave
        assert uow.people.by_email("w1", "  MEG@Example.com ") == meg

        updated = uow.people.upsert("w1", PersonDraft(
            "Meg@EXAMPLE.com", "Meg Lee", Role.ADMIN, (world.north.id,), timezone="Asia/Tokyo",
            locale="ja", slack_user_id="U1", teams_user_id="29:abc"))
        assert updated.id == meg.id and updated.email == "meg@example.com"
        # A draft without platform ids or locale keeps the stored ones.
        again = uow.people.upsert("w1", PersonDraft("meg@example.com", "Meg", Role.MANAGER, ()))
        uow.commit()
    with uow_factory() as uow:
        stored = uow.people.get("w1", meg.id)
        assert stored == again
        assert (stored.name, stored.role, stored.team_ids, stored.timezone) == ("Meg", Role.MANAGER, (), "UTC")
        assert (stored.locale, stored.slack_user_id, stored.teams_user_id) == ("ja", "U1", "29:abc")
        assert uow.people.by_platform_id("w1", "slack", "U1") == stored
        assert uow.people.by_platform_id("w1", "teams", "29:abc") == stored
        assert uow.people.by_platform_id("w1", "slack", "U2") is None
        with pytest.raises(ValueError):
            uow.people.by_platform_id("w1", "discord", "U1")
        assert [p.name for p in uow.people.list("w1")] == ["Ann", "Bob", "Meg"]
        assert uow.people.list("w1", team_id=world.north.id) == [world.ann]
        assert len({p.email for p in uow.people.list("w1")}) == 3


def test_two_people_with_one_platform_id_the_oldest_is_found(uow_factory: UowFactory) -> None:
    """Nothing stops a roster from giving two people the same Slack id: the one entered first is
    found, with their teams in their order; the other is not mistaken for them."""
    with uow_factory() as uow:
        world = build_world(uow)
        first = uow.people.upsert("w1", PersonDraft("old@example.com", "Old", Role.REP,
                                                    (world.south.id, world.north.id), slack_user_id="USAME"))
        uow.people.upsert("w1", PersonDraft("new@example.com", "New", Role.REP, (world.north.id,), slack_user_id="USAME"))
        uow.commit()
    with uow_factory() as uow:
        found = uow.people.by_platform_id("w1", "slack", "USAME")
        assert found == first and found.team_ids == (world.south.id, world.north.id)
        assert uow.people.by_platform_id("w2", "slack", "USAME") is None


def test_upsert_refuses_teams_of_another_workspace(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        build_world(uow, "w1")
        other = build_world(uow, "w2")
        with pytest.raises(ValueError, match="not in workspace"):
            uow.people.upsert("w1", PersonDraft("zed@example.com", "Zed", Role.REP, (other.north.id,)))


def test_upsert_twice_in_one_unit_of_work_replaces_memberships(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        world = build_world(uow)
        draft = PersonDraft("ann@example.com", "Ann", Role.REP, (world.north.id, world.south.id))
        assert uow.people.upsert("w1", draft).team_ids == (world.north.id, world.south.id)
        uow.people.upsert("w1", draft)
        assert uow.people.get("w1", world.ann.id).team_ids == (world.north.id, world.south.id)
        assert [p.name for p in uow.people.list("w1", team_id=world.south.id)] == ["Ann", "Bob", "Meg"]


def test_clients_round_trip_and_match_names_by_nfkc_casefold(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        world = build_world(uow)
        wide = uow.clients.add("w1", " Ｚｅｔａ Ｃｏ ", world.north.id, world.ann.id, date(2024, 3, 1))
        uow.commit()
    with uow_factory() as uow:
        assert wide.name == "Ｚｅｔａ Ｃｏ"
        assert uow.clients.get("w1", wide.id) == wide
        assert uow.clients.by_name("w1", "zeta co") == wide
        assert uow.clients.by_name("w1", "ZETA CO ") == wide
        assert uow.clients.by_name("w1", "STRASSE") is None
        assert uow.clients.by_name("w1", "acme") == world.acme
        assert [c.name for c in uow.clients.list("w1")] == ["Acme", "Beta", "Corp", "Ｚｅｔａ Ｃｏ"]
        assert [c.name for c in uow.clients.list("w1", [world.south.id])] == ["Corp"]
        assert uow.clients.list("w1", []) == []
        with pytest.raises(IntegrityError):
            uow.clients.add("w1", "ACME", world.north.id, world.ann.id, DAY0)


def test_casefold_matches_german_sharp_s(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        world = build_world(uow)
        client = uow.clients.add("w1", "Straße AG", world.north.id, world.ann.id, DAY0)
        assert uow.clients.by_name("w1", "STRASSE ag") == client


def test_set_trust(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        world = build_world(uow)
        uow.clients.set_trust("w1", world.acme.id, TrustLevel.SOLUTIONS, date(2024, 5, 1),
                              TrustLevel.WHOLE_BUSINESS, True)
        uow.commit()
    with uow_factory() as uow:
        acme = uow.clients.get("w1", world.acme.id)
        assert acme.trust_level is TrustLevel.SOLUTIONS
        assert acme.trust_asked_for is TrustLevel.WHOLE_BUSINESS
        assert (acme.trust_assessed_on, acme.trust_demanded_justification) == (date(2024, 5, 1), True)
        uow.clients.set_trust("w1", world.acme.id, None, date(2024, 6, 1), None, None)
        cleared = uow.clients.get("w1", world.acme.id)
        assert (cleared.trust_level, cleared.trust_asked_for, cleared.trust_demanded_justification) == (None, None, None)
        with pytest.raises(LookupError):
            uow.clients.set_trust("w2", world.acme.id, None, date(2024, 6, 1), None, None)


def test_leaving_without_commit_rolls_back(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        uow.workspaces.add(Workspace("T1", "One"))
    with uow_factory() as uow:
        assert uow.workspaces.get("T1") is None
        uow.workspaces.add(Workspace("T1", "One"))
        uow.commit()
        uow.teams.add("T1", "North")
        uow.rollback()
        assert uow.teams.list("T1") == []
        assert uow.workspaces.get("T1") is not None
