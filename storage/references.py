"""SQLAlchemy repository for conversation references: where to reach a user proactively.

One row per (workspace, platform, user). ``save`` is an ``INSERT ... ON CONFLICT DO UPDATE`` on
that key, so a user who installs the app and speaks to it at once cannot get two rows, and a
save replaces every field and sets ``active`` again. ``deactivate`` (a 403: the app was blocked
or removed) keeps the row, so ``for_user`` still finds it, but ``for_person`` does not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from coaching.records import ChatReference
from storage.activity import as_utc
from storage.models import ChatReferenceRow
from storage.repositories import insert_for


_COLUMNS = (
    ChatReferenceRow.platform, ChatReferenceRow.user_id,
    ChatReferenceRow.conversation_id, ChatReferenceRow.service_url,
    ChatReferenceRow.reference, ChatReferenceRow.person_id,
    ChatReferenceRow.active,
)
"""Read as plain columns, not ORM objects: ``save`` and ``deactivate`` write with Core
statements, which would leave an object already in the session's identity map stale."""


def conversation_reference(row: Any) -> ChatReference:
    return ChatReference(
        platform=row.platform, user_id=row.user_id, conversation_id=row.conversation_id,
        service_url=row.service_url, reference=dict(row.reference), person_id=row.person_id,
        active=row.active,
    )


class SqlChatRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def save(self, workspace_id: str, ref: ChatReference, now: datetime) -> None:
        """Insert or replace, atomically; always saved active, whatever ``ref.active`` says."""
        values: dict[str, Any] = {
            "person_id": ref.person_id, "conversation_id": ref.conversation_id,
            "service_url": ref.service_url, "reference": dict(ref.reference), "active": True,
            "updated_at": as_utc(now),
        }
        stmt = insert_for(self.session, ChatReferenceRow).values(
            workspace_id=workspace_id, platform=ref.platform, user_id=ref.user_id, **values,
        ).on_conflict_do_update(index_elements=["workspace_id", "platform", "user_id"], set_=values)
        self.session.execute(stmt)

    def for_person(self, workspace_id: str, platform: str, person_id: int) -> ChatReference | None:
        """If the person has several active references (two accounts), the latest saved."""
        row = ChatReferenceRow
        stmt = select(*_COLUMNS).where(
            row.workspace_id == workspace_id, row.platform == platform, row.person_id == person_id,
            row.active.is_(True),
        ).order_by(row.updated_at.desc(), row.user_id).limit(1)
        found = self.session.execute(stmt).first()
        return None if found is None else conversation_reference(found)

    def for_user(self, workspace_id: str, platform: str, user_id: str) -> ChatReference | None:
        """Active or not: the caller can see whether the user blocked the app."""
        row = ChatReferenceRow
        stmt = select(*_COLUMNS).where(
            row.workspace_id == workspace_id, row.platform == platform, row.user_id == user_id)
        found = self.session.execute(stmt).first()
        return None if found is None else conversation_reference(found)

    def deactivate(self, workspace_id: str, platform: str, user_id: str) -> None:
        row = ChatReferenceRow
        self.session.execute(update(row).where(
            row.workspace_id == workspace_id, row.platform == platform, row.user_id == user_id,
        ).values(active=False))
