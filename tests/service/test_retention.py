"""The note retention period on real databases: note text dated before it is blanked (open
promises and problems still waiting keep theirs), points and dates stay; by the daily upkeep
(COACH_NOTE_RETENTION_DAYS, through the scheduler) and by ``coach retention apply``."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.bootstrap import bootstrap
from bot.cli import main
from bot.scheduler import CoachScheduler
from bot.settings import Settings
from coaching import ledger
from storage import summaries
from tests.service.privacy_world import every_text, rows_of
from tests.support import WORKSPACE, MovableClock, Recorder, make_coach, seed_roster

TODAY = date(2026, 11, 20)  # tests.support.START: 90 days back is 22 August
CSV = """date,rep,client,kind,purpose,note,promise,promise_due,promise_outcome,promise_closed_on,problem,problem_answered_on,won_deal,setback
2026-07-01,alice@acme.example,Aster Foods,call,give,old walrus note,old walrus promise kept,2026-07-03,kept,2026-07-02,old walrus problem answered,2026-07-01,,
2026-07-05,alice@acme.example,Aster Foods,email,ask,old heron ask,old heron promise still open,2027-01-10,,,,,,
2026-07-06,alice@acme.example,Aster Foods,call,service,old heron service,,,,,old heron problem waiting,,,
2026-07-07,alice@acme.example,Aster Foods,call,contact,old walrus claim that proved false,,,,,,,,false_claim
2026-07-08,ken@acme.example,Kobe Steelworks,visit,give,old walrus visit,,,,,,,won the walrus deal,
2026-11-10,alice@acme.example,Aster Foods,call,give,recent heron note,recent heron promise,2026-11-12,kept,2026-11-12,,,,
"""
OLD = "walrus"  # words only in text before the retention period, of things that are done
KEPT = "heron"  # words in recent text, an open promise and a problem still waiting


def env_of(database_url: str, tmp_path: Path, **more: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "COACH_WORKSPACE": WORKSPACE, "COACH_DATA_DIR": str(tmp_path),
            "COACH_LANGUAGE": "en", "COACH_RULES_FILE": "", **more}


@pytest.fixture
def world(database_url, tmp_path):
    coach = make_coach(database_url)
    seed_roster(coach)
    (tmp_path / "touches.csv").write_text(CSV, encoding="utf-8")
    result = CliRunner().invoke(main, ["import", "interactions", str(tmp_path / "touches.csv")],
                                env=env_of(database_url, tmp_path))
    assert result.exit_code == 0, result.stderr
    with coach.uow_factory() as uow:  # a setback recorded by its command in July: its words in its key too
        client, alice = uow.clients.by_name(WORKSPACE, "Aster Foods"), uow.people.by_email(WORKSPACE, "alice@acme.example")
        key = f"misunderstanding:{client.id}:2026-07-09:old walrus misunderstanding"
        uow.ledger.add(WORKSPACE, ledger.for_misunderstanding(client.id, alice.id, date(2026, 7, 9), key,
                                                               "old walrus misunderstanding", coach.rules.points))
        july = datetime(2026, 7, 9, 12, 0, tzinfo=timezone.utc)  # a log left unfinished, a button's claim
        uow.dialogs.save(WORKSPACE, "dm-old", "alice@acme.example", {"flow": "logmeeting", "d": {"note": "walrus"}}, july)
        uow.claims.claim(WORKSPACE, f"action:DUALICE:1.0:choice:setback:{client.id}:false_claim:walrus words", july)
        uow.commit()
    return coach


def words(coach, word: str) -> set[tuple[str, str]]:
    return {(table, column) for table, column, value in every_text(coach) if word in value}


def figures(coach) -> tuple:
    """Every balance, and every entry's amount and date, and every touch's date and purpose."""
    with coach.uow_factory() as uow:
        clients = uow.clients.list(WORKSPACE)
        return ({c.name: uow.ledger.balance(WORKSPACE, c.id) for c in clients},
                sorted((e.client_id, e.occurred_on, e.amount, e.reason) for c in clients
                       for e in uow.ledger.for_client(WORKSPACE, c.id)),
                sorted((i.client_id, i.occurred_on, i.kind, i.purpose) for c in clients
                       for i in uow.interactions.for_client(WORKSPACE, c.id, 100)))


def assert_blanked_before_the_period_only(coach, before) -> None:
    assert words(coach, OLD) == set()
    assert {("interactions", "note"), ("promises", "text"), ("problems", "text")} <= words(coach, KEPT)
    assert figures(coach) == before
    assert all(r["external_id"] for r in rows_of(coach, "interactions"))  # an imported row stays imported once
    notes = {r["occurred_on"]: r["note"] for r in rows_of(coach, "interactions")}
    assert notes[date(2026, 7, 5)] == "" and notes[date(2026, 11, 10)] == "recent heron note"
    texts = {r["text"] for r in rows_of(coach, "promises")} | {r["text"] for r in rows_of(coach, "problems")}
    assert texts == {"…", "old heron promise still open", "old heron problem waiting", "recent heron promise"}
    with coach.uow_factory() as uow:
        assert summaries.check(uow.session, WORKSPACE) == []


def test_the_world_has_old_words_to_blank(world):
    assert {("interactions", "note"), ("promises", "text"), ("problems", "text"), ("deals", "note"),
            ("ledger_entries", "detail"), ("ledger_entries", "key"), ("conversations", "state"),
            ("processed_requests", "key"), ("client_summaries", "last_note")} <= words(world, OLD)


def test_the_cli_blanks_note_text_older_than_the_period_and_nothing_else(world, database_url, tmp_path):
    before = figures(world)
    result = CliRunner().invoke(main, ["retention", "apply", "--days", "90", "--as-of", "2026-11-20"],
                                env=env_of(database_url, tmp_path, COACH_NOTE_RETENTION_DAYS="3650"))  # --days wins
    assert result.exit_code == 0, result.stderr
    assert "Note text dated before Sat, 22 Aug 2026 blanked; points and dates kept." in result.stdout
    assert_blanked_before_the_period_only(world, before)
    [audit] = rows_of(world, "erasures")
    assert (audit["kind"], audit["requested_by"], audit["before"], audit["subject_id"]) == (
        "retention", "cli", date(2026, 8, 22), None)
    again = CliRunner().invoke(main, ["retention", "apply", "--as-of", "2026-11-20"],
                               env=env_of(database_url, tmp_path, COACH_NOTE_RETENTION_DAYS="90"))
    assert again.exit_code == 0 and "nothing changed" in again.stdout
    assert len(rows_of(world, "erasures")) == 1


def test_the_daily_upkeep_applies_the_setting(world, database_url, tmp_path):
    before = figures(world)
    clock = MovableClock(datetime(2026, 11, 20, 1, 0, tzinfo=timezone.utc))
    settings = Settings(_env_file=None, DATABASE_URL=database_url, COACH_WORKSPACE=WORKSPACE,
                        COACH_DATA_DIR=str(tmp_path), COACH_NOTE_RETENTION_DAYS="90")
    coach = bootstrap(settings, clock=clock)
    CoachScheduler(coach, Recorder(clock)).run_job("daily_upkeep")
    assert_blanked_before_the_period_only(coach, before)
    [audit] = rows_of(coach, "erasures")
    assert (audit["kind"], audit["requested_by"], audit["before"]) == ("retention", "upkeep", date(2026, 8, 22))


def test_without_the_setting_the_upkeep_keeps_every_word(world, database_url, tmp_path):
    clock = MovableClock(datetime(2026, 11, 20, 1, 0, tzinfo=timezone.utc))
    settings = Settings(_env_file=None, DATABASE_URL=database_url, COACH_WORKSPACE=WORKSPACE,
                        COACH_DATA_DIR=str(tmp_path), COACH_NOTE_RETENTION_DAYS="")
    coach = bootstrap(settings, clock=clock)
    assert coach.settings.note_retention_days is None
    CoachScheduler(coach, Recorder(clock)).run_job("daily_upkeep")
    assert ("interactions", "note") in words(coach, OLD) and rows_of(coach, "erasures") == []


@pytest.mark.parametrize("args, extra, fragment", [
    (("retention", "apply"), {}, "No retention period is set: set COACH_NOTE_RETENTION_DAYS"),
    (("retention", "apply", "--days", "0"), {}, "Run “coach retention apply --help”"),
    (("retention", "apply"), {"COACH_NOTE_RETENTION_DAYS": "0"}, "A setting is not valid"),
    (("retention", "apply", "--days", "90", "--as-of", "someday"), {}, "is not a date"),
])
def test_bad_input_is_one_line(world, database_url, tmp_path, args, extra, fragment):
    result = CliRunner().invoke(main, list(args), env=env_of(database_url, tmp_path, **extra))
    assert result.exit_code == 2 and fragment in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert ("interactions", "note") in words(world, OLD)
