"""``make bench``: measure the coach from one team to a 2,000-rep organisation.

    python -m bench [--sizes S,M,L] [--runs 3] [--postgres URL | --no-postgres] [--out DIR]
    python -m bench --soak MINUTES [--soak-size S] [--soak-rate 15] [--out DIR]

For each size the synthetic organisation (``bench.org``) is built once per database and kept
(SQLite files under ``data/bench/``, PostgreSQL schemas ``bench_<size>``), so a second run
measures without generating again. Then:

1. the daily nudge run, ``--runs`` times, each in a fresh process (``bench.nudge_run``): time,
   the ``GROUP BY client`` floor and the ratio, for the process's first run and a later one,
   peak memory; S on SQLite, M on both, L on
   PostgreSQL; and once the real morning digest job (``bench.digest_job``);
2. ``/teamhealth`` for a team of 50 reps / 5,000 clients / 500,000 touches (``bench.teamhealth``);
3. the Slack and Teams endpoints (``bench.endpoints``) on a fresh copy of S; on PostgreSQL the
   modal logs' throughput once more with ``coach serve --workers`` one per core.

``--soak MINUTES`` runs only the memory soak of ``coach serve`` (``bench.soak``) on a fresh SQLite
copy of ``--soak-size`` and writes its JSON to ``docs/bench/soak.json`` under ``--out``.

Figures go to ``BENCHMARKS.md`` (with a growth chart, ``docs/bench/growth.png``) and every raw
measurement to ``docs/bench/results.json``. Targets that are missed are reported as missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import create_engine, make_url, text

from bench import org as orgs
from bench import report

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PLAN = {"S": ("sqlite",), "M": ("sqlite", "postgres"), "L": ("postgres",), "tiny": ("sqlite", "postgres")}


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Databases:
    """Where each size lives: a SQLite file per size, a PostgreSQL schema per size."""

    def __init__(self, data_dir: Path, postgres: str | None, prefix: str = "bench_") -> None:
        self.data_dir = data_dir
        self.postgres = postgres
        self.prefix = prefix
        self.schemas: set[str] = set()

    def url(self, kind: str, name: str) -> str:
        if kind == "sqlite":
            self.data_dir.mkdir(parents=True, exist_ok=True)
            return f"sqlite:///{self.data_dir / f'{name}.sqlite3'}"
        assert self.postgres is not None
        schema = f"{self.prefix}{name.lower()}"
        self.schemas.add(schema)
        admin = create_engine(self.postgres)
        try:
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        finally:
            admin.dispose()
        url = make_url(self.postgres)
        options = " ".join(filter(None, [url.query.get("options"), f"-csearch_path={schema}"]))
        return url.update_query_dict({"options": options}).render_as_string(hide_password=False)

    def drop(self, kind: str, name: str) -> None:
        if kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                (self.data_dir / f"{name}.sqlite3{suffix}").unlink(missing_ok=True)
            return
        admin = create_engine(self.postgres)  # type: ignore[arg-type]
        try:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{self.prefix}{name.lower()}" CASCADE'))
        finally:
            admin.dispose()


def postgres_reachable(url: str) -> str | None:
    """The server's version, or None when nothing answers."""
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            return connection.execute(text("SHOW server_version")).scalar()
    except Exception:
        return None
    finally:
        engine.dispose()


def _progress(label: str) -> Callable[[int, int], None]:
    last = [0.0]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] > 10 or done == total:
            _say(f"  {label}: {done:,}/{total:,} clients written")
            last[0] = now
    return show


def build(dbs: Databases, kind: str, size: orgs.Size, name: str | None = None, fresh: bool = False) -> tuple[str, orgs.Org]:
    name = name or size.name
    if fresh:
        dbs.drop(kind, name)
    url = dbs.url(kind, name)
    _say(f"{size.name} on {kind}: building the organisation (or reusing it) ...")
    built = orgs.build(url, size, progress=_progress(f"{size.name}/{kind}"))
    if not built.reused:
        _say(f"  generated in {built.seconds:.1f} s: {built.rows}")
    return url, built


def subprocess_json(module: str, url: str, built: orgs.Org) -> dict[str, Any]:
    """One measurement in a fresh process (its peak memory is its own); its JSON answer."""
    command = [sys.executable, "-m", module, url, "--workspace", built.workspace, "--as-of", built.today.isoformat()]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{module} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def nudge_runs(url: str, built: orgs.Org, runs: int) -> list[dict[str, Any]]:
    results = []
    for n in range(runs):
        result = subprocess_json("bench.nudge_run", url, built)
        _say(f"  nudge run {n + 1}/{runs}: {result['run_seconds']:.2f} s (floor {result['floor_seconds']:.2f} s,"
             f" ratio {result['ratio']:.1f}); later {result['later']['run_seconds']:.2f} s (ratio"
             f" {result['later']['ratio']:.1f}), peak {result['rss_peak_mb']:.0f} MB, {result['nudges']:,} nudges")
        results.append(result)
    return results


def machine(postgres_version: str | None) -> dict[str, Any]:
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    import sqlite3

    return {"cores": os.cpu_count(), "memory_gib": memory, "system": f"{platform.system()} {platform.machine()}",
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "postgres": postgres_version,
            "when": datetime.now(timezone.utc).replace(microsecond=0).isoformat(), "reference_s": reference_seconds()}


def reference_seconds(repeats: int = 3) -> float:
    """The machine's speed in one figure, so runs on different days can be compared: the best of
    ``repeats`` of a fixed pure-Python loop (the sum of the squares below ten million)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        sum(i * i for i in range(10_000_000))
        best = min(best, time.perf_counter() - started)
    return round(best, 3)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Measure the coach at S, M and L.")
    parser.add_argument("--sizes", default="S,M,L", help="sizes of the nudge run (from: %(default)s, tiny)")
    parser.add_argument("--runs", type=int, default=3, help="nudge runs per size and database")
    parser.add_argument("--team", default="team", help="size of the /teamhealth team (default: 50 reps)")
    parser.add_argument("--team-runs", type=int, default=20)
    parser.add_argument("--endpoints", default="S", help="organisation the endpoint benchmarks log into")
    parser.add_argument("--smoke", action="store_true", help="small numbers everywhere (the test suite's run)")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=Path("data/bench"))
    parser.add_argument("--schema-prefix", default="bench_", help="PostgreSQL schemas are named <prefix><size>")
    parser.add_argument("--out", type=Path, default=Path("."), help="where BENCHMARKS.md and docs/bench/ go")
    parser.add_argument("--soak", type=float, metavar="MINUTES", help="only the memory soak of coach serve, this long")
    parser.add_argument("--soak-size", default="S", help="organisation the soak runs on (default: %(default)s)")
    parser.add_argument("--soak-rate", type=float, default=15.0, help="soak requests a second (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.soak is not None:
        return soak(args)

    version = None if args.no_postgres else postgres_reachable(args.postgres)
    if version is None and not args.no_postgres:
        _say(f"No PostgreSQL answers at {make_url(args.postgres).render_as_string()}: its measurements are left out.")
    dbs = Databases(args.data_dir, args.postgres if version else None, args.schema_prefix)
    kinds = ("sqlite", "postgres") if version else ("sqlite",)
    results: dict[str, Any] = {"machine": machine(version), "nudge_run": [], "digest_job": [], "teamhealth": [],
                               "endpoints": [], "smoke": args.smoke, "speed": []}

    def speed(when: str) -> None:
        """The reference loop once more, between sections: this machine's speed moves within minutes."""
        results["speed"].append({"when": when, "reference_s": reference_seconds(repeats=1)})

    # 1. the nudge run at each size
    for size in orgs.iter_sizes(args.sizes):
        for kind in PLAN.get(size.name, kinds):
            if kind not in kinds:
                results["nudge_run"].append({"size": size.name, "database": kind, "skipped": "no PostgreSQL"})
                continue
            url, built = build(dbs, kind, size)
            speed(f"before the nudge runs at {size.name} on {kind}")
            upkeep = subprocess_json("bench.upkeep", url, built)
            _say(f"  quiet days kept: {upkeep['first']['seconds']:.1f} s from nothing, {upkeep['next']['seconds']:.1f} s"
                 f" the next night; {upkeep['quiet_today']:,} of {upkeep['summaries']:,} clients quiet today")
            runs = nudge_runs(url, built, args.runs)
            results["nudge_run"].append({"size": size.name, "database": kind, "org": _org_info(built), "runs": runs,
                                         "upkeep": upkeep})
            run = subprocess_json("bench.digest_job", url, built)
            _say(f"  digest job: {run['seconds']:.1f} s for {run['sent']:,} digests, peak {run['rss_peak_mb']:.0f} MB")
            results["digest_job"].append({"size": size.name, "database": kind, "org": _org_info(built), "run": run})

    # 2. /teamhealth
    from bench import teamhealth

    team = orgs.SIZES[args.team]
    speed("before /teamhealth")
    for kind in kinds:
        url, built = build(dbs, kind, team)
        _say(f"/teamhealth on {kind}: {args.team_runs} runs ...")
        measured = teamhealth.measure(url, built, runs=args.team_runs)
        results["teamhealth"].append({"size": team.name, "database": kind, "org": _org_info(built), **measured})

    # 3. the endpoints, on a fresh copy of a small organisation (they write into it)
    from bench import endpoints

    small = orgs.SIZES[args.endpoints]
    speed("before the endpoints")
    for kind in kinds:
        url, built = build(dbs, kind, small, name=f"endpoints_{small.name}", fresh=True)
        _say(f"endpoints on {kind} ...")
        measured = endpoints.run(url, built, smoke=args.smoke)
        results["endpoints"].append({**measured, "size": small.name, "database": kind})
    if "postgres" in kinds and (cores := os.cpu_count() or 1) > 1:  # SQLite has one process
        url, built = build(dbs, "postgres", small, name=f"endpoints_{small.name}", fresh=True)
        _say(f"throughput on postgres with coach serve --workers {cores} ...")
        results["endpoints"].append(endpoints.throughput_with_workers(url, built, cores, smoke=args.smoke))

    speed("at the end")
    report.write(results, args.out)
    _say(f"Wrote {args.out / 'BENCHMARKS.md'} and {args.out / report.RESULTS}.")
    return results


def soak(args: argparse.Namespace) -> dict[str, Any]:
    """The memory soak alone (``bench.soak``), on SQLite; its JSON in ``<out>/docs/bench/soak.json``."""
    from bench import soak as soaking

    size = orgs.SIZES[args.soak_size]
    url, built = build(Databases(args.data_dir, None), "sqlite", size, name=f"soak_{size.name}", fresh=True)
    _say(f"memory soak of coach serve: {args.soak:g} min at {args.soak_rate:g} requests/s on {size.name} ...")
    result = {**soaking.run(url, built, seconds=args.soak * 60, rate=args.soak_rate), "machine": machine(None),
              "org": _org_info(built)}
    path = args.out / "docs" / "bench" / "soak.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", "utf-8")
    _say(soaking.headline(result))
    _say(f"Wrote {path}.")
    return {"soak": result}


def _org_info(built: orgs.Org) -> dict[str, Any]:
    return {"today": built.today.isoformat(), "rows": built.rows, "build_seconds": built.seconds,
            "reused": built.reused, "size": {"reps": built.size.reps, "clients": built.size.clients,
                                             "interactions": built.size.interactions}}


if __name__ == "__main__":
    main()
