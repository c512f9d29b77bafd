"""/teamhealth: gather one team's figures with a few set-based reads and present them.

The period is the last four weeks up to the manager's own today, compared with the four weeks
before. Definitions of every figure are in :mod:`coaching.metrics`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from coaching import access, effect_report, episodes, metrics, moves, snapshots
from coaching.effect import Effect
from coaching.messages import Msg, msg
from coaching.model import Person, Problem, Promise, Role, Team
from coaching.nudges import TREND_DAYS, ClientHistory
from coaching.ports import UnitOfWork
from coaching.records import SentItem, TouchRow
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
    effect: Effect | None = None  # sent against held-back nudges, when some were held back


def team_health(uow: UnitOfWork, viewer: Person, team_name: str | None, now: datetime, rules: Rules,
                working_days: frozenset[int] = WORKING_DAYS) -> HealthReport:
    teams = access.teams_for_health(uow, viewer, team_name)
    return report(uow, viewer.workspace_id, teams, access.local_today(viewer, now), rules, working_days)


@dataclass(frozen=True)
class _Periods:
    """The report's period ``start..end`` and the one just before it, ``PERIOD_DAYS`` each."""

    start: date
    end: date
    prev_start: date
    prev_end: date

    @classmethod
    def ending(cls, as_of: date) -> _Periods:
        start = as_of - timedelta(days=PERIOD_DAYS - 1)
        prev_end = start - timedelta(days=1)
        return cls(start, as_of, prev_end - timedelta(days=PERIOD_DAYS - 1), prev_end)


@dataclass(frozen=True)
class _Reads:
    """One period's records for the teams: the clients as of its end and what happened in it."""

    histories: list[ClientHistory]  # as of the period's end
    touches: list[TouchRow]
    promises: list[Promise]
    problems: list[Problem]
    items: list[SentItem]  # nudge items sent to the team's people in the period
    at_start: dict[int, int]  # each client's balance the day before the period

    def figures(self, end: date, rules: Rules, facts: dict[int, episodes.ClientFacts] | None = None) -> metrics.Figures:
        return metrics.figures(self.histories, self.touches, self.promises, self.problems, self.at_start, end,
                               rules.nudging, nudges=self.items, facts=facts)


def _read(uow: UnitOfWork, workspace_id: str, ids: list[int], people: list[Person], start: date, end: date) -> _Reads:
    histories = list(uow.histories.client_histories(workspace_id, end, team_ids=ids))
    if (end - start).days + 1 == TREND_DAYS:  # each history's balance_before is its balance the day before
        at_start = {h.client_id: h.balance_before or 0 for h in histories}
    else:
        at_start = uow.ledger.balances(workspace_id, [h.client_id for h in histories], start - timedelta(days=1))
    book = {h.client_id for h in histories}
    sent = uow.deliveries.sent_items_between(workspace_id, sorted({p.id for p in people}), start, end)
    return _Reads(histories, uow.histories.touches_between(workspace_id, ids, start, end),
                  uow.histories.promises_closed_between(workspace_id, ids, start, end),
                  uow.histories.problems_raised_between(workspace_id, ids, start, end),
                  [i for i in sent if i.client_id is None or i.client_id in book], at_start)


def _before(uow: UnitOfWork, workspace_id: str, ids: list[int], people: list[Person], p: _Periods,
            rules: Rules, key: str) -> metrics.Figures:
    """The previous period's figures: kept, or computed from the records and kept."""
    kept = uow.snapshots.figures(workspace_id, key, p.prev_end)
    if kept is None:
        kept = _read(uow, workspace_id, ids, people, p.prev_start, p.prev_end).figures(p.prev_end, rules)
        uow.snapshots.save(workspace_id, key, p.prev_end, figures=kept)
    return kept


def _sellers(people: list[Person], histories: list[ClientHistory]) -> list[Person]:
    """Rows for the people who sell: reps, and a manager who also owns clients."""
    owners = {h.owner_id for h in histories}
    return [p for p in {p.id: p for p in people}.values() if p.role is Role.REP or p.id in owners]


def report(uow: UnitOfWork, workspace_id: str, teams: list[Team], as_of: date, rules: Rules,
           working_days: frozenset[int] = WORKING_DAYS) -> HealthReport:
    p = _Periods.ending(as_of)
    ids, key = [t.id for t in teams], snapshots.key(teams, rules)
    people = [person for t in teams for person in uow.people.list(workspace_id, t.id)]
    r = _read(uow, workspace_id, ids, people, p.start, as_of)
    facts = episodes.facts_by_client(r.histories, as_of, rules.nudging)  # once, for every figure below
    team_now, team_before = r.figures(as_of, rules, facts), _before(uow, workspace_id, ids, people, p, rules, key)
    reps = _sellers(people, r.histories)
    now_args = (r.touches, r.promises, r.problems, r.at_start)
    per_rep = metrics.by_rep(r.histories, *now_args, as_of, rules.nudging, reps=[rep.id for rep in reps],
                             nudges=r.items, facts=facts)
    names = {rep.id: rep.name for rep in reps}
    rows = tuple(
        RepRow(rep, per_rep[rep.id], moves.move(rep.id, per_rep, names, team_now))
        for rep in sorted(reps, key=lambda rep: rep.name.casefold()) if rep.id in per_rep
    )
    risk = metrics.clients_at_risk(r.histories, r.at_start, as_of, rules.nudging, facts=facts)
    chart = _chart(uow, workspace_id, teams, rows, as_of, key, r.histories)
    logging = metrics.logging_coverage(r.touches, [rep.id for rep in reps], p.start, as_of, working_days)
    measured = effect_report.read(uow, workspace_id, teams, p.start, as_of)[-1] if rules.nudging.holdout_share else None
    return HealthReport(tuple(teams), p.start, as_of, team_now, team_before, rows, tuple(risk), names, chart, logging,
                        measured if measured is not None and measured.held.n else None)


def prepare(uow: UnitOfWork, workspace_id: str, teams: list[Team], as_of: date, rules: Rules) -> None:
    """Keep what a report as of ``as_of`` reads of past days (the daily upkeep runs this, so the
    first report of the day reads them too)."""
    p, ids, key = _Periods.ending(as_of), [t.id for t in teams], snapshots.key(teams, rules)
    _before(uow, workspace_id, ids, [person for t in teams for person in uow.people.list(workspace_id, t.id)],
            p, rules, key)
    _past_balances(uow, workspace_id, ids, _chart_dates(as_of)[:-1], key)


CHART_WEEKS = 8


def _chart_dates(as_of: date) -> tuple[date, ...]:
    return tuple(as_of - timedelta(days=7 * k) for k in range(CHART_WEEKS, -1, -1))


def _past_balances(uow: UnitOfWork, workspace_id: str, ids: list[int], days: tuple[date, ...],
                   key: str) -> dict[date, dict[int, int]]:
    """Each owner's book balance on each of ``days`` (all past): kept, or read and kept."""
    kept = uow.snapshots.owner_balances(workspace_id, key, days)
    missing = [d for d in days if d not in kept]
    if missing:
        found = uow.histories.owner_balances(workspace_id, ids, missing)
        for k, day in enumerate(missing):
            kept[day] = {owner: values[k] for owner, values in found.items()}
            uow.snapshots.save(workspace_id, key, day, owners=kept[day])
    return kept


def _chart(uow: UnitOfWork, workspace_id: str, teams: list[Team], rows: tuple[RepRow, ...], as_of: date, key: str,
           histories: list[ClientHistory]) -> Chart | None:
    """Each rep's book balance week by week over both periods, and their give:ask mix now."""
    if not rows:
        return None
    dates = _chart_dates(as_of)
    past = _past_balances(uow, workspace_id, [t.id for t in teams], dates[:-1], key)
    today: dict[int, int] = {}
    for h in histories:
        today[h.owner_id] = today.get(h.owner_id, 0) + h.balance
    series = tuple(
        RepSeries(row.rep.name, tuple(past[d].get(row.rep.id, 0) for d in dates[:-1]) + (today.get(row.rep.id, 0),),
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


def _distorts(logging: metrics.Logging, row: RepRow) -> bool:
    """A logging lapse is worth a line only where it distorts the figures: the rep logged on
    too few working days and their coverage looks low (a "quiet" client may be an unlogged one)."""
    coverage = row.figures.coverage
    return not logging.logs_most_days(row.rep.id) and coverage is not None and coverage < metrics.COVERAGE_MIN


def _rep_lines(r: HealthReport, row: RepRow) -> list[Msg]:
    """A rep's figures, a setback not put right (the manager's first question), a logging lapse
    only where it distorts them, and the one coaching move."""
    f = row.figures
    lines = [msg("health.rep_line", rep=row.rep.name, coverage=_pct(f.coverage), gives=f.gives,
                 asks=f.asks, promises=_pct(f.promises_kept_on_time_share), balance=f.total_balance)]
    if f.in_recovery:
        lines.append(msg("health.rep_recovery", count=f.in_recovery))
    if r.logging is not None and _distorts(r.logging, row):
        lines.append(msg("health.rep_logging_low", days=r.logging.days_logged.get(row.rep.id, 0),
                         working=r.logging.working_days))
    lines.append(msg("health.rep_focus", focus=row.focus or msg("health.focus.none")))
    return lines


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
        msg("health.setbacks", setbacks=now.setbacks, open=now.in_recovery, before=before.setbacks),
        msg("health.trust_mix", l1=now.trust_mix[1], l2=now.trust_mix[2], l3=now.trust_mix[3],
            l4=now.trust_mix[4], none=now.trust_mix["unassessed"]),
    ]
    if now.wins or now.quiet_after_win or before.wins:
        lines.append(msg("health.wins", wins=now.wins, before=before.wins, quiet=now.quiet_after_win))
    if now.nudges_delivered:  # never "– of 0"
        lines.append(msg("health.nudges_acted", now=_pct(now.nudges_acted_share), delivered=now.nudges_delivered,
                         before=_pct(before.nudges_acted_share)))
    if r.effect is not None:  # the coach measuring itself: sent against held back
        lines.append(effect_report.line(r.effect))
    if r.logging is not None:
        ways = r.logging.by_way
        lines.append(msg("health.logging", logging=r.logging.reps_logging, reps=r.logging.reps,
                         tap=ways["tap"], command=ways["command"], shortcut=ways["shortcut"],
                         channel=ways["channel"], other=ways["other"]))
    lines.append(msg("health.reps"))
    for row in r.reps:
        lines += _rep_lines(r, row)
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
