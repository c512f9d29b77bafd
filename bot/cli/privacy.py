"""Data on request (docs/data.md): ``coach export`` and ``coach erase`` a person or a client,
``coach retention apply`` (the note retention period), and ``coach deactivate`` /
``coach reactivate`` someone who left. The work is :mod:`coaching.privacy`'s; each command is
one transaction, and an erasure's audit line is part of it."""

from __future__ import annotations

import json
import shutil

import click

from coaching import access, privacy
from coaching.messages import msg
from bot.bootstrap import Coach
from bot.cli.common import Fail, cli_admin, find_person, load_coach, main, parse_day, say
from bot.cli.output import json_text

REQUESTED_BY = "cli"


def _export(data: dict) -> None:
    click.echo(json_text(json.loads(json.dumps(data, ensure_ascii=False, default=str))))


@main.group("export")
def export_group() -> None:
    """Everything held about a person or a client, as JSON on stdout."""


@export_group.command("person")
@click.argument("email")
def export_person(email: str) -> None:
    """EMAIL: the person's rows, and others' text that names them."""
    coach = load_coach()
    person = find_person(coach, email)
    with coach.uow_factory() as uow:
        _export(privacy.export_person(uow, person))


@export_group.command("client")
@click.argument("name")
def export_client(name: str) -> None:
    """NAME: the client's rows, and others' text that names it."""
    coach = load_coach()
    with coach.uow_factory() as uow:
        _export(privacy.export_client(uow, cli_admin(coach), name))


@main.group("erase")
def erase_group() -> None:
    """Erase a person (anonymised, deactivated) or a client (removed), with an audit line."""


def _confirm(coach: Coach, yes: bool, question) -> None:
    if not yes:
        click.confirm(say(coach, question), abort=True)  # no answer (no terminal): stopped, nothing done


def _rows(counts) -> str:
    return ", ".join(f"{table} {n}" for table, n in sorted(counts.items()))


@erase_group.command("person")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_person(email: str, yes: bool) -> None:
    """EMAIL: their name, e-mail and platform ids go, what they wrote is blanked, and they are
    deactivated; their clients, touches and points stay with the team."""
    coach = load_coach()
    person = find_person(coach, email)
    _confirm(coach, yes, msg("cli.erase_person_confirm", email=person.email))
    name = lambda person_id: say(coach, msg("cli.erased_name", id=person_id))  # noqa: E731
    with coach.uow_factory() as uow:
        done = privacy.erase_person(uow, person, coach.clock(), name, REQUESTED_BY)
        uow.commit()
    _forget_charts(coach)
    click.echo(say(coach, msg("cli.erased_person", email=person.email, name=name(person.id), rows=_rows(done.rows),
                              audit=done.id)))


@erase_group.command("client")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_client(name: str, yes: bool) -> None:
    """NAME: the client and every row about it are removed; its name in others' notes is blanked."""
    coach = load_coach()
    with coach.uow_factory() as uow:  # the name is checked before anything is asked
        client = access.find_client(uow, cli_admin(coach), name)
    _confirm(coach, yes, msg("cli.erase_client_confirm", client=client.name))
    with coach.uow_factory() as uow:
        _, done = privacy.erase_client(uow, cli_admin(coach), client.name, coach.clock(), REQUESTED_BY)
        uow.commit()
    _forget_charts(coach)
    click.echo(say(coach, msg("cli.erased_client", client=client.name, rows=_rows(done.rows), audit=done.id)))


def _forget_charts(coach: Coach) -> None:
    """Drawn team charts are kept a while to be sent again (bot/chartcache.py); theirs go now."""
    shutil.rmtree(coach.settings.data_dir / "charts" / "cache", ignore_errors=True)


@main.group("retention")
def retention_group() -> None:
    """The note retention period (COACH_NOTE_RETENTION_DAYS)."""


@retention_group.command("apply")
@click.option("--days", type=click.IntRange(min=1), help="Keep this many days of note text (default: the setting).")
@click.option("--as-of", "as_of", help="The day to count back from (YYYY-MM-DD); default today.")
def retention_apply(days: int | None, as_of: str | None) -> None:
    """Blank note text older than the retention period now (the daily upkeep does it too)."""
    coach = load_coach()
    days = days or coach.settings.note_retention_days
    if not days:
        raise Fail(msg("cli.retention_unset"))
    day = parse_day(as_of, coach)
    with coach.uow_factory() as uow:
        done = privacy.apply_retention(uow, coach.workspace, day, days, coach.clock(), REQUESTED_BY)
        uow.commit()
    before = privacy.retention_day(day, days)
    if done is None:
        click.echo(say(coach, msg("cli.retention_nothing", on=before)))
        return
    click.echo(say(coach, msg("cli.retention_done", on=before, rows=_rows(done.rows), audit=done.id)))


@main.command()
@click.argument("email")
def deactivate(email: str) -> None:
    """EMAIL left: no digests, reminders or check-ins, the coach turns them away, their history stays."""
    _set_active(email, False)


@main.command()
@click.argument("email")
def reactivate(email: str) -> None:
    """EMAIL is back: the coach is theirs again."""
    _set_active(email, True)


def _set_active(email: str, active: bool) -> None:
    coach = load_coach()
    person = find_person(coach, email)
    with coach.uow_factory() as uow:
        privacy.set_active(uow, person, active)
        uow.commit()
    click.echo(say(coach, msg("cli.reactivated" if active else "cli.deactivated", email=person.email)))
