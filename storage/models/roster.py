"""Who and what the coach knows about: workspaces, teams, people and their clients."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Code, Name, WorkspaceId, workspace_fk


class WorkspaceRow(Base):
    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(WorkspaceId, primary_key=True)
    name: Mapped[str] = mapped_column(Name)
    platform: Mapped[str] = mapped_column(Code)
    llm_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class TeamRow(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = workspace_fk()
    name: Mapped[str] = mapped_column(Name)
    digest_channel: Mapped[str | None] = mapped_column(String(200))


class PersonRow(Base):
    __tablename__ = "people"
    __table_args__ = (
        UniqueConstraint("workspace_id", "email"),
        # Every chat message is resolved to its sender through one of these.
        Index("ix_people_slack_user", "workspace_id", "slack_user_id"),
        Index("ix_people_teams_user", "workspace_id", "teams_user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = workspace_fk()
    email: Mapped[str] = mapped_column(String(320))  # always lower case
    name: Mapped[str] = mapped_column(Name)
    role: Mapped[str] = mapped_column(Code)
    timezone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(16))
    slack_user_id: Mapped[str | None] = mapped_column(String(64))
    teams_user_id: Mapped[str | None] = mapped_column(String(64))
    on_leave: Mapped[bool] = mapped_column(Boolean, default=False)
    # False: deactivated (they left); their rows stay for the team's history (0012)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class TeamMemberRow(Base):
    """A person may sit on several teams; ``position`` keeps them in the order given."""

    __tablename__ = "team_members"
    __table_args__ = (Index("ix_team_members_team", "workspace_id", "team_id"),)

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    workspace_id: Mapped[str] = workspace_fk()
    position: Mapped[int] = mapped_column(Integer)


class ClientRow(Base):
    __tablename__ = "clients"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name_key"),
        # Team filters (digests, team health, a manager's histories) and a rep's own book.
        Index("ix_clients_team", "workspace_id", "team_id"),
        Index("ix_clients_owner", "workspace_id", "owner_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = workspace_fk()
    name: Mapped[str] = mapped_column(Name)
    name_key: Mapped[str] = mapped_column(Name)  # NFKC + casefold: what by_name matches
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_on: Mapped[date] = mapped_column(Date)
    trust_level: Mapped[int | None] = mapped_column(Integer)
    trust_assessed_on: Mapped[date | None] = mapped_column(Date)
    trust_asked_for: Mapped[int | None] = mapped_column(Integer)
    trust_demanded_justification: Mapped[bool | None] = mapped_column(Boolean)
