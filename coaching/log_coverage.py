"""Logging coverage: how completely reps log their touches, so a quiet client can be told from an
unlogged one. Pure functions over the touches passed in; nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable

from coaching.records import TouchRow

LOGGING_MOST_DAYS = 0.5  # "logged on most working days": on more than half of them
WAYS = ("tap", "command", "shortcut", "channel", "other")
_WAY_OF_SOURCE = {"checkin": "tap", "command": "command", "form": "command", "shortcut": "shortcut",
                  "channel": "channel"}


@dataclass(frozen=True)
class Logging:
    """How completely touches are logged, so a quiet client can be told from an unlogged one.

    * **working_days** -- the days in ``start..end`` that are working days.
    * **days_logged** -- per rep, the working days with at least one touch (any way) dated on them.
    * **reps_logging** -- reps whose ``days_logged / working_days`` is more than
      ``LOGGING_MOST_DAYS`` (half): they logged on most working days.
    * **by_way** -- touches in the period by how they were logged: ``tap`` (the end-of-day
      check-in), ``command`` (/logmeeting and the Slack form), ``shortcut`` (a message logged with
      the Slack shortcut or the Teams message action), ``channel`` (captured from an opted-in
      client channel), ``other`` (imports, demo data). Every key is always present.
    """

    working_days: int
    days_logged: dict[int, int]  # every rep counted, 0 for none
    by_way: dict[str, int]

    @property
    def reps(self) -> int:
        return len(self.days_logged)

    @property
    def reps_logging(self) -> int:
        return sum(self.logs_most_days(rep) for rep in self.days_logged)

    def logs_most_days(self, rep_id: int) -> bool:
        return self.working_days > 0 and self.days_logged.get(rep_id, 0) / self.working_days > LOGGING_MOST_DAYS


def logging_coverage(touches: Iterable[TouchRow], rep_ids: Iterable[int], start: date, end: date,
                     working_days: frozenset[int] = frozenset(range(5))) -> Logging:
    """Logging coverage of ``rep_ids`` over ``start..end`` from the touches passed in (touches of
    other people or outside the period are ignored)."""
    reps = sorted(set(rep_ids))
    days: dict[int, set[date]] = {rep: set() for rep in reps}
    by_way = dict.fromkeys(WAYS, 0)
    for touch in touches:
        if touch.rep_id not in days or not start <= touch.on <= end:
            continue
        by_way[_WAY_OF_SOURCE.get(touch.source, "other")] += 1
        if touch.on.weekday() in working_days:
            days[touch.rep_id].add(touch.on)
    working = sum((start + timedelta(days=k)).weekday() in working_days for k in range((end - start).days + 1))
    return Logging(working, {rep: len(d) for rep, d in days.items()}, by_way)


def working_days_since(last: date, today: date, working_days: frozenset[int] = frozenset(range(5))) -> int:
    """Working days after ``last`` and before ``today`` (the days a rep could have logged on)."""
    return sum((last + timedelta(days=k)).weekday() in working_days for k in range(1, (today - last).days))
