"""Setting the coach up: the database schema, demo data, CSV imports, the Teams app package and
the keys that encrypt the Slack tokens."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from coaching.messages import msg
from bot.bootstrap import Coach
from bot.cli.common import Fail, load_coach, load_settings, main, say
from storage import db


@main.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the latest schema."""
    settings = load_settings()
    db.upgrade(settings.url)
    click.echo(say(settings, msg("cli.db_upgraded", revision=db.head_revision() or "-")))


@main.command()
@click.option("--seed", default=7, show_default=True, help="Random seed: the same seed gives the same data.")
def demo(seed: int) -> None:
    """Seed a demo organisation (2 teams, ~10 people, 60 clients, 120 days of history)."""
    from bot.demo import seed_demo

    coach = load_coach()
    report = seed_demo(coach, seed=seed)
    if report.created:
        click.echo(say(coach, msg("cli.demo_created", teams=report.teams, people=report.people,
                                  clients=report.clients, interactions=report.interactions,
                                  entries=report.entries)))
    else:
        click.echo(say(coach, msg("cli.demo_present")))


MAX_PROBLEMS = 50  # problems shown for one import


@main.group("import")
def import_group() -> None:
    """Import the roster or past interactions from CSV files."""


def _run_import(kind: str, path: Path, skip_invalid: bool, row_by_row: bool = False,
                deactivate_missing: bool = False) -> None:
    from bot import importer

    coach = load_coach()
    if not path.is_file():
        raise Fail(msg("cli.no_file", path=str(path)))
    if deactivate_missing and skip_invalid:  # a row left out would deactivate its person
        raise Fail(msg("cli.deactivate_missing_invalid"))
    progress = sys.stderr.isatty()
    try:
        if kind == "roster":
            report = importer.import_roster(coach, path, skip_invalid=skip_invalid, progress=progress,
                                            deactivate_missing=deactivate_missing)
        else:
            report = importer.import_interactions(coach, path, skip_invalid=skip_invalid, progress=progress,
                                                  row_by_row=row_by_row)
    except importer.ImportFailed as failed:
        _problems(coach, path, failed.problems)
        raise Fail(msg("import.nothing_imported", count=len(failed.problems)))
    _problems(coach, path, report.skipped)
    click.echo(say(coach, importer.summary(report, kind)))
    if deactivate_missing:
        click.echo(say(coach, msg("cli.roster_active", off=report.extra["deactivated"],
                                  back=report.extra["reactivated"])))


def _problems(coach: Coach, path: Path, problems) -> None:
    """The first ``MAX_PROBLEMS`` problems by line, then how many more: a badly broken file
    must not flood the terminal with one line per row."""
    for line, problem in problems[:MAX_PROBLEMS]:
        prefix = f"{path.name}:{line}: " if line else f"{path.name}: "
        click.echo(prefix + say(coach, problem), err=True)
    if len(problems) > MAX_PROBLEMS:
        click.echo(say(coach, msg("cli.more_problems", count=len(problems) - MAX_PROBLEMS)), err=True)


@import_group.command("roster")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows and list the others.")
@click.option("--deactivate-missing", is_flag=True,
              help="The file is the whole roster: deactivate whoever it leaves out (and reactivate whoever it lists).")
def import_roster(file: Path, skip_invalid: bool, deactivate_missing: bool) -> None:
    """FILE.csv: email,name,role,team[,timezone,locale,slack_user_id,teams_user_id,on_leave]."""
    _run_import("roster", file, skip_invalid, deactivate_missing=deactivate_missing)


@import_group.command("interactions")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows and list the others.")
@click.option("--row-by-row", is_flag=True,
              help="Record each touch through the service path instead of in bulk (same result, far slower).")
def import_interactions(file: Path, skip_invalid: bool, row_by_row: bool) -> None:
    """FILE.csv: date,rep,client,kind,purpose,note[,promise,...]."""
    _run_import("interactions", file, skip_invalid, row_by_row)


@main.command("teams-package")
@click.option("--out", "out", default="coach-teams.zip", show_default=True, type=click.Path(path_type=Path),
              help="Where to write the app package (a zip to upload in Teams).")
@click.option("--bot-id", "bot_id", envvar="CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID",
              help="The bot's Microsoft app (client) id; default: the Agents SDK's client id setting.")
@click.option("--domain", "domains", multiple=True, help="A domain the app may open (repeatable).")
@click.option("--version", "version", default="1.0.0", show_default=True, help="The package version.")
def teams_package(out: Path, bot_id: str | None, domains: tuple[str, ...], version: str) -> None:
    """Build the Teams app package (manifest.json, icons, Japanese localisation)."""
    from bot.teams.package import build_package

    settings = load_settings()
    if not bot_id:
        raise Fail(msg("cli.teams_no_bot_id"))
    try:
        path = build_package(out, bot_id, valid_domains=domains, version=version)
    except ValueError as error:
        raise Fail(msg("cli.teams_package_invalid", detail=str(error)))
    click.echo(say(settings, msg("cli.teams_package_built", path=str(path))))


@main.command("secret-key")
def secret_key() -> None:
    """Print a new key for COACH_SECRET_KEYS (it encrypts the Slack tokens of OAuth installs)."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@main.command("rotate-secrets")
def rotate_secrets() -> None:
    """Re-encrypt every stored Slack token under the first key of COACH_SECRET_KEYS."""
    from bot.slack.installations import Secrets, rotate

    settings = load_settings()
    secrets = Secrets.from_settings(settings)
    engine = db.make_engine(settings.url)
    try:
        count = rotate(engine, secrets)
    finally:
        engine.dispose()
    click.echo(say(settings, msg("cli.secrets_rotated", count=count)))
