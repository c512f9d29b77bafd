"""The bulk import gives exactly what the row-by-row import gives.

A property test writes small random interactions files (several reps and clients; gives, asks,
services and contacts; promises kept, late, broken and open; problems answered in their column,
by a later service touch or not at all; setbacks and corrections; won deals; repeated rows;
sometimes rows the import must refuse) and imports each pair of files, one after the other, in
bulk into one database and row by row into another. After each import both hold the same
clients, touches, promises, problems, deals, ledgers (entry by entry, in passbook order),
balances and nudges, and the two reports are equal; a refused file is refused with the same
problems by both, and changes neither. The second file adds to the clients of the first (the
bulk path's rows for clients with a history) and repeats some of its rows.

Then: re-importing books nothing, whichever path imported first; a failure midway (the code's or
the database's) leaves nothing written.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot import bulk_import, importer
from bot.bootstrap import Coach, bootstrap
from bot.importer import ImportFailed, import_interactions, import_roster
from bot.settings import Settings
from coaching import daily
from storage import bulk, summaries
from storage.db import upgrade
from storage.models import (ClientRow, DealRow, InteractionRow, LedgerEntryRow, PersonRow, ProblemRow, PromiseRow,
                            TeamRow)
from tests.conftest import postgres_schema

DATA = Path(__file__).parents[1] / "data"
NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
TODAY = NOW.date()
START = TODAY - timedelta(days=60)
HEADER = ["date", "rep", "client", "kind", "purpose", "note", "promise", "promise_due", "promise_outcome",
          "promise_closed_on", "problem", "problem_answered_on", "won_deal", "setback", "correction"]
# The roster (tests/data/roster.csv): Ann and Kai in East, Bob in West, Meg manages both (a client
# she names first is East's), Ada is an admin on no team (she cannot create a client: such a row
# is refused, or skipped). A rep naming a client of a team they cannot see stops the import.
CLIENTS = {"ann@example.com": ["Acme", "ACME", "田中商事", "New Co"], "kai@example.com": ["Acme", "田中商事", "New Co"],
           "bob@example.com": ["Beta", "Corp"], "meg@example.com": ["Acme", "New Co", "Acme", "New Co", "Corp"],
           "ada@example.com": ["Acme", "Beta", "Zeta"]}
REPS = ["ann@example.com"] * 6 + ["kai@example.com"] * 4 + ["bob@example.com"] * 6 + ["meg@example.com"] * 2 + [
    "ada@example.com"]
TABLES = (ClientRow, InteractionRow, PromiseRow, ProblemRow, DealRow, LedgerEntryRow)


# --- random files ----------------------------------------------------------------------------

@st.composite
def rows(draw: st.DrawFn) -> list[str]:
    on = draw(st.dates(START, TODAY))
    rep = draw(st.sampled_from(REPS))
    clients = CLIENTS[rep] + (["Beta"] if rep == "kai@example.com" and draw(st.integers(0, 9)) == 0 else [])
    # (Kai cannot reach West's Beta: a file where he touches it, and Bob too, is refused)
    row = dict.fromkeys(HEADER, "")
    row |= {"date": on.isoformat(), "rep": rep, "client": draw(st.sampled_from(clients)),
            "kind": draw(st.sampled_from(["meeting", "call", "email", "電話"])),
            "purpose": draw(st.sampled_from(["give", "ask", "service", "service", "contact", "提案"])),
            "note": draw(st.sampled_from(["", "Shared the report", "Fixed the invoice", "Said SSO was included"]))}
    if draw(st.integers(0, 9)) < 4:
        row |= {"promise": draw(st.sampled_from(["Send the quote", "見積もり送付"])),
                "promise_due": (on + timedelta(days=draw(st.integers(0, 9)))).isoformat()}
        outcome = draw(st.sampled_from(["", "open", "kept", "kept_late", "broken"]))
        if outcome not in ("", "open"):
            row |= {"promise_outcome": outcome, "promise_closed_on": draw(st.dates(on, TODAY)).isoformat()}
    if draw(st.integers(0, 9)) < 3:
        answered = draw(st.one_of(st.just(""), st.dates(on, TODAY).map(date.isoformat)))
        row |= {"problem": draw(st.sampled_from(["Login fails", "納期の遅れ"])), "problem_answered_on": answered}
    row["won_deal"] = draw(st.sampled_from(["", "", "", "", "yes", "Annual license"]))
    row["setback"] = draw(st.sampled_from([""] * 7 + ["false_claim", "misunderstanding", "誤解"]))
    row["correction"] = draw(st.sampled_from([""] * 7 + ["yes"]))
    return [row[h] for h in HEADER]


@st.composite
def files(draw: st.DrawFn) -> tuple[str, str]:
    """Two files; the second repeats some rows of the first, and each repeats some of its own."""
    first = [] if draw(st.integers(0, 19)) == 0 else draw(st.lists(rows(), min_size=1, max_size=14))
    second = draw(st.lists(rows(), min_size=1, max_size=14))
    second += draw(st.lists(st.sampled_from(first), max_size=3)) if first else []
    for lines in (first, second):
        lines += draw(st.lists(st.sampled_from(lines), max_size=3)) if lines else []
    return _csv(draw(st.permutations(first))), _csv(draw(st.permutations(second)))


def _csv(lines: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(lines)
    return out.getvalue()


# --- what a database holds -------------------------------------------------------------------

_IDS = re.compile(r"\b(interaction|promise|problem|put_right|silence|client|entry|reverse|rep):\d+")


def _no_ids(text: str) -> str:
    """A key, cause or subject with the row ids left out (the two databases number rows differently)."""
    return _IDS.sub(r"\1:#", text)


def snapshot(coach: Coach) -> dict[str, Any]:
    """Everything an import writes for the workspace, and the nudges the daily run detects,
    told by names and values rather than ids."""
    ws = coach.workspace
    with coach.uow_factory() as uow:
        s = uow.session
        people = {p.id: p.email for p in uow.people.list(ws)}
        teams = {t.id: t.name for t in uow.teams.list(ws)}
        clients = {c.id: c for c in uow.clients.list(ws)}
        touch = {i: e for i, e in s.execute(select(InteractionRow.id, InteractionRow.external_id).where(
            InteractionRow.workspace_id == ws))}
        name = {cid: c.name for cid, c in clients.items()}

        def table(row_type: Any, *columns: str) -> list[tuple[Any, ...]]:
            found = s.scalars(select(row_type).where(row_type.workspace_id == ws))
            return sorted((name[r.client_id], people[r.rep_id], touch.get(r.interaction_id),
                           *(getattr(r, c) for c in columns)) for r in found)

        return {
            "clients": sorted((c.name, teams[c.team_id], people[c.owner_id], c.created_on, c.trust_level,
                               c.trust_assessed_on, c.trust_asked_for, c.trust_demanded_justification)
                              for c in clients.values()),
            "touches": sorted((name[r.client_id], people[r.rep_id], r.occurred_on, r.kind, r.purpose, r.note,
                               r.proof_shown, r.source, r.external_id, r.voided, r.asked_for, r.demanded_justification)
                              for r in s.scalars(select(InteractionRow).where(InteractionRow.workspace_id == ws))),
            "promises": table(PromiseRow, "text", "made_on", "due_on", "status", "closed_on"),
            "problems": table(ProblemRow, "text", "raised_on", "first_response_on", "resolved_on"),
            "deals": table(DealRow, "won_on", "note"),
            "ledgers": {c.name: [(e.occurred_on, e.reason, e.amount, people[e.rep_id], _no_ids(e.key),
                                  _no_ids(e.cause), e.detail, e.reverses_id is not None)
                                 for e in uow.ledger.for_client(ws, c.id)] for c in clients.values()},
            "balances": {c.name: uow.ledger.balance(ws, c.id) for c in clients.values()},
            "nudges": sorted(repr((n.kind, people.get(n.rep_id), n.client_name, n.reason, n.next_step,
                                   _no_ids(n.subject), n.stake, n.facts))
                             for n in daily.nudges(uow, ws, TODAY, coach.rules)),
        }


def counts(coach: Coach) -> dict[str, int]:
    with coach.uow_factory() as uow:
        return {t.__tablename__: uow.session.scalar(select(func.count()).select_from(t).where(
            t.workspace_id == coach.workspace)) for t in TABLES}


# --- two databases -----------------------------------------------------------------------------

def _coach(url: str) -> Coach:
    upgrade(url)
    settings = Settings(DATABASE_URL=url, COACH_WORKSPACE="acme", COACH_LANGUAGE="en", COACH_RULES_FILE=None)
    return bootstrap(settings, clock=lambda: NOW)


def in_workspace(coach: Coach, workspace: str, roster: Path = DATA / "roster.csv") -> Coach:
    """The same coach, for a workspace of its own: as good as an empty database."""
    moved = dataclasses.replace(coach, settings=coach.settings.model_copy(update={"workspace": workspace}))
    import_roster(moved, roster, progress=False)
    return moved


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_coaches(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Coach, Coach]]:
    """A coach on each of two databases of the same kind: bulk imports go to the first."""
    if request.param == "sqlite":
        yield _coach(f"sqlite:///{tmp_path / 'bulk.sqlite3'}"), _coach(f"sqlite:///{tmp_path / 'rows.sqlite3'}")
        return
    with postgres_schema() as one, postgres_schema() as other:
        yield _coach(one), _coach(other)


def run(coach: Coach, path: Path, row_by_row: bool, skip_invalid: bool) -> Any:
    """The report, or the problems of a refused file."""
    try:
        return import_interactions(coach, path, skip_invalid=skip_invalid, progress=False, row_by_row=row_by_row)
    except ImportFailed as failed:
        return ("refused", failed.problems)


def test_bulk_and_row_by_row_give_the_same_ledgers_balances_and_nudges(
        two_coaches: tuple[Coach, Coach], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bulk_db, rows_db = two_coaches
    examples = 100 if "sqlite" in bulk_db.settings.url else 40
    seen = {"compared": 0, "refused": 0, "added": 0, "already": 0, "entries": 0}

    @settings(deadline=None, max_examples=examples, suppress_health_check=list(HealthCheck))
    @given(files(), st.booleans(), st.sampled_from([1, 2, 5_000]))
    def same_result(pair: tuple[str, str], skip_invalid: bool, batch_rows: int) -> None:
        monkeypatch.setattr(bulk_import, "BATCH_ROWS", batch_rows)  # several batches, or one
        workspace = f"w{uuid.uuid4().hex[:12]}"
        in_bulk, by_rows = in_workspace(bulk_db, workspace), in_workspace(rows_db, workspace)
        for text in pair:
            path = tmp_path / "touches.csv"
            path.write_text(text, encoding="utf-8")
            report = run(in_bulk, path, row_by_row=False, skip_invalid=skip_invalid)
            assert report == run(by_rows, path, row_by_row=True, skip_invalid=skip_invalid)
            assert snapshot(in_bulk) == snapshot(by_rows)
            for coach in (in_bulk, by_rows):  # both paths keep the client summaries exact
                with coach.uow_factory() as uow:
                    assert summaries.check(uow.session, workspace) == []
            seen["compared"] += 1
            if isinstance(report, tuple):
                seen["refused"] += 1
            else:
                seen["added"] += report.added
                seen["already"] += report.already
                seen["entries"] += report.extra["entries"]

    same_result()
    print(f"bulk = row by row: {seen}")
    assert seen["added"] and seen["already"] and seen["refused"] and seen["entries"]


# --- re-importing, failing ---------------------------------------------------------------------

@pytest.fixture
def staffed(database_url: str) -> Coach:
    coach = _coach(database_url)
    import_roster(coach, DATA / "roster.csv", progress=False)
    return coach


DOCS = DATA.parent.parent / "docs" / "examples"
OUTCOMES = ["", "kept", "broken", "kept_late"]


def _history(tmp_path: Path) -> Path:
    """60 touches of three clients, every kind of row among them."""
    lines = []
    for n in range(60):
        on = START + timedelta(days=n)
        rep, client, purpose = [("ann@example.com", "Acme", "give"), ("bob@example.com", "Beta", "service"),
                                ("kai@example.com", "New Co", "ask")][n % 3]
        outcome = OUTCOMES[n // 2 % 4]
        promise = ["Send it", (on + timedelta(days=2)).isoformat(), outcome,
                   min(on + timedelta(days=3), TODAY).isoformat() if outcome else ""] if n % 2 == 0 else [""] * 4
        problem = ["Login fails", (on + timedelta(days=n % 4)).isoformat() if n % 10 == 0 else ""] \
            if n % 5 == 0 else ["", ""]
        lines.append([on.isoformat(), rep, client, "call", purpose, f"note {n}", *promise, *problem,
                      "yes" if n % 17 == 0 else "", "false_claim" if n % 19 == 7 else "",
                      "yes" if n % 19 == 9 else ""])
    path = tmp_path / "history.csv"
    path.write_text(_csv(lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("first, then", [(False, False), (True, False), (False, True)])
def test_reimporting_books_nothing(staffed: Coach, tmp_path: Path, first: bool, then: bool) -> None:
    path = _history(tmp_path)
    done = import_interactions(staffed, path, progress=False, row_by_row=first)
    before, tables = snapshot(staffed), counts(staffed)
    again = import_interactions(staffed, path, progress=False, row_by_row=then)
    assert (done.added, done.already) == (60, 0)
    assert (again.rows, again.added, again.already) == (60, 0, 60)
    assert again.extra == {"clients_created": 0, "entries": 0, "promises_broken": 0, "problems_unanswered": 0,
                           "silence_entries": 0}
    assert snapshot(staffed) == before and counts(staffed) == tables


def test_a_failure_in_the_bulk_path_midway_leaves_nothing_written(
        staffed: Coach, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _history(tmp_path)
    monkeypatch.setattr(bulk_import, "BATCH_ROWS", 10)
    written = []
    real_write = bulk.BulkWriter.write

    def write(self: bulk.BulkWriter, batch: Any) -> None:
        if len(written) == 2:
            raise RuntimeError("disk full")
        real_write(self, batch)
        written.append(len(batch))

    monkeypatch.setattr(bulk.BulkWriter, "write", write)
    before = counts(staffed)
    with pytest.raises(RuntimeError, match="disk full"):
        import_interactions(staffed, path, progress=False)
    assert written and counts(staffed) == before  # two batches went in, and came out again


def test_a_database_error_midway_leaves_nothing_written(
        staffed: Coach, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The third batch's touches get an id already taken: the database refuses the insert."""
    path = _history(tmp_path)
    import_interactions(staffed, write_lines(tmp_path, "2026-10-01,ann@example.com,Zeta,call,give,x"),
                        progress=False)
    monkeypatch.setattr(bulk_import, "BATCH_ROWS", 10)
    real_ids = bulk.Ids.__call__
    given_out = []

    def ids(self: bulk.Ids, table: str) -> int:
        given_out.append(table)
        if table == "interactions" and given_out.count("interactions") > 25:
            with staffed.uow_factory() as uow:  # the touch already there
                return uow.session.scalar(select(func.min(InteractionRow.id)))
        return real_ids(self, table)

    monkeypatch.setattr(bulk.Ids, "__call__", ids)
    before, book = counts(staffed), snapshot(staffed)
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        import_interactions(staffed, path, progress=False)
    assert counts(staffed) == before and snapshot(staffed) == book


def test_the_upkeep_failing_leaves_nothing_written(staffed: Coach, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: Any) -> None:
        raise RuntimeError("lost connection")

    monkeypatch.setattr(bulk.BulkWriter, "close_promises", fail)
    before = counts(staffed)
    with pytest.raises(RuntimeError, match="lost connection"):
        import_interactions(staffed, _history(tmp_path), progress=False)
    assert counts(staffed) == before


def write_lines(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / f"{uuid.uuid4().hex}.csv"
    path.write_text(",".join(HEADER[:6]) + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("row_by_row", [False, True])
def test_a_client_of_another_team_stops_both_paths_on_its_line(staffed: Coach, tmp_path: Path,
                                                              row_by_row: bool) -> None:
    path = write_lines(tmp_path, "2026-11-03,bob@example.com,ACME,call,give,x",
                       "2026-11-02,ann@example.com,Acme,call,give,x",
                       "2026-11-04,bob@example.com,Beta,call,give,x")
    with pytest.raises(ImportFailed) as refused:
        import_interactions(staffed, path, progress=False, row_by_row=row_by_row)
    assert [(line, m.key, m.params) for line, m in refused.value.problems] == [
        (2, "error.client_other_team", {"name": "Acme"})]
    assert counts(staffed) == dict.fromkeys(counts(staffed), 0)


def test_a_file_adding_to_known_clients_goes_their_way(two_coaches: tuple[Coach, Coach], tmp_path: Path) -> None:
    """Known clients' rows take the service path inside the bulk import, new clients are
    replayed: the problem raised in the first file is answered by the second's service touch."""
    first = tmp_path / "first.csv"
    first.write_text(_csv([["2026-11-02", "ann@example.com", "Acme", "call", "ask", "", "", "", "", "", "Invoice wrong",
                            "", "", "", ""]]), encoding="utf-8")
    more = tmp_path / "more.csv"
    more.write_text(_csv([["2026-11-03", "ann@example.com", "acme", "call", "service", "Fixed it", *[""] * 9],
                          ["2026-11-03", "kai@example.com", "New Co", "call", "give", "Hello", *[""] * 9]]),
                    encoding="utf-8")
    in_bulk, by_rows = (in_workspace(c, "known") for c in two_coaches)
    for path in (first, more):
        assert import_interactions(in_bulk, path, progress=False) == import_interactions(
            by_rows, path, progress=False, row_by_row=True)
    found = snapshot(in_bulk)
    assert found == snapshot(by_rows)
    # the daily run after the first file booked the problem as left waiting; the answer came the next day
    assert [(e[1].value, e[2]) for e in found["ledgers"]["Acme"]] == [("problem_answered_fast", 3),
                                                                       ("problem_unanswered", -5)]
    assert [(e[1].value, e[2]) for e in found["ledgers"]["New Co"]] == [("give_touch", 2)]


def test_the_documented_example_is_the_same_either_way(two_coaches: tuple[Coach, Coach], tmp_path: Path) -> None:
    in_bulk, by_rows = (in_workspace(c, "docs", DOCS / "roster.csv") for c in two_coaches)
    path = DOCS / "interactions.csv"
    assert import_interactions(in_bulk, path, progress=False) == import_interactions(
        by_rows, path, progress=False, row_by_row=True)
    assert snapshot(in_bulk) == snapshot(by_rows)


def test_people_and_teams_are_never_written_by_the_bulk_path(staffed: Coach, tmp_path: Path) -> None:
    with staffed.uow_factory() as uow:
        before = [uow.session.scalar(select(func.count()).select_from(t)) for t in (PersonRow, TeamRow)]
    import_interactions(staffed, _history(tmp_path), progress=False)
    with staffed.uow_factory() as uow:
        assert [uow.session.scalar(select(func.count()).select_from(t)) for t in (PersonRow, TeamRow)] == before


@pytest.mark.parametrize("rows_needed, shown", [(50, True), (100, False)])
def test_a_large_file_gets_a_progress_bar(staffed: Coach, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          rows_needed: int, shown: bool) -> None:
    """From ``BAR_ROWS`` rows on (on a terminal), a bar counts the touches written, a batch at a time."""
    bars: list[dict[str, Any]] = []

    class Recorded(importer.Progress):  # type: ignore[misc]
        def __init__(self, *columns: Any, **options: Any) -> None:
            super().__init__(*columns, **options)
            bars.append({"shown": not options["disable"], "advanced": 0})

        def advance(self, task: Any, advance: float = 1) -> None:
            bars[-1]["advanced"] += advance
            super().advance(task, advance)

    monkeypatch.setattr(importer, "Progress", Recorded)
    monkeypatch.setattr(importer, "BAR_ROWS", rows_needed)
    monkeypatch.setattr(bulk_import, "BATCH_ROWS", 25)
    import_interactions(staffed, _history(tmp_path), progress=True)
    assert bars == [{"shown": shown, "advanced": 60}]
