"""``coach nudges-effect``: does the coach change what reps do? Nudges sent against nudges held
back at random, per kind and for all (:mod:`coaching.effect`)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

import click

from bot.cli.common import cli_admin, load_coach, main, parse_day
from bot.cli.output import json_text
from bot.terminal import render
from coaching import access, effect_report
from coaching.messages import msg
from coaching.replies import Reply

PERIOD_DAYS = 28


@main.command("nudges-effect")
@click.option("--team", "team_name", help="One team (default: every team).")
@click.option("--as-of", "as_of", help="The last day of the period (YYYY-MM-DD); default today.")
@click.option("--days", default=PERIOD_DAYS, show_default=True, help="How many days the period covers.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def nudges_effect(team_name: str | None, as_of: str | None, days: int, fmt: str) -> None:
    """What reps did within 7 days of a nudge, sent against held back (holdout_share in the rules)."""
    coach = load_coach()
    end = parse_day(as_of, coach)
    start = end - timedelta(days=max(1, days) - 1)
    with coach.uow_factory() as uow:
        teams = access.teams_for_health(uow, cli_admin(coach), team_name)
        effects = effect_report.read(uow, coach.workspace, teams, start, end)
    if fmt == "json":
        click.echo(json_text({"start": start.isoformat(), "end": end.isoformat(), "effects": [
            {**asdict(e), "difference": e.difference, "interval": e.interval, "small": e.small} for e in effects]}))
        return
    judged = [e for e in effects if e.sent.n or e.held.n]
    lines = [msg("effect.title", start=start, end=end)]
    lines += [effect_report.line(e) for e in judged] if judged else [msg("effect.none", start=start, end=end)]
    if not any(e.held.n for e in effects):
        lines.append(msg("effect.how"))
    click.echo(render(Reply.of(*lines), coach.catalog, coach.settings.language))
