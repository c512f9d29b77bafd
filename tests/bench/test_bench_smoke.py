"""``make bench`` end to end at the tiny size: every benchmark runs, the report is written and
its figures agree with the raw results. Correctness only: no timing is asserted here (the
targets live in BENCHMARKS.md, measured by ``make bench`` at the real sizes)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from bench import org as orgs
from bench.__main__ import main
from bench.report import GROWTH, RESULTS
from bench.stats import percentile, summary
from tests.conftest import POSTGRES_ENV


@pytest.fixture
def postgres_prefix():
    """A schema prefix of this test's own, dropped afterwards; None without PostgreSQL."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        yield None, None
        return
    prefix = f"t_{uuid.uuid4().hex[:12]}_"
    yield url, prefix
    engine = create_engine(url)
    with engine.begin() as connection:
        for (schema,) in connection.execute(text(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"), {"p": prefix + "%"}).all():
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def test_the_whole_benchmark_at_the_tiny_size(tmp_path: Path, postgres_prefix) -> None:
    url, prefix = postgres_prefix
    database = ["--postgres", url, "--schema-prefix", prefix] if url else ["--no-postgres"]
    args = ["--sizes", "tiny", "--runs", "2", "--team", "tiny", "--team-runs", "3", "--endpoints", "tiny",
            "--smoke", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path), *database]
    results = main(args)

    kinds = ["sqlite", "postgres"] if url else ["sqlite"]
    measured = [e for e in results["nudge_run"] if "runs" in e]
    assert [e["database"] for e in measured] == kinds
    tiny = orgs.SIZES["tiny"]
    for entry in measured:
        assert entry["org"]["rows"]["interactions"] == tiny.interactions
        assert entry["org"]["rows"]["clients"] == tiny.clients
        for run in entry["runs"]:
            # The floor saw every client with a touch; each rep's digest holds at most 5 items.
            assert 0 < run["floor_clients"] <= tiny.clients
            assert 0 < run["nudges"] and sum(run["kinds"].values()) == run["nudges"]
            assert run["digest_items"] <= 5 * run["reps_with_digest"] <= 5 * tiny.reps
            assert run["rss_peak_mb"] >= run["rss_baseline_mb"] > 0
            # started as the scheduler's process is: what starting made kept from the collector
            assert run["frozen_objects"] > 10_000
            # a later run of the same process, timed against its own floor
            assert run["later"]["run_seconds"] > 0 and run["later"]["floor_seconds"] > 0
        # The same data and day give the same nudges on every run and on both databases.
        assert len({json.dumps(r["kinds"]) for r in entry["runs"]}) == 1
        # quiet days kept first, as the nightly upkeep would: some clients left unread
        upkeep = entry["upkeep"]
        assert upkeep["summaries"] == tiny.clients and 0 < upkeep["quiet_today"] < tiny.clients, upkeep
    assert len({json.dumps(e["runs"][0]["kinds"]) for e in measured}) == 1

    for entry in results["digest_job"]:
        run = entry["run"]
        # Every rep got their digest once (managers have no clients: nothing to say), none failed.
        assert (run["sent"], run["failed"]) == (tiny.reps, 0)
        # items recorded are nudges: a grouped digest item carries several
        assert tiny.reps <= run["items"] and run["rendered_chars"] > 0
    assert [e["database"] for e in results["digest_job"]] == kinds

    for entry in results["teamhealth"]:
        assert len(entry["report_seconds"]) == len(entry["chart_seconds"]) == len(entry["kept_seconds"]) == 3
        assert max(entry["kept_seconds"]) < min(entry["chart_seconds"])  # a kept chart is read, not drawn
        assert entry["reps_charted"] == tiny.team_size and entry["team_clients"] > 0
        assert entry["chart_bytes"] > 0

    written = (tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert (tmp_path / GROWTH).read_bytes().startswith(b"\x89PNG")
    assert json.loads((tmp_path / RESULTS).read_text(encoding="utf-8"))["nudge_run"] == results["nudge_run"]
    for heading in ("Daily nudge run", "quiet days", "/teamhealth", "Slack and Teams endpoints", "smoke sizes"):
        assert heading in written
    for entry in results["endpoints"]:  # the modal logs' throughput, run twice: the slower run shown, both listed
        runs, shown = entry["slack_throughput_form_runs"], entry["slack_throughput_form"]
        assert len(runs) == 2 and shown["per_second"] == min(r["per_second"] for r in runs)
        assert all(r["complete"] and (r["duplicates_found"], r["missing"], r["unexpected"]) == (0, 0, 0) for r in runs)
        assert " / ".join(f"{r['per_second']:,.0f}" for r in runs) in written
    several = [e for e in results["endpoints"] if e.get("workers", 1) > 1]
    if url and (os.cpu_count() or 1) > 1:  # PostgreSQL's throughput again, one server process per core
        [entry] = several
        t = entry["slack_throughput_form"]
        assert t["complete"] and (t["duplicates_found"], t["missing"], t["unexpected"]) == (0, 0, 0)
        assert f"postgres, --workers {entry['workers']}" in written
    else:
        assert several == []
    median = summary([r["run_seconds"] for r in measured[0]["runs"]])["median"]
    assert f"{median:,.2f}" in written
    # the machine's speed between sections (it moves within minutes): each sample in the report
    assert [s["when"] for s in results["speed"]] == [
        *(f"before the nudge runs at tiny on {kind}" for kind in kinds), "before /teamhealth", "before the endpoints",
        "at the end"]
    for sample in results["speed"]:
        assert sample["reference_s"] > 0 and f"{sample['reference_s']:.2f} s {sample['when']}" in written


def test_a_second_build_reuses_the_organisation_and_refuses_another(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'org.sqlite3'}"
    first = orgs.build(url, orgs.SIZES["tiny"])
    again = orgs.build(url, orgs.SIZES["tiny"])
    assert (again.reused, again.today, again.rows) == (True, first.today, first.rows)
    with pytest.raises(RuntimeError, match="different benchmark organisation"):
        orgs.build(url, orgs.SIZES["tiny"], seed=8)


def test_generated_touches_are_numbered_in_time_order(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'org.sqlite3'}"
    orgs.build(url, orgs.SIZES["tiny"])
    engine = create_engine(url)
    with engine.connect() as connection:
        days = [d for (d,) in connection.execute(text("SELECT occurred_on FROM interactions ORDER BY id"))]
        ids = connection.execute(text("SELECT min(id), max(id), count(*) FROM interactions")).one()
        keys = connection.execute(text(
            "SELECT count(*) FROM ledger_entries e JOIN interactions i ON e.cause = 'interaction:' || i.id"
            " AND e.client_id = i.client_id")).scalar()
        caused = connection.execute(text("SELECT count(*) FROM ledger_entries WHERE cause LIKE 'interaction:%'")).scalar()
    engine.dispose()
    assert days == sorted(days)
    assert tuple(ids) == (1, orgs.SIZES["tiny"].interactions, orgs.SIZES["tiny"].interactions)
    assert keys == caused > 0  # every touch's entry names its own touch


def test_percentiles_are_measured_values() -> None:
    values = [0.010, 0.020, 0.030, 0.040, 0.500]
    assert percentile(values, 50) == 0.030
    assert percentile(values, 99) == percentile(values, 95) == 0.500
    assert summary(values)["median"] == 0.030 and summary(values)["min"] == 0.010


def test_the_bounded_digest_heap_keeps_what_the_scheduler_would_choose() -> None:
    import heapq
    import random
    from datetime import date

    from bench.nudge_run import _Ranked
    from coaching.digest_items import GROUPED
    from coaching.messages import msg
    from coaching.nudges import Nudge, NudgeKind
    from coaching.schedule import Schedule, choose

    rng = random.Random(3)
    plan = Schedule()
    for _ in range(50):
        nudges = [Nudge(rng.choice([NudgeKind.QUIET, NudgeKind.PROMISE_DUE, NudgeKind.PROBLEM_WAITING]), 1, n,
                        rng.choice(["Acme", "Beta", "Corp", None]), msg("x"), msg("y"),
                        f"client:{n}:x", stake=rng.randint(0, 4)) for n in range(rng.randint(0, 30))]
        heap: list[_Ranked] = []
        grouped = [n for n in nudges if n.kind in GROUPED]
        for n in (n for n in nudges if n.kind not in GROUPED):
            if len(heap) < plan.digest_size:
                heapq.heappush(heap, _Ranked(n))
            elif heap[0] < _Ranked(n):
                heapq.heapreplace(heap, _Ranked(n))
        today = date(2026, 11, 23)
        assert choose([e.nudge for e in heap] + grouped, {}, today, plan) == choose(nudges, {}, today, plan)


@pytest.fixture
def own_database():
    """A database of this test's own (VACUUM's horizon is per database, so no transaction of a
    test running beside this one can hold its rows back): its URL, an engine on it for the
    organisation and one for a session of its own."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip("PostgreSQL tests need " + POSTGRES_ENV)
    name = f"t_{uuid.uuid4().hex[:12]}"
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    database_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    engine, admin = create_engine(database_url), create_engine(database_url)
    try:
        yield database_url, engine, admin
    finally:
        engine.dispose()
        admin.dispose()
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def test_a_fresh_organisation_is_settled_by_its_own_build(own_database) -> None:
    """With no other session open on its database, the build's VACUUM marks every big table
    all-visible at once: the load's commit is flushed before it (an unflushed, asynchronous
    commit left every row's hint bits unset, and the VACUUM marked no page)."""
    database_url, engine, _ = own_database
    orgs.build(database_url, orgs.SIZES["tiny"])
    assert orgs._not_all_visible(engine) == [], orgs._holding_back(engine)


def test_a_table_a_vacuum_could_not_settle_is_vacuumed_again_before_measuring(own_database) -> None:
    """An open transaction elsewhere keeps VACUUM from marking the touches all-visible; an
    index-only scan (the floor, the ranking) would then read the table for every row. Reusing
    the organisation once that transaction is gone settles them."""
    database_url, engine, admin = own_database
    with admin.connect() as holder:
        holder.execute(text("SELECT txid_current()"))  # a transaction with an id, left open while the organisation is built
        orgs.build(database_url, orgs.SIZES["tiny"])
        assert "interactions" in orgs._not_all_visible(engine)
        # the warning names the session that holds the rows back
        holder_pid = holder.execute(text("SELECT pg_backend_pid()")).scalar()
        assert any(line.startswith(f"pid {holder_pid} ") for line in orgs._holding_back(engine))
        holder.rollback()
        orgs.build(database_url, orgs.SIZES["tiny"])  # reused: vacuumed again
        assert orgs._not_all_visible(engine) == []
