"""Shared fixtures for tests that need a real database.

``database_url``
    A SQLAlchemy URL string for an empty database, parametrized over SQLite (a file in
    ``tmp_path``) and PostgreSQL. The PostgreSQL case runs only when ``TEST_DATABASE_URL`` is set
    (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) and is skipped otherwise; it
    carries the ``postgres`` marker, so ``-m "not postgres"`` leaves it out. Each test gets its
    own schema (``t_<uuid>``), selected through libpq's ``options=-csearch_path=...`` in the
    URL and dropped afterwards, so tests never see each other's rows.

``migrated_engine``
    An engine on ``database_url`` after the real migrations (``storage.db.upgrade``); disposed
    after the test. On SQLite the migrations run once per session, into a template file that
    each test then gets a copy of (a tenth of a second saved per test); PostgreSQL runs them in
    each test's schema.

``uow_factory``
    ``storage.uow.make_uow_factory(migrated_engine)``: call it for a fresh unit of work.

Any test using one of these runs once per database: the ids end in ``[sqlite]`` / ``[postgres]``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from storage.db import make_engine, upgrade
from storage.uow import SqlAlchemyUnitOfWork, make_uow_factory

POSTGRES_ENV = "TEST_DATABASE_URL"


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'coach.sqlite3'}"


def _postgres_schema_url(base_url: str, schema: str) -> str:
    url = make_url(base_url)
    options = " ".join(filter(None, [url.query.get("options"), f"-csearch_path={schema}"]))
    # the schema's name doubles as the application name, so teardown can find every
    # connection a test left open (an engine nobody disposed) and close it
    return url.update_query_dict({"options": options, "application_name": schema}).render_as_string(
        hide_password=False)


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema on ``TEST_DATABASE_URL`` (the test is skipped without one), dropped after,
    with every connection left open on it closed first."""
    base_url = os.environ.get(POSTGRES_ENV)
    if not base_url:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV}, e.g. "
                    "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(base_url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield _postgres_schema_url(base_url, schema)
    finally:
        _drop_schema(admin, schema)
        admin.dispose()


def _drop_schema(admin: Engine, schema: str, attempts: int = 5) -> None:
    """Close every connection a test left on ``schema``, then drop it. A test's engines may
    outlive it until garbage collection: their idle connections would pile up across the run
    until PostgreSQL refuses new clients. A thread the test left running may open another at
    that moment and lock a table the drop needs (PostgreSQL then ends one of the two as a
    deadlock): the drop is tried again."""
    for attempt in range(attempts):
        try:
            with admin.begin() as connection:
                connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                        "WHERE application_name = :schema AND pid <> pg_backend_pid()"),
                                   {"schema": schema})
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            return
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield _sqlite_url(tmp_path)
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def connector():
    """The fake Bot Connector the coach's Teams side replies to (the activities' serviceUrl)."""
    from tests.teams.connector import FakeConnector
    from tests.teams.playground import serving

    fake = FakeConnector()
    with serving(fake.app()) as url:
        fake.url = url
        yield fake


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file after the real migrations, made once per session, its log folded in (a
    copy of the file alone is then the whole database)."""
    path = tmp_path_factory.mktemp("template") / "coach.sqlite3"
    engine = make_engine(_sqlite_url(path.parent))
    upgrade(engine)
    engine.dispose()
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def migrated_engine(request: pytest.FixtureRequest, database_url: str) -> Iterator[Engine]:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_template"), url.database)
        engine = make_engine(url)
    else:
        engine = make_engine(url)
        upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def uow_factory(migrated_engine: Engine) -> Callable[[], SqlAlchemyUnitOfWork]:
    return make_uow_factory(migrated_engine)
