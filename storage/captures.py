"""SQLAlchemy repository for client channels opted in to capture.

A message event from a channel is looked up here by its primary key before anything else is
done with it; a channel with no row is ignored there and then.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from coaching.records import ChannelCapture
from storage.models import ChannelCaptureRow
from storage.repositories import insert_for


def _capture(row: ChannelCaptureRow) -> ChannelCapture:
    return ChannelCapture(row.platform, row.channel_id, row.client_id, row.enabled_by, row.enabled_on)


class SqlCaptureRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, workspace_id: str, platform: str, channel_id: str) -> ChannelCapture | None:
        row = self.session.get(ChannelCaptureRow, (workspace_id, platform, channel_id))
        return None if row is None else _capture(row)

    def save(self, workspace_id: str, capture: ChannelCapture) -> None:
        values = dict(workspace_id=workspace_id, platform=capture.platform, channel_id=capture.channel_id,
                      client_id=capture.client_id, enabled_by=capture.enabled_by, enabled_on=capture.enabled_on)
        stmt = insert_for(self.session, ChannelCaptureRow).values(**values).on_conflict_do_update(
            index_elements=["workspace_id", "platform", "channel_id"],
            set_={k: values[k] for k in ("client_id", "enabled_by", "enabled_on")})
        self.session.execute(stmt)
        self.session.expire_all()  # a row read earlier in this session is stale now

    def remove(self, workspace_id: str, platform: str, channel_id: str) -> bool:
        result = self.session.execute(delete(ChannelCaptureRow).where(
            ChannelCaptureRow.workspace_id == workspace_id, ChannelCaptureRow.platform == platform,
            ChannelCaptureRow.channel_id == channel_id))
        self.session.expire_all()
        return bool(result.rowcount)

    def list(self, workspace_id: str) -> list[ChannelCapture]:
        stmt = select(ChannelCaptureRow).where(ChannelCaptureRow.workspace_id == workspace_id).order_by(
            ChannelCaptureRow.platform, ChannelCaptureRow.channel_id)
        return [_capture(row) for row in self.session.scalars(stmt)]
