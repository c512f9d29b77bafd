"""Benchmark 6: the real morning digest job, every rep, recorded and sent.

What an evaluator of a large organisation asks next after the dry run: how long the scheduler's
``digest`` job takes when it does everything it does in production for every rep: plan each
rep's digest (the nudge scan for a batch of reps, back-off history, ranking), record the
delivery and its items, claim it under the per-recipient lock, render the message and hand it
to the notifier, then record it sent. The notifier is the log notifier writing to nowhere, so
no platform's latency is counted (the Slack and Teams benchmarks measure those).

The reps live in several time zones, so the job runs once at 09:30 local time of each zone
present, on the organisation's ``today``, which is made the one working day of the week: the
figure does not depend on the weekday the organisation was built, and a zone whose local date is
still yesterday at an early moment gets nothing until its own morning. One fresh process; its peak memory is
reported. Afterwards the run's deliveries are deleted, so the organisation is left as it was.
"""

from __future__ import annotations

import resource
import time
from datetime import date, datetime, time as dtime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bench.nudge_run import process_main
from bot.bootstrap import bootstrap, freeze_startup_objects
from bot.notifiers import LogNotifier
from bot.settings import Settings
from coaching.jobs import DIGEST, ScheduledJobs
from coaching.schedule import Schedule


def measure(url: str, workspace: str, today: date) -> dict[str, Any]:
    coach = bootstrap(Settings(DATABASE_URL=url, COACH_WORKSPACE=workspace, COACH_SCHEDULER=False))
    with coach.uow_factory() as uow:
        zones = sorted({p.timezone for p in uow.people.list(workspace)})
    freeze_startup_objects()  # as the scheduler's process once started (bench.nudge_run)
    moments = sorted(datetime.combine(today, dtime(9, 30), ZoneInfo(z)).astimezone(timezone.utc) for z in zones)
    plan = Schedule(working_days=frozenset({today.weekday()}), weekly_day=today.weekday())
    written = [0]

    def sink(line: str) -> None:
        written[0] += len(line)

    per_moment = []
    sent = skipped = failed = 0
    started = time.perf_counter()
    for moment in moments:
        dispatcher = ScheduledJobs(coach.uow_factory, LogNotifier(coach.catalog, sink), coach.rules, plan,
                                clock=lambda moment=moment: moment)
        began = time.perf_counter()
        report = dispatcher.run(workspace, moment, jobs=(DIGEST,))
        job = report.job(DIGEST)
        per_moment.append({"utc": moment.isoformat(), "seconds": time.perf_counter() - began,
                           "sent": job.sent, "skipped": job.skipped})
        sent, skipped, failed = sent + job.sent, skipped + job.skipped, failed + report.failed
    total = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with coach.uow_factory() as uow:
        connection = uow.session.connection()
        items = connection.execute(text("SELECT count(*) FROM delivery_items WHERE workspace_id = :ws"),
                                   {"ws": workspace}).scalar()
        connection.execute(text("DELETE FROM delivery_items WHERE workspace_id = :ws"), {"ws": workspace})
        connection.execute(text("DELETE FROM deliveries WHERE workspace_id = :ws"), {"ws": workspace})
        uow.commit()
    return {"seconds": total, "moments": per_moment, "sent": sent, "skipped": skipped, "failed": failed,
            "items": items, "rendered_chars": written[0], "rss_peak_mb": peak}


def main(argv: list[str] | None = None) -> None:
    process_main(measure, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
