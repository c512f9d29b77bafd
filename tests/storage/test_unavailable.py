"""A database that cannot be reached fails in the domain's terms: the unit of work and the
request inbox raise ``coaching.errors.StorageUnavailable`` (never a SQLAlchemy exception), on
SQLite (a database path that cannot be opened) and PostgreSQL (a closed port, a connection cut
mid-transaction); and once the database is back, the next unit of work simply works."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from coaching.errors import StorageRefused, StorageUnavailable
from coaching.model import Workspace
from storage.db import IDLE_PING_S, make_engine, upgrade
from storage.requests import RequestInbox
from storage.uow import make_uow_factory
from tests.tcp_proxy import proxied_database

NOW = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return listener.getsockname()[1]  # nothing listens there once it is closed


def unreachable(database_url: str, tmp_path: Path) -> str:
    """The same database, made unreachable: SQLite's file is a directory (so it cannot be opened),
    PostgreSQL's server is on a port nothing listens on."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = tmp_path / "gone" / "coach.sqlite3"
        path.mkdir(parents=True)
        return f"sqlite:///{path}"
    return url.set(host="127.0.0.1", port=_closed_port()).render_as_string(hide_password=False)


def assert_unavailable(error: pytest.ExceptionInfo[StorageUnavailable]) -> None:
    assert not isinstance(error.value, SQLAlchemyError)
    assert error.value.detail and error.value.detail != "?"
    assert error.value.__cause__ is not None  # the driver's own error, for the operator's log


def test_the_unit_of_work_raises_storage_unavailable(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(unreachable(database_url, tmp_path))
    try:
        with pytest.raises(StorageUnavailable) as error:
            with make_uow_factory(engine)() as uow:
                uow.workspaces.get("w1")
        assert_unavailable(error)
        with pytest.raises(StorageUnavailable):
            with make_uow_factory(engine)() as uow:
                uow.lock("daily")  # PostgreSQL's advisory lock; SQLite has none and ...
                uow.workspaces.add(Workspace("w1", "One"))
                uow.commit()  # ... meets the outage at its first statement
    finally:
        engine.dispose()


def test_the_request_inbox_raises_storage_unavailable(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(unreachable(database_url, tmp_path))
    try:
        inbox = RequestInbox(engine)
        with pytest.raises(StorageUnavailable) as error:
            inbox.store("k1", "slack", "body", None, NOW)
        assert_unavailable(error)
        with pytest.raises(StorageUnavailable):
            inbox.settle("k1")
        with pytest.raises(StorageUnavailable):
            inbox.take_stale("slack", NOW)
    finally:
        engine.dispose()


def test_an_engine_made_elsewhere_is_translated_too(database_url: str, tmp_path: Path) -> None:
    engine = create_engine(unreachable(database_url, tmp_path))  # not storage.db.make_engine
    try:
        with pytest.raises(StorageUnavailable):
            with make_uow_factory(engine)() as uow:
                uow.workspaces.get("w1")
    finally:
        engine.dispose()


def test_other_errors_stay_sqlalchemy_s(migrated_engine) -> None:
    """Only the database being away is translated: a defect still shows as what it is."""
    with pytest.raises(SQLAlchemyError) as error:
        with make_uow_factory(migrated_engine)() as uow:
            uow.workspaces.add(Workspace("w1", "One"))
            uow.workspaces.add(Workspace("w1", "One again"))  # the same key twice
            uow.commit()
    assert not isinstance(error.value, StorageUnavailable)


def test_a_body_no_database_can_store_is_refused(migrated_engine) -> None:
    inbox = RequestInbox(migrated_engine)
    if migrated_engine.dialect.name == "sqlite":
        assert inbox.store("k1", "slack", "a\x00b", None, NOW) is True  # SQLite stores a NUL
        return
    with pytest.raises(StorageRefused) as error:  # PostgreSQL's text cannot hold one
        inbox.store("k1", "slack", "a\x00b", None, NOW)
    assert not isinstance(error.value, SQLAlchemyError)
    assert inbox.status("k1") is None


@pytest.fixture
def proxied(database_url: str):
    with proxied_database(database_url) as found:
        yield found


def test_a_cut_mid_transaction_raises_storage_unavailable_and_the_pool_recovers(proxied) -> None:
    proxy, url = proxied
    engine = make_engine(url)
    try:
        upgrade(engine)
        factory = make_uow_factory(engine)
        with factory() as uow:
            uow.workspaces.add(Workspace("w1", "One"))
            uow.commit()

        proxy.cut()  # the pooled connection dies while idle ...
        proxy.restore()
        time.sleep(IDLE_PING_S + 0.1)
        with factory() as uow:  # ... and the pool's check replaces it: no error at all
            assert uow.workspaces.get("w1") is not None

        with pytest.raises(StorageUnavailable) as error:
            with factory() as uow:
                uow.workspaces.add(Workspace("w2", "Two"))
                uow.workspaces.get("w1")  # the connection is open, in a transaction
                proxy.cut()
                uow.workspaces.get("w2")
        assert_unavailable(error)
        with pytest.raises(StorageUnavailable):  # while it lasts, every unit of work says so
            with factory() as uow:
                uow.workspaces.get("w1")

        proxy.restore()
        with factory() as uow:  # nothing of the cut transaction was committed
            assert uow.workspaces.get("w1") is not None
            assert uow.workspaces.get("w2") is None
    finally:
        engine.dispose()


def test_a_connection_dropped_just_after_use_fails_once_then_the_pool_is_renewed(proxied) -> None:
    """Given back less than ``IDLE_PING_S`` ago, a connection is lent without a ping: if it
    died meanwhile, its unit of work fails, and every connection from before is replaced."""
    proxy, url = proxied
    engine = make_engine(url, pool_size=3)
    try:
        upgrade(engine)
        factory = make_uow_factory(engine)
        with factory() as one, factory() as two, factory() as three:  # three connections in the pool
            for uow in (one, two, three):
                uow.workspaces.get("w1")
        proxy.cut()  # all three die a moment after their use
        proxy.restore()
        with pytest.raises(StorageUnavailable):
            with factory() as uow:
                uow.workspaces.get("w1")
        for _ in range(3):  # the other two were replaced too: no second failure
            with factory() as uow:
                assert uow.workspaces.get("w1") is None
    finally:
        engine.dispose()


def test_pinging_only_idle_connections_spares_a_busy_server_the_round_trip(proxied) -> None:
    """What the coach sends when it borrows a connection given back a moment ago (nothing), and
    one idle for longer than ``IDLE_PING_S`` (the ping, an empty query)."""
    proxy, url = proxied
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        proxy.recording = True
        with engine.connect():
            pass
        busy, proxy.sent = bytes(proxy.sent), bytearray()
        time.sleep(IDLE_PING_S + 0.1)
        with engine.connect():
            pass
        proxy.recording = False
        assert busy == b"" and proxy.sent
    finally:
        engine.dispose()
