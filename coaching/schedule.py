"""When the coach may speak to someone, and what it has already said: pure rules over a moment.

Everything here takes the current moment (an aware ``datetime``) and a person's time zone, so a
test can move a clock across days, zones and daylight-saving changes. Nothing reads a clock.

* A rep's **digest** is due on a working day once their local time reaches ``digest_time``,
  outside quiet hours; a service that was down catches up once (the day's digest, never the
  days it missed, because only today's local date is ever planned).
* A **promise reminder** goes out on the last working day before the promise is due, from
  ``reminder_time``.
* The **end-of-day check-in** asks a rep about the day's touches on a working day from
  ``checkin_time`` (``None``: never), outside quiet hours.
* The **weekly** manager digest is due on ``weekly_day`` from ``digest_time``.
* The same unresolved item is not repeated every day: after it was sent once it waits
  ``backoff_first`` days, after that ``backoff_then`` days (see :func:`backoff_allows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from coaching.model import Person, Role
from coaching import digest_items
from coaching.nudges import Nudge

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Schedule:
    digest_time: time = time(9, 0)
    reminder_time: time = time(16, 0)
    checkin_time: time | None = time(17, 30)  # the end-of-day check-in; None switches it off
    working_days: frozenset[int] = frozenset(range(5))  # Monday = 0
    quiet_start: time | None = time(20, 0)  # no messages from here...
    quiet_end: time | None = time(8, 0)  # ...until here (may wrap past midnight)
    digest_size: int = 5
    weekly_day: int = 0  # Monday
    backoff_first: int = 3  # days before an item sent once comes back
    backoff_then: int = 7  # days between later repeats
    backoff_memory_days: int = 30  # sends older than this are forgotten: the item starts afresh
    lease_minutes: int = 10  # a delivery "sending" longer than this was interrupted
    max_attempts: int = 3  # a failed delivery is retried the same day up to this many times

    def __post_init__(self) -> None:
        if not self.working_days:
            raise ValueError("at least one working day is needed")
        if self.digest_size < 1:
            raise ValueError("the digest needs room for at least one item")
        if self.quiet(self.digest_time):
            raise ValueError("the digest time falls in the quiet hours")
        if self.quiet(self.reminder_time):
            raise ValueError("the reminder time falls in the quiet hours")
        if self.checkin_time is not None and self.quiet(self.checkin_time):
            raise ValueError("the check-in time falls in the quiet hours")
        if self.weekly_day not in self.working_days:
            raise ValueError("the weekly digest's day is not a working day")

    def quiet(self, moment: time) -> bool:
        """Whether a local wall-clock time is within the quiet hours."""
        start, end = self.quiet_start, self.quiet_end
        if start is None or end is None or start == end:
            return False
        if start < end:
            return start <= moment < end
        return moment >= start or moment < end  # e.g. 20:00-08:00 wraps midnight


def parse_days(text: str) -> frozenset[int]:
    """``mon-fri``, ``mon,wed,fri``, ``sun-thu`` -> weekday numbers (Monday = 0)."""
    days: set[int] = set()
    for part in (p.strip().lower() for p in text.split(",") if p.strip()):
        first, _, last = part.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValueError(f"unknown day {part!r}: use mon, tue, wed, thu, fri, sat, sun")
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        days.update(WEEKDAYS.index(WEEKDAYS[(a + i) % 7]) for i in range((b - a) % 7 + 1))
    if not days:
        raise ValueError("no days given")
    return frozenset(days)


def parse_hours(text: str) -> tuple[time | None, time | None]:
    """``20:00-08:00`` -> (20:00, 08:00); ``none`` or empty -> no quiet hours."""
    if text.strip().lower() in ("", "none", "off"):
        return None, None
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"quiet hours look like 20:00-08:00, not {text!r}")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def zone(name: str) -> ZoneInfo:
    """The person's time zone; an unknown name falls back to UTC rather than failing a run."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Asia" is a directory; absurd lengths
        return ZoneInfo("UTC")


def local(person: Person, now: datetime) -> datetime:
    return now.astimezone(zone(person.timezone))


def _open(person: Person, now: datetime, schedule: Schedule, start: time) -> date | None:
    """The person's local date if they may be messaged now for something due from ``start``."""
    if person.on_leave or not person.active:  # on leave, or deactivated (they left)
        return None
    here = local(person, now)
    if here.weekday() not in schedule.working_days or schedule.quiet(here.time()):
        return None
    return here.date() if here.time() >= start else None


def digest_due(person: Person, now: datetime, schedule: Schedule) -> date | None:
    """The local date whose digest this person should get now, or ``None``."""
    return _open(person, now, schedule, schedule.digest_time)


def reminder_due(person: Person, now: datetime, schedule: Schedule) -> date | None:
    return _open(person, now, schedule, schedule.reminder_time)


def checkin_due(person: Person, now: datetime, schedule: Schedule) -> date | None:
    """The local date whose end-of-day check-in this rep should get now, or ``None``."""
    if schedule.checkin_time is None or person.role is not Role.REP:
        return None
    return _open(person, now, schedule, schedule.checkin_time)


def weekly_due(person: Person, now: datetime, schedule: Schedule) -> date | None:
    if not person.is_manager:
        return None
    day = _open(person, now, schedule, schedule.digest_time)
    return day if day is not None and day.weekday() == schedule.weekly_day else None


def reminder_day(due_on: date, schedule: Schedule) -> date:
    """The last working day before ``due_on``: a promise due Monday is recalled on Friday."""
    day = due_on - timedelta(days=1)
    while day.weekday() not in schedule.working_days:
        day -= timedelta(days=1)
    return day


def digest_moment(person: Person, day: date, schedule: Schedule) -> datetime:
    """When (an aware datetime) the person's digest for ``day`` becomes due."""
    return datetime.combine(day, schedule.digest_time, tzinfo=zone(person.timezone))


def backoff_allows(sent_on: Iterable[date], today: date, schedule: Schedule) -> bool:
    """Whether an unresolved item may be sent again today, given the days it was sent.

    Never sent (within ``backoff_memory_days``): yes. Sent once: after ``backoff_first`` days.
    Sent twice or more: ``backoff_then`` days after the last time.
    """
    if not sent_on:  # most items of a digest: never sent
        return True
    window_start = today - timedelta(days=schedule.backoff_memory_days)
    prior = sorted({d for d in sent_on if window_start <= d < today})
    if today in set(sent_on):
        return False
    if not prior:
        return True
    wait = schedule.backoff_first if len(prior) == 1 else schedule.backoff_then
    return (today - prior[-1]).days >= wait


def fresh(
    nudges: Iterable[Nudge], sent: Mapping[tuple[str, str], Sequence[date]], today: date, schedule: Schedule,
) -> list[Nudge]:
    """The nudges not backing off today. ``sent`` maps (subject, kind) to the days that item was
    already sent to this rep; a subject carries its episode (the last touch, the setback's day),
    so an item that changed comes back at once, and one that did not waits."""
    return [n for n in nudges if backoff_allows(sent.get((n.subject, n.kind.value), ()), today, schedule)]


def choose(
    nudges: Iterable[Nudge], sent: Mapping[tuple[str, str], Sequence[date]], today: date, schedule: Schedule,
) -> list[Nudge]:
    """The nudges a digest carries today: those not backing off, in at most ``digest_size``
    items (:func:`coaching.digest_items.select`: what is due first, a pattern as one item)."""
    return digest_items.select(fresh(nudges, sent, today, schedule), schedule.digest_size)


def team_timezone(members: Sequence[Person]) -> str:
    """Where a team's morning is: its manager's zone, else the zone most of its members share."""
    managers = [p.timezone for p in members if p.role is Role.MANAGER]
    if managers:
        return sorted(managers)[0]
    zones = [p.timezone for p in members] or ["UTC"]
    return max(sorted(set(zones)), key=zones.count)
