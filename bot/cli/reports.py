"""What the coach knows, read out: the day's nudges (or their delivery), what the scheduler
recorded, a client's passbook, a team's health, and how well the note reader reads."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from coaching import access, daily, health, passbooks, views
from coaching.messages import msg
from bot.bootstrap import Coach
from bot.cli.common import Fail, cli_admin, find_person, load_coach, load_settings, main, make_scheduler, \
    parse_day, say
from bot.cli.output import DELIVERY_FIELDS, FORMAT, HEALTH_FIELDS, LEDGER_FIELDS, NUDGE_FIELDS, csv_text, \
    health_rows, json_text, rows_out
from bot.terminal import render, render_with_chart, save_chart


@main.command()
@click.option("--as-of", "as_of", help="The day of the run (YYYY-MM-DD, or today / tomorrow); default today.")
@click.option("--rep", "rep_email", help="Only this rep's nudges (roster e-mail).")
@click.option("--send", is_flag=True, help="Deliver each rep's digest (Slack DM when configured, else printed).")
@FORMAT
def nudges(as_of: str | None, rep_email: str | None, send: bool, fmt: str) -> None:
    """What the daily run would send that day (a dry run unless --send)."""
    coach = load_coach()
    day = parse_day(as_of, coach)
    rep_id = find_person(coach, rep_email).id if rep_email else None
    if send:
        _send_digests(coach, day, rep_id)
        return
    rows = _nudge_rows(coach, day, rep_id)
    rows_out(coach, fmt, rows, msg("cli.nudges_none", on=day), msg("cli.nudges_title", on=day, count=len(rows)),
             ("rep", "client", "kind", "reason", "next"),
             lambda r: [r[k] for k in ("rep", "client", "kind", "reason", "next_step")], show_lines=True,
             fields=NUDGE_FIELDS)


def _nudge_rows(coach: Coach, day: date, rep_id: int | None) -> list[dict[str, Any]]:
    """Each nudge with its reason and next step in its rep's language."""
    with coach.uow_factory() as uow:
        people = {p.id: p for p in uow.people.list(coach.workspace)}
        found = list(daily.nudges(uow, coach.workspace, day, coach.rules, rep_id=rep_id))
    rows = []
    for n in found:
        rep = people.get(n.rep_id)
        locale = rep.locale if rep and rep.locale else coach.settings.language
        rows.append({
            "rep": rep.email if rep else None, "client": n.client_name, "kind": n.kind.value,
            "reason": coach.catalog.render(n.reason, locale), "next_step": coach.catalog.render(n.next_step, locale),
            "stake": n.stake, "subject": n.subject,
        })
    return rows


def _send_digests(coach: Coach, day: date, rep_id: int | None) -> None:
    """What the run for ``day`` delivers, with the same records: a second call sends nothing."""
    scheduler = make_scheduler(coach, click.echo)  # a digest no platform took is printed, never lost
    if day.weekday() not in scheduler.jobs.plan.working_days:
        click.echo(say(coach, msg("cli.not_working_day", on=day)))
        return
    report = scheduler.jobs.digests(coach.workspace, coach.clock(), as_of=day,
                                    rep_ids=[rep_id] if rep_id is not None else None)
    job = report.job("digest")
    click.echo(say(coach, msg("cli.digests_sent", on=day, sent=job.sent, failed=job.failed,
                              skipped=job.skipped, already=job.already)))


@main.command()
@click.option("--date", "on", help="The local date of the messages (YYYY-MM-DD, or today); default today.")
@FORMAT
def deliveries(on: str | None, fmt: str) -> None:
    """What the scheduler recorded for a day: each message, its state and where it went."""
    coach = load_coach()
    day = parse_day(on, coach)
    rows = _delivery_rows(coach, day)
    rows_out(coach, fmt, rows, msg("cli.deliveries_none", on=day),
             msg("cli.deliveries_title", on=day, count=len(rows)), ("job", "to", "status", "channel", "items"),
             lambda r: [r["job"], r["to"], r["status"] + (f" ({r['reason']})" if r["reason"] else ""),
                        r["channel"], len(r["items"])], fields=DELIVERY_FIELDS)


def _delivery_rows(coach: Coach, day: date) -> list[dict[str, Any]]:
    """Each recorded message, its recipient named by e-mail (a person) or by name (a team)."""
    with coach.uow_factory() as uow:
        people = {f"person:{p.id}": p.email for p in uow.people.list(coach.workspace)}
        teams = {f"team:{t.id}": t.name for t in uow.teams.list(coach.workspace)}
        found = uow.deliveries.list(coach.workspace, day)
    return [{"job": d.job, "to": people.get(d.recipient) or teams.get(d.recipient) or d.recipient,
             "status": d.status, "channel": d.channel, "reason": d.reason, "attempts": d.attempts,
             "items": [f"{i.kind} {i.subject}" for i in d.items]} for d in found]


@main.command()
@click.option("--client", "client_name", required=True, help="The client's name.")
@click.option("--as-of", "as_of", help="The passbook as it stood that day (YYYY-MM-DD): nothing booked after it.")
@FORMAT
def ledger(client_name: str, as_of: str | None, fmt: str) -> None:
    """A client's credit passbook: every entry with its reason and the running balance."""
    coach = load_coach()
    lang = coach.settings.language
    day = parse_day(as_of, coach) if as_of else None
    with coach.uow_factory() as uow:
        view = passbooks.passbook(uow, cli_admin(coach), client_name, as_of=day, rules=coach.rules)
    if fmt in ("json", "csv"):
        entries = [{"date": line.entry.occurred_on.isoformat(), "amount": line.entry.amount,
                    "reason": coach.catalog.render(views.reason(line.entry), lang),
                    "reason_code": line.entry.reason.value, "balance": line.balance_after}
                   for line in view.lines]
        if fmt == "csv":
            click.echo(csv_text([{"client": view.client.name, **e} for e in entries], LEDGER_FIELDS), nl=False)
            return
        click.echo(json_text({"client": view.client.name, "balance": view.balance, "entries": entries,
                              **({"as_of": day.isoformat()} if day else {})}))
        return
    click.echo(render(views.passbook(view, page=1), coach.catalog, lang))


@main.command()
@click.option("--team", "team_name", required=True, help="The team's name.")
@click.option("--as-of", "as_of", help="The last day of the period (YYYY-MM-DD); default today.")
@FORMAT
def teamhealth(team_name: str, as_of: str | None, fmt: str) -> None:
    """A team's relationship health over the last 4 weeks against the 4 before."""
    coach = load_coach()
    day = parse_day(as_of, coach)
    with coach.uow_factory() as uow:
        teams = access.teams_for_health(uow, cli_admin(coach), team_name)
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


# The project's labelled notes: bot/cli/ -> bot/ -> the project root.
DEFAULT_CASES = Path(__file__).resolve().parent.parent.parent / "tests" / "data" / "notes.jsonl"


@main.command("notes-accuracy")
@click.argument("cases", required=False, type=click.Path(path_type=Path))
@click.option("--llm", "use_llm", is_flag=True, help="Measure the configured LLM reader (falling back to the rules).")
@click.option("--misses", is_flag=True, help="List every field a note got wrong.")
def notes_accuracy(cases: Path | None, use_llm: bool, misses: bool) -> None:
    """Field-level accuracy of the note reader on labelled notes (default: the project's set)."""
    from coaching import reading_eval
    from coaching.reading import RuleReader

    path = cases or DEFAULT_CASES
    if not path.is_file():
        raise Fail(msg("cli.no_file", path=str(path)))
    reader = RuleReader()
    if use_llm:
        settings = load_settings()
        if not settings.llm_enabled:
            raise Fail(msg("cli.llm_not_configured"))
        from bot.llm import build_reader

        reader = build_reader(settings, fallback=RuleReader())
    reading_eval.main([str(path)] + (["--misses"] if misses else []), reader=reader, out=click.echo)
