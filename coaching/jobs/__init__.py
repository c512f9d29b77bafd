"""The scheduler's jobs: who gets what, now, exactly once.

Every job works the same way, so that a crash, a restart or a second replica never sends
anything twice:

1. decide who is due now (``coaching.schedule``: their own time zone, working days, quiet
   hours, leave), leaving out whoever already has a record for their local date;
2. for each recipient, in one transaction under a lock named after the job, the recipient and
   the date (PostgreSQL advisory lock; replicas take turns): record the message and its items
   (unique per job, recipient and local date; items unique per rep, subject, kind and date) and
   claim it (``sending``), then commit;
3. send outside any transaction, then record ``sent`` (with the channel) or ``failed`` (with
   the reason).

A send whose outcome is unknown (the platform answered 5xx, the connection dropped, or the run
stopped between 2 and 3 and its lease ran out) is recorded ``failed`` with reason
``interrupted`` (and the platform it may have reached, when known), and is never simply sent
again. When the notifier can look a message up (``Traceable``: every message carries its
delivery's key), a later run asks: found, it is recorded ``sent``; certainly absent, it is
recorded ``not_received`` and sent again that day (late rather than twice); when the platform
cannot tell, it stays interrupted (at most once). Failed messages are retried the same local
day, up to ``max_attempts``. Missed days are never replayed: only each person's current local
date is planned, so a service back after a weekend sends today's digest once.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime, timedelta
from typing import Iterable

from coaching import access, daily, health, privacy
from coaching.access import CoachError
from coaching.model import Role, Team
from coaching.records import SENT

from coaching.jobs.digests import Digests
from coaching.jobs.overviews import Overviews
from coaching.jobs.recovery import Recovery
from coaching.jobs.reminders import Reminders, _promise_nudge
from coaching.jobs.reports import (
    CHECKIN,
    DIGEST,
    JOBS,
    LOOK_UP_DAYS,
    LOOK_UP_GRACE,
    REMINDER,
    TEAM,
    UNREACHABLE,
    UPKEEP,
    WEEKLY,
    JobReport,
    RunReport,
    delivery_key,
    log,
)
from coaching.jobs.retry import Retries
from coaching.jobs.sending import Sending, _item

__all__ = [
    "CHECKIN", "DIGEST", "JOBS", "LOOK_UP_DAYS", "LOOK_UP_GRACE", "REMINDER", "TEAM", "UNREACHABLE", "UPKEEP",
    "WEEKLY", "Digests", "JobReport", "Overviews", "Recovery", "Reminders", "Retries", "RunReport",
    "ScheduledJobs", "Sending", "delivery_key",
]


class ScheduledJobs(Retries, Reminders, Recovery):
    """Runs the jobs of one workspace. ``clock`` stamps claims and results (a run can be long);
    the moment a run decides for is the ``now`` it is given.

    Each job lives in the module of its role (:mod:`.digests`, :mod:`.reminders`,
    :mod:`.overviews`, :mod:`.recovery`, :mod:`.retry`), on the steps they share
    (:mod:`.sending`); this class puts them together and runs a whole cycle."""

    # --- the whole cycle ----------------------------------------------------------------------

    def run(self, workspace_id: str, now: datetime, jobs: Iterable[str] = JOBS) -> RunReport:
        """Everything due at ``now``: what a scheduler tick (or ``coach scheduler --once``) does."""
        report = RunReport()
        wanted = set(jobs)
        started = self.clock()
        self.recover(workspace_id, report)
        # a message whose send ended less than a grace ago may still be landing on the platform
        # (another replica's timeout, a crash just now): looking now could miss it and send twice
        grace = min(LOOK_UP_GRACE, timedelta(minutes=self.plan.lease_minutes))  # a lease of 0: at once
        self.resolve(workspace_id, report, wanted, claimed_before=started - grace)
        if UPKEEP in wanted:
            self.upkeep(workspace_id, now.date(), report)
        if DIGEST in wanted:
            self.digests(workspace_id, now, report=report)
        if REMINDER in wanted:
            self.reminders(workspace_id, now, report)
        if WEEKLY in wanted:
            self.weekly(workspace_id, now, report)
        if TEAM in wanted:
            self.team_digests(workspace_id, now, report)
        if CHECKIN in wanted:
            self.checkins(workspace_id, now, report)
        self.retry(workspace_id, now, report, wanted, failed_before=started)
        return report

    # --- daily upkeep: what time alone earns ----------------------------------------------------

    def upkeep(self, workspace_id: str, day: date, report: RunReport) -> None:
        """Silence, overdue promises, waiting problems: booked once per UTC day, first in a cycle;
        and, with a retention period, note text older than it blanked (:mod:`coaching.privacy`)."""
        with self.uow_factory() as uow:
            uow.lock(f"{UPKEEP}:{workspace_id}:{day.isoformat()}")
            if ("workspace", day) in uow.deliveries.recorded(workspace_id, UPKEEP, [day]):
                return
            result = daily.apply_daily_rules(uow, workspace_id, day, self.rules)
            blanked = privacy.apply_retention(uow, workspace_id, day, self.note_retention_days, self.clock(), UPKEEP)
            uow.deliveries.plan(workspace_id, UPKEEP, "workspace", None, day, (), self.clock(), status=SENT)
            uow.commit()
        log.info("daily upkeep for %s: %s; note text blanked: %s", day, result, blanked.rows if blanked else {})
        report.job(UPKEEP).sent += 1
        kept = self.keep_quiet_days(workspace_id, day)
        log.info("quiet days kept for %s clients", kept)
        self.prepare_reports(workspace_id, day)

    def keep_quiet_days(self, workspace_id: str, day: date) -> int:
        """The days from ``day`` on which each client with nothing open raises no nudge, worked
        out again where a write cleared them or they run out, a transaction per few thousand
        clients: the nudge runs of those days leave these clients unread."""
        after: int | None = 0
        kept = 0
        while after is not None:
            with self.uow_factory() as uow:
                after, given = uow.histories.keep_quiet_days(workspace_id, day, self.rules.nudging, after)
                uow.commit()
            kept += given
        return kept

    def prepare_reports(self, workspace_id: str, day: date) -> None:
        """Keep the past days the day's team reports read (:mod:`coaching.snapshots`): for each
        team, and for each set of teams a manager or an admin asks about, one transaction each."""
        with self.uow_factory() as uow:
            sets: dict[tuple[int, ...], list[Team]] = {(t.id,): [t] for t in uow.teams.list(workspace_id)}
            for person in uow.people.list(workspace_id):
                if person.role is not Role.REP:
                    with suppress(CoachError):
                        teams = access.teams_for_health(uow, person, None)
                        sets.setdefault(tuple(sorted(t.id for t in teams)), teams)
        for teams in sets.values():
            with self.uow_factory() as uow:
                health.prepare(uow, workspace_id, teams, day, self.rules)
                uow.commit()
