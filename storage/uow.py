"""The unit of work: one session, one transaction, every repository bound to it.

    uow_factory = make_uow_factory(make_engine(url))
    with uow_factory() as uow:
        client = uow.clients.by_name("T0ABC", "Acme")
        ...
        uow.commit()  # anything not committed is rolled back on leaving the block

A database that cannot be reached raises :class:`coaching.errors.StorageUnavailable` from any
repository call, ``commit``, ``rollback`` or ``lock``; nothing was committed then.
"""

from __future__ import annotations

import hashlib
from typing import Callable

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from storage.activity import (
    SqlDialogRepository,
    SqlDealRepository,
    SqlClaimRepository,
    SqlInteractionRepository,
    SqlLedgerRepository,
    SqlProblemRepository,
    SqlPromiseRepository,
)
from storage.captures import SqlCaptureRepository
from storage.deliveries import SqlDeliveryRepository
from storage.errors import translate_errors
from storage.feedback import SqlNudgeFeedbackRepository
from storage import summary_upkeep
from storage.history import SqlHistoryRepository
from storage.privacy import SqlPrivacyRepository
from storage.references import SqlChatRepository
from storage.snapshots import SqlSnapshotRepository
from storage.repositories import (
    SqlClientRepository,
    SqlPersonRepository,
    SqlTeamRepository,
    SqlWorkspaceRepository,
)


class SqlAlchemyUnitOfWork:
    """Implements ``coaching.ports.UnitOfWork``. Not reentrant; make a new one per request."""

    workspaces: SqlWorkspaceRepository
    teams: SqlTeamRepository
    people: SqlPersonRepository
    clients: SqlClientRepository
    interactions: SqlInteractionRepository
    promises: SqlPromiseRepository
    problems: SqlProblemRepository
    deals: SqlDealRepository
    ledger: SqlLedgerRepository
    dialogs: SqlDialogRepository
    histories: SqlHistoryRepository
    claims: SqlClaimRepository
    feedback: SqlNudgeFeedbackRepository
    chats: SqlChatRepository
    deliveries: SqlDeliveryRepository
    captures: SqlCaptureRepository
    snapshots: SqlSnapshotRepository
    privacy: SqlPrivacyRepository

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self.session_factory = session_factory
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use it in a `with` block")
        return self._session

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        if self._session is not None:
            raise RuntimeError("this unit of work is already open")
        session = self._session = self.session_factory()
        self.workspaces = SqlWorkspaceRepository(session)
        self.teams = SqlTeamRepository(session)
        self.people = SqlPersonRepository(session)
        self.clients = SqlClientRepository(session)
        self.interactions = SqlInteractionRepository(session)
        self.promises = SqlPromiseRepository(session)
        self.problems = SqlProblemRepository(session)
        self.deals = SqlDealRepository(session)
        self.ledger = SqlLedgerRepository(session)
        self.dialogs = SqlDialogRepository(session)
        self.histories = SqlHistoryRepository(session)
        self.claims = SqlClaimRepository(session)
        self.feedback = SqlNudgeFeedbackRepository(session)
        self.chats = SqlChatRepository(session)
        self.deliveries = SqlDeliveryRepository(session)
        self.captures = SqlCaptureRepository(session)
        self.snapshots = SqlSnapshotRepository(session)
        self.privacy = SqlPrivacyRepository(session)
        return self

    def lock(self, name: str) -> None:
        """Wait for, then hold, the lock called ``name`` until the current transaction ends:
        ``commit()`` and ``rollback()`` release it as well as leaving the ``with`` block, so a
        caller that commits part-way and still needs it takes it again.

        PostgreSQL: ``pg_advisory_xact_lock`` on :func:`lock_key` of the name (advisory locks
        are per database, so every schema and workspace sharing it shares the names; put the
        workspace in the name when that matters). SQLite: nothing, one process is the supported
        topology there (and its writers are serialised anyway)."""
        session = self.session
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})

    def __exit__(self, *exc: object) -> None:
        session, self._session = self.session, None
        try:
            session.rollback()
        finally:
            session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for an advisory lock name (BLAKE2b: the same in every
    process and Python version, unlike ``hash``)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def make_uow_factory(engine: Engine) -> Callable[[], SqlAlchemyUnitOfWork]:
    """A ``coaching.ports.UnitOfWorkFactory``: each call gives a fresh, unopened unit of work.

    Objects outlive their commit (``expire_on_commit=False``): repositories hand out frozen
    domain values anyway, and nothing should lazily reload after the transaction ends. An
    engine not made by :func:`storage.db.make_engine` is hooked to raise ``StorageUnavailable``
    as well.
    """
    session_factory = sessionmaker(bind=translate_errors(engine), expire_on_commit=False)
    summary_upkeep.install(session_factory)  # every commit refreshes the summaries its writes touched
    return lambda: SqlAlchemyUnitOfWork(session_factory)
