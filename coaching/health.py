"""/teamhealth: gather one team's figures with a few set-based reads and present them.

The period is the last four weeks up to the manager's own today, compared with the four weeks
before. Definitions of every figure are in :mod:`coaching.metrics`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from coaching import metrics, services
from coaching.messages import Msg, msg
from coaching.model import Person, Role, Team
from coaching.ports import UnitOfWork
from coaching.replies import Chart, RepSeries, Reply
from coaching.rules import Rules

PERIOD_DAYS = 28
WORKING_DAYS = frozenset(range(5))  # Monday to Friday unless the schedule says otherwise


@dataclass(frozen=True)
class RepRow:
    rep: Person
    figures: metrics.Figures
    focus: Msg | None


@dataclass(frozen=True)
class HealthReport:
    teams: tuple[Team, ...]
    start: date
    end: date
    now: metrics.Figures
    before: metrics.Figures
    reps: tuple[RepRow, ...]
    at_risk: tuple[metrics.AtRisk, ...]
    names: dict[int, str]
    chart: Chart | None = None
    logging: metrics.Logging | None = None  # how completely the period's touches were logged


def team_health(uow: UnitOfWork, viewer: Person, team_name: str | None, now: datetime, rules: Rules,
                working_days: frozenset[int] = WORKING_DAYS) -> HealthReport:
    teams = services.teams_for_health(uow, viewer, team_name)
    return report(uow, viewer.workspace_id, teams, services.local_today(viewer, now), rules, working_days)


def report(uow: UnitOfWork, workspace_id: str, teams: list[Team], as_of: date, rules: Rules,
           working_days: frozenset[int] = WORKING_DAYS) -> HealthReport:
    ids = [t.id for t in teams]
    start = as_of - timedelta(days=PERIOD_DAYS - 1)
    prev_end = start - timedelta(days=1)
    prev_start = prev_end - timedelta(days=PERIOD_DAYS - 1)
    histories = list(uow.histories.client_histories(workspace_id, as_of, team_ids=ids))
    histories_before = list(uow.histories.client_histories(workspace_id, prev_end, team_ids=ids))
    touches = uow.histories.touches_between(workspace_id, ids, prev_start, as_of)
    promises = uow.histories.promises_closed_between(workspace_id, ids, prev_start, as_of)
    problems = uow.histories.problems_raised_between(workspace_id, ids, prev_start, as_of)
    client_ids = [h.client_id for h in histories]
    people = [p for t in teams for p in uow.people.list(workspace_id, t.id)]
    # Nudge items to the team's people about its clients (or about the rep), both periods at once.
    book = {h.client_id for h in histories} | {h.client_id for h in histories_before}
    items = [i for i in uow.deliveries.sent_items_between(workspace_id, sorted({p.id for p in people}),
                                                          prev_start, as_of)
             if i.client_id is None or i.client_id in book]
    at_start = uow.ledger.balances(workspace_id, client_ids, prev_end)
    at_prev_start = uow.ledger.balances(workspace_id, client_ids, prev_start - timedelta(days=1))

    def period(rows, day_of, first, last):
        return [r for r in rows if first <= day_of(r) <= last]

    now_args = (period(touches, lambda t: t.on, start, as_of),
                period(promises, lambda p: p.closed_on, start, as_of),
                period(problems, lambda p: p.raised_on, start, as_of), at_start)
    before_args = (period(touches, lambda t: t.on, prev_start, prev_end),
                   period(promises, lambda p: p.closed_on, prev_start, prev_end),
                   period(problems, lambda p: p.raised_on, prev_start, prev_end), at_prev_start)
    items_now = period(items, lambda i: i.local_date, start, as_of)
    items_before = period(items, lambda i: i.local_date, prev_start, prev_end)
    team_now = metrics.figures(histories, *now_args, as_of, rules.nudging, nudges=items_now)
    team_before = metrics.figures(histories_before, *before_args, prev_end, rules.nudging, nudges=items_before)
    owners = {h.owner_id for h in histories}
    # Rows for the people who sell: reps, and a manager who also owns clients.
    reps = [p for p in {p.id: p for p in people}.values() if p.role is Role.REP or p.id in owners]
    per_rep = metrics.by_rep(histories, *now_args, as_of, rules.nudging, reps=[r.id for r in reps],
                             nudges=items_now)
    rows = tuple(
        RepRow(rep, per_rep[rep.id], metrics.coaching_focus(per_rep[rep.id], team_now))
        for rep in sorted(reps, key=lambda r: r.name.casefold()) if rep.id in per_rep
    )
    risk = metrics.clients_at_risk(histories, at_start, as_of, rules.nudging)
    names = {p.id: p.name for p in reps}
    chart = _chart(uow, workspace_id, teams, rows, as_of)
    logging = metrics.logging_coverage(now_args[0], [r.id for r in reps], start, as_of, working_days)
    return HealthReport(tuple(teams), start, as_of, team_now, team_before, rows, tuple(risk), names, chart, logging)


CHART_WEEKS = 8


def _chart(uow: UnitOfWork, workspace_id: str, teams: list[Team], rows: tuple[RepRow, ...], as_of: date) -> Chart | None:
    """Each rep's book balance week by week over both periods, and their give:ask mix now."""
    if not rows:
        return None
    dates = tuple(as_of - timedelta(days=7 * k) for k in range(CHART_WEEKS, -1, -1))
    balances = uow.histories.owner_balances(workspace_id, [t.id for t in teams], dates)
    series = tuple(
        RepSeries(row.rep.name, tuple(balances.get(row.rep.id, [0] * len(dates))),
                  row.figures.gives, row.figures.asks, row.figures.services, key=row.rep.email)
        for row in rows
    )
    def slug(text: str, fallback: str) -> str:
        return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or fallback

    teams_slug = "-".join(slug(t.name, str(t.id)) for t in teams)
    title = msg("chart.title", teams=[t.name for t in teams], start=dates[0], end=as_of)
    # the workspace is in the name: two workspaces' charts never share a file (or an upload's name)
    return Chart(title, dates, series, name=f"teamhealth-{slug(workspace_id, 'ws')}-{teams_slug}-{as_of.isoformat()}")


def _pct(value: float | None) -> Msg:
    return msg("health.na") if value is None else msg("health.percent", value=int(value * 100))


def _days(value: float | None) -> Msg:
    return msg("health.na") if value is None else msg("health.days", value=round(value, 1))


def reply(r: HealthReport) -> Reply:
    now, before = r.now, r.before
    lines: list[Msg | str] = [
        msg("health.header", teams=[t.name for t in r.teams], start=r.start, end=r.end),
        msg("health.coverage", now=_pct(now.coverage), before=_pct(before.coverage), clients=now.clients),
        msg("health.give_ask", gives=now.gives, asks=now.asks, before_gives=before.gives, before_asks=before.asks),
        msg("health.promises", now=_pct(now.promises_kept_on_time_share), closed=now.promises_closed,
            before=_pct(before.promises_kept_on_time_share)),
        msg("health.response", now=_days(now.median_first_response_days),
            before=_days(before.median_first_response_days), waiting=now.problems_waiting),
        msg("health.balance", total=now.total_balance, change=now.balance_change,
            median=msg("health.na") if now.median_balance is None else msg("health.number", value=now.median_balance)),
        msg("health.trust_mix", l1=now.trust_mix[1], l2=now.trust_mix[2], l3=now.trust_mix[3],
            l4=now.trust_mix[4], none=now.trust_mix["unassessed"]),
        msg("health.nudges_acted", now=_pct(now.nudges_acted_share), delivered=now.nudges_delivered,
            before=_pct(before.nudges_acted_share)),
    ]
    if r.logging is not None:
        ways = r.logging.by_way
        lines.append(msg("health.logging", logging=r.logging.reps_logging, reps=r.logging.reps,
                         tap=ways["tap"], command=ways["command"], shortcut=ways["shortcut"],
                         channel=ways["channel"], other=ways["other"]))
    lines.append(msg("health.reps"))
    for row in r.reps:
        f = row.figures
        lines.append(msg("health.rep_line", rep=row.rep.name, coverage=_pct(f.coverage), gives=f.gives,
                         asks=f.asks, promises=_pct(f.promises_kept_on_time_share), balance=f.total_balance))
        if r.logging is not None:
            key = "health.rep_logging" if r.logging.logs_most_days(row.rep.id) else "health.rep_logging_low"
            lines.append(msg(key, days=r.logging.days_logged.get(row.rep.id, 0), working=r.logging.working_days))
        lines.append(msg("health.rep_focus", focus=row.focus or msg("health.focus.none")))
    lines.append(msg("health.at_risk") if r.at_risk else msg("health.none_at_risk"))
    for risk in r.at_risk:
        reasons = [msg(f"health.risk.{code}") for code in risk.reasons]
        lines.append(msg("health.risk_line", client=risk.client_name, owner=r.names.get(risk.owner_id, "?"),
                         reasons=reasons))
    return Reply.of(*lines, chart=r.chart)


def as_dict(r: HealthReport) -> dict[str, object]:
    """The report as plain JSON-able values (for ``coach teamhealth --format json``)."""
    from dataclasses import asdict

    def figures(f: metrics.Figures) -> dict[str, object]:
        d = asdict(f)
        d["trust_mix"] = {str(k): v for k, v in f.trust_mix.items()}
        d["give_share"] = f.give_share
        return d

    return {
        "teams": [t.name for t in r.teams], "start": r.start.isoformat(), "end": r.end.isoformat(),
        "now": figures(r.now), "before": figures(r.before),
        "reps": [{"rep": row.rep.email, "name": row.rep.name, **figures(row.figures),
                  "focus": row.focus.key.removeprefix("health.focus.") if row.focus else None}
                 for row in r.reps],
        "logging": {"working_days": r.logging.working_days, "reps": r.logging.reps,
                    "reps_logging_most_days": r.logging.reps_logging, "by_way": dict(r.logging.by_way),
                    "days_logged": {row.rep.email: r.logging.days_logged.get(row.rep.id, 0) for row in r.reps}}
        if r.logging else None,
        "at_risk": [{"client": a.client_name, "owner": r.names.get(a.owner_id), "score": a.score,
                     "reasons": list(a.reasons)} for a in r.at_risk],
        "trend": {"dates": [d.isoformat() for d in r.chart.dates],
                  "reps": [{"rep": s.key, "name": s.name, "balances": list(s.balances)} for s in r.chart.reps]}
        if r.chart else None,
    }
