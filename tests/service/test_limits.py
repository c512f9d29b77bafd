"""Size limits on every input, through the real entry points: what is too long is refused whole
with its length and the limit, in the user's language, and nothing is stored half."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from coaching.logflow import LogRequest
from coaching.engine import MAX_TEXT, Inbound
from coaching.model import Kind, PromiseDraft, Purpose
from storage.models import ClientRow, InteractionRow, LedgerEntryRow, PersonRow, PromiseRow
from tests.support import START, make_coach, seed_quiet_clients, seed_roster

DATA = Path(__file__).parents[1] / "data"
HEADER = "date,rep,client,kind,purpose,note\n"


@pytest.fixture
def coach(database_url):
    coach = make_coach(database_url)
    seed_quiet_clients(coach, seed_roster(coach), START.date())
    return coach


def talk(coach, email="alice@acme.example"):
    def say(text: str) -> tuple[list[str], list[str]]:
        """The reply's rendered lines in the person's language, and their catalogue keys."""
        outcome = coach.engine.handle(Inbound(coach.workspace, "dm", text, email=email))
        lines = [line for reply in outcome.replies for line in reply.lines]
        return ([coach.catalog.render(line, outcome.locale) for line in lines],
                [getattr(line, "key", None) for line in lines])
    return say


def stored(coach) -> dict[str, int]:
    with coach.uow_factory() as uow:
        return {t.__tablename__: uow.session.scalar(select(func.count()).select_from(t))
                for t in (ClientRow, InteractionRow, PromiseRow, LedgerEntryRow, PersonRow)}


def step(coach, email="alice@acme.example") -> str | None:
    with coach.uow_factory() as uow:
        record = uow.dialogs.get(coach.workspace, "dm", email)
        return record.state.get("step") if record else None


# --- the conversation --------------------------------------------------------------------------

def test_a_huge_answer_is_refused_and_the_conversation_stays_where_it_was(coach):
    for email, expected in (
            ("alice@acme.example", "That message is 100000 characters; the limit is 4000. Please shorten it"),
            ("ken@acme.example", "メッセージは100000文字あり、上限の4000文字を超えています。")):
        say = talk(coach, email)
        for answer in ("/logmeeting", "Kobe Steelworks"):
            say(answer)
        assert step(coach, email) == "note"
        before = stored(coach)
        for huge in ("n" * 100_000, "/logmeeting " + "A" * 99_988, "new:" + "N" * 99_996):
            lines, keys = say(huge)
            assert keys == ["error.text_too_long"] and lines[0].startswith(expected)
            assert step(coach, email) == "note" and stored(coach) == before
        lines, keys = say("x" * (MAX_TEXT - 1))  # under the message limit, over the note's
        assert keys == ["log.retry.too_long", "log.ask.note"] and step(coach, email) == "note"
        assert say("shared the report")[1] == ["log.ask.kind"]  # carries on as before


def test_client_names_that_cannot_be_stored_are_asked_again(coach):
    say = talk(coach)
    say("/logmeeting")
    before = stored(coach)
    # too long; too long once the database writes it out (each ㍿ is 株式会社); no letters at all
    for name in ("x" * 201, "new:" + "x" * 201, "new:" + "㍿" * 60, "new:   ", "?!", "tap:other"):
        lines, keys = say(name)
        assert "log.retry.client" in keys or name == "tap:other", (name, keys)
        assert step(coach) == "client"
    say("cancel")  # "tap:other" began a check-in's flow
    say("/logmeeting")
    say("new:" + "㍿" * 50)  # 200 characters written out: fits
    for answer in ("call", "give", "skip", "no", "no", "no", "skip", "skip"):
        say(answer)
    lines, _ = say("save")
    assert lines[0] == f"Saved your touch with {'㍿' * 50}."
    assert stored(coach)["clients"] == before["clients"] + 1


def test_a_tap_with_a_name_too_long_to_store_asks_for_the_client(coach):
    say = talk(coach)
    lines, keys = say("new:" + "ﷺ" * 12)  # 12 characters, 216 written out
    assert keys[:2] == ["log.retry.client", "log.ask.client"] and step(coach) == "client"
    assert stored(coach)["clients"] == 3


def test_a_promise_too_long_is_asked_again(coach):
    say = talk(coach)
    for answer in ("/logmeeting Acme call give: shared a report", "skip", "+ Promise"):  # skip: Acme's trust
        say(answer)
    assert step(coach) == "promise"
    assert say("p" * 2001)[1][0] == "log.retry.promise" and step(coach) == "promise"
    assert say("p" * 100_000)[1] == ["error.text_too_long"] and step(coach) == "promise"
    say("send the quote by Friday")
    assert step(coach) == "confirm"


def test_a_quick_form_note_over_the_limit_is_left_out_and_asked_for(coach):
    say = talk(coach)
    lines, keys = say("/logmeeting Acme call give: " + "n" * 3000)
    assert keys[0] == "log.note_left_out" and lines[0].startswith("The note is 3000 characters; the limit is 2000")
    assert step(coach) == "note"


def test_a_long_message_logged_as_a_touch_keeps_its_start_and_says_so(coach):
    inbound = Inbound(coach.workspace, "dm", "", email="ken@acme.example")
    outcome = coach.engine.log_message(inbound, "あ" * 5000, START)
    lines = [coach.catalog.render(line, "ja") for reply in outcome.replies for line in reply.lines]
    assert "メッセージは5000文字ありますが、メモは2000文字までのため、先頭の2000文字を残しました。" in lines[1]
    with coach.uow_factory() as uow:
        assert uow.dialogs.get(coach.workspace, "dm", "ken@acme.example").state["d"]["note"] == "あ" * 2000


def test_nul_bytes_and_broken_surrogates_never_reach_the_database(coach):
    say = talk(coach)
    for answer in ("/logmeeting Acme call give: a\x00b \ud800c", "no", "late\x00 invoices by Friday", "no",
                   "they\x00 complain", "skip", "skip"):
        say(answer)
    assert say("save")[0][0] == "Saved your touch with Acme."
    request = LogRequest(None, "New\x00 Co", START.date(), Kind.CALL, Purpose.GIVE, "no\x00te", False,
                         (PromiseDraft("p\x00", START.date()),), "pro\x00blem", None, None)
    inbound = Inbound(coach.workspace, "dm", "", email="alice@acme.example")
    assert coach.engine.log_form(inbound, request).logged is not None
    with coach.uow_factory() as uow:
        notes = sorted(uow.session.scalars(select(InteractionRow.note)))
        names = set(uow.session.scalars(select(ClientRow.name)))
    assert notes == ["ab \ufffdc", "note"] and "New Co" in names
    bad = dataclasses.replace(request, client_name="x" * 201)
    outcome = coach.engine.log_form(inbound, bad)
    assert outcome.logged is None and outcome.replies[0].lines[0].key == "log.retry.client"


def test_ids_too_large_for_the_database_find_nothing(coach):
    say = talk(coach)
    for text, key in (("tap:99999999999999999999", "error.no_client_none"),
                      ("client:9223372036854775808", "error.no_client_none"),
                      ("purpose:99999999999999999999:give", "error.no_touch"),
                      ("kept:2147483648", "error.no_promise"), ("broken 99999999999999999999", "error.no_promise"),
                      ("kept ²", "error.no_promise")):
        assert say(text)[1] == [key], text


# --- CSV imports, through the command line -------------------------------------------------------

@pytest.fixture
def cli(database_url, tmp_path):
    env = {"DATABASE_URL": database_url, "COACH_WORKSPACE": "acme", "COACH_DATA_DIR": str(tmp_path),
           "COACH_LANGUAGE": "en", "COACH_RULES_FILE": ""}

    def run(*args: str, language: str = "en") -> tuple[int, str, str]:
        result = CliRunner().invoke(main, list(args), env={**env, "COACH_LANGUAGE": language})
        return result.exit_code, result.stdout, result.stderr

    assert run("db", "upgrade")[0] == 0
    assert run("import", "roster", str(DATA / "roster.csv"))[0] == 0
    return run


def touches(database_url) -> int:
    return stored(make_coach(database_url))["interactions"]


def refused(cli, path: Path, *problems: str, language: str = "en") -> None:
    started = time.monotonic()
    code, out, err = cli("import", "interactions", str(path), language=language)
    assert time.monotonic() - started < 20, "a bad file must be refused quickly"
    lines = err.strip().splitlines()
    assert code == 2 and "Traceback" not in err and out == ""
    assert [line for line in lines[:-1]] == list(problems), lines
    assert lines[-1].startswith("error: Nothing was imported" if language == "en" else "エラー:何も取り込んでいません")


def test_huge_files_are_refused_quickly(cli, tmp_path, database_url):
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "2026-11-02,ann@example.com,Acme,call,give," + "x" * 10 * 1024 * 1024 + "\n")
    refused(cli, path, "big.csv:2: A value on this line is longer than 10000 characters.")
    path.write_text(HEADER + "2026-11-02,ann@example.com,Acme,call,give,note" + ",v" * 100_000 + "\n")
    refused(cli, path, "big.csv:2: This row has 100006 values but the header names 6 columns.")
    path.write_text(HEADER.rstrip("\n") + "".join(f",c{i}" for i in range(100_000)) + "\n")
    refused(cli, path, "big.csv:1: The header has columns the coach doesn't know: c0, c1, c2, c3, c4, c5, c6, c7, "
                       "c8, c9, …. Known columns: date, rep, client, kind, purpose, note, promise, promise_due, "
                       "promise_outcome, promise_closed_on, problem, problem_answered_on, won_deal, setback, correction.")
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024 + 1)  # sparse: no 50 MB written
    refused(cli, path, f"big.csv: {path} is larger than 50 MB. Split it into smaller files.")
    assert touches(database_url) == 0


def test_files_that_are_not_utf8_csv_say_how_to_save_them(cli, tmp_path, database_url):
    path = tmp_path / "sjis.csv"  # neither UTF-8 nor cp932 (cp932 itself is read: test_crm_import.py)
    path.write_bytes((HEADER + "2026-11-02,ann@example.com,").encode() + b"\x85\x40,call,give,x\n")
    refused(cli, path, f"sjis.csv: {path}はUTF-8でもShift_JIS(cp932)でもありません(2行目に読み取れない文字があります)。"
                       "Excelでは「CSV UTF-8(コンマ区切り)」形式で保存し直してください。", language="ja")
    path.write_bytes((HEADER + "2026-11-02,ann@example.com,Acme,call,give,a\x00b\n").encode())
    refused(cli, path, f"sjis.csv: {path} has a NUL byte on line 2, so it is not CSV text (it may be UTF-16 “Unicode "
                       "text”). Save it as “CSV UTF-8 (Comma delimited)” and try again.")
    path.write_bytes(HEADER.encode("utf-16-le"))  # no BOM: every other byte is NUL
    refused(cli, path, f"sjis.csv: {path} has a NUL byte on line 1, so it is not CSV text (it may be UTF-16 “Unicode "
                       "text”). Save it as “CSV UTF-8 (Comma delimited)” and try again.")
    long = "z" * 5000
    path.write_text(HEADER + f"{long},{long},{'㍿' * 60},{long},{long},note\n")
    short = "z" * 60 + "…"  # a wrong value is quoted back, never the whole of it
    refused(cli, path,
            f"sjis.csv:2: “date”: “{short}” is not a date. Write dates as YYYY-MM-DD (or YYYY/MM/DD).",
            f"sjis.csv:2: “rep”: “{short}” is not an e-mail address.",
            "sjis.csv:2: “client” is longer than 200 characters.",  # each ㍿ is stored as 株式会社
            f"sjis.csv:2: Kind “{short}” isn't known. Use one of: meeting, call, email, message, visit, event.",
            f"sjis.csv:2: Purpose “{short}” isn't known. Use one of: give, ask, service, contact.")
    assert touches(database_url) == 0
