"""Benchmark 1: the daily nudge run, dry, for every rep of the organisation.

One measurement is one fresh process (``python -m bench.nudge_run URL --as-of DATE``), so its
peak resident memory (``getrusage``'s ``ru_maxrss``) is the run's own and not what an earlier run
left behind. In that process, on the same connection pool:

1. the floor: ``SELECT client_id, count(*), max(occurred_on) FROM interactions WHERE
   workspace_id = ? GROUP BY client_id``, every row fetched. Any correct nudge run has to look
   at every client's history at least once, so this is what the run is compared with;
2. the run itself: ``daily.nudges`` over the whole workspace (the four streamed queries of
   ``client_histories``, the rules of ``coaching.nudges`` per client, the per-rep lapse check,
   snoozes and dismissals left out), each rep's digest chosen as the scheduler would choose it
   (``coaching.schedule.choose``: most at stake first, ``digest_size`` items). Nothing is sent
   or recorded.

The floor runs first, so both find the same warm cache. Then both again: a later run of the
same process. The daily run happens in a long-lived process (``coach serve`` or ``coach
scheduler``), where the first run after a start pays once for what the later ones find ready
(statements compiled, SQLite's prepared statements, the shared touches made): about 10 ms at
S, a third of its run, and nothing to speak of at M or L. Both pairs are reported. Before all
of it the process keeps what starting made from the garbage collector, as those processes do
once started (:func:`bot.bootstrap.freeze_startup_objects`). The process prints one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import resource
import sys
import time
from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import text

from bot.bootstrap import bootstrap, freeze_startup_objects
from bot.settings import Settings
from coaching import daily
from coaching.digest_items import GROUPED, TIERS, items
from coaching.schedule import Schedule, choose


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


class _Ranked:
    """A nudge in a bounded heap whose top is the nudge that ranks last by the order a digest
    uses (:func:`coaching.digest_items.ranked`). Grouped kinds are kept whole beside the heap
    (a group is one item, naming its clients), so heap and groups together hold exactly what
    ``choose`` would pick from all of a rep's nudges."""

    __slots__ = ("key", "nudge")

    def __init__(self, nudge: Any) -> None:
        self.key = (TIERS.get(nudge.kind, 2), -nudge.stake, nudge.client_name or "", nudge.subject)
        self.nudge = nudge

    def __lt__(self, other: _Ranked) -> bool:
        return self.key > other.key  # "smaller" in the heap = ranks later


def measure(url: str, workspace: str, as_of: date) -> dict[str, Any]:
    baseline = _rss_mb()  # the interpreter, SQLAlchemy, the coach's modules
    coach = bootstrap(Settings(DATABASE_URL=url, COACH_WORKSPACE=workspace, COACH_SCHEDULER=False))
    with coach.uow_factory() as uow:  # connect once, outside both timings
        uow.workspaces.get(workspace)
    freeze_startup_objects()  # started as the coach's long-lived processes are (see above)

    floor, floor_clients = _floor(coach, workspace)
    after_floor = _rss_mb()
    first = _run(coach, workspace, as_of)
    later_floor, _ = _floor(coach, workspace)
    later = _run(coach, workspace, as_of)
    assert later["kinds"] == first["kinds"], "the same day and data raised other nudges"
    return {
        **first, "floor_seconds": floor, "floor_clients": floor_clients, "ratio": first["run_seconds"] / floor,
        "later": {"floor_seconds": later_floor, "run_seconds": later["run_seconds"],
                  "ratio": later["run_seconds"] / later_floor},
        "frozen_objects": gc.get_freeze_count(), "rss_baseline_mb": baseline, "rss_after_floor_mb": after_floor,
        "rss_peak_mb": _rss_mb(),
    }


def _floor(coach: Any, workspace: str) -> tuple[float, int]:
    """The GROUP BY pass: its seconds and the clients it saw."""
    started = time.perf_counter()
    with coach.uow_factory() as uow:
        result = uow.session.connection().execute(
            text("SELECT client_id, count(*), max(occurred_on) FROM interactions"
                 " WHERE workspace_id = :ws GROUP BY client_id"),
            {"ws": workspace}, execution_options={"yield_per": 5000})
        clients = sum(1 for _ in result)
    return time.perf_counter() - started, clients


def _run(coach: Any, workspace: str, as_of: date) -> dict[str, Any]:
    """The nudge run and each rep's digest chosen: its seconds and what it found."""
    schedule = Schedule()
    started = time.perf_counter()
    kinds: Counter[str] = Counter()
    best: dict[int, list[_Ranked]] = {}  # rep -> heap of the digest_size nudges that rank first so far
    grouped: dict[int, list[Any]] = {}  # rep -> the nudges of grouped kinds (one item each kind)
    seen = 0
    with coach.uow_factory() as uow:
        for n in daily.nudges(uow, workspace, as_of, coach.rules):
            seen += 1
            kinds[n.kind.value] += 1
            if n.kind in GROUPED:
                grouped.setdefault(n.rep_id, []).append(n)
                continue
            heap, entry = best.setdefault(n.rep_id, []), _Ranked(n)
            if len(heap) < schedule.digest_size:
                heapq.heappush(heap, entry)
            elif heap[0] < entry:
                heapq.heapreplace(heap, entry)
    digests = {rep: choose([e.nudge for e in best.get(rep, [])] + grouped.get(rep, []), {}, as_of, schedule)
               for rep in best.keys() | grouped.keys()}
    run = time.perf_counter() - started
    return {
        "run_seconds": run, "nudges": seen, "kinds": dict(sorted(kinds.items())),
        "reps_with_digest": len(digests), "digest_items": sum(len(items(d)) for d in digests.values()),
        "digest_nudges": sum(len(d) for d in digests.values()),
    }


def process_main(measure_in_process, description: str, argv: list[str] | None = None) -> None:
    """The command line of a one-measurement process: URL, workspace, day; JSON on stdout."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("url")
    parser.add_argument("--workspace", default="bench")
    parser.add_argument("--as-of", required=True, type=date.fromisoformat)
    args = parser.parse_args(argv)
    json.dump(measure_in_process(args.url, args.workspace, args.as_of), sys.stdout)
    sys.stdout.write("\n")


def main(argv: list[str] | None = None) -> None:
    process_main(measure, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
