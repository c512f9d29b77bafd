"""SQLAlchemy repositories for the chat itself: the dialog state kept between two messages, and
the claims of platform messages already taken on (so a retried delivery changes nothing twice)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from coaching.records import DialogState
from storage.common import as_utc, built_once
from storage.models import ConversationRow, ProcessedRequestRow
from storage.repositories import insert_for


class SqlDialogRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, workspace_id: str, conversation: str, user: str) -> DialogState | None:
        stmt = select(ConversationRow.state, ConversationRow.updated_at).where(*self._key(workspace_id, conversation, user))
        row = self.session.execute(stmt).one_or_none()
        return None if row is None else DialogState(dict(row.state), as_utc(row.updated_at))

    def save(self, workspace_id: str, conversation: str, user: str, state: dict[str, Any], now: datetime) -> None:
        """Insert or replace, atomically (two retried events cannot both insert)."""
        values = {"state": dict(state), "updated_at": as_utc(now)}
        stmt = insert_for(self.session, ConversationRow).values(
            workspace_id=workspace_id, conversation=conversation, user=user, **values,
        ).on_conflict_do_update(index_elements=["workspace_id", "conversation", "user"], set_=values)
        self.session.execute(stmt)

    def delete(self, workspace_id: str, conversation: str, user: str) -> None:
        self.session.execute(delete(ConversationRow).where(*self._key(workspace_id, conversation, user)))

    @staticmethod
    def _key(workspace_id: str, conversation: str, user: str) -> tuple[Any, ...]:
        return (
            ConversationRow.workspace_id == workspace_id,
            ConversationRow.conversation == conversation,
            ConversationRow.user == user,
        )


class SqlClaimRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self, workspace_id: str, key: str, now: datetime) -> bool:
        """True the first time ``key`` is seen in the workspace, False for a repeat. Rolled back
        with the transaction; on PostgreSQL a concurrent claim of the same key waits for this
        transaction and then returns False (committed) or True (rolled back)."""
        stmt = built_once(self.session, "requests.claim", lambda insert: insert(ProcessedRequestRow).on_conflict_do_nothing(
            index_elements=["workspace_id", "key"]).returning(ProcessedRequestRow.key))
        params = {"workspace_id": workspace_id, "key": key, "seen_at": as_utc(now)}
        return self.session.execute(stmt, params).scalar_one_or_none() is not None
