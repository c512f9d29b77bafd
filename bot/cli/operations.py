"""Running the coach: the HTTP server, the scheduler, a chat in the terminal, and the day-to-day
changes an operator makes by hand (the daily rules, a rep on leave)."""

from __future__ import annotations

import os
import sys

import click

from coaching import daily as daily_run
from coaching import services
from coaching.messages import msg
from bot.bootstrap import Coach, startup_frozen
from bot.cli.common import (Fail, find_person, is_loopback, load_coach, load_settings, main, make_scheduler, parse_day,
                             say)


@main.command()
@click.option("--as", "email", required=True, help="The roster e-mail of the person you are.")
def chat(email: str) -> None:
    """Talk to the coach in the terminal (the console channel)."""
    from bot.console import ConsoleChannel

    coach = load_coach()
    person = find_person(coach, email)
    if person.active:  # someone deactivated reads the coach's refusal, and nothing else
        click.echo(say(coach, msg("cli.chat_welcome", name=person.name, email=person.email)))
    channel = ConsoleChannel(coach, email)

    def lines():
        while True:
            try:
                yield input("> " if sys.stdin.isatty() else "")
            except EOFError:
                return

    channel.run(lines(), click.echo)


@main.command()
@click.option("--once", is_flag=True, help="Run one cycle of every job now, then exit.")
def scheduler(once: bool) -> None:
    """Send the daily digests, reminders and weekly digests on time (runs until stopped)."""
    import asyncio
    import signal

    from bot import logs

    logs.configure(log_format=load_settings().log_format)
    coach = load_coach()
    runner = make_scheduler(coach)

    async def forever() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        runner.start()
        click.echo(say(coach, msg("cli.scheduler_started", seconds=coach.settings.scheduler_tick_seconds)))
        await stop.wait()
        runner.stop()

    with startup_frozen():  # as `coach serve` once started: the jobs' full collections skip it
        if once:
            _run_once(coach, runner)
        else:
            asyncio.run(forever())


def _run_once(coach: Coach, runner) -> None:
    """One cycle of every job, then what each sent."""
    report = runner.run_once()
    for job, figures in sorted(report.jobs.items()):
        click.echo(say(coach, msg("cli.scheduler_job", job=job, sent=figures.sent, failed=figures.failed,
                                  skipped=figures.skipped, retried=figures.retried,
                                  interrupted=figures.interrupted)))
    click.echo(say(coach, msg("cli.scheduler_once", sent=report.sent, failed=report.failed)))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=3978, show_default=True, type=click.IntRange(1, 65535), help="The port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes sharing the port (more than 1 needs PostgreSQL).")
@click.option("--chat-hint", "chat_as", help="Also say how to chat as this person in a terminal.")
def serve(host: str, port: int, workers: int, chat_as: str | None) -> None:
    """Run the coach's HTTP server (Slack at /slack/events, Teams at /api/messages, /healthz), Socket
    Mode if configured, and the scheduler (unless COACH_SCHEDULER=false)."""
    from aiohttp import web

    from bot import event_loop, logs

    chosen = load_settings()
    if workers > 1 and chosen.url.startswith("sqlite"):  # one process is SQLite's topology
        raise Fail(msg("cli.workers_need_postgres", count=workers))
    remove = _metrics_directory(chosen, workers)  # before anything imports prometheus-client
    from bot.server import create_web_app

    logs.configure(log_format=chosen.log_format)  # before anything logs (Bolt does, as it is built)
    coach = load_coach()
    settings = coach.settings
    anonymous = _teams_anonymous(coach, host)
    app = create_web_app(coach, settings)  # a setting it refuses stops here, before anything is said
    # the daily digests, in the same process (COACH_SCHEDULER=false: apart)
    runner = make_scheduler(coach) if settings.scheduler_enabled else None
    _serving_hints(coach, host, port, anonymous, chat_as)
    if workers > 1:  # checked here, built again in each worker after the fork (bot/workers.py)
        _serve_workers(coach, host, port, workers, remove)
        return
    if runner is not None:
        _run_scheduler_with(app, runner)
    web.run_app(app, host=host, port=port, print=None, access_log_class=logs.AccessLogger,
                loop=event_loop.new_event_loop())


def _metrics_directory(settings, workers: int):
    """The directory where the processes keep their figures for /metrics, when they share one:
    several workers serving /metrics, or ``PROMETHEUS_MULTIPROC_DIR`` set by the operator (emptied
    now, so counts start with the server). The temporary directory to remove at the end, if any."""
    from bot import workers as several

    if (workers > 1 and settings.metrics_networks) or os.environ.get(several.MULTIPROC_ENV):
        path, created = several.metrics_directory()
        return path if created else None
    return None


def _serve_workers(coach: Coach, host: str, port: int, workers: int, remove=None) -> None:
    """gunicorn's master and ``workers`` aiohttp workers; the scheduler in one of them."""
    from bot import workers as several

    click.echo(say(coach, msg("cli.serving_workers", count=workers)))
    coach.requests.engine.dispose()  # no connection of this process outlives the fork
    several.serve(host, port, workers, coach.settings.log_format, remove)


def _teams_anonymous(coach: Coach, host: str) -> bool:
    """Whether Teams runs in its local, credential-less mode, which only a loopback address may serve."""
    from bot.teams.auth import NotConfigured, access_from

    try:
        teams = access_from(os.environ) if coach.settings.teams_enabled else None
    except NotConfigured as error:
        raise Fail(msg("cli.teams_misconfigured", detail=str(error))) from None
    anonymous = teams is not None and teams.anonymous
    if anonymous and not is_loopback(host):
        raise Fail(msg("cli.teams_anonymous_not_loopback", host=host))
    return anonymous


def _serving_hints(coach: Coach, host: str, port: int, anonymous: bool, chat_as: str | None) -> None:
    click.echo(say(coach, msg("cli.serving", url=f"http://{host}:{port}")))
    if not coach.settings.slack_enabled:
        click.echo(say(coach, msg("cli.slack_not_configured")))
    if anonymous:
        click.echo(say(coach, msg("cli.teams_playground_hint", url=f"http://{host}:{port}/api/messages")))
    if chat_as:
        click.echo(say(coach, msg("cli.chat_hint", email=chat_as)))


def _run_scheduler_with(app, runner) -> None:
    """The scheduler starts and stops with the web application."""
    async def start_scheduler(_) -> None:
        runner.start()

    async def stop_scheduler(_) -> None:
        runner.stop()

    app.on_startup.append(start_scheduler)
    app.on_cleanup.append(stop_scheduler)


@main.command()
@click.option("--as-of", "as_of", help="The day to apply (YYYY-MM-DD); default today.")
def daily(as_of: str | None) -> None:
    """Book what time alone earns: overdue promises, waiting problems, silence (idempotent)."""
    coach = load_coach()
    day = parse_day(as_of, coach)
    with coach.uow_factory() as uow:
        result = daily_run.apply_daily_rules(uow, coach.workspace, day, coach.rules)
        uow.commit()
    click.echo(say(coach, msg("cli.daily_done", on=day, broken=result.promises_broken,
                              unanswered=result.problems_unanswered, silence=result.silence_entries)))


@main.command()
@click.option("--rep", "rep_email", required=True, help="The rep's roster e-mail.")
@click.option("--back", is_flag=True, help="The rep is back: digests start again.")
def leave(rep_email: str, back: bool) -> None:
    """Mark a rep on leave (no digests or reminders), or back."""
    coach = load_coach()
    person = find_person(coach, rep_email)
    with coach.uow_factory() as uow:
        services.set_on_leave(uow, person, not back)
        uow.commit()
    click.echo(say(coach, msg("cli.leave_back" if back else "cli.leave_away", email=person.email)))
