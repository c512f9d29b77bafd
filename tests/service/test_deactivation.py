"""Someone who left, deactivated (``coach deactivate``, or left out of a roster imported with
``--deactivate-missing``): no digests, reminders, check-ins or weekly digests; the coach turns
them away in the console too; their history stays with the team; ``coach reactivate`` brings
them back. On real databases."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.console import ConsoleChannel
from coaching import health, services
from coaching.logflow import LogRequest
from coaching.model import Kind, PromiseDraft, Purpose
from coaching.jobs import ScheduledJobs
from coaching.schedule import Schedule
from tests.support import WORKSPACE, MovableClock, Recorder, make_coach, seed_quiet_clients, seed_roster

UTC = timezone.utc
MONDAY = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
ROSTER = """email,name,role,team,timezone,locale
alice@acme.example,Alice Smith,rep,East,Europe/London,en
ken@acme.example,田中 健,rep,East,Asia/Tokyo,ja
mia@acme.example,Mia Jones,manager,East,Europe/London,en
will@acme.example,Will White,manager,West,America/New_York,en
ada@acme.example,Ada Admin,admin,East,UTC,en
"""  # Bob Brown is not on it


@pytest.fixture
def world(database_url, tmp_path):
    clock = MovableClock(MONDAY)
    coach = make_coach(database_url, clock)
    ids = seed_roster(coach)
    seed_quiet_clients(coach, ids, date(2026, 9, 1))
    env = {"DATABASE_URL": database_url, "COACH_WORKSPACE": WORKSPACE, "COACH_DATA_DIR": str(tmp_path),
           "COACH_LANGUAGE": "en", "COACH_RULES_FILE": ""}
    return coach, clock, env


def cli(env, *args):
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def a_day_of_messages(coach, clock) -> dict[str, set[str]]:
    """The messages the scheduler recorded for each person during one day of hourly runs from
    ``clock``'s now (digest, reminder, checkin, weekly: sent, or skipped with nothing new to say),
    by e-mail's name."""
    jobs = ScheduledJobs(coach.uow_factory, Recorder(clock), coach.rules, Schedule(), coach.clock)
    start = clock.now
    while clock.now < start + timedelta(days=1):
        jobs.run(WORKSPACE, clock())
        clock.advance(hours=1)
    got: dict[str, set[str]] = {}
    with coach.uow_factory() as uow:
        people = {p.id: p.email.split("@")[0] for p in uow.people.list(WORKSPACE)}
        for day in (start.date() - timedelta(days=1), start.date(), start.date() + timedelta(days=1)):
            for d in uow.deliveries.list(WORKSPACE, day):
                if d.person_id is not None:
                    got.setdefault(people[d.person_id], set()).add(d.job)
    return got


def promise_due_tuesday(coach, email: str, client: str) -> None:
    """A promise that brings its rep Monday's reminder."""
    with coach.uow_factory() as uow:
        rep = uow.people.by_email(WORKSPACE, email)
        request = LogRequest(None, client, date(2026, 11, 20), Kind.CALL, Purpose.GIVE, "sent the plan", False,
                             (PromiseDraft("send the revised plan", date(2026, 11, 24)),), None, None, None)
        services.log_request(uow, rep, request, coach.rules, date(2026, 11, 20))
        uow.commit()


def test_a_deactivated_person_gets_no_messages_until_reactivated(world):
    coach, clock, env = world
    promise_due_tuesday(coach, "alice@acme.example", "Acme")
    promise_due_tuesday(coach, "ken@acme.example", "Kobe Steelworks")
    code, out, _ = cli(env, "deactivate", "Alice@acme.example")
    assert code == 0 and "alice@acme.example is deactivated" in out
    assert cli(env, "deactivate", "mia@acme.example")[0] == 0  # a manager: no weekly digest either
    got = a_day_of_messages(coach, clock)
    assert "alice" not in got and "mia" not in got
    assert got["ken"] == {"digest", "reminder", "checkin"} and got["will"] == {"digest", "weekly"}
    code, out, _ = cli(env, "reactivate", "alice@acme.example")
    assert code == 0 and "alice@acme.example is active again" in out
    assert a_day_of_messages(coach, clock)["alice"] >= {"digest", "checkin"}


def test_their_history_stays_with_the_team(world):
    coach, _, env = world
    channel = ConsoleChannel(coach, "alice@acme.example")
    for text in ("/logmeeting Acme call give: shared the benchmark", "skip", "save"):
        answer, _ = channel.send(text)
    assert "Saved your touch with Acme." in answer
    with coach.uow_factory() as uow:
        acme = uow.clients.by_name(WORKSPACE, "Acme")
        before = (uow.ledger.balance(WORKSPACE, acme.id), acme.owner_id)
    cli(env, "deactivate", "alice@acme.example")
    with coach.uow_factory() as uow:
        acme = uow.clients.by_name(WORKSPACE, "Acme")
        assert (uow.ledger.balance(WORKSPACE, acme.id), acme.owner_id) == before and before[0] > 0
    with coach.uow_factory() as uow:  # still a row of the team's health, with their figures
        report = health.report(uow, WORKSPACE, [uow.teams.by_name(WORKSPACE, "East")], date(2026, 11, 23), coach.rules)
        [alice] = [r for r in report.reps if r.rep.email == "alice@acme.example"]
        assert (alice.figures.gives, alice.figures.total_balance) == (1, 2) and not alice.rep.active
    passbook, _ = ConsoleChannel(coach, "mia@acme.example").send("ledger Acme")
    assert "Passbook: Acme (balance +2)" in passbook and "Gave value without asking (Call)" in passbook


def test_the_console_turns_them_away_in_their_language(world):
    coach, _, env = world
    cli(env, "deactivate", "alice@acme.example")
    cli(env, "deactivate", "ken@acme.example")
    answer, outcome = ConsoleChannel(coach, "alice@acme.example").send("/logmeeting Acme call give: a note")
    assert answer == ("Your access to the coach is switched off: you are no longer on the active roster. "
                      "If that is a mistake, ask your sales admin to reactivate you.")
    answer, _ = ConsoleChannel(coach, "ken@acme.example").send("通帳 Kobe Steelworks")
    assert answer.startswith("コーチの利用は停止されています")
    code, out, _ = cli(env, "chat", "--as", "alice@acme.example")
    assert code == 0 and out.startswith("Your access to the coach is switched off") and "You are Alice" not in out
    with coach.uow_factory() as uow:
        assert uow.dialogs.get(WORKSPACE, "console:alice@acme.example", "alice@acme.example") is None


def test_a_roster_import_can_deactivate_whoever_it_leaves_out(world, tmp_path):
    coach, clock, env = world
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    code, out, err = cli(env, "import", "roster", str(roster))  # without the option: nobody is deactivated
    assert code == 0, err
    assert _active(coach)["bob"] is True
    code, out, err = cli(env, "import", "roster", str(roster), "--deactivate-missing")
    assert code == 0, err
    assert "The file taken as the whole roster: deactivated 1, active again 0." in out
    assert _active(coach) == {"alice": True, "ken": True, "mia": True, "bob": False, "will": True, "ada": True}
    assert "bob" not in a_day_of_messages(coach, clock)
    roster.write_text(ROSTER + "bob@acme.example,Bob Brown,rep,West,America/New_York,en\n", encoding="utf-8")
    code, out, _ = cli(env, "import", "roster", str(roster), "--deactivate-missing")
    assert code == 0 and "deactivated 0, active again 1." in out and _active(coach)["bob"] is True


def test_a_roster_that_would_deactivate_by_mistake_is_refused(world, tmp_path):
    coach, _, env = world
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    code, _, err = cli(env, "import", "roster", str(roster), "--deactivate-missing", "--skip-invalid")
    assert code == 2 and "does not go with --skip-invalid" in err and len(err.strip().splitlines()) == 1
    roster.write_text("email,name,role,team\n", encoding="utf-8")  # refused as any import is: nothing to read
    code, _, err = cli(env, "import", "roster", str(roster), "--deactivate-missing")
    assert code == 2 and "has a header but no rows" in err
    assert all(_active(coach).values())


def test_an_unknown_email_is_one_line(world):
    _, _, env = world
    for command in ("deactivate", "reactivate"):
        code, _, err = cli(env, command, "nobody@acme.example")
        assert code == 2 and "Nobody with the e-mail nobody@acme.example" in err and len(err.strip().splitlines()) == 1


def _active(coach) -> dict[str, bool]:
    with coach.uow_factory() as uow:
        return {p.email.split("@")[0]: p.active for p in uow.people.list(WORKSPACE)}


def test_a_file_path_is_checked_first(world, tmp_path: Path):
    _, _, env = world
    code, _, err = cli(env, "import", "roster", str(tmp_path / "missing.csv"), "--deactivate-missing")
    assert code == 2 and "does not exist" in err


@pytest.mark.parametrize("mia_active, hour", [(True, 9), (False, 0)])
def test_a_team_channel_digest_follows_the_members_still_there(world, mia_active, hour):
    """East's manager Mia is in London: the team's channel digest goes at 09:00 there. Once she is
    deactivated it follows the members left (Alice in London, Ken in Tokyo, Ada in UTC: Tokyo
    comes first among equals), at 09:00 in Tokyo."""
    coach, clock, env = world
    with coach.uow_factory() as uow:
        uow.teams.set_digest_channel(WORKSPACE, uow.teams.by_name(WORKSPACE, "East").id, "CEAST")
        uow.commit()
    if not mia_active:
        cli(env, "deactivate", "mia@acme.example")
    notifier = Recorder(clock)
    jobs = ScheduledJobs(coach.uow_factory, notifier, coach.rules, Schedule(checkin_time=None), coach.clock)
    while clock.now < MONDAY + timedelta(days=1):
        jobs.run(WORKSPACE, clock())
        clock.advance(hours=1)
    assert [at.hour for at, _ in notifier.to("#CEAST")] == [hour]
