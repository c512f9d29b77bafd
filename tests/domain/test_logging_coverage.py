"""Logging coverage (team health) and the digest's logging-lapse line: pure functions."""

from __future__ import annotations

from datetime import date, timedelta

from coaching import digest, metrics
from bot.catalog import Catalog
from coaching.model import Person, Purpose, Role
from coaching.nudges import Nudge, NudgeKind
from coaching.messages import msg
from coaching.records import TouchRow

MONDAY = date(2026, 11, 2)
FRIDAY = MONDAY + timedelta(days=18)  # three weeks: 15 working days


def touch(rep: int, on: date, source: str = "command") -> TouchRow:
    return TouchRow(rep, 1, on, Purpose.GIVE, source)


def test_most_working_days_means_more_than_half_of_them():
    days = [MONDAY + timedelta(days=k) for k in range(19) if (MONDAY + timedelta(days=k)).weekday() < 5]
    assert len(days) == 15
    rows = [touch(1, d) for d in days[:8]]  # 8 of 15: most
    rows += [touch(2, d) for d in days[:7]]  # 7 of 15: not most
    rows += [touch(2, d) for d in days[:7]]  # a second touch the same day counts once
    rows += [touch(3, MONDAY + timedelta(days=5), "checkin")]  # a Saturday: not a working day
    cover = metrics.logging_coverage(rows, [1, 2, 3, 4], MONDAY, FRIDAY)
    assert (cover.working_days, cover.reps, cover.reps_logging) == (15, 4, 1)
    assert cover.days_logged == {1: 8, 2: 7, 3: 0, 4: 0}
    assert cover.logs_most_days(1) and not cover.logs_most_days(2)


def test_touches_are_counted_by_the_way_they_were_logged():
    rows = [touch(1, MONDAY, s) for s in ("checkin", "checkin", "command", "form", "shortcut", "channel",
                                           "import", "demo")]
    rows += [touch(9, MONDAY, "checkin"), touch(1, MONDAY - timedelta(days=1), "checkin")]  # not in scope
    cover = metrics.logging_coverage(rows, [1], MONDAY, FRIDAY)
    assert cover.by_way == {"tap": 2, "command": 2, "shortcut": 1, "channel": 1, "other": 2}


def test_working_days_follow_the_schedule():
    sun_thu = frozenset({6, 0, 1, 2, 3})
    assert metrics.logging_coverage([], [1], MONDAY, MONDAY + timedelta(days=6), sun_thu).working_days == 5
    assert metrics.working_days_since(date(2026, 11, 20), date(2026, 11, 25)) == 2  # Mon, Tue (not Fri, Wed)
    assert metrics.working_days_since(date(2026, 11, 24), date(2026, 11, 25)) == 0
    assert metrics.logging_coverage([], [], MONDAY, MONDAY).reps_logging == 0


def test_the_digest_says_when_logging_itself_has_lapsed():
    rep = Person(1, "ws", "a@x", "Alice", Role.REP, (1,))
    quiet = Nudge(NudgeKind.QUIET, 1, 4, "Acme", msg("nudge.quiet.reason.1", days=40, cadence=14),
                  msg("nudge.quiet.next.1"), "client:4:quiet", 3, facts={})
    catalog = Catalog("en")
    plain = digest.digest(rep, [quiet])
    lapsed = digest.digest(rep, [quiet], lapsed_since=date(2026, 11, 16))
    assert len(lapsed.lines) == len(plain.lines) + 1
    said = catalog.render(lapsed.lines[1], "en")
    assert "You haven't logged a touch since Mon, 16 Nov 2026" in said and "unlogged rather than quiet" in said
    assert "記録されていないだけ" in Catalog("ja").render(lapsed.lines[1], "ja")
    assert lapsed.line_choices[:2] == (0, 0)  # the header lines carry no buttons
