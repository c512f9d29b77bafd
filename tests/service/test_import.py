"""``coach import``: roster and interactions from CSV, checked first, written in one transaction."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.bootstrap import Coach, bootstrap
from bot.importer import ImportFailed, describe, import_interactions, import_roster, summary
from bot.settings import Settings
from coaching.messages import Msg, entries, placeholders
from coaching.model import PromiseStatus, Reason, Role
from storage.db import upgrade
from storage.models import DealRow, PromiseRow
from storage.uow import SqlAlchemyUnitOfWork

DATA = Path(__file__).parents[1] / "data"
DOCS = Path(__file__).parents[2] / "docs" / "examples"
NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
TODAY = NOW.date()
WS = "acme"
TOUCH_HEADER = "date,rep,client,kind,purpose,note,promise,promise_due,promise_outcome,promise_closed_on,problem,problem_answered_on,won_deal\n"
ROSTER_HEADER = "email,name,role,team,timezone,locale,slack_user_id,teams_user_id\n"


@pytest.fixture
def coach(database_url: str) -> Coach:
    upgrade(database_url)
    settings = Settings(DATABASE_URL=database_url, COACH_WORKSPACE=WS, COACH_LANGUAGE="en", COACH_RULES_FILE=None)
    return bootstrap(settings, clock=lambda: NOW)


@pytest.fixture
def staffed(coach: Coach) -> Coach:
    import_roster(coach, DATA / "roster.csv", progress=False)
    return coach


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "in.csv"
    path.write_bytes(text.encode(encoding))
    return path


def failure(call, *args, **kwargs) -> list[tuple[int | None, Msg]]:
    with pytest.raises(ImportFailed) as caught:
        call(*args, progress=False, **kwargs)
    return caught.value.problems


def people(coach: Coach) -> dict[str, tuple]:
    with coach.uow_factory() as uow:
        teams = {t.id: t.name for t in uow.teams.list(WS)}
        return {p.email: (p.name, p.role, tuple(teams[t] for t in p.team_ids), p.timezone, p.locale,
                          p.slack_user_id, p.teams_user_id) for p in uow.people.list(WS)}


def book(coach: Coach) -> dict[str, list[tuple[Reason, int, date]]]:
    with coach.uow_factory() as uow:
        return {c.name: [(e.reason, e.amount, e.occurred_on) for e in uow.ledger.for_client(WS, c.id)]
                for c in uow.clients.list(WS)}


# --- the roster -----------------------------------------------------------------------------

def test_roster_adds_people_and_creates_teams(coach: Coach) -> None:
    report = import_roster(coach, DATA / "roster.csv", progress=False)
    assert (report.rows, report.added, report.already, report.skipped) == (5, 5, 0, [])
    assert report.extra == {"updated": 0, "teams_created": 2}
    assert people(coach) == {
        "ann@example.com": ("Ann Lee", Role.REP, ("East",), "Asia/Tokyo", "ja-JP", "U01ANN", None),
        "bob@example.com": ("Bob Stone", Role.REP, ("West",), "UTC", "en", None, None),
        "meg@example.com": ("Meg Ito", Role.MANAGER, ("East", "West"), "Asia/Tokyo", "ja", "U01MEG", None),
        "ada@example.com": ("Ada Park", Role.ADMIN, (), "UTC", None, None, None),
        "kai@example.com": ("佐藤 海", Role.REP, ("East",), "Asia/Tokyo", None, None, "29:kai"),
    }


def test_roster_reimport_adds_nothing_and_counts_changes(staffed: Coach, tmp_path: Path) -> None:
    before = people(staffed)
    again = import_roster(staffed, DATA / "roster.csv", progress=False)
    assert (again.rows, again.added, again.already, again.extra) == (5, 0, 5, {"updated": 0, "teams_created": 0})
    assert people(staffed) == before
    moved = write(tmp_path, ROSTER_HEADER + "bob@example.com,Bob Stone,rep,North,,,,\n")
    report = import_roster(staffed, moved, progress=False)
    assert (report.added, report.already, report.extra) == (0, 0, {"updated": 1, "teams_created": 1})
    assert people(staffed)["bob@example.com"][2] == ("North",)


def test_roster_on_leave_column_sets_keeps_or_clears_the_flag(staffed: Coach, tmp_path: Path) -> None:
    def on_leave() -> dict[str, bool]:
        with staffed.uow_factory() as uow:
            return {p.email: p.on_leave for p in uow.people.list(WS)}

    header = ROSTER_HEADER.rstrip("\n") + ",on_leave\n"
    away = write(tmp_path, header + "bob@example.com,Bob Stone,rep,West,,,,,yes\nann@example.com,Ann Lee,rep,East,Asia/Tokyo,ja-JP,U01ANN,,休暇\n")
    report = import_roster(staffed, away, progress=False)
    assert report.extra["updated"] == 2
    assert on_leave()["bob@example.com"] and on_leave()["ann@example.com"]
    import_roster(staffed, DATA / "roster.csv", progress=False)  # no column: the flag is kept
    assert on_leave()["bob@example.com"]
    back = write(tmp_path, header + "bob@example.com,Bob Stone,rep,West,,,,,no\n")
    import_roster(staffed, back, progress=False)
    assert not on_leave()["bob@example.com"] and on_leave()["ann@example.com"]
    bad = write(tmp_path, header + "bob@example.com,Bob Stone,rep,West,,,,,sometimes\n")
    assert failure(import_roster, staffed, bad) == [(2, Msg("import.bad_on_leave", {"value": "sometimes"}))]


BAD_ROSTER = ROSTER_HEADER + (
    "ok@example.com,Ok,rep,East,,,,\n"
    "not-an-email,Nobody,rep,East,,,,\n"
    "sam@example.com,,boss,East,Mars/Olympus,fr,,\n"
    "OK@example.com,Ok Again,rep,East,,,,\n"
    "lee@example.com,Lee,manager,,,,,\n"
)


def test_bad_roster_rows_are_all_reported_and_nothing_is_written(coach: Coach, tmp_path: Path) -> None:
    assert failure(import_roster, coach, write(tmp_path, BAD_ROSTER)) == [
        (3, Msg("import.bad_email", {"column": "email", "value": "not-an-email"})),
        (4, Msg("import.required", {"column": "name"})),
        (4, Msg("import.bad_role", {"value": "boss", "allowed": ["rep", "manager", "admin"]})),
        (4, Msg("import.bad_timezone", {"value": "Mars/Olympus"})),
        (4, Msg("import.bad_locale", {"value": "fr", "allowed": ["en", "ja"]})),
        (5, Msg("import.duplicate_email", {"email": "ok@example.com", "first": 2})),
        (6, Msg("import.no_team", {})),
    ]
    assert people(coach) == {}


def test_roster_skip_invalid_imports_the_good_rows(coach: Coach, tmp_path: Path) -> None:
    report = import_roster(coach, write(tmp_path, BAD_ROSTER), skip_invalid=True, progress=False)
    assert (report.rows, report.added, sorted({line for line, _ in report.skipped})) == (5, 1, [3, 4, 5, 6])
    assert list(people(coach)) == ["ok@example.com"]


# --- interactions ---------------------------------------------------------------------------

EXPECTED_BOOK = {
    "Acme": [(Reason.GIVE_TOUCH, 2, date(2026, 11, 2)), (Reason.PROMISE_KEPT, 3, date(2026, 11, 5)),
             (Reason.PROMISE_KEPT_LATE, -1, date(2026, 11, 12))],
    "Beta": [(Reason.GIVE_TOUCH, 2, date(2026, 11, 1)), (Reason.PROMISE_BROKEN, -10, date(2026, 11, 8)),
             (Reason.PROBLEM_UNANSWERED, -5, date(2026, 11, 13))],
    "Corp": [(Reason.GIVE_TOUCH, 2, date(2026, 11, 4)), (Reason.PROMISE_BROKEN, -10, date(2026, 11, 13))],
    "田中商事": [(Reason.PROBLEM_ANSWERED_FAST, 3, date(2026, 11, 4))],
}


@pytest.mark.parametrize("row_by_row", [False, True], ids=["bulk", "row-by-row"])
def test_interactions_book_exact_points(staffed: Coach, row_by_row: bool) -> None:
    report = import_interactions(staffed, DATA / "interactions.csv", progress=False, row_by_row=row_by_row)
    assert (report.rows, report.added, report.already, report.skipped) == (6, 6, 0, [])
    assert report.extra == {"clients_created": 4, "entries": 7, "promises_broken": 1,
                            "problems_unanswered": 1, "silence_entries": 0}
    assert book(staffed) == EXPECTED_BOOK
    with staffed.uow_factory() as uow:
        balances = {c.name: uow.ledger.balance(WS, c.id) for c in uow.clients.list(WS)}
        deals = sorted(uow.session.scalars(select(DealRow.note)))
        owner = uow.people.get(WS, uow.clients.by_name(WS, "田中商事").owner_id)
        corp = uow.clients.by_name(WS, "Corp")
        promises = sorted(uow.session.execute(select(PromiseRow.text, PromiseRow.status, PromiseRow.closed_on)))
    assert balances == {"Acme": 4, "Beta": -13, "Corp": -8, "田中商事": 3}
    assert deals == ["", "Annual license"]
    assert owner.email == "ann@example.com" and corp.created_on == date(2026, 11, 4)
    assert promises == [  # "kept" after the due day is kept late; the open one was 7 days overdue
        ("Intro to their CFO", PromiseStatus.BROKEN.value, date(2026, 11, 8)),
        ("Send a case study", PromiseStatus.BROKEN.value, date(2026, 11, 13)),
        ("Send the quote", PromiseStatus.KEPT.value, date(2026, 11, 5)),
        ("Send the revised quote", PromiseStatus.KEPT_LATE.value, date(2026, 11, 12)),
    ]


@pytest.mark.parametrize("row_by_row", [False, True], ids=["bulk", "row-by-row"])
def test_interactions_reimport_adds_nothing(staffed: Coach, row_by_row: bool) -> None:
    import_interactions(staffed, DATA / "interactions.csv", progress=False, row_by_row=row_by_row)
    again = import_interactions(staffed, DATA / "interactions.csv", progress=False, row_by_row=not row_by_row)
    assert (again.rows, again.added, again.already) == (6, 0, 6)
    assert again.extra == {"clients_created": 0, "entries": 0, "promises_broken": 0,
                           "problems_unanswered": 0, "silence_entries": 0}
    assert book(staffed) == EXPECTED_BOOK


BAD_TOUCHES = TOUCH_HEADER + (
    '2026-11-02,ann@example.com,Acme,call,give,"two\nlines",,,,,,,\n'  # lines 2-3: fine
    "\n"  # line 4: blank, ignored
    "2026-11-21,zed@example.com,Acme,fax,give,,,,,,,,\n"  # line 5
    '2026-11-03,ann@example.com,Acme,call,gift,"bad\npurpose",,,,,,,\n'  # lines 6-7
    "2026-11-03,ann@example.com,Acme,call,give,,,,,,,,\n"  # line 8: fine
)


def test_one_bad_row_imports_nothing_and_names_its_line(staffed: Coach, tmp_path: Path) -> None:
    assert failure(import_interactions, staffed, write(tmp_path, BAD_TOUCHES)) == [
        (5, Msg("import.future_date", {"column": "date", "value": date(2026, 11, 21), "today": TODAY})),
        (5, Msg("import.bad_kind", {"value": "fax", "allowed": ["meeting", "call", "email", "message", "visit", "event"]})),
        (5, Msg("import.unknown_rep", {"email": "zed@example.com"})),
        (6, Msg("import.bad_purpose", {"value": "gift", "allowed": ["give", "ask", "service", "contact"]})),
    ]
    assert book(staffed) == {}


def test_skip_invalid_imports_the_rest(staffed: Coach, tmp_path: Path) -> None:
    report = import_interactions(staffed, write(tmp_path, BAD_TOUCHES), skip_invalid=True, progress=False)
    assert (report.rows, report.added, [line for line, _ in report.skipped]) == (4, 2, [5, 5, 5, 6])
    assert book(staffed) == {"Acme": [(Reason.GIVE_TOUCH, 2, date(2026, 11, 2)), (Reason.GIVE_TOUCH, 2, date(2026, 11, 3))]}
    rendered = staffed.catalog.render(summary(report, "interactions"), "en")
    assert rendered.startswith("Rows imported: 2 of 4 (0 already there, 2 skipped). New clients: 1.")


@pytest.mark.parametrize("row, problems", [
    ("2026-11-02,zed@example.com,Acme,call,give,,,,,,,,", [Msg("import.unknown_rep", {"email": "zed@example.com"})]),
    ("2026-11-02,ada@example.com,Acme,call,give,,,,,,,,",
     [Msg("import.rep_without_team", {"email": "ada@example.com", "client": "Acme"})]),
    ("2026-11-02,ann,Acme,call,give,,,,,,,,", [Msg("import.bad_email", {"column": "rep", "value": "ann"})]),
    ("2026-13-01,ann@example.com,Acme,call,give,,,,,,,,", [Msg("import.bad_date", {"column": "date", "value": "2026-13-01"})]),
    ("02/11/2026,ann@example.com,Acme,call,give,,,,,,,,", [Msg("import.bad_date", {"column": "date", "value": "02/11/2026"})]),
    (",ann@example.com,,call,gift,,,,,,,,", [Msg("import.required", {"column": "date"}), Msg("import.required", {"column": "client"}),
                                           Msg("import.bad_purpose", {"value": "gift", "allowed": ["give", "ask", "service", "contact"]})]),
    ("2026-11-02,ann@example.com,Acme,call,give,,Send it,,,,,,", [Msg("import.required", {"column": "promise_due"})]),
    ("2026-11-02,ann@example.com,Acme,call,give,,Send it,2026-11-01,,,,,",
     [Msg("import.before_touch", {"column": "promise_due", "value": date(2026, 11, 1), "touch": date(2026, 11, 2)})]),
    ("2026-11-02,ann@example.com,Acme,call,give,,Send it,2026-11-05,kept,,,,", [Msg("import.needs_closed_on", {"outcome": "kept"})]),
    ("2026-11-02,ann@example.com,Acme,call,give,,Send it,2026-11-05,,2026-11-04,,,", [Msg("import.open_but_closed", {})]),
    ("2026-11-02,ann@example.com,Acme,call,give,,Send it,2026-11-05,maybe,2026-11-04,,,",
     [Msg("import.bad_outcome", {"value": "maybe", "allowed": ["open", "kept", "kept_late", "broken"]})]),
    ("2026-11-02,ann@example.com,Acme,call,give,,Send it,2026-11-05,broken,2026-11-30,,,",
     [Msg("import.future_date", {"column": "promise_closed_on", "value": date(2026, 11, 30), "today": TODAY})]),
    ("2026-11-02,ann@example.com,Acme,call,give,,,2026-11-05,,,,2026-11-03,",
     [Msg("import.needs", {"column": "promise_due", "needed": "promise"}), Msg("import.needs", {"column": "problem_answered_on", "needed": "problem"})]),
    ("2026-11-02,ann@example.com,Acme,call,give,,,,,,,,,extra", [Msg("import.extra_values", {"found": 14, "expected": 13})]),
])
def test_row_problems(staffed: Coach, tmp_path: Path, row: str, problems: list[Msg]) -> None:
    assert failure(import_interactions, staffed, write(tmp_path, TOUCH_HEADER + row + "\n")) == [(2, m) for m in problems]


def test_japanese_words_bom_and_slashed_dates(staffed: Coach, tmp_path: Path) -> None:
    text = TOUCH_HEADER + "2026/11/05,ann@example.com,山田工業,商談,情報提供,資料を共有,,,,,,,\n"
    report = import_interactions(staffed, write(tmp_path, text, "utf-8-sig"), progress=False)
    assert (report.added, report.extra["clients_created"]) == (1, 1)
    assert book(staffed) == {"山田工業": [(Reason.GIVE_TOUCH, 2, date(2026, 11, 5))]}
    with staffed.uow_factory() as uow:
        [touch] = uow.interactions.for_client(WS, uow.clients.by_name(WS, "山田工業").id)
    assert (touch.kind.value, touch.purpose.value, touch.source) == ("meeting", "give", "import")


def test_file_problems(staffed: Coach, tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    assert failure(import_interactions, staffed, missing) == [(None, Msg("import.no_file", {"path": str(missing)}))]
    path = write(tmp_path, "")
    assert failure(import_interactions, staffed, path) == [(None, Msg("import.empty", {"path": str(path)}))]
    write(tmp_path, TOUCH_HEADER)
    assert failure(import_interactions, staffed, path) == [(None, Msg("import.no_rows", {"path": str(path)}))]
    write(tmp_path, "date,rep,client,kind\n2026-11-02,ann@example.com,Acme,call\n")
    assert failure(import_interactions, staffed, path) == [(1, Msg("import.missing_columns", {
        "columns": ["purpose", "note"], "expected": ["date", "rep", "client", "kind", "purpose", "note"]}))]
    # cp932 (Excel's "CSV" in Japan) is read (tests/service/test_crm_import.py); bytes that are
    # neither UTF-8 nor cp932 are refused, naming the line where UTF-8 stopped
    path.write_bytes((TOUCH_HEADER + "2026-11-02,ann@example.com,").encode() + b"\x85\x40,call,give,,,,,,,,\n")
    assert failure(import_interactions, staffed, path) == [(None, Msg("import.encoding", {"path": str(path), "line": 2}))]
    path.write_bytes(b"PK\x03\x04\x14\x00binary workbook")
    assert failure(import_interactions, staffed, path) == [(None, Msg("import.not_csv", {"path": str(path)}))]
    write(tmp_path, TOUCH_HEADER + "2026-11-02,ann@example.com,Acme,call,give," + "x" * 10_001 + ",,,,,,,\n")
    assert failure(import_interactions, staffed, path) == [(2, Msg("import.too_long", {"column": "note", "limit": 10_000}))]
    write(tmp_path, TOUCH_HEADER + "2026-11-02,ann@example.com,Acme,call,give," + "x" * 200_000 + ",,,,,,,\n")
    assert failure(import_interactions, staffed, path) == [(2, Msg("import.value_too_long", {"limit": 10_000}))]
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024 + 1)  # sparse: no 50 MB written
    assert failure(import_interactions, staffed, path) == [(None, Msg("import.too_big", {"path": str(path), "limit": 50}))]
    assert book(staffed) == {}


class _FailingTouches:
    """Interactions that fail on the third add, as a database error mid-import would."""

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, 0

    def add(self, *args):
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("disk full")
        return self.inner.add(*args)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_a_failure_mid_import_rolls_everything_back(staffed: Coach) -> None:
    """Row by row (the bulk path's failures: tests/service/test_bulk_import.py)."""
    real = staffed.uow_factory

    class FailingUow(SqlAlchemyUnitOfWork):
        def __enter__(self) -> SqlAlchemyUnitOfWork:
            opened = super().__enter__()
            opened.interactions = _FailingTouches(opened.interactions)  # type: ignore[assignment]
            return opened

    broken = dataclasses.replace(staffed, uow_factory=lambda: FailingUow(real().session_factory))
    with pytest.raises(RuntimeError, match="disk full"):
        import_interactions(broken, DATA / "interactions.csv", progress=False, row_by_row=True)
    assert book(staffed) == {}


def test_summary_and_problems_render_in_both_languages(staffed: Coach, tmp_path: Path) -> None:
    report = import_roster(staffed, DATA / "roster.csv", progress=False)
    en = staffed.catalog.render(summary(report, "roster"), "en")
    ja = staffed.catalog.render(summary(report, "roster"), "ja")
    assert en == "Rows imported: 0 of 5 (5 already there, 0 updated, 0 skipped). New teams: 0."
    assert ja == "5行のうち0件を取り込みました(取り込み済み5件、更新0件、スキップ0件)。新しいチーム:0件。"
    [line] = describe([(6, Msg("import.no_team", {}))])
    assert staffed.catalog.render(line, "ja").startswith("6行目:「team」が空欄です。")
    en_keys = {k: v for k, v in entries("en").items() if k.startswith("import.")}
    ja_keys = {k: v for k, v in entries("ja").items() if k.startswith("import.")}
    assert en_keys.keys() == ja_keys.keys()
    assert all(placeholders(en_keys[k]) == placeholders(ja_keys[k]) for k in en_keys)


def test_documented_examples_import_cleanly(coach: Coach, tmp_path: Path) -> None:
    for name in ("roster.csv", "interactions.csv"):
        shutil.copy(DOCS / name, tmp_path / name)
    roster = import_roster(coach, tmp_path / "roster.csv", progress=False)
    touches = import_interactions(coach, tmp_path / "interactions.csv", progress=True)
    assert (roster.skipped, touches.skipped, roster.added, touches.added) == ([], [], roster.rows, touches.rows)


@pytest.mark.parametrize("row_by_row", [False, True], ids=["bulk", "row-by-row"])
def test_touches_replay_in_date_order(staffed: Coach, tmp_path: Path, row_by_row: bool) -> None:
    text = TOUCH_HEADER + ("2026-11-03,ann@example.com,Acme,call,service,Fixed the invoice,,,,,,,\n"
                           "2026-11-02,ann@example.com,Acme,meeting,ask,,,,,,Invoice is wrong,,\n")
    import_interactions(staffed, write(tmp_path, text), progress=False, row_by_row=row_by_row)
    assert book(staffed) == {"Acme": [(Reason.PROBLEM_ANSWERED_FAST, 3, date(2026, 11, 3))]}
    with staffed.uow_factory() as uow:
        assert uow.clients.by_name(WS, "Acme").created_on == date(2026, 11, 2)


SETBACK_HEADER = "date,rep,client,kind,purpose,note,setback,correction\n"


@pytest.mark.parametrize("row_by_row", [False, True], ids=["bulk", "row-by-row"])
def test_setbacks_and_corrections_are_booked_from_their_columns(staffed: Coach, tmp_path: Path,
                                                                 row_by_row: bool) -> None:
    """A false claim resets the balance to -20; a misunderstanding costs 5; a correction row
    ends the recovery (and, two days after the setback, earns 2); a contact earns nothing."""
    path = write(tmp_path, SETBACK_HEADER + (
        "2026-11-02,ann@example.com,Acme,meeting,give,Shared the benchmark,,\n"
        "2026-11-03,ann@example.com,Acme,call,ask,Said SSO was included; it is not,false_claim,\n"
        "2026-11-05,ann@example.com,Acme,email,service,Sent the corrected spec in writing,,yes\n"
        "2026-11-06,ann@example.com,田中商事,visit,ご挨拶,年末のご挨拶,,\n"
        "2026-11-09,ann@example.com,田中商事,email,提案,見積の範囲,誤解,\n"
    ))
    report = import_interactions(staffed, path, progress=False, row_by_row=row_by_row)
    assert (report.added, report.skipped) == (5, [])
    booked = {name: [e for e in entries if e[0] is not Reason.SILENCE] for name, entries in book(staffed).items()}
    assert booked == {
        "Acme": [(Reason.GIVE_TOUCH, 2, date(2026, 11, 2)), (Reason.HONESTY_BREACH, -22, date(2026, 11, 3)),
                 (Reason.PUT_RIGHT, 2, date(2026, 11, 5))],
        "田中商事": [(Reason.MISUNDERSTANDING, -5, date(2026, 11, 9))],
    }
    before = book(staffed)
    again = import_interactions(staffed, path, progress=False)
    assert (again.added, again.already) == (0, 5) and book(staffed) == before


@pytest.mark.parametrize("setback, correction, problem", [
    ("lie", "", Msg("import.bad_setback", {"value": "lie", "allowed": ["false_claim", "misunderstanding"]})),
    ("", "maybe", Msg("import.bad_yes_no", {"column": "correction", "value": "maybe"})),
])
def test_setback_and_correction_values_are_checked(staffed: Coach, tmp_path: Path, setback, correction, problem):
    path = write(tmp_path, SETBACK_HEADER + f"2026-11-02,ann@example.com,Acme,call,ask,x,{setback},{correction}\n")
    assert failure(import_interactions, staffed, path) == [(2, problem)]


def test_a_new_client_whose_first_row_no_one_can_own_keeps_its_later_rows_out(staffed: Coach, tmp_path: Path) -> None:
    """Ada (an admin with no team) writes the first row of a new client, Kai (East) a later one.
    Both rows are left out with --skip-invalid, each saying why: were Kai's row imported, the
    client would exist and a second import would add Ada's row (the fuzzer found this)."""
    path = write(tmp_path, TOUCH_HEADER + "2026-10-03,ada@example.com,ACME,meeting,ask,x,,,,,,,\n"
                                          "2026-11-02,kai@example.com,Acme,call,give,y,,,,,,,\n")
    assert [(line, m.key) for line, m in failure(import_interactions, staffed, path)] == [
        (2, "import.rep_without_team"), (3, "import.client_not_created")]
    first = import_interactions(staffed, path, skip_invalid=True, progress=False)
    again = import_interactions(staffed, path, skip_invalid=True, progress=False)
    assert (first.added, again.added, len(again.skipped)) == (0, 0, 2)
    assert book(staffed) == {}
