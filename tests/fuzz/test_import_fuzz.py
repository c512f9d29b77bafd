"""Any file given to ``coach import``: random bytes, or CSV built from the real headers with
random cells, column orders, missing and extra columns, duplicate rows, BOMs and mixed line
endings. Either a clean error naming the line (and the column, for a cell) and nothing written,
or a clean import of exactly what the report says; never an exception, never half a file."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.bootstrap import Coach, bootstrap
from bot.importer import ImportFailed, import_interactions, import_roster, summary
from bot.settings import Settings
from coaching.imports import INTERACTIONS, ROSTER
from coaching.messages import LANGUAGES, Msg
from storage.db import upgrade
from storage.models import (ClientRow, DealRow, InteractionRow, LedgerEntryRow, PersonRow, ProblemRow, PromiseRow,
                            TeamMemberRow, TeamRow)

DATA = Path(__file__).parent.parent / "data"
NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
TODAY = NOW.date()
# Problems with the file as a whole; any other names the line it is on.
WHOLE_FILE = {f"import.{k}" for k in ("no_file", "unreadable", "too_big", "encoding", "not_csv", "nul_byte",
                                                  "empty", "no_rows")}
TABLES = (PersonRow, TeamRow, TeamMemberRow, ClientRow, InteractionRow, PromiseRow, ProblemRow, DealRow, LedgerEntryRow)

junk = st.text(st.characters(codec="utf-8"), max_size=12)
day = st.one_of(st.dates(date(2026, 10, 1), date(2026, 11, 20)).map(str), st.dates().map(str),
                st.sampled_from(["2026/11/05", "2026-11-21", "2026-02-29", "２０２６-１１-０３", "11/5", ""]))
CELLS = {
    "date": day, "promise_due": day, "promise_closed_on": day, "problem_answered_on": day,
    "rep": st.sampled_from(["ann@example.com", "BOB@example.com", "kai@example.com", "ada@example.com",
                            "zed@example.com", "ann", ""]),
    "client": st.sampled_from(["Acme", "ACME", "田中商事", "Beta", "㍿" * 60, "x" * 201, " ", ""]),
    "kind": st.sampled_from(["meeting", "call", "電話", "訪問", "fax", ""]),
    "purpose": st.sampled_from(["give", "ask", "service", "ギブ", "提案", "pending", "gift", ""]),
    "note": st.sampled_from(["", "Shared the report", "two\nlines", 'a "quoted" word', "n" * 10_001]),
    "promise": st.sampled_from(["", "Send the quote", "見積もり送付"]),
    "promise_outcome": st.sampled_from(["", "open", "kept", "kept_late", "broken", "守った", "maybe"]),
    "problem": st.sampled_from(["", "Login fails", "納期の遅れ"]),
    "won_deal": st.sampled_from(["", "yes", "no", "受注", "Annual license"]),
    "email": st.sampled_from(["new1@example.com", "ann@example.com", "NEW2@example.com", "bad", ""]),
    "name": st.sampled_from(["New One", "佐藤 花子", "x" * 201, ""]),
    "role": st.sampled_from(["rep", "Manager", "admin", "boss", ""]),
    "team": st.sampled_from(["East", "West;East", "North", "", "t" * 201]),
    "timezone": st.sampled_from(["", "Asia/Tokyo", "asia/tokyo", "Mars/Olympus"]),
    "locale": st.sampled_from(["", "en", "ja-JP", "fr", "x" * 20]),
    "slack_user_id": st.sampled_from(["", "U01NEW", "U" * 65]),
    "teams_user_id": st.sampled_from(["", "29:new"]),
    "on_leave": st.sampled_from(["", "yes", "no", "休暇", "sometimes"]),
}


@st.composite
def good_touch(draw) -> dict[str, str]:
    on = draw(st.dates(date(2026, 9, 1), TODAY))
    rep = draw(st.sampled_from(["ann@example.com", "BOB@example.com", "kai@example.com"]))
    row = {"date": on.isoformat(), "rep": rep,  # East (Ann, Kai) and West (Bob) have their own clients
           "client": draw(st.sampled_from(["Beta", "Corp"] if rep.startswith("BOB") else ["Acme", "ACME", "田中商事", "New Co"])),
           "kind": draw(st.sampled_from(["meeting", "call", "電話", "訪問"])),
           "purpose": draw(st.sampled_from(["give", "ask", "service", "ギブ", "提案"])),
           "note": draw(st.sampled_from(["", "Shared the report", "two\nlines", 'a "quoted", word']))}
    if draw(st.booleans()):
        row |= {"promise": "Send the quote", "promise_due": (on + timedelta(days=draw(st.integers(0, 9)))).isoformat()}
        if draw(st.booleans()):
            closed = draw(st.dates(on, TODAY))
            row |= {"promise_outcome": draw(st.sampled_from(["kept", "broken", "kept_late"])),
                    "promise_closed_on": closed.isoformat()}
    if draw(st.booleans()):
        row |= {"problem": "Login fails", "problem_answered_on": draw(st.sampled_from(["", TODAY.isoformat()]))}
    row["won_deal"] = draw(st.sampled_from(["", "", "yes", "Annual license"]))
    return row


@st.composite
def good_person(draw) -> dict[str, str]:
    role = draw(st.sampled_from(["rep", "manager", "admin"]))
    emails = [f"new{n}@example.com" for n in range(12)] + ["NEW2@example.com", "ann@example.com"]
    return {"email": draw(st.sampled_from(emails)),
            "name": draw(st.sampled_from(["New One", "佐藤 花子"])), "role": role,
            "team": draw(st.sampled_from(["East", "West;East", "North"] + ([""] if role == "admin" else []))),
            "timezone": draw(st.sampled_from(["", "Asia/Tokyo", "asia/tokyo"])),
            "locale": draw(st.sampled_from(["", "en", "ja-JP"])), "slack_user_id": "", "teams_user_id": "",
            "on_leave": draw(st.sampled_from(["", "yes", "no"]))}


@st.composite
def csv_files(draw, columns) -> bytes:
    optional = draw(st.one_of(st.just(list(columns.optional)), st.lists(st.sampled_from(columns.optional), unique=True)))
    header = list(columns.required) + optional
    if draw(st.integers(0, 9)) == 0:  # a required column missing, an unknown or a repeated one
        header = draw(st.sampled_from([header[1:], header + ["colour"], header + header[:1], [h.upper() for h in header]]))
    header = draw(st.permutations(header))
    good = good_touch() if columns is INTERACTIONS else good_person()
    rows = []
    for _ in range(draw(st.integers(0, 5))):
        values = draw(good)
        row = [values.get(name.lower(), "") for name in header]
        if draw(st.integers(0, 7)) == 0:  # one cell wrong, or just odd
            at = draw(st.integers(0, len(row) - 1))
            row[at] = draw(st.one_of(CELLS.get(header[at].lower(), junk), junk))
        if draw(st.integers(0, 19)) == 0:  # ragged
            row = row[:-1] if draw(st.booleans()) else row + [draw(junk)]
        rows.append(row)
        if draw(st.integers(0, 5)) == 0:
            rows.append(row)  # the same row twice
        if draw(st.integers(0, 9)) == 0:
            rows.append([])  # a blank line
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])),
                        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])))
    writer.writerow(header)
    writer.writerows(rows)
    text = out.getvalue()
    if draw(st.integers(0, 5)) == 0:  # line endings mixed within one file
        text = text.replace("\n", draw(st.sampled_from(["\r\n", "\r"])), 1)
    bom = draw(st.sampled_from([b"", b"", b"\xef\xbb\xbf"]))
    return bom + text.encode(draw(st.sampled_from(["utf-8"] * 12 + ["cp932", "utf-16"])), errors="replace")


def any_file(columns):
    return st.one_of(csv_files(columns), csv_files(columns), st.binary(max_size=200),
                     st.binary(max_size=200).map(lambda b: b"\xef\xbb\xbf" + b))


class World:
    def __init__(self, database_url: str, tmp_path: Path) -> None:
        upgrade(database_url)
        settings = Settings(DATABASE_URL=database_url, COACH_WORKSPACE="acme", COACH_LANGUAGE="en",
                            COACH_RULES_FILE=None, COACH_DATA_DIR=str(tmp_path))
        self.coach: Coach = bootstrap(settings, clock=lambda: NOW)
        import_roster(self.coach, DATA / "roster.csv", progress=False)
        self.path = tmp_path / "in.csv"
        self.outcomes = {"imported": 0, "refused": 0, "touches added": 0, "people added": 0}

    def counts(self) -> dict[str, int]:
        with self.coach.uow_factory() as uow:
            return {t.__tablename__: uow.session.scalar(select(func.count()).select_from(t)) for t in TABLES}

    def check(self, data: bytes, kind: str, skip_invalid: bool) -> None:
        self.path.write_bytes(data)
        lines = max(1, data.count(b"\n") + data.count(b"\r") + 1)
        before = self.counts()
        run = import_roster if kind == "roster" else import_interactions
        try:
            report = run(self.coach, self.path, skip_invalid=skip_invalid, progress=False)
        except ImportFailed as failed:
            self.outcomes["refused"] += 1
            assert failed.problems
            for line, problem in failed.problems:
                assert isinstance(problem, Msg) and (line is None or 1 <= line <= lines), (line, problem)
                assert (line is None) == (problem.key in WHOLE_FILE), (line, problem)
                for language in LANGUAGES:
                    rendered = self.coach.catalog.render(problem, language)
                    assert len(rendered) < 2000, rendered[:200]
            assert self.counts() == before, "a refused import wrote something"
            return
        self.outcomes["imported"] += 1
        for language in LANGUAGES:
            self.coach.catalog.render(summary(report, kind), language)
        after = self.counts()
        self.outcomes["touches added" if kind == "interactions" else "people added"] += report.added
        assert skip_invalid or not report.skipped
        if kind == "interactions":  # exactly the touches the report counts, and their entries
            assert after["interactions"] - before["interactions"] == report.added
            assert after["people"] == before["people"]
        else:
            assert after["people"] - before["people"] == report.added
            assert after["interactions"] == before["interactions"]
        ws = self.coach.workspace
        with self.coach.uow_factory() as uow:
            for client in uow.clients.list(ws):
                assert uow.ledger.balance(ws, client.id) == sum(e.amount for e in uow.ledger.for_client(ws, client.id))
        again = run(self.coach, self.path, skip_invalid=skip_invalid, progress=False)
        assert again.added == 0 and self.counts()["interactions"] == after["interactions"], "a re-import added touches"


def fuzz(database_url: str, tmp_path: Path, examples: int) -> World:
    world = World(database_url, tmp_path)

    @settings(deadline=None, max_examples=examples, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(["interactions", "interactions", "roster"]).flatmap(
        lambda kind: st.tuples(st.just(kind), any_file(INTERACTIONS if kind == "interactions" else ROSTER))),
        st.booleans())
    def an_import(kind_and_file: tuple[str, bytes], skip_invalid: bool) -> None:
        kind, data = kind_and_file
        world.check(data, kind, skip_invalid)

    an_import()
    return world


def test_any_file_imports_cleanly_or_not_at_all(tmp_path: Path) -> None:
    world = fuzz(f"sqlite:///{tmp_path / 'coach.sqlite3'}", tmp_path, 150)
    assert world.outcomes["imported"] and world.outcomes["refused"]
    print(f"import fuzz (SQLite): {world.outcomes}")


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # SQLite has the larger run above
def test_any_file_on_postgres(database_url: str, tmp_path: Path) -> None:
    world = fuzz(database_url, tmp_path, 40)
    print(f"import fuzz (PostgreSQL): {world.outcomes}")
