"""Where the coach can reach people later: the conversations the platforms let it continue (a
Teams personal chat, a team's channel). Adapters save and read them here, never through the
repositories, so that the rules (a personal chat is linked to its person; only an active one is
used; a blocked one is set aside) live in one place."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coaching.ports import UnitOfWorkFactory
from coaching.records import ChatReference


def remember(uow_factory: UnitOfWorkFactory, workspace_id: str, platform: str, user: str, conversation_id: str,
             service_url: str, reference: dict[str, Any], personal: bool, now: datetime) -> None:
    """Save (or renew) where to reach ``user``: their personal chat, linked to the person the
    platform id belongs to, or a shared conversation (``personal`` false), linked to nobody."""
    with uow_factory() as uow:
        person = uow.people.by_platform_id(workspace_id, platform, user) if personal else None
        uow.chats.save(workspace_id, ChatReference(platform, user, conversation_id, service_url,
                                                                reference, person.id if person else None), now)
        uow.commit()


def active(uow_factory: UnitOfWorkFactory, workspace_id: str, platform: str, *, user: str | None = None,
           person_id: int | None = None) -> ChatReference | None:
    """The saved conversation of a platform user (or of a person), if it is still usable."""
    with uow_factory() as uow:
        if person_id is not None:
            found = uow.chats.for_person(workspace_id, platform, person_id)
        else:
            found = uow.chats.for_user(workspace_id, platform, user) if user else None
    return found if found is not None and found.active else None


def set_aside(uow_factory: UnitOfWorkFactory, workspace_id: str, platform: str, user: str) -> None:
    """The user blocked or removed the app: nothing more is sent there until they come back."""
    with uow_factory() as uow:
        uow.chats.deactivate(workspace_id, platform, user)
        uow.commit()
