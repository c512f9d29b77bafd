"""Benchmark: ``coach import interactions`` of a large history file.

    python -m bench.import_bench [--rows 200000] [--reps 200] [--clients 5000]
                                 [--postgres URL | --no-postgres] [--row-by-row-rows N]
                                 [--data-dir DIR] [--out FILE.json]

Writes a roster (``--reps`` reps in teams of ten, and an admin) and an interactions file of
``--rows`` touches for ``--clients`` clients (every column used: gives, asks, services, contacts,
promises kept, late, broken and open, problems answered on time, late or not yet, setbacks and
corrections, won deals, a few repeated rows), seeded, so every run imports the same file. Then,
for SQLite and PostgreSQL, each in a fresh process of its own (its peak memory is the import's):
the roster import, then the interactions import timed (bulk, the default), then the same file
imported again (everything already there). ``--row-by-row-rows N`` also times the row-by-row path
on a file of N rows made the same way (as many touches per client), for comparison: the whole
file takes many minutes that way (``--row-by-row-rows 200000`` does it).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
WORKSPACE = "bench_import"
DOMAIN = "bench.example"
HEADER = ["date", "rep", "client", "kind", "purpose", "note", "promise", "promise_due", "promise_outcome",
          "promise_closed_on", "problem", "problem_answered_on", "won_deal", "setback", "correction"]
KINDS = ["meeting", "call", "email", "message", "visit", "event", "電話", "訪問"]
PURPOSES = [("give", 30), ("ask", 25), ("service", 20), ("contact", 20), ("提案", 5)]
NOTES = ["Shared the benchmark report", "Walked through pricing", "Answered the support ticket", "Checked in",
         "Sent an article on their market", "Proposed the annual plan", "資料を共有", "見積もりを提示"]
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def rep_email(r: int) -> str:
    return f"rep{r:04d}@{DOMAIN}"


def write_roster(path: Path, reps: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["email", "name", "role", "team", "timezone"])
        out.writerow([f"admin@{DOMAIN}", "Avery Admin", "admin", "", "UTC"])
        for r in range(reps):
            out.writerow([rep_email(r), f"Rep {r:04d}", "rep", f"Team {r // 10:03d}",
                          "Asia/Tokyo" if r % 2 else "UTC"])


def _promise(rng: random.Random, on: date, today: date) -> list[str]:
    due = on + timedelta(days=rng.randint(0, 10))
    roll = rng.random()
    if roll < 0.5:
        status, closed = "kept", due - timedelta(days=rng.randint(0, (due - on).days))
    elif roll < 0.65:
        status, closed = "kept_late", due + timedelta(days=rng.randint(1, 6))
    elif roll < 0.8:
        status, closed = "broken", due + timedelta(days=rng.randint(0, 9))
    else:
        status, closed = "open", None
    if closed is not None and closed > today:
        status, closed = "open", None
    return [f"Send the quote v{rng.randint(1, 9)}", due.isoformat(), status, closed.isoformat() if closed else ""]


def _problem(rng: random.Random, on: date, today: date) -> list[str]:
    roll = rng.random()
    answered = (on + timedelta(days=rng.randint(0, 1)) if roll < 0.5
                else on + timedelta(days=rng.randint(2, 9)) if roll < 0.7 else None)
    if answered is not None and answered > today:
        answered = None
    return [rng.choice(["Invoice is wrong", "Login fails", "納期の遅れ"]), answered.isoformat() if answered else ""]


def _row(rng: random.Random, on: date, rep: str, client: str, today: date) -> list[str]:
    purpose = rng.choices([p for p, _ in PURPOSES], [w for _, w in PURPOSES])[0]
    note = f"{rng.choice(NOTES)} #{rng.randint(1, 10**9)}"
    promise = _promise(rng, on, today) if rng.random() < 0.25 else ["", "", "", ""]
    problem = _problem(rng, on, today) if rng.random() < 0.08 else ["", ""]
    won = rng.choice(["yes", "Annual license", "受注"]) if rng.random() < 0.02 else ""
    roll = rng.random()
    setback = "false_claim" if roll < 0.003 else "misunderstanding" if roll < 0.006 else ""
    correction = "yes" if not setback and rng.random() < 0.006 else ""
    return [on.isoformat(), rep, client, rng.choice(KINDS), purpose, note, *promise, *problem, won, setback,
            correction]


def write_interactions(path: Path, rows: int, reps: int, clients: int, today: date, seed: int = 7) -> int:
    """``rows`` data rows (0.2 % of them repeats of an earlier row), in date order as an export
    would list them; the clients' touches spread over the two years before ``today``."""
    rng = random.Random(seed)
    per_client = [rows // clients + (1 if c < rows % clients else 0) for c in range(clients)]
    out_rows: list[list[str]] = []
    for c, count in enumerate(per_client):
        rep = rep_email(c % reps)
        client = f"Client {c:05d}" if c % 7 else f"株式会社 顧客{c:05d}"
        for _ in range(count):
            on = today - timedelta(days=rng.randint(0, 730))
            if out_rows and rng.random() < 0.002:
                out_rows.append(list(rng.choice(out_rows[-50:])))
            else:
                out_rows.append(_row(rng, on, rep, client, today))
    out_rows.sort(key=lambda r: r[0])
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(out_rows)
    return len(out_rows)


# --- one measurement, in a process of its own ------------------------------------------------

def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run_one(url: str, roster: Path, touches: Path, row_by_row: bool) -> dict[str, Any]:
    """Import the roster (not timed), then the touches (timed); the process's peak memory."""
    from bot.bootstrap import bootstrap
    from bot.importer import import_interactions, import_roster
    from bot.settings import Settings
    from storage.db import upgrade

    upgrade(url)
    settings = Settings(DATABASE_URL=url, COACH_WORKSPACE=WORKSPACE, COACH_LANGUAGE="en", COACH_RULES_FILE=None)
    coach = bootstrap(settings, clock=lambda: NOW)
    import_roster(coach, roster, progress=False)
    baseline, cpu = _rss_mb(), _cpu()
    started = time.perf_counter()
    report = import_interactions(coach, touches, progress=False, row_by_row=row_by_row)
    seconds = time.perf_counter() - started
    return {"mode": "row-by-row" if row_by_row else "bulk", "rows": report.rows, "added": report.added,
            "already": report.already, "seconds": round(seconds, 2), "rows_per_second": round(report.rows / seconds),
            "cpu_seconds": round(_cpu() - cpu, 2), "rss_baseline_mb": round(baseline), "rss_peak_mb": round(_rss_mb()),
            "load_average": [round(x, 2) for x in os.getloadavg()], "extra": report.extra}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the whole benchmark ---------------------------------------------------------------------

def _postgres_schema(base: str, schema: str) -> str:
    admin = create_engine(base)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        admin.dispose()
    url = make_url(base)
    options = " ".join(filter(None, [url.query.get("options"), f"-csearch_path={schema}"]))
    return url.update_query_dict({"options": options}).render_as_string(hide_password=False)


def _drop_schema(base: str, schema: str) -> None:
    admin = create_engine(base)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


def _fresh_url(kind: str, name: str, data_dir: Path, postgres: str | None) -> str:
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            (data_dir / f"{name}.sqlite3{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{data_dir / f'{name}.sqlite3'}"
    assert postgres is not None
    return _postgres_schema(postgres, name)


def _process(url: str, roster: Path, touches: Path, row_by_row: bool) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.import_bench", "--one", url, "--roster", str(roster),
               "--touches", str(touches), *(["--row-by-row"] if row_by_row else [])]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the import failed:\n{done.stderr}")
    return json.loads(done.stdout)


def measure(kind: str, name: str, data_dir: Path, postgres: str | None, roster: Path, touches: Path,
            row_by_row: bool = False, again: bool = True) -> dict[str, Any]:
    """The import into a fresh database, then (``again``) the same file once more, each in a
    process of its own."""
    url = _fresh_url(kind, name, data_dir, postgres)
    try:
        result = {"database": kind, **_process(url, roster, touches, row_by_row)}
        if again:
            result["again"] = _process(url, roster, touches, row_by_row)
    finally:
        if kind == "postgres":
            _drop_schema(postgres, name)  # type: ignore[arg-type]
    return result


def _line(r: dict[str, Any]) -> str:
    again = r.get("again")
    tail = (f"; again: {again['seconds']:.1f} s ({again['rows_per_second']:,} rows/s), peak {again['rss_peak_mb']} MB"
            if again else "")
    return (f"{r['database']:8} {r['mode']:10} {r['rows']:>8,} rows in {r['seconds']:7.1f} s = "
            f"{r['rows_per_second']:>7,} rows/s ({r['cpu_seconds']:.1f} CPU s), peak {r['rss_peak_mb']} MB, "
            f"load {r['load_average'][0]}{tail}")


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench.import_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--clients", type=int, default=5_000)
    parser.add_argument("--row-by-row-rows", type=int, default=0, help="also time the row-by-row path on N rows")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=Path("data/bench/import"))
    parser.add_argument("--schema-prefix", default="bench_import_", help="PostgreSQL schemas are <prefix>bulk, <prefix>rows")
    parser.add_argument("--out", type=Path, help="write the results as JSON here too")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # one measurement (in a fresh process)
    parser.add_argument("--roster", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--touches", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--row-by-row", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.roster, args.touches, args.row_by_row)))
        return []

    args.data_dir.mkdir(parents=True, exist_ok=True)
    roster, touches = args.data_dir / "roster.csv", args.data_dir / "interactions.csv"
    write_roster(roster, args.reps)
    rows = write_interactions(touches, args.rows, args.reps, args.clients, NOW.date())
    _say(f"wrote {rows:,} rows ({touches.stat().st_size / 1e6:.1f} MB) for {args.clients:,} clients "
         f"and {args.reps} reps")
    kinds = ["sqlite"] + ([] if args.no_postgres else ["postgres"])
    results = []
    for kind in kinds:
        results.append(measure(kind, f"{args.schema_prefix}bulk", args.data_dir, args.postgres, roster, touches))
        _say(_line(results[-1]))
        if args.row_by_row_rows:
            part = args.data_dir / "interactions_rows.csv"
            write_interactions(part, args.row_by_row_rows, args.reps, max(1, args.clients * args.row_by_row_rows // rows),
                               NOW.date())
            results.append(measure(kind, f"{args.schema_prefix}rows", args.data_dir, args.postgres, roster, part,
                                   row_by_row=True, again=False))
            _say(_line(results[-1]))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
