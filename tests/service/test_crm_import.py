"""A team's history from its CRM: Salesforce Data Loader exports, HubSpot exports (internal
property names and English labels), a Japanese SFA export saved by Excel (cp932, suffixed
headers, people by name), and the coach's own format saved as cp932. Files in tests/data/crm are
written in each system's documented shape, with the awkward cases: an opportunity-related task,
an open task, a multi-line comment with quotes and commas, Japanese account names, an owner not on
the roster, a future event, a deleted row, a cancelled meeting, a re-import."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot import crm_import, importer
from bot.cli import main
from coaching.imports import mapped
from coaching.imports.activities import Skip
from coaching.model import Kind, Purpose
from tests.support import WORKSPACE, MovableClock, make_coach, seed_roster

DATA = Path(__file__).parents[1] / "data" / "crm"
NOW = datetime(2026, 11, 24, 9, tzinfo=timezone.utc)


@pytest.fixture
def coach(database_url):
    coach = make_coach(database_url, MovableClock(NOW))
    seed_roster(coach)
    return coach


def touches(coach) -> dict[str, tuple]:
    """Every touch by its external id: (client, rep e-mail, day, kind, purpose, note)."""
    with coach.uow_factory() as uow:
        people = {p.id: p.email for p in uow.people.list(WORKSPACE)}
        found = {}
        for client in uow.clients.list(WORKSPACE):
            for t in uow.interactions.for_client(WORKSPACE, client.id, limit=100):
                found[(client.name, t.occurred_on)] = (client.name, people[t.rep_id], t.occurred_on, t.kind,
                                                       t.purpose, t.note)
    return found


def salesforce(tasks="sf_Task.csv", events="sf_Event.csv"):
    return crm_import.salesforce_source(DATA / tasks, DATA / events if events else None,
                                        DATA / "sf_Account.csv", DATA / "sf_User.csv")


def skipped(report) -> dict[Skip, list[tuple[str, int]]]:
    return {reason: sorted(where) for reason, where in report.tally.skipped.items()}


def test_salesforce_dry_run_then_import_then_again(coach) -> None:
    dry = crm_import.run(coach, salesforce(), dry_run=True)
    assert touches(coach) == {}  # a dry run writes nothing
    assert (dry.rows, dry.tally.touches, dry.clients_new, dry.clients_existing) == (11, 6, 3, 0)
    assert dict(dry.tally.by_rep) == {"alice@acme.example": 3, "ken@acme.example": 3}
    assert dry.unrostered == {"zoe@acme.example": 1}
    assert skipped(dry) == {
        Skip.OPEN_TASK: [("sf_Task.csv", 5)],  # line 5: the first task's comment spans lines 2-3
        Skip.NOT_ON_ROSTER: [("sf_Task.csv", 7)], Skip.NO_CLIENT: [("sf_Task.csv", 8)],
        Skip.DELETED: [("sf_Task.csv", 10)], Skip.FUTURE: [("sf_Event.csv", 3)],
    }

    done = crm_import.run(coach, salesforce(), dry_run=False)
    assert done.written is not None and (done.written.added, done.written.already) == (6, 0)
    found = touches(coach)
    call = found[("Acme Corp", date(2026, 11, 2))]
    assert call[1:5] == ("alice@acme.example", date(2026, 11, 2), Kind.CALL, Purpose.GIVE)
    assert call[5] == ('Call with procurement\nSent the benchmark report, "no pitch", they said thanks.\n'
                       'Asked nothing; follow-up next quarter, maybe.')  # multi-line, quotes and commas kept
    # the opportunity's task lands on the opportunity's account, read as an ask
    assert found[("Acme Corp", date(2026, 11, 3))][4] is Purpose.ASK
    # ActivityDate "2026-11-04T00:00:00.000Z" is 4 November, whatever the time zone
    visit = found[("株式会社山田製作所", date(2026, 11, 4))]
    assert visit[1:5] == ("ken@acme.example", date(2026, 11, 4), Kind.VISIT, Purpose.GIVE)
    # an account only in WhatId, listed under its 15-character id; a courtesy call is contact
    assert found[("Kobe Steelworks", date(2026, 11, 6))][4] is Purpose.CONTACT
    # a note that says nothing: contact, counted as unread, never guessed
    assert found[("Acme Corp", date(2026, 11, 7))][3:5] == (Kind.EMAIL, Purpose.CONTACT)
    assert found[("株式会社山田製作所", date(2026, 11, 10))][3] is Kind.MEETING  # Event.csv, headers in capitals

    again = crm_import.run(coach, salesforce(), dry_run=False)
    assert again.written is not None and (again.written.added, again.written.already) == (0, 6)
    assert touches(coach) == found


def test_hubspot_internal_names_labels_owners_and_companies(coach) -> None:
    source = crm_import.hubspot_source(
        {"calls": DATA / "hs_calls.csv", "meetings": DATA / "hs_meetings.csv",
         "notes": DATA / "hs_notes_labels.csv", "emails": DATA / "hs_emails_labels.csv"},
        DATA / "hs_owners.csv", DATA / "hs_companies.csv")
    report = crm_import.run(coach, source, dry_run=False)
    assert skipped(report) == {
        Skip.CANCELLED: [("hs_calls.csv", 4), ("hs_meetings.csv", 3)],
        Skip.NO_OWNER: [("hs_calls.csv", 5)], Skip.NOT_ON_ROSTER: [("hs_notes_labels.csv", 3)],
    }
    found = touches(coach)
    assert found[("Acme Corp", date(2026, 11, 2))][1:5] == ("alice@acme.example", date(2026, 11, 2), Kind.CALL,
                                                            Purpose.GIVE)
    # epoch milliseconds, read in UTC; a Japanese company; the owner by id
    assert found[("株式会社山田製作所", date(2026, 11, 5))][1] == "ken@acme.example"
    assert found[("Kobe Steelworks", date(2026, 11, 6))][3:5] == (Kind.MEETING, Purpose.ASK)
    # labels: "Activity assigned to" holds a name on the roster; several companies: the first
    assert found[("Acme Corp", date(2026, 11, 8))][1] == "alice@acme.example"
    assert found[("Acme Corp", date(2026, 11, 9))][3:5] == (Kind.EMAIL, Purpose.ASK)
    # a company named by id only, through the companies file
    assert found[("Kobe Steelworks", date(2026, 11, 11))][1:4] == ("ken@acme.example", date(2026, 11, 11), Kind.CALL)
    assert len(found) == 6


def test_a_japanese_sfa_export_saved_by_excel(coach) -> None:
    source = crm_import.mapped_source(DATA / "sfa_cp932.csv", mapped.mapping_of(mapped.PRESETS["ja-sfa"]), "ja-sfa")
    report = crm_import.run(coach, source, dry_run=False)
    assert skipped(report) == {Skip.NOT_ON_ROSTER: [("sfa_cp932.csv", 4)], Skip.NO_DATE: [("sfa_cp932.csv", 5)]}
    assert report.unrostered == {"鈴木 一郎": 1}
    found = touches(coach)
    assert found[("株式会社山田製作所", date(2026, 11, 2))][1:5] == ("ken@acme.example", date(2026, 11, 2),
                                                                    Kind.VISIT, Purpose.GIVE)
    # "田中健;Alice Smith" and "Kobe Steelworks//Acme Corp": the first of each
    assert found[("Kobe Steelworks", date(2026, 11, 3))][1:5] == ("ken@acme.example", date(2026, 11, 3),
                                                                  Kind.CALL, Purpose.ASK)
    # a date written 2026年11月5日
    assert found[("Acme Corp", date(2026, 11, 5))][1:5] == ("alice@acme.example", date(2026, 11, 5), Kind.EMAIL,
                                                            Purpose.CONTACT)
    assert crm_import.run(coach, source, dry_run=False).written.added == 0  # ids from 活動ID: once


def test_a_mapping_file_names_the_columns(coach, tmp_path) -> None:
    spec = tmp_path / "mapping.toml"
    spec.write_text('[columns]\ndate = "日付"\nrep = "担当者"\nclient = ["顧客名", "会社名"]\nnote = "内容"\n'
                    'kind = "活動種別"\n\n[kinds]\n"訪問" = "meeting"\n', "utf-8")
    import tomllib

    mapping = mapped.mapping_of(tomllib.loads(spec.read_text("utf-8")))
    report = crm_import.run(coach, crm_import.mapped_source(DATA / "sfa_cp932.csv", mapping, "mapping"),
                            dry_run=True)
    assert report.tally.touches == 3
    with pytest.raises(mapped.MappingError):
        mapped.mapping_of({"columns": {"date": "日付", "when": "x"}})
    with pytest.raises(mapped.MappingError):
        mapped.mapping_of({"columns": {"date": "日付"}, "kinds": {"訪問": "teleport"}})


def test_an_import_stopped_midway_writes_nothing(coach) -> None:
    """Acme Corp is West's (Bob's): Alice's activities cannot add to it, and the whole import stops."""
    with coach.uow_factory() as uow:
        west = uow.teams.by_name(WORKSPACE, "West")
        bob = uow.people.by_email(WORKSPACE, "bob@acme.example")
        uow.clients.add(WORKSPACE, "Acme Corp", west.id, bob.id, date(2026, 1, 1))
        uow.commit()
    with pytest.raises(importer.ImportFailed):
        crm_import.run(coach, salesforce(), dry_run=False)
    assert touches(coach) == {}


def test_files_saved_as_cp932_are_read_and_others_refused(coach, tmp_path) -> None:
    report = importer.import_interactions(coach, DATA / "own_cp932.csv", progress=False)
    assert report.added == 1
    assert [t[0] for t in touches(coach).values()] == ["株式会社山田製作所"]
    broken = tmp_path / "broken.csv"
    broken.write_bytes("date,rep\n".encode() + b"\x82\xa0\x85\x40\n")  # neither UTF-8 nor cp932
    with pytest.raises(importer.ImportFailed) as failed:
        importer.import_interactions(coach, broken, progress=False)
    assert failed.value.problems[0][1].key == "import.encoding"


def test_the_cli_dry_run_reports_in_the_users_language(database_url, coach, tmp_path) -> None:
    env = {"DATABASE_URL": database_url, "COACH_WORKSPACE": WORKSPACE, "COACH_DATA_DIR": str(tmp_path),
           "COACH_LANGUAGE": "ja", "COACH_RULES_FILE": ""}
    args = ["import", "salesforce", "--tasks", str(DATA / "sf_Task.csv"), "--accounts",
            str(DATA / "sf_Account.csv"), "--users", str(DATA / "sf_User.csv"), "--dry-run"]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("確認のみ(何も書き込んでいません):9行から5件の活動")
    assert "sf_Task.csv:5: 未完了のToDoです。" in result.stderr
    assert touches(coach) == {}
    env["COACH_LANGUAGE"] = "en"
    result = CliRunner().invoke(main, ["import", "salesforce", "--accounts", "a.csv", "--users", "u.csv"], env=env)
    assert result.exit_code == 2 and "Name at least one file of activities" in result.stderr


def test_notes_read_in_worker_processes_give_the_same_import(coach) -> None:
    """A large export's notes are read by one process per core; the touches and the tally are
    those of reading them here (forced on the small export)."""
    here = crm_import.run(coach, salesforce(), dry_run=True)
    apart = crm_import.run(coach, salesforce(), dry_run=True, parallel_from=1)
    assert (apart.tally.touches, dict(apart.tally.by_rep), dict(apart.tally.by_purpose), apart.tally.unread) == (
        here.tally.touches, dict(here.tally.by_rep), dict(here.tally.by_purpose), here.tally.unread)
    assert skipped(apart) == skipped(here)
    crm_import.run(coach, salesforce(), dry_run=False, parallel_from=1)
    with_workers = touches(coach)
    assert len(with_workers) == 6 and with_workers[("Acme Corp", date(2026, 11, 3))][4] is Purpose.ASK


def test_a_mapping_that_cannot_be_used_is_refused_in_the_users_language(database_url, coach, tmp_path) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text('[columns]\ndate = "日付"\nwhen = "x"\n', "utf-8")
    env = {"DATABASE_URL": database_url, "COACH_WORKSPACE": WORKSPACE, "COACH_DATA_DIR": str(tmp_path),
           "COACH_LANGUAGE": "ja", "COACH_RULES_FILE": ""}
    result = CliRunner().invoke(main, ["import", "mapped", str(DATA / "sfa_cp932.csv"), "--map", str(spec)], env=env)
    assert result.exit_code == 2
    assert "コーチが知らない項目があります(when)" in result.stderr and "unknown_fields" not in result.stderr
    assert touches(coach) == {}
