"""Engines and migrations.

There is no ``alembic.ini``: :func:`alembic_config` builds the configuration in code, pointing at
the migrations shipped inside this package, so ``upgrade`` works from an installed wheel too.
Every engine made here raises :class:`coaching.errors.StorageUnavailable` when the database cannot
be reached (see :mod:`storage.errors`), never SQLAlchemy's connection errors.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Engine, create_engine, event, exc, make_url

from storage.errors import translate_errors

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
CONNECT_TIMEOUT_S = 2  # under Slack's 3 s: an unreachable database must not make the coach miss an acknowledgement
IDLE_PING_S = 1.0  # a server connection back in the pool for longer than this is pinged before it is lent


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for ``url``; extra keyword arguments go to ``create_engine``.

    A server database's pool pings a connection before lending it once it has been idle for
    ``IDLE_PING_S`` or more (:func:`_ping_when_idle`).
    For SQLite files the parent directory is created if missing, and every connection gets
    foreign keys on, write-ahead logging (readers never block the writer) and a busy timeout
    (a second writer waits instead of failing at once). A database that cannot be reached
    raises ``StorageUnavailable`` (:func:`storage.errors.translate_errors`).
    """
    url = make_url(url)
    # a database error's message never carries the statement's values (a note, a promise), so
    # logging the error cannot leak them
    kwargs.setdefault("hide_parameters", True)
    if url.get_backend_name() != "sqlite":
        if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
            # an unreachable server fails a request in seconds instead of hanging it
            kwargs.setdefault("connect_args", {}).setdefault("connect_timeout", CONNECT_TIMEOUT_S)
        engine = translate_errors(create_engine(url, **kwargs))
        _ping_when_idle(engine)
        return engine
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not in_memory and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = translate_errors(create_engine(url, **kwargs))

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    return engine


def _ping_when_idle(engine: Engine) -> None:
    """A connection the server dropped while it sat in the pool (a restart, a network cut) is
    noticed when it is next lent and replaced: the first request after an outage works instead
    of failing once more. A connection given back less than ``IDLE_PING_S`` ago is lent as it
    is, as a busy server's are (the ping was a round trip on every checkout, about 0.1 ms of the
    coach's CPU each). Should one of those have died meanwhile, its statement fails
    (``StorageUnavailable``), and that failure makes the pool replace every connection older
    than it too."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _given_back(_dbapi_connection: Any, record: Any) -> None:
        record.info["given_back"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        given_back = record.info.get("given_back")  # none yet: a new connection
        if given_back is None or time.monotonic() - given_back < IDLE_PING_S:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:  # the pool connects afresh, once more
            raise exc.InvalidatePoolError() from error


def alembic_config(url: str | URL | None = None) -> Config:
    """Alembic's configuration for this package's migrations (no ini file involved)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolates '%', and URLs carry %-escapes (passwords, options).
        rendered = make_url(url).render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def upgrade(url_or_engine: str | URL | Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (the newest by default), in one transaction
    where the database allows it."""
    if isinstance(url_or_engine, Engine):
        _upgrade_with(url_or_engine, revision)
        return
    engine = make_engine(url_or_engine)
    try:
        _upgrade_with(engine, revision)
    finally:
        engine.dispose()


def _upgrade_with(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; ``None`` before the first migration."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
