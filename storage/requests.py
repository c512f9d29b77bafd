"""The request inbox: what a platform delivered, kept from before it is acknowledged until its
work is done.

``store`` runs before the acknowledgement and is refused for a key already seen (a replayed
copy of a signed request); ``store_many`` keeps several requests that arrived together in one
transaction (one commit, one disk flush), each as ``store`` would. ``settle`` marks the work done and drops the body. ``take_stale``
hands a request that stayed pending (its process died after acknowledging it) to exactly one
replayer, however many processes ask at once. Done rows are kept a few minutes more, as long
as a signature is valid, then ``purge`` removes them.

Each raises :class:`coaching.errors.StorageUnavailable` while the database cannot be reached;
``store`` raises :class:`coaching.errors.StorageRefused` for a body the database cannot hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Collection, Sequence

from sqlalchemy import Engine, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError

from coaching.errors import StorageRefused
from storage.errors import translate_errors
from storage.models import InboundRequestRow

PENDING, REPLAYING, DONE = "pending", "replaying", "done"
# settling runs once per request handled: built once, its key a parameter
_SETTLE = (update(InboundRequestRow).where(InboundRequestRow.key == bindparam("settled_key"))
           .values(status=DONE, body=None, content_type=None))


@dataclass(frozen=True)
class StoredRequest:
    key: str
    platform: str
    received_at: datetime
    content_type: str | None
    body: str


class RequestInbox:
    def __init__(self, engine: Engine) -> None:
        self.engine = translate_errors(engine)

    def store(self, key: str, platform: str, body: str, content_type: str | None, now: datetime) -> bool:
        """Keep the request; False when its key is already here (a replayed copy).
        ``StorageRefused``: the body holds what the database cannot store (PostgreSQL: a raw NUL)."""
        try:
            with self.engine.begin() as connection:
                connection.execute(InboundRequestRow.__table__.insert().values(
                    key=key, platform=platform, received_at=now, status=PENDING, content_type=content_type,
                    body=body))
        except IntegrityError:
            return False
        except DataError as error:
            # the driver's class only: a refused value's message may quote the value itself
            raise StorageRefused(type(error.orig).__name__) from error
        return True

    def store_many(self, items: Sequence[tuple[str, str, str, str | None, datetime]]) -> list[bool | StorageRefused]:
        """``store`` for each ``(key, platform, body, content_type, now)``, in one transaction:
        True when kept, False for a key already here (or earlier in ``items``), and the
        ``StorageRefused`` for a body the database cannot hold (then the others are kept one by
        one, so one bad body costs no other request its place)."""
        first = {key: n for n, (key, *_rest) in reversed(list(enumerate(items)))}
        rows = [{"key": key, "platform": platform, "received_at": now, "status": PENDING,
                 "content_type": content_type, "body": body}
                for n, (key, platform, body, content_type, now) in enumerate(items) if first[key] == n]
        if not rows:
            return []
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = (dialect.insert(InboundRequestRow.__table__).on_conflict_do_nothing(index_elements=["key"])
                     .returning(InboundRequestRow.key))
        try:
            with self.engine.begin() as connection:
                kept = set(connection.scalars(statement, rows).all())
        except DataError:
            return [self._store_alone(item) if first[item[0]] == n else False for n, item in enumerate(items)]
        return [first[key] == n and key in kept for n, (key, *_rest) in enumerate(items)]

    def _store_alone(self, item: tuple[str, str, str, str | None, datetime]) -> bool | StorageRefused:
        try:
            return self.store(*item)
        except StorageRefused as refused:
            return refused

    def settle(self, key: str) -> None:
        """Its work is done (or the user was told to try again): never replayed."""
        with self.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # One statement needs no transaction around it: in autocommit it is one round
                # trip to the server instead of three (BEGIN, the UPDATE, COMMIT).
                connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(_SETTLE, {"settled_key": key})
            connection.commit()

    def take_stale(self, platform: str, received_before: datetime, exclude: Collection[str] = (),
                   limit: int = 100, abandoned_before: datetime | None = None) -> list[StoredRequest]:
        """Requests still pending since before ``received_before``, each taken for replay by one
        caller only (the status moves to ``replaying`` under a guard on the old status). A replay
        itself cut short (``replaying`` since before ``abandoned_before``) is taken again: the
        requests' own idempotency keys make a second run change nothing twice."""
        waiting = InboundRequestRow.status == PENDING
        if abandoned_before is not None:
            waiting = waiting | ((InboundRequestRow.status == REPLAYING)
                                 & (InboundRequestRow.received_at < abandoned_before))
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(InboundRequestRow.key, InboundRequestRow.received_at, InboundRequestRow.content_type,
                       InboundRequestRow.body, InboundRequestRow.status)
                .where(InboundRequestRow.platform == platform, waiting,
                       InboundRequestRow.received_at < received_before)
                .order_by(InboundRequestRow.received_at).limit(limit + len(exclude))).all()
        taken: list[StoredRequest] = []
        for key, received_at, content_type, body, status in rows:
            if key in exclude or len(taken) >= limit:
                continue
            row = InboundRequestRow
            if status == PENDING:
                guard, values = [row.status == PENDING], {"status": REPLAYING}
            else:  # an abandoned replay: its clock restarts, so a second taker's guard fails
                guard = [row.status == REPLAYING, row.received_at < abandoned_before]
                values = {"received_at": received_before}
            with self.engine.begin() as connection:
                won = connection.execute(update(row).where(row.key == key, *guard).values(**values))
            if won.rowcount == 1:
                taken.append(StoredRequest(key, platform, received_at, content_type, body or ""))
        return taken

    def purge(self, done_before: datetime) -> int:
        """Forget settled requests received before ``done_before`` (their signatures have expired)."""
        with self.engine.begin() as connection:
            result = connection.execute(delete(InboundRequestRow).where(
                InboundRequestRow.status == DONE, InboundRequestRow.received_at < done_before))
        return result.rowcount or 0

    def backlog(self) -> list[tuple[str, str, int, datetime]]:
        """What is still waiting: ``(platform, status, count, oldest received_at)`` for the
        requests pending (acknowledged, their work not done yet) and being replayed."""
        row = InboundRequestRow
        with self.engine.connect() as connection:
            found = connection.execute(
                select(row.platform, row.status, func.count(), func.min(row.received_at))
                .where(row.status.in_((PENDING, REPLAYING))).group_by(row.platform, row.status)).all()
        return [(platform, status, count, oldest) for platform, status, count, oldest in found]

    def status(self, key: str) -> str | None:
        with self.engine.connect() as connection:
            return connection.execute(select(InboundRequestRow.status).where(InboundRequestRow.key == key)).scalar()
