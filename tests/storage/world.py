"""A small roster to hang storage tests on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from coaching.model import Client, InteractionDraft, Kind, Person, Purpose, Role, Team, Workspace
from coaching.records import PersonDraft
from storage.uow import SqlAlchemyUnitOfWork

DAY0 = date(2024, 1, 1)


@dataclass(frozen=True)
class World:
    workspace_id: str
    north: Team
    south: Team
    ann: Person  # rep, North
    bob: Person  # rep, South
    meg: Person  # manager of both teams
    corp: Client  # Bob's; created first, so the lowest client id
    acme: Client  # Ann's
    beta: Client  # Ann's


def build_world(uow: SqlAlchemyUnitOfWork, workspace_id: str = "w1") -> World:
    """Workspace, two teams, three people and three clients; not committed."""
    uow.workspaces.add(Workspace(workspace_id, f"Workspace {workspace_id}", "slack"))
    north = uow.teams.add(workspace_id, "North")
    south = uow.teams.add(workspace_id, "South")
    ann = uow.people.upsert(workspace_id, PersonDraft("ann@example.com", "Ann", Role.REP, (north.id,)))
    bob = uow.people.upsert(workspace_id, PersonDraft("bob@example.com", "Bob", Role.REP, (south.id,)))
    meg = uow.people.upsert(
        workspace_id, PersonDraft("meg@example.com", "Meg", Role.MANAGER, (south.id, north.id)))
    corp = uow.clients.add(workspace_id, "Corp", south.id, bob.id, DAY0)
    acme = uow.clients.add(workspace_id, "Acme", north.id, ann.id, DAY0)
    beta = uow.clients.add(workspace_id, "Beta", north.id, ann.id, DAY0)
    return World(workspace_id, north, south, ann, bob, meg, corp, acme, beta)


def touch(
    uow: SqlAlchemyUnitOfWork, world: World, client: Client, on: date,
    purpose: Purpose = Purpose.GIVE, rep: Person | None = None, external_id: str | None = None,
) -> int:
    stored = uow.interactions.add(
        world.workspace_id, (rep or world.ann).id,
        InteractionDraft(client.id, on, Kind.CALL, purpose, external_id=external_id),
    )
    assert stored is not None
    return stored.id
