"""Data on request, through the CLI on real databases: ``coach erase`` leaves no trace of a person
or a client in any table (every column of every table the schema has is searched), keeps the
team's history whole, and records an audit line without the data; ``coach export`` hands over
what is held."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner

from bot.cli import main
from coaching import health, views
from storage import summaries
from storage.erasure import PERSON_POLICY, references
from tests.service.privacy_world import (
    ALICE, ALICE_NAME, CLIENT, DRAFT, KEN, KEN_DRAFT, KEN_NOTE, NOTE, OTHER, PROBLEM, PROMISE, SETBACK, SLACK_ID,
    TEAMS_ID, WON, build, rows_of, traces,
)
from tests.support import WORKSPACE

DAY = date(2026, 11, 16)


@pytest.fixture
def world(database_url):
    return build(database_url)


def cli(world, tmp_path, *args, input=None):
    env = {"DATABASE_URL": world.url, "COACH_WORKSPACE": WORKSPACE, "COACH_DATA_DIR": str(tmp_path),
           "COACH_LANGUAGE": "en", "COACH_RULES_FILE": ""}
    result = CliRunner().invoke(main, list(args), env=env, input=input)
    return result.exit_code, result.stdout, result.stderr


def history(world) -> tuple:
    """What the team's history says: balances, touches per client, the team's figures now and
    before, each rep's figures, the clients at risk."""
    with world.coach.uow_factory() as uow:
        clients = uow.clients.list(WORKSPACE)
        east = uow.teams.by_name(WORKSPACE, "East")
        report = health.report(uow, WORKSPACE, [east], DAY, world.coach.rules)
        return ({c.name: uow.ledger.balance(WORKSPACE, c.id) for c in clients},
                {c.name: [(i.rep_id, i.occurred_on, i.kind, i.purpose) for i in
                          uow.interactions.for_client(WORKSPACE, c.id, 100)] for c in clients},
                {c.name: [(p.rep_id, p.made_on, p.due_on, p.status) for p in uow.promises.for_client(WORKSPACE, c.id)]
                 for c in clients},
                report.now, report.before, {r.rep.id: r.figures for r in report.reps},
                [(r.client_id, r.owner_id, r.score) for r in report.at_risk])


def test_the_world_holds_what_the_erasures_must_find(world):
    """Without this, the tests below could pass on a world that never held the words."""
    assert [r["note"] for r in rows_of(world, "deals")] == [WON]
    assert KEN_DRAFT in str([r["state"] for r in rows_of(world, "conversations", user=KEN)])
    found = {t for t, _, _ in traces(world, ALICE, ALICE_NAME, SLACK_ID, TEAMS_ID, "heron")}
    assert found >= {"people", "interactions", "promises", "problems", "ledger_entries", "conversations",
                     "conversation_references", "processed_requests", "inbound_requests"}
    assert {t for t, _, _ in traces(world, CLIENT)} >= {"clients", "interactions", "conversations", "inbound_requests",
                                                        "client_summaries"}
    for table in ("deliveries", "delivery_items", "nudge_feedback", "channel_captures", "deals", "team_snapshots"):
        assert rows_of(world, table), table


def test_erasing_a_person_leaves_no_trace_and_the_teams_history_whole(world, tmp_path):
    before = history(world)
    alice = world.ids["alice"]
    drawn = tmp_path / "charts" / "cache" / "teamhealth-east-2026-11-16-en-0a1b.png"  # kept to be sent again
    drawn.parent.mkdir(parents=True)
    drawn.write_bytes(b"\x89PNG a chart with Alice Smith's line")
    code, out, err = cli(world, tmp_path, "erase", "person", ALICE, "--yes")
    assert code == 0, err
    assert not drawn.exists()
    assert f"Erased {ALICE}: now “erased person #{alice}”, deactivated." in out
    assert traces(world, ALICE, ALICE_NAME, SLACK_ID, TEAMS_ID, "heron", NOTE, PROMISE, PROBLEM, SETBACK, DRAFT,
                  WON) == []
    [person] = rows_of(world, "people", id=alice)
    assert (person["name"], person["email"], person["active"]) == (f"erased person #{alice}", f"erased-{alice}", False)
    assert (person["slack_user_id"], person["teams_user_id"], person["locale"], person["timezone"]) == (
        None, None, None, "UTC")
    assert {r["external_id"] for r in rows_of(world, "interactions", rep_id=alice)} == {None}
    assert {r["text"] for t in ("promises", "problems") for r in rows_of(world, t, rep_id=alice)} == {"…"}
    assert [r["status"] for r in rows_of(world, "inbound_requests")] == ["done"]  # never replayed
    # the team's history: the same balances, touches, figures and clients at risk; their rows stay theirs
    assert history(world) == before
    assert len(rows_of(world, "interactions", rep_id=alice)) == 3 and rows_of(world, "clients", owner_id=alice)
    assert rows_of(world, "team_members", person_id=alice) and rows_of(world, "deliveries", person_id=alice)
    with world.coach.uow_factory() as uow:
        assert summaries.check(uow.session, WORKSPACE) == []
        client = uow.clients.by_name(WORKSPACE, CLIENT)
        lines = [world.coach.catalog.render(views.reason(e), "en") for e in uow.ledger.for_client(WORKSPACE, client.id)]
    assert "A claim proved false: “…”. Credit reset." in lines  # the passbook still reads
    # Ken's note named Alice: her name is blanked there, the rest of his words kept
    [ken_note] = [r["note"] for r in rows_of(world, "interactions", rep_id=world.ids["ken"])]
    assert ken_note == KEN_NOTE.replace(ALICE_NAME, "…")
    [audit] = rows_of(world, "erasures")
    assert (audit["kind"], audit["subject_id"], audit["requested_by"]) == ("person", alice, "cli")
    assert audit["rows"]["interactions"] == 4 and audit["rows"]["conversation_references"] == 1
    assert f"Audit record #{audit['id']}" in out


def test_an_erased_person_is_a_stranger_to_the_coach_and_stays_erased(world, tmp_path):
    cli(world, tmp_path, "erase", "person", ALICE, "--yes")
    assert "I don't know you yet" in world.say(ALICE, "help")
    assert "I don't know you yet" in world.say("", "help", platform="slack", platform_user_id=SLACK_ID)
    assert "I don't know you yet" in world.say("", "help", platform="teams", platform_user_id=TEAMS_ID)
    code, _, err = cli(world, tmp_path, "reactivate", f"erased-{world.ids['alice']}")
    assert code == 2 and "was erased and stays so" in err and len(err.strip().splitlines()) == 1


def test_erasing_a_client_removes_it_and_everything_about_it(world, tmp_path):
    client = world.client_id
    with world.coach.uow_factory() as uow:
        kobe = uow.clients.by_name(WORKSPACE, OTHER)
        kobe_before = (uow.ledger.balance(WORKSPACE, kobe.id), len(uow.interactions.for_client(WORKSPACE, kobe.id)))
    drawn = tmp_path / "charts" / "cache" / "teamhealth-east-2026-11-16-en-0a1b.png"
    drawn.parent.mkdir(parents=True)
    drawn.write_bytes(b"\x89PNG")
    code, out, err = cli(world, tmp_path, "erase", "client", "aster foods", "--yes")
    assert code == 0, err
    assert f"Erased the client “{CLIENT}”." in out and not drawn.exists()
    assert traces(world, CLIENT, "heron", NOTE, PROMISE, PROBLEM, SETBACK, DRAFT, WON) == []
    for table, column in references("clients"):
        assert rows_of(world, table.name, **{column.name: client}) == [], table.name
    for table in ("nudge_feedback", "delivery_items"):  # found by their subject ("client:4:quiet", "promise:12")
        assert not [r for r in rows_of(world, table) if f":{client}" in r["subject"] or "promise" in r["subject"]]
    assert rows_of(world, "team_snapshots") == []  # past figures counted the client: drawn again when asked
    # everything else stands: Alice, Kobe Steelworks, Ken's note (the client's name blanked in it)
    assert [p["active"] for p in rows_of(world, "people", email=ALICE)] == [True]
    with world.coach.uow_factory() as uow:
        kobe_after = (uow.ledger.balance(WORKSPACE, kobe.id), len(uow.interactions.for_client(WORKSPACE, kobe.id)))
        assert summaries.check(uow.session, WORKSPACE) == []
    assert kobe_after == kobe_before
    [ken_note] = [r["note"] for r in rows_of(world, "interactions", rep_id=world.ids["ken"])]
    assert ken_note == KEN_NOTE.replace(CLIENT, "…")
    [audit] = rows_of(world, "erasures")
    assert (audit["kind"], audit["subject_id"], audit["requested_by"]) == ("client", client, "cli")
    assert audit["rows"]["clients"] == 1 and audit["rows"]["interactions"] == 4  # its 3 removed, Ken's changed


def test_export_of_a_person_holds_their_data(world, tmp_path):
    code, out, err = cli(world, tmp_path, "export", "person", ALICE.upper())
    assert code == 0, err
    data = json.loads(out)
    assert data["person"]["email"] == ALICE and data["person"]["slack_user_id"] == SLACK_ID
    assert data["teams"] == ["East"]
    assert {r["note"] for r in data["interactions"]} >= {NOTE}
    assert [r["text"] for r in data["promises"]] == [PROMISE] and [r["text"] for r in data["problems"]] == [PROBLEM]
    assert any(r["detail"].get("what") == SETBACK for r in data["ledger_entries"])
    assert [r["name"] for r in data["clients"]] == [CLIENT]  # the clients they own
    assert data["conversation_references"][0]["user_id"] == TEAMS_ID
    assert DRAFT in json.dumps(data["conversations"]) and data["deliveries"] and data["delivery_items"]
    assert data["nudge_feedback"] and data["processed_requests"] and data["inbound_requests"]
    assert [m["text"] for m in data["mentions"]] == [KEN_NOTE]  # a teammate's note naming them


def test_export_of_a_client_holds_its_data(world, tmp_path):
    code, out, err = cli(world, tmp_path, "export", "client", CLIENT)
    assert code == 0, err
    data = json.loads(out)
    assert data["client"]["name"] == CLIENT and data["team"] == "East"
    assert {r["note"] for r in data["interactions"]} >= {NOTE} and len(data["ledger_entries"]) >= 4
    assert [r["text"] for r in data["promises"]] == [PROMISE] and data["deals"] and data["channel_captures"]
    assert data["nudge_feedback"] and data["delivery_items"] and data["client_summaries"]
    assert DRAFT in json.dumps(data["conversations"]) and data["inbound_requests"]
    assert [m["text"] for m in data["mentions"]] == [KEN_NOTE]
    assert {r["rep_id"] for r in data["interactions"]} == {world.ids["alice"]}  # reps by their id


@pytest.mark.parametrize("args, fragment", [
    (("erase", "person", "nobody@acme.example", "--yes"), "Nobody with the e-mail nobody@acme.example"),
    (("erase", "client", "Nowhere Ltd", "--yes"), "No client called “Nowhere Ltd”"),
    (("export", "person", "nobody@acme.example"), "Nobody with the e-mail"),
    (("export", "client", "Nowhere Ltd"), "No client called “Nowhere Ltd”"),
    (("erase", "person", ALICE), "Stopped. Nothing half-written was kept."),  # asked, and no answer came
    (("erase", "client", CLIENT), "Stopped. Nothing half-written was kept."),
])
def test_bad_requests_end_in_one_line_and_change_nothing(world, tmp_path, args, fragment):
    code, _, err = cli(world, tmp_path, *args)
    assert code == 2 and len(err.strip().splitlines()) == 1 and fragment in err, err
    assert rows_of(world, "erasures") == [] and rows_of(world, "people", email=ALICE)
    assert rows_of(world, "clients", name=CLIENT)


def test_a_no_at_the_question_erases_nothing(world, tmp_path):
    code, out, _ = cli(world, tmp_path, "erase", "person", ALICE, input="n\n")
    assert code == 2 and "Erase alice@acme.example?" in out
    assert rows_of(world, "people", email=ALICE) and rows_of(world, "erasures") == []


def test_every_column_pointing_at_a_person_has_an_erasure_policy():
    """A table added later with a column pointing at people must say what an erasure does to it
    (and storage.erasure refuses to run until it does)."""
    columns = {f"{t.name}.{c.name}" for t, c in references("people")}
    assert columns == set(PERSON_POLICY)


def test_a_teammate_still_reads_the_erased_reps_client_and_its_passbook(world, tmp_path):
    cli(world, tmp_path, "erase", "person", ALICE, "--yes")
    passbook = world.say("mia@acme.example", f"ledger {CLIENT}")
    assert f"Passbook: {CLIENT}" in passbook and "A claim proved false: “…”" in passbook and "heron" not in passbook


def test_the_name_is_said_in_the_workspaces_language_and_found_in_json_too(world, tmp_path):
    """Ken's name is Japanese: in a passbook quotation (JSON, stored escaped) it is found as well;
    with COACH_LANGUAGE=ja his row is named in Japanese."""
    said = world.say(ALICE, f"setback {OTHER} misunderstanding: 田中 健 said the price was final", "dm-alice-2")
    assert "Recorded: a misunderstanding with" in said
    assert ("ledger_entries", "detail") in {(t, c) for t, c, _ in traces(world, "田中 健")}
    ken = world.ids["ken"]
    env = {"DATABASE_URL": world.url, "COACH_WORKSPACE": WORKSPACE, "COACH_DATA_DIR": str(tmp_path),
           "COACH_LANGUAGE": "ja", "COACH_RULES_FILE": ""}
    result = CliRunner().invoke(main, ["erase", "person", KEN, "--yes"], env=env)
    assert result.exit_code == 0, result.stderr
    assert f"表示名は「削除済みの担当者#{ken}」になり" in result.stdout
    assert traces(world, "田中 健", KEN) == []
    assert rows_of(world, "people", id=ken)[0]["name"] == f"削除済みの担当者#{ken}"
