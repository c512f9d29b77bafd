"""The request inbox: what a platform delivered, kept from before it is acknowledged until its
work is done.

``store`` runs before the acknowledgement and is refused for a key already seen (a replayed
copy of a signed request). ``settle`` marks the work done and drops the body. ``take_stale``
hands a request that stayed pending (its process died after acknowledging it) to exactly one
replayer, however many processes ask at once. Done rows are kept a few minutes more, as long
as a signature is valid, then ``purge`` removes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Collection

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from storage.models import InboundRequestRow

PENDING, REPLAYING, DONE = "pending", "replaying", "done"


@dataclass(frozen=True)
class StoredRequest:
    key: str
    platform: str
    received_at: datetime
    content_type: str | None
    body: str


class RequestInbox:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def store(self, key: str, platform: str, body: str, content_type: str | None, now: datetime) -> bool:
        """Keep the request; False when its key is already here (a replayed copy)."""
        try:
            with self.engine.begin() as connection:
                connection.execute(InboundRequestRow.__table__.insert().values(
                    key=key, platform=platform, received_at=now, status=PENDING, content_type=content_type,
                    body=body))
        except IntegrityError:
            return False
        return True

    def settle(self, key: str) -> None:
        """Its work is done (or the user was told to try again): never replayed."""
        with self.engine.begin() as connection:
            connection.execute(update(InboundRequestRow).where(InboundRequestRow.key == key)
                               .values(status=DONE, body=None, content_type=None))

    def take_stale(self, platform: str, received_before: datetime, exclude: Collection[str] = (),
                   limit: int = 100) -> list[StoredRequest]:
        """Requests still pending since before ``received_before``, each taken for replay by one
        caller only (the status moves to ``replaying`` under a guard on the old status)."""
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(InboundRequestRow.key, InboundRequestRow.received_at, InboundRequestRow.content_type,
                       InboundRequestRow.body)
                .where(InboundRequestRow.platform == platform, InboundRequestRow.status == PENDING,
                       InboundRequestRow.received_at < received_before)
                .order_by(InboundRequestRow.received_at).limit(limit + len(exclude))).all()
        taken: list[StoredRequest] = []
        for key, received_at, content_type, body in rows:
            if key in exclude or len(taken) >= limit:
                continue
            with self.engine.begin() as connection:
                won = connection.execute(update(InboundRequestRow).where(
                    InboundRequestRow.key == key, InboundRequestRow.status == PENDING).values(status=REPLAYING))
            if won.rowcount == 1:
                taken.append(StoredRequest(key, platform, received_at, content_type, body or ""))
        return taken

    def purge(self, done_before: datetime) -> int:
        """Forget settled requests received before ``done_before`` (their signatures have expired)."""
        with self.engine.begin() as connection:
            result = connection.execute(delete(InboundRequestRow).where(
                InboundRequestRow.status.in_((DONE, REPLAYING)), InboundRequestRow.received_at < done_before))
        return result.rowcount or 0

    def status(self, key: str) -> str | None:
        with self.engine.connect() as connection:
            return connection.execute(select(InboundRequestRow.status).where(InboundRequestRow.key == key)).scalar()
