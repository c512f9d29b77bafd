"""What every ``coach`` command shares: the group that turns failures into one line, and the
helpers that load the settings and the coach, read dates and people, and speak the catalogue."""

from __future__ import annotations

import os
import sys
from datetime import date
from typing import Any, Callable, NoReturn

import click
from pydantic import ValidationError

from coaching.dates import parse_date
from coaching.errors import StorageUnavailable
from coaching.messages import Msg, msg
from coaching.model import Person, Role
from coaching.access import CoachError
from bot.bootstrap import Coach, SchemaOutOfDate, bootstrap
from bot.settings import Settings
from bot.terminal import escape


class Fail(Exception):
    """Ends the command with ``message`` on one line and exit status 2 (or ``status``)."""

    def __init__(self, message: Msg, status: int = 2) -> None:
        self.message = message
        self.status = status


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        raise Fail(msg("cli.bad_settings", detail=str(error.errors()[0].get("msg", error))))


def load_coach(check_schema: bool = True) -> Coach:
    settings = load_settings()
    try:
        return bootstrap(settings, check_schema=check_schema)
    except (ValueError, OSError) as error:
        raise Fail(msg("cli.bad_rules", detail=str(error)))


def say(coach_or_settings: Coach | Settings, message: Msg) -> str:
    from bot.catalog import Catalog

    language = coach_or_settings.settings.language if isinstance(coach_or_settings, Coach) else coach_or_settings.language
    return Catalog(language).render(message, language, escape)


def parse_day(value: str | None, coach: Coach) -> date:
    today = coach.clock().date()
    if value is None:
        return today
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    if (day := parse_date(value, today)) is None:  # "today", "tomorrow", "明日", "Friday"
        raise Fail(msg("cli.bad_date", value=value))
    return day


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cli_admin(coach: Coach) -> Person:
    """The CLI acts as the workspace's administrator."""
    return Person(0, coach.workspace, "cli@localhost", "CLI", Role.ADMIN, ())


def find_person(coach: Coach, email: str) -> Person:
    with coach.uow_factory() as uow:
        if not uow.people.list(coach.workspace):
            raise Fail(msg("cli.no_workspace", workspace=coach.workspace))
        person = uow.people.by_email(coach.workspace, email)
    if person is None:
        raise Fail(msg("cli.unknown_person", email=email, workspace=coach.workspace))
    return person


def make_scheduler(coach: Coach, write=None):
    from bot.notifiers import build_notifier
    from bot.scheduler import CoachScheduler

    try:
        return CoachScheduler(coach, build_notifier(coach, write))
    except ValueError as error:
        raise Fail(msg("cli.bad_settings", detail=str(error)))


def _usage_problem(error: click.UsageError) -> Msg:
    command = " ".join(error.ctx.command_path.split()[1:]) if error.ctx else ""
    return msg("cli.usage", problem=error.format_message(), command=command or "")


# The failures the user can act on, each with its one line; the first that matches wins.
_FAILURES: tuple[tuple[type[Exception], Callable[[Any], Msg]], ...] = (
    (click.Abort, lambda _: msg("cli.interrupted")),
    (click.UsageError, _usage_problem),
    (Fail, lambda failure: failure.message),
    (CoachError, lambda error: error.message),
    (StorageUnavailable, lambda error: msg("cli.db_unreachable", detail=error.detail)),
    (SchemaOutOfDate, lambda _: msg("cli.db_not_migrated")),
)


def _known_failure(error: Exception) -> Msg | None:
    """The line for a failure the user can act on; None for a defect."""
    for kind, message in _FAILURES:
        if isinstance(error, kind):
            return message(error)
    return None


class CoachGroup(click.Group):
    """Turns every failure into one line and exit status 2, never a traceback."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D401
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except Exception as error:
            if (known := _known_failure(error)) is not None:
                self._fail(known, error.status if isinstance(error, Fail) else 2)
            # a defect: one line for the user, the details for the operator
            if os.environ.get("COACH_DEBUG"):
                raise
            self._fail(msg("cli.unexpected", kind=type(error).__name__), status=1)

    def _fail(self, message: Msg, status: int = 2) -> NoReturn:
        try:
            settings = Settings()
        except ValidationError:
            settings = Settings.model_construct(language="en")
        click.echo(say(settings, msg("cli.error", problem=message)), err=True)
        sys.exit(status)


@click.group(cls=CoachGroup)
def main() -> None:
    """The coach: a credit ledger and daily nudges for B2B sales relationships."""
