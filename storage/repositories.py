"""SQLAlchemy repositories for the roster and the client book: workspaces, teams, people, clients.

Every method filters on ``workspace_id`` first; a row of another workspace is treated as absent.
Touches, promises, the ledger and the rest live in :mod:`storage.activity`; the set-based reads
of the daily run in :mod:`storage.history`.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Sequence, TypeVar

from sqlalchemy import Select, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from coaching.model import Client, Person, Role, Team, TrustLevel, Workspace
from coaching.records import PersonDraft
from coaching.vocabulary import name_key  # the one formula; the unique key stores it
from storage.models import Base, ClientRow, PersonRow, TeamMemberRow, TeamRow, WorkspaceRow
from storage.common import IN_CHUNK, insert_for
from storage.summary_upkeep import mark

RowT = TypeVar("RowT", bound=Base)
PLATFORM_COLUMNS = {"slack": PersonRow.slack_user_id, "teams": PersonRow.teams_user_id}


def normalise_email(email: str) -> str:
    return email.strip().lower()


def scoped_get(session: Session, row_type: type[RowT], workspace_id: str, row_id: int) -> RowT | None:
    """The row with this primary key, if it belongs to the workspace."""
    row = session.get(row_type, row_id)
    if row is None or getattr(row, "workspace_id") != workspace_id:
        return None
    return row


def trust(value: int | None) -> TrustLevel | None:
    return None if value is None else TrustLevel(value)


class SqlWorkspaceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, workspace_id: str) -> Workspace | None:
        row = self.session.get(WorkspaceRow, workspace_id)
        return None if row is None else Workspace(row.id, row.name, row.platform, row.llm_enabled)

    def add(self, workspace: Workspace) -> Workspace:
        self.session.add(WorkspaceRow(id=workspace.id, name=workspace.name, platform=workspace.platform,
                                      llm_enabled=workspace.llm_enabled))
        self.session.flush()
        return workspace

    def set_llm(self, workspace_id: str, enabled: bool) -> Workspace:
        row = self.session.get(WorkspaceRow, workspace_id)
        if row is None:
            raise LookupError(f"no workspace {workspace_id!r}")
        row.llm_enabled = enabled
        self.session.flush()
        return Workspace(row.id, row.name, row.platform, row.llm_enabled)


def _team(row: TeamRow) -> Team:
    return Team(row.id, row.workspace_id, row.name, row.digest_channel)


class SqlTeamRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, workspace_id: str, team_id: int) -> Team | None:
        row = scoped_get(self.session, TeamRow, workspace_id, team_id)
        return None if row is None else _team(row)

    def by_name(self, workspace_id: str, name: str) -> Team | None:
        """Exact match on the name as stored."""
        stmt = select(TeamRow).where(TeamRow.workspace_id == workspace_id, TeamRow.name == name)
        row = self.session.scalars(stmt).one_or_none()
        return None if row is None else _team(row)

    def list(self, workspace_id: str) -> list[Team]:
        stmt = select(TeamRow).where(TeamRow.workspace_id == workspace_id).order_by(TeamRow.name, TeamRow.id)
        return [_team(row) for row in self.session.scalars(stmt)]

    def add(self, workspace_id: str, name: str) -> Team:
        row = TeamRow(workspace_id=workspace_id, name=name)
        self.session.add(row)
        self.session.flush()
        return _team(row)

    def set_digest_channel(self, workspace_id: str, team_id: int, channel: str | None) -> Team:
        """``LookupError`` if the team is not in the workspace."""
        row = scoped_get(self.session, TeamRow, workspace_id, team_id)
        if row is None:
            raise LookupError(f"no team {team_id} in workspace {workspace_id!r}")
        row.digest_channel = channel
        self.session.flush()
        return _team(row)


class SqlPersonRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, workspace_id: str, person_id: int) -> Person | None:
        return self._one(_PERSON_BY["id"], {"ws": workspace_id, "value": person_id})

    def by_email(self, workspace_id: str, email: str) -> Person | None:
        return self._one(_PERSON_BY["email"], {"ws": workspace_id, "value": normalise_email(email)})

    def by_platform_id(self, workspace_id: str, platform: str, user_id: str) -> Person | None:
        column = PLATFORM_COLUMNS.get(platform)
        if column is None:
            raise ValueError(f"unknown platform {platform!r}; expected one of {sorted(PLATFORM_COLUMNS)}")
        return self._one(_PERSON_BY[column.key], {"ws": workspace_id, "value": user_id})

    def list(self, workspace_id: str, team_id: int | None = None) -> list[Person]:
        """By name."""
        stmt = select(_PEOPLE).where(_PEOPLE.c.workspace_id == workspace_id)
        if team_id is not None:
            members = select(TeamMemberRow.person_id).where(
                TeamMemberRow.workspace_id == workspace_id, TeamMemberRow.team_id == team_id)
            stmt = stmt.where(_PEOPLE.c.id.in_(members))
        return self._many(stmt.order_by(_PEOPLE.c.name, _PEOPLE.c.id))

    def upsert(self, workspace_id: str, draft: PersonDraft) -> Person:
        """Insert, or update the person with the same e-mail (case-insensitive).

        Name, role and timezone always take the draft's values; locale and platform ids only
        when the draft has one, so a roster file without Slack ids does not unlink anyone.
        Team memberships become exactly ``draft.team_ids``, in that order; every team must
        belong to the workspace (``ValueError`` otherwise).
        """
        team_ids = tuple(dict.fromkeys(draft.team_ids))
        known = set(self.session.scalars(select(TeamRow.id).where(
            TeamRow.workspace_id == workspace_id, TeamRow.id.in_(team_ids))))
        if missing := [t for t in team_ids if t not in known]:
            raise ValueError(f"teams {missing} are not in workspace {workspace_id!r}")
        email = normalise_email(draft.email)
        row = self.session.scalars(select(PersonRow).where(
            PersonRow.workspace_id == workspace_id, PersonRow.email == email)).one_or_none()
        if row is None:
            row = PersonRow(workspace_id=workspace_id, email=email, on_leave=False, active=True)
            self.session.add(row)
        row.name, row.role, row.timezone = draft.name, draft.role.value, draft.timezone
        for attribute in ("locale", "slack_user_id", "teams_user_id", "on_leave"):
            if (value := getattr(draft, attribute)) is not None:
                setattr(row, attribute, value)
        self.session.flush()
        self.session.execute(delete(TeamMemberRow).where(
            TeamMemberRow.workspace_id == workspace_id, TeamMemberRow.person_id == row.id))
        if team_ids:  # bulk, so no membership objects linger in the identity map
            self.session.execute(insert(TeamMemberRow), [
                {"person_id": row.id, "team_id": team_id, "workspace_id": workspace_id, "position": i}
                for i, team_id in enumerate(team_ids)
            ])
        return _person(row, team_ids)

    def link_platform(self, workspace_id: str, person_id: int, platform: str, user_id: str,
                      timezone: str | None = None) -> Person:
        """Set the person's ``slack`` or ``teams`` user id (``ValueError`` for another platform,
        ``LookupError`` if the person is not in the workspace)."""
        column = PLATFORM_COLUMNS.get(platform)
        if column is None:
            raise ValueError(f"unknown platform {platform!r}; expected one of {sorted(PLATFORM_COLUMNS)}")
        row = scoped_get(self.session, PersonRow, workspace_id, person_id)
        if row is None:
            raise LookupError(f"no person {person_id} in workspace {workspace_id!r}")
        setattr(row, column.key, user_id)
        if timezone and row.timezone == "UTC":  # the roster's default: the platform knows better
            row.timezone = timezone
        self.session.flush()
        person = self.get(workspace_id, person_id)
        assert person is not None
        return person

    def set_on_leave(self, workspace_id: str, person_id: int, on_leave: bool) -> Person:
        """``LookupError`` if the person is not in the workspace."""
        return self._set(workspace_id, person_id, on_leave=on_leave)

    def set_active(self, workspace_id: str, person_id: int, active: bool) -> Person:
        """``LookupError`` if the person is not in the workspace."""
        return self._set(workspace_id, person_id, active=active)

    def _set(self, workspace_id: str, person_id: int, **values: bool) -> Person:
        row = scoped_get(self.session, PersonRow, workspace_id, person_id)
        if row is None:
            raise LookupError(f"no person {person_id} in workspace {workspace_id!r}")
        for name, value in values.items():
            setattr(row, name, value)
        self.session.flush()
        person = self.get(workspace_id, person_id)
        assert person is not None
        return person

    def _one(self, stmt: Select[Any], params: dict[str, Any]) -> Person | None:
        """One of the ``_PERSON_BY`` statements: the person's row once per team (or once, with
        no team), in the teams' order."""
        rows = self.session.execute(stmt, params).all()
        if not rows:
            return None
        return _person(rows[0], tuple(row.team_id for row in rows if row.team_id is not None))

    def _many(self, stmt: Select[Any]) -> list[Person]:
        rows = self.session.execute(stmt).all()  # rows of the table: no ORM objects to build
        if not rows:
            return []
        teams: dict[int, list[int]] = {}
        ids = [row.id for row in rows]
        for start in range(0, len(ids), IN_CHUNK):
            params = {"ws": rows[0].workspace_id, "ids": ids[start:start + IN_CHUNK]}
            for person_id, team_id in self.session.execute(_MEMBERSHIPS, params):
                teams.setdefault(person_id, []).append(team_id)
        return [_person(row, tuple(teams.get(row.id, ()))) for row in rows]


# Built once, on the table rather than the ORM class (every turn looks its person up: building the
# statement and loading ORM objects cost more than the query). Should two people ever carry the
# same platform id, the oldest entry wins.
_PEOPLE, _MEMBERS = PersonRow.__table__, TeamMemberRow.__table__


def _person_by(name: str) -> Select[Any]:
    """The person whose ``name`` column holds the value (the oldest entry, should two), joined
    to their teams: one statement."""
    chosen = select(func.min(_PEOPLE.c.id)).where(
        _PEOPLE.c.workspace_id == bindparam("ws"), _PEOPLE.c[name] == bindparam("value")).scalar_subquery()
    return select(_PEOPLE, _MEMBERS.c.team_id).outerjoin(_MEMBERS, and_(
        _MEMBERS.c.workspace_id == _PEOPLE.c.workspace_id, _MEMBERS.c.person_id == _PEOPLE.c.id,
    )).where(_PEOPLE.c.id == chosen).order_by(_MEMBERS.c.position)


_PERSON_BY = {name: _person_by(name) for name in ("id", "email", *(c.key for c in PLATFORM_COLUMNS.values()))}

# built once (every turn looks its person up): the teams of the people found, in their order
_MEMBERSHIPS = select(TeamMemberRow.person_id, TeamMemberRow.team_id).where(
    TeamMemberRow.workspace_id == bindparam("ws"), TeamMemberRow.person_id.in_(bindparam("ids", expanding=True))
).order_by(TeamMemberRow.person_id, TeamMemberRow.position)


def _person(row: Any, team_ids: tuple[int, ...]) -> Person:
    return Person(
        row.id, row.workspace_id, row.email, row.name, Role(row.role), team_ids,
        timezone=row.timezone, locale=row.locale, slack_user_id=row.slack_user_id,
        teams_user_id=row.teams_user_id, on_leave=row.on_leave, active=row.active,
    )


_CLIENT_BY_ID = select(ClientRow.__table__).where(  # the table's columns: no ORM plugin on every log
    ClientRow.__table__.c.id == bindparam("id"), ClientRow.__table__.c.workspace_id == bindparam("ws"))


def _client(row: Any) -> Client:
    return Client(
        row.id, row.workspace_id, row.name, row.team_id, row.owner_id, row.created_on,
        trust_level=trust(row.trust_level), trust_assessed_on=row.trust_assessed_on,
        trust_asked_for=trust(row.trust_asked_for),
        trust_demanded_justification=row.trust_demanded_justification,
    )


class SqlClientRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, workspace_id: str, client_id: int) -> Client | None:
        # the table's row, not an ORM object: every log reads its client, and the ORM's load
        # (identity map, instance state) cost more than the query
        row = self.session.execute(_CLIENT_BY_ID, {"ws": workspace_id, "id": client_id}).first()
        return None if row is None else _client(row)

    def list(self, workspace_id: str, team_ids: Sequence[int] | None = None) -> list[Client]:
        """By name, ignoring case."""
        stmt = select(ClientRow).where(ClientRow.workspace_id == workspace_id)
        if team_ids is not None:
            stmt = stmt.where(ClientRow.team_id.in_(list(team_ids)))
        stmt = stmt.order_by(ClientRow.name_key, ClientRow.id)
        return [_client(row) for row in self.session.scalars(stmt)]

    def by_name(self, workspace_id: str, name: str) -> Client | None:
        stmt = select(ClientRow).where(
            ClientRow.workspace_id == workspace_id, ClientRow.name_key == name_key(name))
        row = self.session.scalars(stmt).one_or_none()
        return None if row is None else _client(row)

    def add(self, workspace_id: str, name: str, team_id: int, owner_id: int, created_on: date) -> Client:
        """A second client whose name matches (see :func:`name_key`) violates a unique
        constraint: look it up with :meth:`by_name` first."""
        name = name.strip()
        row = ClientRow(
            workspace_id=workspace_id, name=name, name_key=name_key(name), team_id=team_id,
            owner_id=owner_id, created_on=created_on,
        )
        self.session.add(row)
        self.session.flush()
        mark(self.session, workspace_id, row.id)
        return _client(row)

    def set_trust(
        self, workspace_id: str, client_id: int, level: TrustLevel | None, on: date,
        asked_for: TrustLevel | None, demanded_justification: bool | None,
    ) -> None:
        # one UPDATE (loading the row first cost a SELECT more)
        done = self.session.execute(update(ClientRow).where(
            ClientRow.id == client_id, ClientRow.workspace_id == workspace_id,
        ).values(trust_level=None if level is None else int(level), trust_assessed_on=on,
                 trust_asked_for=None if asked_for is None else int(asked_for),
                 trust_demanded_justification=demanded_justification))
        if done.rowcount == 0:
            raise LookupError(f"no client {client_id} in workspace {workspace_id!r}")
