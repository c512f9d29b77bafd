"""The scheduler: APScheduler 3 runs the coach's jobs; the coach's own tables remember what was sent.

Jobs are defined here and rebuilt at every start (an in-memory job store: nothing to migrate,
nothing shared between replicas). Each job runs every ``COACH_SCHEDULER_TICK_SECONDS`` and
first right at start-up, which is the catch-up after downtime; :mod:`coaching.dispatch`
decides who is due in their own time zone and records every message before sending it, so
ticks, restarts and replicas never send anything twice. One worker thread runs the jobs one
after another, so jobs of one process never race each other; replicas are kept apart by
PostgreSQL advisory locks and the unique delivery records.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.bootstrap import Coach
from coaching import dispatch
from coaching.dispatch import Dispatcher, RunReport

log = logging.getLogger(__name__)

# The APScheduler jobs, in the order one cycle runs them.
JOBS = {
    # silence entries, overdue promises, waiting problems: once per UTC day, before the digests
    "daily_upkeep": (dispatch.UPKEEP,),
    "rep_digests": (dispatch.DIGEST,),
    "promise_reminders": (dispatch.REMINDER,),
    "manager_weekly": (dispatch.WEEKLY,),
    "team_channel_digests": (dispatch.TEAM,),
    "end_of_day_checkins": (dispatch.CHECKIN,),
}


class CoachScheduler:
    def __init__(self, coach: Coach, notifier: Any = None) -> None:
        from bot.notifiers import build_notifier

        self.coach = coach
        self.dispatcher = Dispatcher(coach.uow_factory, notifier or build_notifier(coach), coach.rules,
                                     coach.settings.schedule(), coach.clock)
        self.scheduler: AsyncIOScheduler | None = None

    def run_once(self) -> RunReport:
        """One cycle of every job, now (``coach scheduler --once``)."""
        return self.dispatcher.run(self.coach.workspace, self.coach.clock())

    def run_job(self, name: str) -> RunReport | None:
        """One job, as APScheduler calls it: a failure is logged, and the next tick tries again."""
        try:
            report = self.dispatcher.run(self.coach.workspace, self.coach.clock(), jobs=JOBS[name])
        except Exception:
            log.exception("scheduled job %s failed; it runs again at the next tick", name)
            return None
        for job, figures in report.jobs.items():
            if figures.sent or figures.failed or figures.interrupted:
                log.info("%s: %s", job, figures)
        return report

    def start(self) -> AsyncIOScheduler:
        """Start in the running event loop (``coach serve``, ``coach scheduler``)."""
        tick = self.coach.settings.scheduler_tick_seconds
        scheduler = AsyncIOScheduler(executors={"default": ThreadPoolExecutor(max_workers=1)},
                                     job_defaults={"coalesce": True, "max_instances": 1,
                                                   "misfire_grace_time": tick})
        now = self.coach.clock()
        for offset, name in enumerate(JOBS):
            # first at start-up (the catch-up), in order; then every tick
            first = now + timedelta(seconds=offset)
            scheduler.add_job(self.run_job, IntervalTrigger(seconds=tick), args=[name], id=name, name=name, next_run_time=first,
                              replace_existing=True)
        scheduler.start()
        self.scheduler = scheduler
        log.info("scheduler started: %s, every %s s", ", ".join(JOBS), tick)
        return scheduler

    def stop(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.scheduler = None
