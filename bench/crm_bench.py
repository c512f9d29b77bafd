"""Benchmark: ``coach import salesforce`` of a large Data Loader export.

    python -m bench.crm_bench [--tasks 100000] [--reps 200] [--accounts 5000]
                              [--postgres URL | --no-postgres] [--data-dir DIR] [--out FILE.json]

Writes, seeded, a roster of ``--reps`` reps and a Salesforce export: Account.csv, User.csv and
Task.csv with ``--tasks`` tasks (9 in 10 completed; subjects and multi-line descriptions in
English and Japanese, every note different, as real notes are). Then, for SQLite and
PostgreSQL, each in a fresh process (its peak memory is the import's): the roster import, then
the Salesforce import timed, reading every note with the rule reader, writing in bulk.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.import_bench import DEFAULT_POSTGRES, NOW, WORKSPACE, _cpu, _drop_schema, _fresh_url, _rss_mb, _say, \
    rep_email, write_roster

SUBJECTS = ["Call", "Follow-up", "Sent the market report", "Proposal", "訪問", "ご挨拶", "お見積りの提示", "定例"]
NOTES = ["Shared the benchmark report, no pitch.", "Walked through pricing for next year; asked for the order.",
         "Answered their question about the invoice.", "Checked in, nothing to report.",
         "業界レポートをお渡しした。売り込みはしていない。", "見積を提示し、発注をお願いした。",
         "請求の件でご連絡いただき、その場で回答した。", "近況確認。特に用件なし。"]


def write_export(folder: Path, tasks: int, reps: int, accounts: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    today = NOW.date()
    with (folder / "Account.csv").open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, quoting=csv.QUOTE_ALL)
        out.writerow(["Id", "Name"])
        out.writerows([f"001{a:015d}", f"Client {a:05d}" if a % 7 else f"株式会社 顧客{a:05d}"] for a in range(accounts))
    with (folder / "User.csv").open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, quoting=csv.QUOTE_ALL)
        out.writerow(["Id", "Email"])
        out.writerows([f"005{r:015d}", rep_email(r)] for r in range(reps))
    with (folder / "Task.csv").open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, quoting=csv.QUOTE_ALL)
        out.writerow(["Id", "WhatId", "AccountId", "OwnerId", "Subject", "ActivityDate", "Status", "Description",
                      "TaskSubtype", "IsDeleted"])
        for t in range(tasks):
            account = rng.randrange(accounts)
            on = today - timedelta(days=rng.randint(0, 730))
            note = f"{rng.choice(NOTES)}\n#{rng.randint(1, 10**9)}"
            out.writerow([f"00T{t:015d}", f"006{t:015d}" if t % 5 == 0 else f"001{account:015d}",
                          f"001{account:015d}", f"005{account % reps:015d}", rng.choice(SUBJECTS), on.isoformat(),
                          "Completed" if rng.random() < 0.9 else "Not Started", note,
                          rng.choice(["Call", "Email", "Task"]), "false"])


def run_one(url: str, folder: Path) -> dict[str, Any]:
    from bot import crm_import
    from bot.bootstrap import bootstrap
    from bot.importer import import_roster
    from bot.settings import Settings
    from storage.db import upgrade

    upgrade(url)
    coach = bootstrap(Settings(DATABASE_URL=url, COACH_WORKSPACE=WORKSPACE, COACH_LANGUAGE="en",
                               COACH_RULES_FILE=None), clock=lambda: NOW)
    import_roster(coach, folder / "roster.csv", progress=False)
    baseline, cpu = _rss_mb(), _cpu()
    started = time.perf_counter()
    source = crm_import.salesforce_source(folder / "Task.csv", None, folder / "Account.csv", folder / "User.csv")
    report = crm_import.run(coach, source, dry_run=False)
    seconds = time.perf_counter() - started
    assert report.written is not None
    return {"rows": report.rows, "touches": report.written.added, "seconds": round(seconds, 2),
            "rows_per_second": round(report.rows / seconds), "cpu_seconds": round(_cpu() - cpu, 2),
            "rss_baseline_mb": round(baseline), "rss_peak_mb": round(_rss_mb()),
            "purposes": dict(report.tally.by_purpose), "unread": report.tally.unread}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.crm_bench")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--accounts", type=int, default=5_000)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=Path("data/bench"))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    folder = args.data_dir / "crm"
    if args.one:
        print(json.dumps(run_one(args.one, folder)))
        return
    folder.mkdir(parents=True, exist_ok=True)
    write_roster(folder / "roster.csv", args.reps)
    write_export(folder, args.tasks, args.reps, args.accounts)
    results = {}
    for kind in ("sqlite",) + (() if args.no_postgres else ("postgres",)):
        url = _fresh_url(kind, "bench_crm", args.data_dir, args.postgres)
        done = subprocess.run([sys.executable, "-m", "bench.crm_bench", "--one", url, "--data-dir", str(args.data_dir)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        results[kind] = json.loads(done.stdout)
        _say(f"{kind}: {results[kind]}")
        if kind == "postgres":
            _drop_schema(args.postgres, "bench_crm")
    text = json.dumps(results, indent=1)
    if args.out:
        args.out.write_text(text + "\n", "utf-8")
    else:
        print(text)


if __name__ == "__main__":
    main()
