"""Benchmark 2: ``/teamhealth`` for one manager's team (50 reps, 5,000 clients, 500,000 touches).

Server side, as the Slack and Teams handlers run it after acknowledging: the engine's whole turn
for the manager's ``teamhealth`` (identify the manager, resolve the team, the report's queries
and figures for both periods, the chart's data), in its own unit of work, timed end to end; and
separately the chart's PNG as the Slack and Teams renderers get it (``bot.chartcache``): drawn
in the chart process with nothing kept, and read back once kept (as every later request that
day is served). The clock is the organisation's ``today`` at 10:00 UTC, so
every run reads the same periods. The process keeps what starting made out of the cycle
collector's sight, as ``coach serve`` does.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from datetime import datetime, time as dtime, timezone
from typing import Any

from bench.org import Org
from bot.bootstrap import bootstrap, startup_frozen
from bot import chartcache
from bot.settings import Settings
from coaching.engine import Inbound


def measure(url: str, org: Org, *, runs: int = 30, warmup: int = 2) -> dict[str, Any]:
    now = datetime.combine(org.today, dtime(10, 0), timezone.utc)
    coach = bootstrap(Settings(DATABASE_URL=url, COACH_WORKSPACE=org.workspace, COACH_SCHEDULER=False),
                      clock=lambda: now)
    _, email, team_id = org.managers[0]
    inbound = Inbound(org.workspace, "bench-teamhealth", "teamhealth", email=email)
    kept_in = Path(tempfile.mkdtemp(prefix="bench-charts-"))
    # As in ``coach serve`` once started (bot/server.py): what starting made is kept out of the
    # cycle collector's sight. Without it a full collection walked the coach's modules and
    # tables every few reports, which a server never does (PostgreSQL, 12 reports each followed
    # by a chart's drawing: the slowest 384 ms without, 261 ms with).
    with startup_frozen():
        return _measure(coach, inbound, org, team_id, runs, warmup, kept_in)


def _measure(coach: Any, inbound: Inbound, org: Org, team_id: int, runs: int, warmup: int,
             kept_in: Path) -> dict[str, Any]:
    report_seconds: list[float] = []
    chart_seconds: list[float] = []
    kept_seconds: list[float] = []
    reps, png = 0, b""
    for n in range(warmup + runs):
        started = time.perf_counter()
        outcome = coach.engine.handle(inbound)
        took = time.perf_counter() - started
        [reply] = outcome.replies
        if reply.chart is None:
            raise RuntimeError(f"/teamhealth gave no chart: {reply}")
        chartcache.configure(None)  # nothing kept: drawn every time
        started = time.perf_counter()
        png = chartcache.render_png(reply.chart, coach.catalog, outcome.locale or "en")
        drew = time.perf_counter() - started
        chartcache.configure(kept_in)
        chartcache.render_png(reply.chart, coach.catalog, outcome.locale or "en")  # kept, if not yet
        started = time.perf_counter()
        chartcache.render_png(reply.chart, coach.catalog, outcome.locale or "en")
        read = time.perf_counter() - started
        if n >= warmup:
            report_seconds.append(took)
            chart_seconds.append(drew)
            kept_seconds.append(read)
        reps = len(reply.chart.reps)
    with coach.uow_factory() as uow:
        clients = len(uow.clients.list(org.workspace, team_ids=[team_id]))
    chartcache.configure(None)
    return {"report_seconds": report_seconds, "chart_seconds": chart_seconds, "kept_seconds": kept_seconds,
            "chart_bytes": len(png),
            "reps_charted": reps, "team_clients": clients}
