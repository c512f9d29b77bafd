"""``coach``: the command line. Bad input ends with one line saying what to do, and status 2."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from coaching import health, services, views
from coaching.dates import parse_date
from coaching.errors import StorageUnavailable
from coaching.messages import Msg, msg
from coaching.model import Person, Role
from coaching.replies import printable
from coaching.services import CoachError
from bot.bootstrap import Coach, SchemaOutOfDate, bootstrap
from bot.settings import Settings
from bot.terminal import escape, render, render_with_chart, save_chart
from storage import db


class Fail(Exception):
    """Ends the command with ``message`` on one line and exit status 2."""

    def __init__(self, message: Msg) -> None:
        self.message = message


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        raise Fail(msg("cli.bad_settings", detail=str(error.errors()[0].get("msg", error))))


def _coach(check_schema: bool = True) -> Coach:
    settings = _settings()
    try:
        return bootstrap(settings, check_schema=check_schema)
    except (ValueError, OSError) as error:
        raise Fail(msg("cli.bad_rules", detail=str(error)))


def _say(coach_or_settings: Coach | Settings, message: Msg) -> str:
    from coaching.messages import Catalog

    language = coach_or_settings.settings.language if isinstance(coach_or_settings, Coach) else coach_or_settings.language
    return Catalog(language).render(message, language, escape)


def _date(value: str | None, coach: Coach) -> date:
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


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _admin(coach: Coach) -> Person:
    """The CLI acts as the workspace's administrator."""
    return Person(0, coach.workspace, "cli@localhost", "CLI", Role.ADMIN, ())


class CoachGroup(click.Group):
    """Turns every failure into one line and exit status 2, never a traceback."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D401
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except click.Abort:
            self._fail(msg("cli.interrupted"))
        except click.UsageError as error:
            command = " ".join(error.ctx.command_path.split()[1:]) if error.ctx else ""
            self._fail(msg("cli.usage", problem=error.format_message(), command=command or ""))
        except Fail as failure:
            self._fail(failure.message)
        except CoachError as error:
            self._fail(error.message)
        except StorageUnavailable as error:
            self._fail(msg("cli.db_unreachable", detail=error.detail))
        except SchemaOutOfDate:
            self._fail(msg("cli.db_not_migrated"))
        except Exception as error:  # a defect: one line for the user, the details for the operator
            if os.environ.get("COACH_DEBUG"):
                raise
            self._fail(msg("cli.unexpected", kind=type(error).__name__), status=1)

    def _fail(self, message: Msg, status: int = 2) -> NoReturn:
        try:
            settings = Settings()
        except ValidationError:
            settings = Settings.model_construct(language="en")
        click.echo(_say(settings, msg("cli.error", problem=message)), err=True)
        sys.exit(status)


@click.group(cls=CoachGroup)
def main() -> None:
    """The coach: a credit ledger and daily nudges for B2B sales relationships."""


@main.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the latest schema."""
    settings = _settings()
    db.upgrade(settings.url)
    click.echo(_say(settings, msg("cli.db_upgraded", revision=db.head_revision() or "-")))


def _person(coach: Coach, email: str) -> Person:
    with coach.uow_factory() as uow:
        if not uow.people.list(coach.workspace):
            raise Fail(msg("cli.no_workspace", workspace=coach.workspace))
        person = uow.people.by_email(coach.workspace, email)
    if person is None:
        raise Fail(msg("cli.unknown_person", email=email, workspace=coach.workspace))
    return person


@main.command()
@click.option("--as", "email", required=True, help="The roster e-mail of the person you are.")
def chat(email: str) -> None:
    """Talk to the coach in the terminal (the console channel)."""
    from bot.console import ConsoleChannel

    coach = _coach()
    person = _person(coach, email)
    click.echo(_say(coach, msg("cli.chat_welcome", name=person.name, email=person.email)))
    channel = ConsoleChannel(coach, email)

    def lines():
        while True:
            try:
                yield input("> " if sys.stdin.isatty() else "")
            except EOFError:
                return

    channel.run(lines(), click.echo)


@main.command()
@click.option("--seed", default=7, show_default=True, help="Random seed: the same seed gives the same data.")
def demo(seed: int) -> None:
    """Seed a demo organisation (2 teams, ~10 people, 60 clients, 120 days of history)."""
    from bot.demo import seed_demo

    coach = _coach()
    report = seed_demo(coach, seed=seed)
    if report.created:
        click.echo(_say(coach, msg("cli.demo_created", teams=report.teams, people=report.people,
                                   clients=report.clients, interactions=report.interactions,
                                   entries=report.entries)))
    else:
        click.echo(_say(coach, msg("cli.demo_present")))


MAX_PROBLEMS = 50  # problems shown for one import


@main.group("import")
def import_group() -> None:
    """Import the roster or past interactions from CSV files."""


def _run_import(kind: str, path: Path, skip_invalid: bool) -> None:
    from bot import importer

    coach = _coach()
    if not path.is_file():
        raise Fail(msg("cli.no_file", path=str(path)))
    run = importer.import_roster if kind == "roster" else importer.import_interactions
    try:
        report = run(coach, path, skip_invalid=skip_invalid, progress=sys.stderr.isatty())
    except importer.ImportFailed as failed:
        _problems(coach, path, failed.problems)
        raise Fail(msg("import.nothing_imported", count=len(failed.problems)))
    _problems(coach, path, report.skipped)
    click.echo(_say(coach, importer.summary(report, kind)))


def _problems(coach: Coach, path: Path, problems) -> None:
    """The first ``MAX_PROBLEMS`` problems by line, then how many more: a badly broken file
    must not flood the terminal with one line per row."""
    for line, problem in problems[:MAX_PROBLEMS]:
        prefix = f"{path.name}:{line}: " if line else f"{path.name}: "
        click.echo(prefix + _say(coach, problem), err=True)
    if len(problems) > MAX_PROBLEMS:
        click.echo(_say(coach, msg("cli.more_problems", count=len(problems) - MAX_PROBLEMS)), err=True)


@import_group.command("roster")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows and list the others.")
def import_roster(file: Path, skip_invalid: bool) -> None:
    """FILE.csv: email,name,role,team[,timezone,locale,slack_user_id,teams_user_id]."""
    _run_import("roster", file, skip_invalid)


@import_group.command("interactions")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows and list the others.")
def import_interactions(file: Path, skip_invalid: bool) -> None:
    """FILE.csv: date,rep,client,kind,purpose,note[,promise,...]."""
    _run_import("interactions", file, skip_invalid)


FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
                      show_default=True)
NUDGE_FIELDS = ("rep", "client", "kind", "reason", "next_step", "stake", "subject")
DELIVERY_FIELDS = ("job", "to", "status", "channel", "reason", "attempts", "items")
LEDGER_FIELDS = ("client", "date", "amount", "reason", "reason_code", "balance")
HEALTH_FIELDS = ("section", "subject", "name", "metric", "value")


@main.command()
@click.option("--as-of", "as_of", help="The day of the run (YYYY-MM-DD, or today / tomorrow); default today.")
@click.option("--rep", "rep_email", help="Only this rep's nudges (roster e-mail).")
@click.option("--send", is_flag=True, help="Deliver each rep's digest (Slack DM when configured, else printed).")
@FORMAT
def nudges(as_of: str | None, rep_email: str | None, send: bool, fmt: str) -> None:
    """What the daily run would send that day (a dry run unless --send)."""
    coach = _coach()
    day = _date(as_of, coach)
    rep_id = _person(coach, rep_email).id if rep_email else None
    if send:
        _send_digests(coach, day, rep_id)
        return
    with coach.uow_factory() as uow:
        people = {p.id: p for p in uow.people.list(coach.workspace)}
        found = list(services.nudges(uow, coach.workspace, day, coach.rules, rep_id=rep_id))
    rows = []
    for n in found:
        rep = people.get(n.rep_id)
        locale = rep.locale if rep and rep.locale else coach.settings.language
        rows.append({
            "rep": rep.email if rep else None, "client": n.client_name, "kind": n.kind.value,
            "reason": coach.catalog.render(n.reason, locale), "next_step": coach.catalog.render(n.next_step, locale),
            "stake": n.stake, "subject": n.subject,
        })
    _rows_out(coach, fmt, rows, msg("cli.nudges_none", on=day), msg("cli.nudges_title", on=day, count=len(rows)),
              ("rep", "client", "kind", "reason", "next"),
              lambda r: [r[k] for k in ("rep", "client", "kind", "reason", "next_step")], show_lines=True,
              fields=NUDGE_FIELDS)


def _rows_out(coach: Coach, fmt: str, rows: list[dict[str, Any]], none: Msg, title: Msg,
              columns: tuple[str, ...], cells, show_lines: bool = False, fields: tuple[str, ...] = ()) -> None:
    """Rows as JSON, as CSV (``fields``, a header row even with no rows), or as a table with the
    catalogue's column headers (``cli.col.*``)."""
    if fmt == "json":
        click.echo(json_text(rows))
        return
    if fmt == "csv":
        click.echo(csv_text(rows, fields or tuple(rows[0] if rows else ())), nl=False)
        return
    if not rows:
        click.echo(_say(coach, none))
        return
    # Text, not str: rich reads "[link=…]" or ":emoji:" in a str as markup, and user text is no markup.
    table = Table(title=Text(_say(coach, title)), show_lines=show_lines)
    for col in columns:
        table.add_column(Text(_say(coach, msg(f"cli.col.{col}"))))
    for r in rows:
        table.add_row(*(Text(escape(str(v if v is not None else ""))) for v in cells(r)))
    Console(soft_wrap=False).print(table)


# C1 controls, bidi overrides and lone surrogates go out as \u escapes: the same JSON data, but
# nothing a terminal would obey (json.dumps already escapes C0 controls).
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def json_text(data: Any) -> str:
    """JSON as the CLI prints it: readable Japanese, nothing for the terminal to obey."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", json.dumps(data, ensure_ascii=False, indent=2))


# A spreadsheet reads a cell that starts with one of these as a formula (OWASP's CSV injection;
# also the full-width forms, should a spreadsheet fold them to ASCII): such a cell gets a "'" first.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\0", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: Any) -> Any:
    """One CSV cell: a number stays a number (a balance of -3 is -3), text never starts a formula
    and has no control characters but tab and newline; a list is joined with "; "."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    text = printable(str(value))
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_text(rows: list[dict[str, Any]], fields: tuple[str, ...]) -> str:
    """RFC 4180 CSV with a header row; every text cell quoted, numbers bare (so they stay numbers)."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerow(fields)
    writer.writerows([csv_cell(row.get(field)) for field in fields] for row in rows)
    return out.getvalue()


def health_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """``coach teamhealth`` as CSV rows, one figure per row (section, subject, name, metric,
    value): the team now and before, each rep, logging, the clients at risk, the trend."""
    rows: list[dict[str, Any]] = []
    teams = ", ".join(data["teams"])

    def add(section: str, subject: str, name: str | None, metric: str, value: Any) -> None:
        rows.append({"section": section, "subject": subject, "name": name, "metric": metric, "value": value})

    def figures(section: str, subject: str, name: str | None, values: dict[str, Any]) -> None:
        for metric, value in values.items():
            if isinstance(value, dict):
                for key, count in value.items():
                    add(section, subject, name, f"{metric}.{key}", count)
            else:
                add(section, subject, name, metric, value)

    figures("team", "now", teams, data["now"])
    figures("team", "before", teams, data["before"])
    for rep in data["reps"]:
        figures("rep", rep["rep"], rep["name"], {k: v for k, v in rep.items() if k not in ("rep", "name")})
    if logging := data.get("logging"):
        figures("logging", "", teams, {k: v for k, v in logging.items() if k != "days_logged"})
        for email, days in logging["days_logged"].items():
            add("logging", email, None, "days_logged", days)
    for risk in data["at_risk"]:
        add("at_risk", risk["client"], risk["owner"], "score", risk["score"])
        add("at_risk", risk["client"], risk["owner"], "reasons", risk["reasons"])
    if trend := data.get("trend"):
        for series in trend["reps"]:
            for day, balance in zip(trend["dates"], series["balances"]):
                add("trend", series["rep"], series["name"], day, balance)
    return rows


def _scheduler(coach: Coach, write=None):
    from bot.notifiers import build_notifier
    from bot.scheduler import CoachScheduler

    try:
        return CoachScheduler(coach, build_notifier(coach, write))
    except ValueError as error:
        raise Fail(msg("cli.bad_settings", detail=str(error)))


def _send_digests(coach: Coach, day: date, rep_id: int | None) -> None:
    """What the run for ``day`` delivers, with the same records: a second call sends nothing."""
    scheduler = _scheduler(coach, click.echo)  # a digest no platform took is printed, never lost
    if day.weekday() not in scheduler.jobs.plan.working_days:
        click.echo(_say(coach, msg("cli.not_working_day", on=day)))
        return
    report = scheduler.jobs.digests(coach.workspace, coach.clock(), as_of=day,
                                          rep_ids=[rep_id] if rep_id is not None else None)
    job = report.job("digest")
    click.echo(_say(coach, msg("cli.digests_sent", on=day, sent=job.sent, failed=job.failed,
                               skipped=job.skipped, already=job.already)))


@main.command()
@click.option("--once", is_flag=True, help="Run one cycle of every job now, then exit.")
def scheduler(once: bool) -> None:
    """Send the daily digests, reminders and weekly digests on time (runs until stopped)."""
    import asyncio
    import signal

    from bot import logs

    coach = _coach()
    logs.configure()
    runner = _scheduler(coach)
    if once:
        report = runner.run_once()
        for job, figures in sorted(report.jobs.items()):
            click.echo(_say(coach, msg("cli.scheduler_job", job=job, sent=figures.sent, failed=figures.failed,
                                       skipped=figures.skipped, retried=figures.retried,
                                       interrupted=figures.interrupted)))
        click.echo(_say(coach, msg("cli.scheduler_once", sent=report.sent, failed=report.failed)))
        return

    async def forever() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        runner.start()
        click.echo(_say(coach, msg("cli.scheduler_started", seconds=coach.settings.scheduler_tick_seconds)))
        await stop.wait()
        runner.stop()

    asyncio.run(forever())


@main.command()
@click.option("--rep", "rep_email", required=True, help="The rep's roster e-mail.")
@click.option("--back", is_flag=True, help="The rep is back: digests start again.")
def leave(rep_email: str, back: bool) -> None:
    """Mark a rep on leave (no digests or reminders), or back."""
    coach = _coach()
    person = _person(coach, rep_email)
    with coach.uow_factory() as uow:
        services.set_on_leave(uow, person, not back)
        uow.commit()
    click.echo(_say(coach, msg("cli.leave_back" if back else "cli.leave_away", email=person.email)))


@main.command()
@click.option("--date", "on", help="The local date of the messages (YYYY-MM-DD, or today); default today.")
@FORMAT
def deliveries(on: str | None, fmt: str) -> None:
    """What the scheduler recorded for a day: each message, its state and where it went."""
    coach = _coach()
    day = _date(on, coach)
    with coach.uow_factory() as uow:
        people = {f"person:{p.id}": p.email for p in uow.people.list(coach.workspace)}
        teams = {f"team:{t.id}": t.name for t in uow.teams.list(coach.workspace)}
        found = uow.deliveries.list(coach.workspace, day)
    rows = [{"job": d.job, "to": people.get(d.recipient) or teams.get(d.recipient) or d.recipient,
             "status": d.status, "channel": d.channel, "reason": d.reason, "attempts": d.attempts,
             "items": [f"{i.kind} {i.subject}" for i in d.items]} for d in found]
    _rows_out(coach, fmt, rows, msg("cli.deliveries_none", on=day),
              msg("cli.deliveries_title", on=day, count=len(rows)), ("job", "to", "status", "channel", "items"),
              lambda r: [r["job"], r["to"], r["status"] + (f" ({r['reason']})" if r["reason"] else ""),
                         r["channel"], len(r["items"])], fields=DELIVERY_FIELDS)


@main.command()
@click.option("--client", "client_name", required=True, help="The client's name.")
@FORMAT
def ledger(client_name: str, fmt: str) -> None:
    """A client's credit passbook: every entry with its reason and the running balance."""
    coach = _coach()
    lang = coach.settings.language
    with coach.uow_factory() as uow:
        view = services.passbook(uow, _admin(coach), client_name)
    if fmt in ("json", "csv"):
        entries = [{"date": line.entry.occurred_on.isoformat(), "amount": line.entry.amount,
                    "reason": coach.catalog.render(views.reason(line.entry), lang),
                    "reason_code": line.entry.reason.value, "balance": line.balance_after}
                   for line in view.lines]
        if fmt == "csv":
            click.echo(csv_text([{"client": view.client.name, **e} for e in entries], LEDGER_FIELDS), nl=False)
            return
        click.echo(json_text({"client": view.client.name, "balance": view.balance, "entries": entries}))
        return
    click.echo(render(views.passbook(view, page=1), coach.catalog, lang))


@main.command()
@click.option("--team", "team_name", required=True, help="The team's name.")
@click.option("--as-of", "as_of", help="The last day of the period (YYYY-MM-DD); default today.")
@FORMAT
def teamhealth(team_name: str, as_of: str | None, fmt: str) -> None:
    """A team's relationship health over the last 4 weeks against the 4 before."""
    coach = _coach()
    day = _date(as_of, coach)
    with coach.uow_factory() as uow:
        teams = services.teams_for_health(uow, _admin(coach), team_name)
        report = health.report(uow, coach.workspace, teams, day, coach.rules, coach.engine.working_days)
    reply, lang, charts = health.reply(report), coach.settings.language, coach.settings.data_dir / "charts"
    if fmt == "csv":
        click.echo(csv_text(health_rows(health.as_dict(report)), HEALTH_FIELDS), nl=False)
        return
    if fmt == "json":
        data = health.as_dict(report)
        if path := save_chart(reply, coach.catalog, lang, charts):
            data["chart"] = str(path)
        click.echo(json_text(data))
        return
    click.echo(render_with_chart(reply, coach.catalog, lang, charts))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=3978, show_default=True, type=click.IntRange(1, 65535), help="The port to listen on.")
@click.option("--chat-hint", "chat_as", help="Also say how to chat as this person in a terminal.")
def serve(host: str, port: int, chat_as: str | None) -> None:
    """Run the coach's HTTP server (Slack at /slack/events, Teams at /api/messages, /healthz), Socket
    Mode if configured, and the scheduler (unless COACH_SCHEDULER=false)."""
    from aiohttp import web

    from bot import logs
    from bot.server import create_web_app

    coach = _coach()
    settings = coach.settings
    from bot.teams.auth import NotConfigured, access_from

    try:
        teams = access_from(os.environ) if settings.teams_enabled else None
    except NotConfigured as error:
        raise Fail(msg("cli.teams_misconfigured", detail=str(error))) from None
    anonymous = teams is not None and teams.anonymous
    if anonymous and not _loopback(host):
        raise Fail(msg("cli.teams_anonymous_not_loopback", host=host))
    app = create_web_app(coach, settings)  # a setting it refuses stops here, before anything is said
    logs.configure()
    click.echo(_say(coach, msg("cli.serving", url=f"http://{host}:{port}")))
    if not settings.slack_enabled:
        click.echo(_say(coach, msg("cli.slack_not_configured")))
    if anonymous:
        click.echo(_say(coach, msg("cli.teams_playground_hint", url=f"http://{host}:{port}/api/messages")))
    if chat_as:
        click.echo(_say(coach, msg("cli.chat_hint", email=chat_as)))
    if settings.scheduler_enabled:  # the daily digests, in the same process (COACH_SCHEDULER=false: apart)
        runner = _scheduler(coach)

        async def start_scheduler(_: web.Application) -> None:
            runner.start()

        async def stop_scheduler(_: web.Application) -> None:
            runner.stop()

        app.on_startup.append(start_scheduler)
        app.on_cleanup.append(stop_scheduler)
    web.run_app(app, host=host, port=port, print=None, access_log_class=logs.AccessLogger)


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

    settings = _settings()
    if not bot_id:
        raise Fail(msg("cli.teams_no_bot_id"))
    try:
        path = build_package(out, bot_id, valid_domains=domains, version=version)
    except ValueError as error:
        raise Fail(msg("cli.teams_package_invalid", detail=str(error)))
    click.echo(_say(settings, msg("cli.teams_package_built", path=str(path))))


@main.command()
@click.option("--as-of", "as_of", help="The day to apply (YYYY-MM-DD); default today.")
def daily(as_of: str | None) -> None:
    """Book what time alone earns: overdue promises, waiting problems, silence (idempotent)."""
    coach = _coach()
    day = _date(as_of, coach)
    with coach.uow_factory() as uow:
        result = services.apply_daily_rules(uow, coach.workspace, day, coach.rules)
        uow.commit()
    click.echo(_say(coach, msg("cli.daily_done", on=day, broken=result.promises_broken,
                               unanswered=result.problems_unanswered, silence=result.silence_entries)))


@main.command("notes-accuracy")
@click.argument("cases", required=False, type=click.Path(path_type=Path))
@click.option("--llm", "use_llm", is_flag=True, help="Measure the configured LLM reader (falling back to the rules).")
@click.option("--misses", is_flag=True, help="List every field a note got wrong.")
def notes_accuracy(cases: Path | None, use_llm: bool, misses: bool) -> None:
    """Field-level accuracy of the note reader on labelled notes (default: the project's set)."""
    from coaching import reading_eval
    from coaching.reading import RuleReader

    path = cases or Path(__file__).resolve().parent.parent / "tests" / "data" / "notes.jsonl"
    if not path.is_file():
        raise Fail(msg("cli.no_file", path=str(path)))
    reader = RuleReader()
    if use_llm:
        settings = _settings()
        if not settings.llm_enabled:
            raise Fail(msg("cli.llm_not_configured"))
        from bot.llm import build_reader

        reader = build_reader(settings, fallback=RuleReader())
    reading_eval.main([str(path)] + (["--misses"] if misses else []), reader=reader, out=click.echo)


@main.command("secret-key")
def secret_key() -> None:
    """Print a new key for COACH_SECRET_KEYS (it encrypts the Slack tokens of OAuth installs)."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@main.command("rotate-secrets")
def rotate_secrets() -> None:
    """Re-encrypt every stored Slack token under the first key of COACH_SECRET_KEYS."""
    from bot.slack.installations import Secrets, rotate

    settings = _settings()
    secrets = Secrets.from_settings(settings)
    engine = db.make_engine(settings.url)
    try:
        count = rotate(engine, secrets)
    finally:
        engine.dispose()
    click.echo(_say(settings, msg("cli.secrets_rotated", count=count)))
