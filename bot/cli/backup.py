"""``coach backup FILE`` and ``coach restore FILE``: a consistent copy of a SQLite database taken
while the coach runs, and putting one back (:mod:`storage.backup`, docs/deploy.md). On
PostgreSQL both refuse with the pg_dump or pg_restore line to run instead."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import click

from bot.cli.common import Fail, load_settings, main, say
from bot.settings import Settings
from coaching.messages import msg
from storage import backup as backups

MEGABYTE = 1024 * 1024


def _database(settings: Settings, file: Path, postgres: Callable[[str, str], str], line: str) -> Path:
    """The SQLite file of the settings' database; on PostgreSQL, one line with the command to run
    instead (``postgres``: the pg_dump or pg_restore line for the URL and ``file``)."""
    database = backups.sqlite_file(settings.url)
    if database is not None:
        return database
    if settings.url.startswith("postgresql"):
        raise Fail(msg(line, command=postgres(settings.url, str(file))))
    raise Fail(msg("cli.backup_no_database", path=settings.url))


def _refused(refusal: backups.BackupRefused) -> Fail:
    return Fail(msg(f"cli.backup_{refusal.reason}", path=str(refusal.path), detail=refusal.detail))


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
def backup(file: Path) -> None:
    """Copy the SQLite database to FILE, consistently, while the coach runs (PostgreSQL: pg_dump).
    FILE may be a folder: the copy is then named after the time, coach-20261201T030000Z.db."""
    settings = load_settings()
    database = _database(settings, file, backups.pg_dump_command, "cli.backup_postgres")
    if file.is_dir():
        file = file / f"coach-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.db"
    try:
        copied = backups.backup(database, file)
    except backups.BackupRefused as refusal:
        raise _refused(refusal) from None
    click.echo(say(settings, msg("cli.backup_done", path=str(copied.path), megabytes=f"{copied.size / MEGABYTE:.1f}",
                                 revision=copied.revision or "-")))


@main.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
def restore(file: Path, yes: bool) -> None:
    """Replace the SQLite database with the backup FILE; stop the server and the scheduler first
    (PostgreSQL: pg_restore). The database it replaces is kept beside it."""
    settings = load_settings()
    database = _database(settings, file, backups.pg_restore_command, "cli.restore_postgres")
    if not file.is_file():
        raise Fail(msg("cli.backup_no_backup", path=str(file), detail=""))
    if not yes and not sys.stdin.isatty():
        raise Fail(msg("cli.restore_needs_yes"))
    if not yes and not click.confirm(say(settings, msg("cli.restore_confirm", path=str(file), target=str(database)))):
        raise click.Abort()
    try:
        copied = backups.restore(file, database, datetime.now())
    except backups.BackupRefused as refusal:
        raise _refused(refusal) from None
    click.echo(say(settings, msg("cli.restore_done", path=str(file), target=str(database),
                                 revision=copied.revision or "-")))
    if copied.kept is not None:
        click.echo(say(settings, msg("cli.restore_kept", kept=str(copied.kept))))
    upgrade = backups.needs_upgrade(copied.revision)
    click.echo(say(settings, msg("cli.restore_next_upgrade" if upgrade else "cli.restore_next")))
