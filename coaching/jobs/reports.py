"""The jobs' names and what a run reports: shared by every part of :mod:`coaching.jobs`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from coaching import checkin
from coaching.records import Delivery

# one logger for the whole package, named as it was before the package was split by role
log = logging.getLogger("coaching.jobs")

DIGEST, REMINDER, WEEKLY, TEAM, UPKEEP = "digest", "reminder", "weekly", "team", "upkeep"
HELD = "held_back"  # nudges held back to measure the coach (recorded as skipped, never sent)
CHECKIN = checkin.JOB
JOBS = (DIGEST, REMINDER, WEEKLY, TEAM, UPKEEP, CHECKIN)
UNREACHABLE = "unreachable"
LOOK_UP_DAYS = timedelta(days=2)  # how long an interrupted message is still looked up
LOOK_UP_GRACE = timedelta(minutes=2)  # a message is looked up only once its send is this old


def delivery_key(workspace_id: str, delivery: Delivery) -> str:
    """What a platform's copy of a message is known by: the same for every attempt."""
    return f"{workspace_id}:{delivery.id}"


@dataclass
class JobReport:
    sent: int = 0
    failed: int = 0
    skipped: int = 0  # nothing to say that day (recorded, so it is not worked out again)
    retried: int = 0
    interrupted: int = 0
    already: int = 0  # due, but recorded by an earlier run (or another replica)
    confirmed: int = 0  # interrupted earlier, found on the platform now (counted in ``sent`` too)


@dataclass
class RunReport:
    jobs: dict[str, JobReport] = field(default_factory=dict)

    def job(self, name: str) -> JobReport:
        return self.jobs.setdefault(name, JobReport())

    @property
    def sent(self) -> int:
        """Messages sent (the upkeep is bookkeeping, not a message)."""
        return sum(j.sent for name, j in self.jobs.items() if name != UPKEEP)

    @property
    def failed(self) -> int:
        return sum(j.failed for j in self.jobs.values())
