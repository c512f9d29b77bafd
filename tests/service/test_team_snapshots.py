"""Team health reads its past days from snapshots (coaching.snapshots): the same report as one
computed from the records, kept up to date when a record is backdated, started afresh when the
rules change, and prepared by the daily upkeep so the first report of the day computes nothing."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, event, func, select

from bot.demo import seed_demo
from coaching import health, snapshots
from coaching.jobs import ScheduledJobs
from coaching.model import InteractionDraft, Kind, Purpose, Team
from coaching.rules import Rules
from coaching.schedule import Schedule
from storage.models import ClientSummaryRow, TeamSnapshotRow
from tests.fakes import NoSnapshots
from tests.support import MovableClock, Recorder, make_coach

TODAY = date(2026, 11, 24)


@pytest.fixture
def coach(database_url):
    coach = make_coach(database_url, MovableClock(datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)), workspace="demo")
    seed_demo(coach, today=TODAY)
    return coach


def _teams(uow) -> list[Team]:
    return uow.teams.list("demo")


def _report(coach, rules: Rules | None = None, *, fresh: bool = False) -> health.HealthReport:
    """The report for both demo teams, committed (snapshots kept). ``fresh``: from the records
    alone, no snapshot and no summary read (both emptied in a transaction that is rolled back)."""
    with coach.uow_factory() as uow:
        if fresh:
            uow.session.execute(delete(ClientSummaryRow))
            uow.session.execute(delete(TeamSnapshotRow))
            uow.snapshots = NoSnapshots()
        report = health.report(uow, "demo", _teams(uow), TODAY, rules or coach.rules)
        if not fresh:
            uow.commit()
    return report


def _kept(coach) -> list[tuple[date, bool, bool]]:
    with coach.uow_factory() as uow:
        t = TeamSnapshotRow
        return [(day, figures is not None, owners is not None) for day, figures, owners in uow.session.execute(
            select(t.day, t.figures, t.owners).order_by(t.day))]


def test_a_report_from_snapshots_is_the_report_from_the_records(coach) -> None:
    first = _report(coach)  # computes its past days and keeps them
    prev_end = TODAY - timedelta(days=28)
    chart_days = [TODAY - timedelta(days=7 * k) for k in range(8, 0, -1)]
    assert _kept(coach) == sorted([(d, d == prev_end, True) for d in chart_days])
    second = _report(coach)  # reads them
    assert second == first == _report(coach, fresh=True)
    with coach.uow_factory() as uow:  # the chart's points and the period's opening balances, read apart
        ids = [t.id for t in _teams(uow)]
        expected = uow.histories.owner_balances("demo", ids, second.chart.dates)
    assert {s.key: list(s.balances) for s in second.chart.reps} == {
        row.rep.email: expected.get(row.rep.id, [0] * 9) for row in second.reps}
    assert second.before.clients and second.before.gives  # a real previous period, not an empty one


def test_a_backdated_record_removes_the_snapshots_it_changes(coach) -> None:
    before = _report(coach)
    backdated = TODAY - timedelta(days=40)  # in the previous period
    with coach.uow_factory() as uow:
        client = uow.clients.list("demo")[0]
        assert uow.interactions.add("demo", client.owner_id, InteractionDraft(
            client.id, backdated, Kind.MEETING, Purpose.GIVE, note="a meeting logged late")) is not None
        uow.commit()
    assert [day for day, *_ in _kept(coach)] == [d for d in (TODAY - timedelta(days=7 * k) for k in range(8, 0, -1))
                                                 if d < backdated]
    after = _report(coach)
    assert after.before.gives == before.before.gives + 1
    assert after == _report(coach, fresh=True)


def test_other_rules_start_afresh(coach) -> None:
    _report(coach)
    rules = dataclasses.replace(coach.rules, nudging=dataclasses.replace(coach.rules.nudging, ask_only_window_days=60))
    with coach.uow_factory() as uow:
        assert snapshots.key(_teams(uow), rules) != snapshots.key(_teams(uow), coach.rules)
    assert _report(coach, rules) == _report(coach, rules, fresh=True)


def test_the_daily_upkeep_prepares_the_first_report_of_the_day(coach) -> None:
    jobs = ScheduledJobs(coach.uow_factory, Recorder(MovableClock()), coach.rules, Schedule(), coach.clock)
    jobs.prepare_reports("demo", TODAY)
    with coach.uow_factory() as uow:
        engine, statements = uow.session.get_bind(), []
        listener = lambda *args: statements.append(args[2].lower())  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            for team in [[t] for t in _teams(uow)] + [_teams(uow)]:  # each team, and both (the admin's)
                health.report(uow, "demo", team, TODAY, coach.rules)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        kept = uow.session.scalar(select(func.count()).select_from(TeamSnapshotRow))
    assert kept == 3 * 8  # three team sets, eight past days each
    assert not any("insert into team_snapshots" in s for s in statements)  # nothing left to compute
    assert not any("row_number" in s for s in statements)  # no past period read in full
