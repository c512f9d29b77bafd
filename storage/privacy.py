"""SQLAlchemy implementation of :class:`coaching.privacy.PrivacyRepository`: exports
(:mod:`storage.export`), erasures (:mod:`storage.erasure`), the retention period
(:mod:`storage.retention`) and their audit (``erasures``), all in the unit of work's session."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coaching.privacy import Erasure
from storage import erasure, export, retention
from storage.common import as_utc
from storage.models import ErasureRow


class SqlPrivacyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def export_person(self, workspace_id: str, person_id: int) -> dict[str, Any]:
        return export.export_person(self.session, workspace_id, person_id)

    def export_client(self, workspace_id: str, client_id: int) -> dict[str, Any]:
        return export.export_client(self.session, workspace_id, client_id)

    def erase_person(self, workspace_id: str, person_id: int, name: str) -> dict[str, int]:
        return erasure.erase_person(self.session, workspace_id, person_id, name)

    def erase_client(self, workspace_id: str, client_id: int) -> dict[str, int]:
        return erasure.erase_client(self.session, workspace_id, client_id)

    def blank_before(self, workspace_id: str, day: date) -> dict[str, int]:
        return retention.blank_before(self.session, workspace_id, day)

    def record(self, workspace_id: str, erasure: Erasure) -> Erasure:
        row = ErasureRow(workspace_id=workspace_id, kind=erasure.kind, subject_id=erasure.subject_id,
                         requested_by=erasure.requested_by, erased_at=as_utc(erasure.at), before=erasure.before,
                         rows=dict(sorted(erasure.rows.items())))
        self.session.add(row)
        self.session.flush()
        return _erasure(row)

    def erasures(self, workspace_id: str) -> list[Erasure]:
        stmt = select(ErasureRow).where(ErasureRow.workspace_id == workspace_id).order_by(ErasureRow.id)
        return [_erasure(row) for row in self.session.scalars(stmt)]


def _erasure(row: ErasureRow) -> Erasure:
    return Erasure(row.kind, row.subject_id, row.requested_by, as_utc(row.erased_at), dict(row.rows),
                   row.before, row.id)
