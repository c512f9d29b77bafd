"""``coach import salesforce``, ``coach import hubspot`` and ``coach import mapped``: a team's
history from its CRM or SFA (:mod:`bot.crm_import`; docs/import.md)."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import click

from bot import crm_import, importer
from bot.cli.admin import MAX_PROBLEMS, import_group
from bot.cli.common import Fail, load_coach, say
from coaching.imports import mapped
from coaching.messages import msg

FILE = click.Path(path_type=Path)


def _go(source: crm_import.Source, dry_run: bool, skip_invalid: bool) -> None:
    coach = load_coach()
    try:
        report = crm_import.run(coach, source, dry_run=dry_run, progress=sys.stderr.isatty(),
                                skip_invalid=skip_invalid)
    except importer.ImportFailed as failed:
        for line in importer.describe(failed.problems):
            click.echo(say(coach, line), err=True)
        raise Fail(msg("import.nothing_imported", count=len(failed.problems)))
    skipped = crm_import.skipped_rows(report)
    for file, line, why in skipped[:MAX_PROBLEMS]:
        click.echo(f"{file}:{line}: " + say(coach, why), err=True)
    if len(skipped) > MAX_PROBLEMS:
        click.echo(say(coach, msg("cli.more_problems", count=len(skipped) - MAX_PROBLEMS)), err=True)
    if report.written is not None:
        for line in importer.describe(report.written.skipped):
            click.echo(say(coach, line), err=True)
    for line in crm_import.lines_of(report):
        click.echo(say(coach, line))


def _exists(*paths: Path | None) -> None:
    for path in paths:
        if path is not None and not path.is_file():
            raise Fail(msg("cli.no_file", path=str(path)))


@import_group.command("salesforce")
@click.option("--tasks", type=FILE, help="Task.csv from Data Loader (API field names as headers).")
@click.option("--events", type=FILE, help="Event.csv from Data Loader.")
@click.option("--accounts", type=FILE, required=True, help="Account.csv (Id, Name).")
@click.option("--users", type=FILE, required=True, help="User.csv (Id, Email).")
@click.option("--dry-run", is_flag=True, help="Say what would be imported; write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Import what can be, and list the rest.")
def salesforce(tasks: Path | None, events: Path | None, accounts: Path, users: Path, dry_run: bool,
               skip_invalid: bool) -> None:
    """Completed tasks and past events as touches (docs/import.md#salesforce)."""
    if tasks is None and events is None:
        raise Fail(msg("import.crm_no_activities", options="--tasks, --events"))
    _exists(tasks, events, accounts, users)
    _go(crm_import.salesforce_source(tasks, events, accounts, users), dry_run, skip_invalid)


@import_group.command("hubspot")
@click.option("--calls", type=FILE, help="The calls export.")
@click.option("--meetings", type=FILE, help="The meetings export.")
@click.option("--notes", type=FILE, help="The notes export.")
@click.option("--emails", type=FILE, help="The emails export.")
@click.option("--owners", type=FILE, help="Owners (id, email), when the exports name owners by id.")
@click.option("--companies", type=FILE, help="Companies (Record ID, Company name), when they name companies by id.")
@click.option("--dry-run", is_flag=True, help="Say what would be imported; write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Import what can be, and list the rest.")
def hubspot(calls: Path | None, meetings: Path | None, notes: Path | None, emails: Path | None,
            owners: Path | None, companies: Path | None, dry_run: bool, skip_invalid: bool) -> None:
    """Calls, meetings, notes and emails as touches (docs/import.md#hubspot)."""
    exports = {k: p for k, p in (("calls", calls), ("meetings", meetings), ("notes", notes), ("emails", emails)) if p}
    if not exports:
        raise Fail(msg("import.crm_no_activities", options="--calls, --meetings, --notes, --emails"))
    _exists(*exports.values(), owners, companies)
    _go(crm_import.hubspot_source(exports, owners, companies), dry_run, skip_invalid)


@import_group.command("mapped")
@click.argument("file", type=FILE)
@click.option("--map", "map_file", type=FILE, help="A mapping file (TOML): which column is what.")
@click.option("--preset", type=click.Choice(sorted(mapped.PRESETS)), help="A shipped mapping.")
@click.option("--dry-run", is_flag=True, help="Say what would be imported; write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Import what can be, and list the rest.")
def mapped_file(file: Path, map_file: Path | None, preset: str | None, dry_run: bool, skip_invalid: bool) -> None:
    """Any other export, through a mapping file or a preset (docs/import.md#other-systems)."""
    if (map_file is None) == (preset is None):
        raise Fail(msg("import.crm_map_or_preset"))
    _exists(file, map_file)
    try:
        spec = mapped.PRESETS[preset] if preset else tomllib.loads(map_file.read_text("utf-8"))  # type: ignore[union-attr]
        mapping = mapped.mapping_of(spec)
    except tomllib.TOMLDecodeError as error:
        raise Fail(msg("import.crm_bad_map", path=str(map_file), detail=str(error)))
    except mapped.MappingError as error:
        raise Fail(msg("import.crm_bad_map", path=str(map_file),
                       detail=msg(f"import.map_problem.{error.problem}", detail=error.detail)))
    _go(crm_import.mapped_source(file, mapping, preset or map_file.stem), dry_run, skip_invalid)  # type: ignore[union-attr]
