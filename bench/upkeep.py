"""Before the nudge runs: the daily upkeep's quiet days, as production keeps them.

In production the daily upkeep works out, each night, the coming days on which each client
with nothing open raises no nudge (:mod:`storage.quiet_days`), and the morning's nudge runs
leave those clients unread. So that the nudge run is measured on the database it meets in
production, this process (one per organisation, before its runs):

1. clears every client's quiet days (what an upgrade or a change of the rules does);
2. runs the upkeep's step for the day before the organisation's ``today``: every client worked
   out from nothing, the worst night;
3. runs it for ``today``: a usual night, working out only the clients whose days ran out or
   were cleared (those with a touch dated ``today``, here) and those that raise something;
4. on PostgreSQL, VACUUM ANALYZE of the summaries, as autovacuum would after so many updates.

It prints one JSON object: both steps' seconds and clients given quiet days, how many clients
the run for ``today`` will leave unread, and the process's peak memory.
"""

from __future__ import annotations

import resource
import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy import create_engine, func, select, text, update

from bench.nudge_run import process_main
from bot.bootstrap import bootstrap, freeze_startup_objects
from bot.notifiers import LogNotifier
from bot.settings import Settings
from coaching.jobs import ScheduledJobs
from coaching.schedule import Schedule
from storage import quiet_days
from storage.models import ClientSummaryRow


def measure(url: str, workspace: str, today: date) -> dict[str, Any]:
    coach = bootstrap(Settings(DATABASE_URL=url, COACH_WORKSPACE=workspace, COACH_SCHEDULER=False))
    jobs = ScheduledJobs(coach.uow_factory, LogNotifier(coach.catalog, lambda line: None), coach.rules, Schedule(),
                         coach.clock)
    freeze_startup_objects()  # as the scheduler's process once started (bench.nudge_run)
    s = ClientSummaryRow
    with coach.uow_factory() as uow:
        uow.session.execute(update(s).where(s.workspace_id == workspace).values(
            quiet_from=None, quiet_until=None, quiet_key=None))
        uow.commit()
    steps = {}
    for name, day in (("first", today - timedelta(days=1)), ("next", today)):
        started = time.perf_counter()
        kept = jobs.keep_quiet_days(workspace, day)
        steps[name] = {"day": day.isoformat(), "seconds": time.perf_counter() - started, "kept": kept}
    if url.startswith("postgresql"):
        engine = create_engine(url, isolation_level="AUTOCOMMIT")  # VACUUM runs outside a transaction
        with engine.connect() as connection:
            connection.execute(text("VACUUM ANALYZE client_summaries"))
        engine.dispose()
    with coach.uow_factory() as uow:
        unread = quiet_days.unread(today, quiet_days.key(coach.rules.nudging))
        total, left = uow.session.execute(select(func.count(), func.count().filter(~unread)).where(
            s.workspace_id == workspace)).one()
    return {**steps, "summaries": total, "quiet_today": left,
            "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv: list[str] | None = None) -> None:
    process_main(measure, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
