"""Team health's "nudges acted on within 3 days", end to end on a real database: the scheduler
sends digests (recorded in deliveries), reps log touches, and /teamhealth and
``coach teamhealth --format json`` report the share (definition in coaching/metrics.py)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from bot.cli import main
from coaching import health
from coaching.jobs import ScheduledJobs
from bot.catalog import Catalog
from coaching.model import InteractionDraft, Kind, Purpose
from coaching.schedule import Schedule
from tests.support import WORKSPACE, MovableClock, Recorder, make_coach, seed_quiet_clients, seed_roster

SENT_ON = date(2026, 11, 19)  # Thursday: every rep's digest goes out (D)
AS_OF = SENT_ON + timedelta(days=5)  # Tuesday: D + 3 is within the period, so the items count


@pytest.fixture
def coach(database_url):
    coach = make_coach(database_url, MovableClock(datetime(2026, 11, 19, 12, 0, tzinfo=timezone.utc)))
    ids = seed_roster(coach)
    seed_quiet_clients(coach, ids, SENT_ON - timedelta(days=60))
    notifier = Recorder(MovableClock())
    ScheduledJobs(coach.uow_factory, notifier, coach.rules, Schedule(), coach.clock).digests(
        WORKSPACE, coach.clock(), as_of=SENT_ON)
    assert sorted(email for email, *_ in notifier.sent) == [
        "alice@acme.example", "bob@acme.example", "ken@acme.example"]
    # Alice touches Acme on D + 3 (in time); Ken touches Kobe Steelworks on D + 4 (too late).
    with coach.uow_factory() as uow:
        for who, client, days in (("alice", "Acme", 3), ("ken", "Kobe Steelworks", 4)):
            found = uow.clients.by_name(WORKSPACE, client)
            assert found is not None
            draft = InteractionDraft(found.id, SENT_ON + timedelta(days=days), Kind.CALL, Purpose.GIVE)
            assert uow.interactions.add(WORKSPACE, ids[who], draft) is not None
        uow.commit()
    return coach


def east_report(coach) -> health.HealthReport:
    with coach.uow_factory() as uow:
        east = uow.teams.by_name(WORKSPACE, "East")
        return health.report(uow, WORKSPACE, [east], AS_OF, coach.rules)


def test_a_digest_followed_by_a_touch_within_three_days_counts_as_acted_on(coach):
    with coach.uow_factory() as uow:
        people = {p.email.split("@")[0]: p.id for p in uow.people.list(WORKSPACE)}
        items = uow.deliveries.sent_items_between(WORKSPACE, list(people.values()), SENT_ON, SENT_ON)
    assert {(i.rep_id, i.kind) for i in items} == {
        (people["alice"], "quiet"), (people["ken"], "quiet"), (people["bob"], "quiet")}

    report = east_report(coach)
    reps = {row.rep.email.split("@")[0]: row.figures for row in report.reps}
    assert (reps["alice"].nudges_delivered, reps["alice"].nudges_acted_share) == (1, 1.0)
    assert (reps["ken"].nudges_delivered, reps["ken"].nudges_acted_share) == (1, 0.0)
    assert (report.now.nudges_delivered, report.now.nudges_acted_share) == (2, 0.5)  # Bob is West
    assert (report.before.nudges_delivered, report.before.nudges_acted_share) == (0, None)

    # Two days earlier, D + 3 is past the period's end: nothing can be judged yet.
    with coach.uow_factory() as uow:
        east = uow.teams.by_name(WORKSPACE, "East")
        early = health.report(uow, WORKSPACE, [east], AS_OF - timedelta(days=3), coach.rules)
    assert (early.now.nudges_delivered, early.now.nudges_acted_share) == (0, None)

    lines = health.reply(report).lines
    en = [Catalog("en").render(line, "en") for line in lines]
    ja = [Catalog("ja").render(line, "ja") for line in lines]
    assert "Nudges acted on within 3 days: 50% of 2 delivered (before: –)" in en
    assert "3日以内に行動につながったフォローのお知らせ:50%(配信2件、前期間:–)" in ja


def test_teamhealth_json_has_the_share(coach, database_url, tmp_path):
    env = {"DATABASE_URL": database_url, "COACH_WORKSPACE": WORKSPACE, "COACH_DATA_DIR": str(tmp_path),
           "COACH_LANGUAGE": "en", "COACH_RULES_FILE": ""}
    result = CliRunner().invoke(main, ["teamhealth", "--team", "East", "--as-of", AS_OF.isoformat(),
                                       "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["now"]["nudges_delivered"], data["now"]["nudges_acted_share"]) == (2, 0.5)
    assert (data["before"]["nudges_delivered"], data["before"]["nudges_acted_share"]) == (0, None)
    reps = {r["rep"]: (r["nudges_delivered"], r["nudges_acted_share"]) for r in data["reps"]}
    assert reps == {"alice@acme.example": (1, 1.0), "ken@acme.example": (1, 0.0)}
    table = CliRunner().invoke(main, ["teamhealth", "--team", "East", "--as-of", AS_OF.isoformat()], env=env)
    assert table.exit_code == 0 and "Nudges acted on within 3 days: 50% of 2 delivered (before: –)" in table.stdout
