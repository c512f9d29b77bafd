"""SQLAlchemy repository for the ledger: each client's points, one idempotent entry per fact
(its ``key``), summed into balances."""

from __future__ import annotations

from datetime import date
from typing import Sequence

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from coaching.model import EntryDraft, LedgerEntry, Reason
from storage.common import IN_CHUNK, built_once
from storage.models import LedgerEntryRow
from storage.summary_upkeep import current, mark


def ledger_entry(row: LedgerEntryRow) -> LedgerEntry:
    return LedgerEntry(
        row.id, row.workspace_id, row.client_id, row.rep_id, row.amount, Reason(row.reason),
        row.occurred_on, row.key, cause=row.cause, detail=dict(row.detail or {}),
        reverses_id=row.reverses_id,
    )


# built once: every log asks for its client's balance
_BALANCES = select(LedgerEntryRow.client_id, func.sum(LedgerEntryRow.amount)).where(
    LedgerEntryRow.workspace_id == bindparam("ws"), LedgerEntryRow.client_id.in_(bindparam("ids", expanding=True)),
).group_by(LedgerEntryRow.client_id)
_BALANCES_AS_OF = _BALANCES.where(LedgerEntryRow.occurred_on <= bindparam("as_of"))


class SqlLedgerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, workspace_id: str, draft: EntryDraft) -> LedgerEntry | None:
        detail = dict(draft.detail)
        stmt = built_once(self.session, "ledger.add", lambda insert: insert(LedgerEntryRow).on_conflict_do_nothing(
            index_elements=["workspace_id", "key"]).returning(LedgerEntryRow.id))
        new_id = self.session.execute(stmt, dict(
            workspace_id=workspace_id, client_id=draft.client_id, rep_id=draft.rep_id,
            amount=draft.amount, reason=draft.reason.value, occurred_on=draft.occurred_on,
            key=draft.key, cause=draft.cause, detail=detail, reverses_id=draft.reverses_id,
        )).scalar_one_or_none()
        if new_id is None:
            return None
        mark(self.session, workspace_id, draft.client_id, draft.occurred_on,
             entry=(draft.occurred_on, draft.amount, draft.reason.value))
        return LedgerEntry(
            new_id, workspace_id, draft.client_id, draft.rep_id, draft.amount, draft.reason,
            draft.occurred_on, draft.key, cause=draft.cause, detail=detail,
            reverses_id=draft.reverses_id,
        )

    def for_client(self, workspace_id: str, client_id: int) -> list[LedgerEntry]:
        stmt = select(LedgerEntryRow).where(
            LedgerEntryRow.workspace_id == workspace_id, LedgerEntryRow.client_id == client_id,
        ).order_by(LedgerEntryRow.occurred_on, LedgerEntryRow.id)
        return [ledger_entry(row) for row in self.session.scalars(stmt)]

    def for_cause(self, workspace_id: str, cause: str) -> list[LedgerEntry]:
        """In the order they were stored."""
        stmt = select(LedgerEntryRow).where(
            LedgerEntryRow.workspace_id == workspace_id, LedgerEntryRow.cause == cause,
        ).order_by(LedgerEntryRow.id)
        return [ledger_entry(row) for row in self.session.scalars(stmt)]

    def balance(self, workspace_id: str, client_id: int) -> int:
        # A client this transaction logged to: its summary as the commit will store it.
        summary = current(self.session, workspace_id, client_id)
        return summary.balance if summary is not None else self.balances(workspace_id, [client_id])[client_id]

    def balances(self, workspace_id: str, client_ids: Sequence[int], as_of: date | None = None) -> dict[int, int]:
        result = dict.fromkeys(client_ids, 0)
        ids = list(result)
        stmt = _BALANCES if as_of is None else _BALANCES_AS_OF
        for start in range(0, len(ids), IN_CHUNK):
            params = {"ws": workspace_id, "ids": ids[start:start + IN_CHUNK], "as_of": as_of}
            for client_id, total in self.session.execute(stmt, params):
                result[client_id] = int(total or 0)
        return result
