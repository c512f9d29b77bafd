"""The scheduler: APScheduler 3 runs the coach's jobs; the coach's own tables remember what was sent.

Jobs are defined here and rebuilt at every start (an in-memory job store: nothing to migrate,
nothing shared between replicas). Each job runs every ``COACH_SCHEDULER_TICK_SECONDS`` and
first right at start-up, which is the catch-up after downtime; :mod:`coaching.jobs`
decides who is due in their own time zone and records every message before sending it, so
ticks, restarts and replicas never send anything twice. One worker thread runs the jobs one
after another, so jobs of one process never race each other; replicas are kept apart by
PostgreSQL advisory locks and the unique delivery records.

With OAuth installs (``SLACK_CLIENT_ID``), every job also runs for each installed Slack team, whose
workspace id is its team id, sending with that team's own bot token (refreshed first when
Slack's token rotation is about to expire it): see :mod:`bot.slack.installations`.

``coach serve --workers N`` runs the scheduler in one worker only: :class:`SchedulerLease`, a
PostgreSQL advisory lock each worker asks for, decides which (``bot/workers.py``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from sqlalchemy import Connection, Engine, text

from bot.bootstrap import Coach
from coaching import jobs
from coaching.jobs import RunReport, ScheduledJobs
from storage.uow import lock_key

log = logging.getLogger(__name__)

# The APScheduler jobs, in the order one cycle runs them.
JOBS = {
    # silence entries, overdue promises, waiting problems: once per UTC day, before the digests
    "daily_upkeep": (jobs.UPKEEP,),
    "rep_digests": (jobs.DIGEST,),
    "promise_reminders": (jobs.REMINDER,),
    "manager_weekly": (jobs.WEEKLY,),
    "team_channel_digests": (jobs.TEAM,),
    "end_of_day_checkins": (jobs.CHECKIN,),
}


class CoachScheduler:
    """``installations`` (OAuth mode; built from the settings when not given) names each installed
    Slack team's bot token: ``tokens() -> {team id: token}``."""

    def __init__(self, coach: Coach, notifier: Any = None, installations: Any = None) -> None:
        from bot.notifiers import build_notifier

        self.coach = coach
        self.jobs = self._jobs(notifier or build_notifier(coach))
        if installations is None and coach.settings.slack_multi_workspace:
            from bot.slack.installations import InstalledWorkspaces

            installations = InstalledWorkspaces.from_settings(coach.settings)  # no keys: SecretsError
        self.installations = installations
        self.scheduler: AsyncIOScheduler | None = None

    def _jobs(self, notifier: Any) -> ScheduledJobs:
        """The jobs of one workspace, each answer of ``notifier`` counted for /metrics."""
        from bot.metrics import metered

        coach = self.coach
        return ScheduledJobs(coach.uow_factory, metered(notifier, coach.metrics), coach.rules,
                             coach.settings.schedule(), coach.clock,
                             note_retention_days=coach.settings.note_retention_days)

    def workspaces(self) -> dict[str, ScheduledJobs]:
        """The configured workspace with the configured notifier, then each installed Slack team
        with a notifier of its own token (a team that is also the configured workspace: its token).
        With OAuth installs the configured workspace (Teams, the console) runs only once it exists."""
        coach = self.coach
        if self.installations is None:
            return {coach.workspace: self.jobs}
        from bot.notifiers import FirstThatDelivers, SlackNotifier

        with coach.uow_factory() as uow:
            configured = uow.workspaces.get(coach.workspace) is not None
        runs = {coach.workspace: self.jobs} if configured else {}
        for team, token in self.installations.tokens().items():
            slack = SlackNotifier(coach.catalog, token, coach.settings.slack_api_url, clock=coach.clock)
            runs[team] = self._jobs(FirstThatDelivers([slack]))
        return runs

    def run_once(self) -> RunReport:
        """One cycle of every job, now (``coach scheduler --once``), for every workspace."""
        now = self.coach.clock()
        report = _combined([dispatcher.run(workspace, now) for workspace, dispatcher in self.workspaces().items()])
        self.coach.metrics.reported(report)
        return report

    def run_job(self, name: str) -> RunReport | None:
        """One job, as APScheduler calls it: a failure is logged, and the next tick tries again.
        One workspace's failure does not keep the others from their run. Its lag, duration and
        figures are counted for /metrics."""
        with self.coach.metrics.scheduled_job(name):
            report, failed = self._run_job(name)
        self.coach.metrics.reported(report)  # what the workspaces that ran did, even if another failed
        return None if failed else report

    def _run_job(self, name: str) -> tuple[RunReport, bool]:
        reports, failed = [], False
        try:
            runs = self.workspaces()
        except Exception:
            log.exception("scheduled job %s failed; it runs again at the next tick", name)
            return RunReport(), True
        for workspace, dispatcher in runs.items():
            try:
                reports.append(dispatcher.run(workspace, self.coach.clock(), jobs=JOBS[name]))
            except Exception:
                log.exception("scheduled job %s failed; it runs again at the next tick", name)
                failed = True
        report = _combined(reports)
        for job, figures in report.jobs.items():
            if figures.sent or figures.failed or figures.interrupted:
                log.info("%s: %s", job, figures)
        return report, failed

    def start(self) -> AsyncIOScheduler:
        """Start in the running event loop (``coach serve``, ``coach scheduler``)."""
        tick = self.coach.settings.scheduler_tick_seconds
        scheduler = AsyncIOScheduler(executors={"default": ThreadPoolExecutor(max_workers=1)},
                                     job_defaults={"coalesce": True, "max_instances": 1,
                                                   "misfire_grace_time": tick})
        # APScheduler keeps the wall clock's time: a run time taken from the coach's clock (moved
        # in tests and demos) lay in the past, and the catch-up's coalesced run landed anywhere
        # in the last tick, so a job queued behind a slower one could miss its grace time and
        # wait a whole tick. The coach's clock decides only what the jobs do.
        now = datetime.now(timezone.utc)
        for offset, name in enumerate(JOBS):
            # first at start-up (the catch-up), in order; then every tick
            first = now + timedelta(seconds=offset)
            scheduler.add_job(self.run_job, IntervalTrigger(seconds=tick), args=[name], id=name, name=name, next_run_time=first,
                              replace_existing=True)
        scheduler.add_listener(self.coach.metrics.job_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        scheduler.start()
        self.scheduler = scheduler
        log.info("scheduler started: %s, every %s s", ", ".join(JOBS), tick)
        return scheduler

    def stop(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.scheduler = None


LEASE_EVERY_S = 10  # how often a worker without the lease asks for it, and its holder checks it still has it


class SchedulerLease:
    """The scheduler in one process of a deployment (the same database schema and workspace):
    the one holding a PostgreSQL session-level advisory lock on a connection of its own. Every
    ``every`` seconds the holder checks that connection, and the others try to take the lock.
    A process that stops, dies or loses its connection releases the lock with it, so another
    takes over at its next try. A holder whose connection fails stops its scheduler at once
    (the delivery claims would keep two schedulers from sending twice anyway; this saves the
    wasted work)."""

    def __init__(self, runner: CoachScheduler, engine: Engine, workspace: str, every: float = LEASE_EVERY_S) -> None:
        self.runner, self.engine, self.workspace, self.every = runner, engine, workspace, every
        self.connection: Connection | None = None

    async def context(self, _app: object):
        """For ``aiohttp.web.Application.cleanup_ctx``: kept from start-up until shutdown."""
        task = asyncio.create_task(self.keep())
        yield
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    async def keep(self) -> None:
        try:
            while True:
                await self.tend()
                await asyncio.sleep(self.every)
        finally:
            self.runner.stop()
            self._release()

    async def tend(self) -> bool:
        """Take or keep the lease, and start or stop the scheduler to match; whether it is held."""
        try:
            held = await asyncio.to_thread(self._hold)
        except Exception as error:  # the database is away: no lease, try again later
            log.warning("the scheduler lease cannot be taken now (%s); trying again in %s s",
                        type(error).__name__, self.every)
            held = False
        running = self.runner.scheduler is not None
        if held and not running:
            log.info("this process runs the scheduler (it holds the scheduler lease)")
            self.runner.start()
        elif running and not held:
            log.warning("the scheduler lease was lost with its database connection; the scheduler stops here")
            self.runner.stop()
        return held

    def _hold(self) -> bool:
        if self.connection is not None:
            try:
                self.connection.execute(text("SELECT 1"))
                self.connection.commit()  # never left idle in a transaction
                return True
            except Exception:
                self._release()
                return False  # another process may take it meanwhile; try again next time
        connection = self.engine.connect()
        try:
            schema = connection.execute(text("SELECT current_schema()")).scalar()
            key = lock_key(f"coach scheduler lease:{schema}:{self.workspace}")
            taken = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
            connection.commit()  # a session-level lock outlives the transaction
        except BaseException:
            connection.invalidate()
            connection.close()
            raise
        if not taken:
            connection.close()
            return False
        self.connection = connection
        return True

    def _release(self) -> None:
        """Close the lease's own connection (never back into the pool): the lock goes with it."""
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.invalidate()
                connection.close()
            except Exception:
                log.debug("closing the scheduler lease's connection failed", exc_info=True)


def _combined(reports: list[RunReport]) -> RunReport:
    """The figures of several workspaces' runs, added up job by job."""
    total = RunReport()
    for report in reports:
        for job, figures in report.jobs.items():
            into = total.job(job)
            for field in fields(figures):
                setattr(into, field.name, getattr(into, field.name) + getattr(figures, field.name))
    return total
