"""Backing up a SQLite database while the coach runs, and restoring a backup (docs/deploy.md).

Both use sqlite3's online backup API. :func:`backup` copies every page in one step, inside one
read transaction of the source: a consistent snapshot as of that moment, taken while the server
and the scheduler go on writing (write-ahead logging: a reader never blocks the writer, and a
step that covers every page is never restarted by a write). The copy is checked, turned into a
single self-contained file (no ``-wal`` beside it) and only then given its name.

:func:`restore` copies a backup into the database file through the same API, under SQLite's
own locks, so a ``-wal`` file left beside the database is taken into account rather than
replayed over the restored pages (which copying the file over it would risk). What it replaces
is kept beside it first.

PostgreSQL has its own tools: :func:`pg_dump_command` and :func:`pg_restore_command` say the
lines to use for a database URL.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import URL, make_url

from storage.db import SQLITE_BUSY_TIMEOUT_MS, alembic_config, head_revision


class BackupRefused(Exception):
    """What cannot be backed up or restored, and why (``reason``: a catalogue key's last part)."""

    def __init__(self, reason: str, path: Path, detail: str = "") -> None:
        super().__init__(f"{reason}: {path}{f' ({detail})' if detail else ''}")
        self.reason, self.path, self.detail = reason, path, detail


@dataclass(frozen=True)
class Copied:
    path: Path
    size: int  # bytes
    revision: str | None  # the schema's Alembic revision; None before the first migration
    kept: Path | None = None  # restore: where the database it replaced was kept


def sqlite_file(url: str | URL) -> Path | None:
    """The database file of a SQLite URL; None for another database or an in-memory one."""
    url = make_url(url)
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve()


def _connect(path: Path, mode: str) -> sqlite3.Connection:
    """A connection to an existing file (``mode``: ``ro`` or ``rw``), or to a new one (``rwc``)."""
    connection = sqlite3.connect(f"{path.as_uri()}?mode={mode}", uri=True, isolation_level=None)
    connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    return connection


def _revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


def _check(connection: sqlite3.Connection, path: Path) -> None:
    """SQLite's own check of every page; a file that is not a database fails it too."""
    try:
        verdict = connection.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as error:
        raise BackupRefused("not_a_backup", path, str(error)) from None
    if verdict != "ok":
        raise BackupRefused("not_a_backup", path, verdict)


def backup(database: Path, target: Path, check: bool = True) -> Copied:
    """A consistent copy of ``database`` at ``target`` (which must not exist yet), checked page by
    page unless ``check`` is false."""
    target = target.expanduser().resolve()
    if not database.is_file():
        raise BackupRefused("no_database", database)
    if target == database:
        raise BackupRefused("same_file", target)
    if target.exists():
        raise BackupRefused("exists", target)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        return _copy(database, partial, target, check)
    except (OSError, sqlite3.DatabaseError) as error:  # a full disk, a folder that cannot be made
        raise BackupRefused("failed", target, str(error)) from None
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)


def _copy(database: Path, partial: Path, target: Path, check: bool) -> Copied:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # its owner's alone: it holds every note
    source = _connect(database, "rw")  # rw, not ro: a reader of a WAL database may need to write its -shm
    try:
        copy = _connect(partial, "rw")
        try:
            source.backup(copy)  # every page in one step: one snapshot, never restarted by a write
            copy.execute("PRAGMA journal_mode = DELETE")  # one file: no -wal or -shm beside the backup
            if check:
                _check(copy, partial)
            revision = _revision(copy)
        finally:
            copy.close()
        with open(partial, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(partial, target)
    finally:
        source.close()
    return Copied(target, target.stat().st_size, revision)


def known_revision(revision: str | None) -> bool:
    """Whether this code's migrations know ``revision`` (a backup from a newer coach does not)."""
    if revision is None:
        return False
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except Exception:  # alembic raises its own errors for an unknown or malformed revision
        return False


def restore(backup_file: Path, database: Path, now: datetime) -> Copied:
    """Put ``backup_file`` in place of ``database``: the backup is checked first, and the database
    it replaces is kept beside it (``coach.db.before-restore-20261201T093000``)."""
    backup_file = backup_file.expanduser().resolve()
    if not backup_file.is_file():
        raise BackupRefused("no_backup", backup_file)
    if backup_file == database:
        raise BackupRefused("same_file", backup_file)
    source = _connect(backup_file, "ro")
    try:
        _check(source, backup_file)
        revision = _revision(source)
        if revision is None:
            raise BackupRefused("not_a_backup", backup_file, "no schema revision")
        if not known_revision(revision):
            raise BackupRefused("newer", backup_file, revision)
        kept = _keep(database, now) if database.is_file() and database.stat().st_size else None
        database.parent.mkdir(parents=True, exist_ok=True)
        destination = _connect(database, "rwc")
        try:
            source.backup(destination)  # under the destination's write lock; other connections see it whole
        finally:
            destination.close()
    finally:
        source.close()
    return Copied(database, database.stat().st_size, revision, kept)


def _keep(database: Path, now: datetime) -> Path:
    """A copy of the database a restore replaces, unchecked: it may be the broken one."""
    try:
        return backup(database, database.with_name(f"{database.name}.before-restore-{now:%Y%m%dT%H%M%S}"),
                      check=False).path
    except sqlite3.DatabaseError as error:
        raise BackupRefused("cannot_keep", database, str(error)) from None


def needs_upgrade(revision: str | None) -> bool:
    return revision != head_revision()


def _libpq(url: str | URL) -> tuple[str, list[str]]:
    """The libpq URL pg_dump and pg_restore take (no password: PGPASSWORD or ~/.pgpass gives it),
    and ``--schema`` when the URL selects one through ``options=-csearch_path=…``."""
    url = make_url(url)
    plain = URL.create("postgresql", username=url.username, host=url.host, port=url.port, database=url.database)
    schemas = [option.split("=", 1)[1] for option in str(url.query.get("options", "")).split()
               if option.startswith("-csearch_path=")]
    return plain.render_as_string(hide_password=False), [f"--schema={s}" for s in schemas[:1]]


def pg_dump_command(url: str | URL, target: str) -> str:
    libpq, schema = _libpq(url)
    return shlex.join(["pg_dump", "--format=custom", *schema, f"--file={target}", f"--dbname={libpq}"])


def pg_restore_command(url: str | URL, backup_file: str) -> str:
    """No ``--schema`` here: the dump holds only what pg_dump was told to take, the schema too
    (which ``--schema`` would leave out)."""
    libpq, _ = _libpq(url)
    return shlex.join(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                       f"--dbname={libpq}", backup_file])
