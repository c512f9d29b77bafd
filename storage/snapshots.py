"""Team snapshots (:mod:`coaching.snapshots`) in ``team_snapshots``; :mod:`storage.summaries`
removes them when a record dated on or before their day is written."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from coaching.metrics import Figures
from coaching.snapshots import figures_from_json, figures_to_json
from storage.common import insert_for
from storage.models import TeamSnapshotRow


class SqlSnapshotRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def figures(self, workspace_id: str, key: str, day: date) -> Figures | None:
        t = TeamSnapshotRow
        found = self.session.scalar(select(t.figures).where(t.workspace_id == workspace_id, t.teams == key, t.day == day))
        return None if found is None else figures_from_json(json.loads(found))

    def owner_balances(self, workspace_id: str, key: str, days: Sequence[date]) -> dict[date, dict[int, int]]:
        t = TeamSnapshotRow
        rows = self.session.execute(select(t.day, t.owners).where(
            t.workspace_id == workspace_id, t.teams == key, t.day.in_(list(days)), t.owners.is_not(None)))
        return {day: {int(k): v for k, v in json.loads(owners).items()} for day, owners in rows}

    def save(self, workspace_id: str, key: str, day: date, *, figures: Figures | None = None,
             owners: Mapping[int, int] | None = None) -> None:
        values: dict[str, Any] = {"computed_at": datetime.now(UTC)}
        if figures is not None:
            values["figures"] = json.dumps(figures_to_json(figures), separators=(",", ":"))
        if owners is not None:
            values["owners"] = json.dumps({str(k): v for k, v in owners.items()}, separators=(",", ":"))
        stmt = insert_for(self.session, TeamSnapshotRow).values(workspace_id=workspace_id, teams=key, day=day, **values)
        self.session.execute(stmt.on_conflict_do_update(index_elements=["workspace_id", "teams", "day"], set_=values))
