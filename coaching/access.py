"""Who may see and do what: the one place a person's reach is decided, for every channel.

Admins reach every team of their workspace; everyone else the teams they are on. A client of
another team is treated as absent, so a name or an id never tells a person what they may not
see. Refusals are :class:`CoachError`, whose message says why in the catalogue's words.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from coaching.clientbook import ClientBook
from coaching.messages import Msg
from coaching.model import Client, Person, Role, Team
from coaching.ports import UnitOfWork


class CoachError(Exception):
    """A request the coach cannot carry out; ``message`` says why, in the catalogue's words."""

    def __init__(self, message: Msg) -> None:
        super().__init__(message.key)
        self.message = message


def local_today(person: Person, now: datetime) -> date:
    """The rep's own date: what "today" and "Friday" mean to them."""
    try:
        return now.astimezone(ZoneInfo(person.timezone)).date()
    except (KeyError, ValueError):
        return now.date()


def visible_team_ids(uow: UnitOfWork, person: Person) -> tuple[int, ...]:
    """Admins see every team of their workspace; everyone else the teams they are on; someone
    deactivated (they left) none at all."""
    if not person.active:
        return ()
    if person.is_admin:
        return tuple(t.id for t in uow.teams.list(person.workspace_id))
    return person.team_ids


def visible_clients(uow: UnitOfWork, person: Person) -> list[Client]:
    return uow.clients.list(person.workspace_id, visible_team_ids(uow, person))


def visible_client(uow: UnitOfWork, person: Person, client_id: int) -> Client | None:
    """One client by id, if ``person`` may see it (one look-up, not their whole book)."""
    client = uow.clients.get(person.workspace_id, client_id)
    return client if client is not None and client.team_id in visible_team_ids(uow, person) else None


MAX_NAME_SHOWN = 80


def find_client(uow: UnitOfWork, person: Person, name: str) -> Client:
    """The client the person means by ``name``, if they may see it; else a clear error."""
    client = uow.clients.by_name(person.workspace_id, name)  # one indexed look-up
    if client is not None and client.team_id in visible_team_ids(uow, person):
        return client
    similar = [n for _, n in client_book(uow, person).similar(name, 3)]
    shown = name if len(name) <= MAX_NAME_SHOWN else name[:MAX_NAME_SHOWN] + "…"  # not 4,000 characters back
    raise CoachError(Msg("error.no_client", {"name": shown, "similar": similar}) if similar
                     else Msg("error.no_client_none", {"name": shown}))


def client_book(uow: UnitOfWork, person: Person) -> ClientBook:
    """The clients ``person`` may log against, read once for a turn of the log (one query)."""
    return ClientBook(tuple(visible_clients(uow, person)), person.id)


def teams_for_health(uow: UnitOfWork, viewer: Person, team_name: str | None) -> list[Team]:
    """The teams a /teamhealth request covers, or an error saying why not."""
    if viewer.role is Role.REP:
        raise CoachError(Msg("error.managers_only", {}))
    allowed = visible_team_ids(uow, viewer)
    if team_name:
        team = uow.teams.by_name(viewer.workspace_id, team_name)
        if team is None:
            names = [t.name for t in uow.teams.list(viewer.workspace_id) if t.id in allowed]
            raise CoachError(Msg("error.no_team_named", {"team": team_name, "teams": names}))
        if team.id not in allowed:
            raise CoachError(Msg("error.not_your_team", {"team": team.name}))
        return [team]
    teams = [t for t in uow.teams.list(viewer.workspace_id) if t.id in allowed]
    if not teams:
        raise CoachError(Msg("error.no_team", {}))
    return teams
