"""When a person may be messaged: their own zone, working days, quiet hours, leave, DST; and
which items a digest carries (ranking, back-off)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from coaching import schedule
from coaching.messages import Msg
from coaching.model import Person, Role
from coaching.nudges import STAKE, Nudge, NudgeKind
from coaching.schedule import Schedule, backoff_allows, choose, digest_due, parse_days, parse_hours

PLAN = Schedule()
UTC = timezone.utc


def person(tz: str = "UTC", role: Role = Role.REP, on_leave: bool = False) -> Person:
    return Person(1, "acme", "a@x", "A", role, (1,), timezone=tz, on_leave=on_leave)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# 2026-11-20 is a Friday; 2026-11-23 a Monday.
@pytest.mark.parametrize("tz, moment, expected", [
    ("Asia/Tokyo", "2026-11-20T00:00", date(2026, 11, 20)),   # 09:00 in Tokyo
    ("Asia/Tokyo", "2026-11-19T23:59", None),                 # 08:59 in Tokyo
    ("Asia/Tokyo", "2026-11-20T10:59", date(2026, 11, 20)),   # 19:59: still before quiet hours
    ("Asia/Tokyo", "2026-11-20T11:00", None),                 # 20:00: quiet
    ("Europe/London", "2026-11-20T09:00", date(2026, 11, 20)),
    ("Europe/London", "2026-11-20T08:59", None),
    ("America/New_York", "2026-11-20T14:00", date(2026, 11, 20)),  # 09:00 EST
    ("America/New_York", "2026-11-20T13:59", None),
    ("America/New_York", "2026-11-21T14:00", None),           # Saturday
    ("Asia/Tokyo", "2026-11-22T23:30", None),                 # Monday 08:30: past quiet hours, before nine
    ("Asia/Tokyo", "2026-11-23T00:00", date(2026, 11, 23)),   # Monday 09:00
])
def test_digest_is_due_from_nine_in_the_reps_own_zone(tz, moment, expected):
    assert digest_due(person(tz), at(moment), PLAN) == expected


def test_the_date_is_the_reps_local_date_not_utcs():
    # 00:30 UTC on Friday is Friday 09:30 in Tokyo but Thursday 19:30 in New York (too late)
    assert digest_due(person("Asia/Tokyo"), at("2026-11-20T00:30"), PLAN) == date(2026, 11, 20)
    assert digest_due(person("America/New_York"), at("2026-11-20T00:30"), PLAN) == date(2026, 11, 19)
    assert digest_due(person("America/New_York"), at("2026-11-20T01:00"), PLAN) is None  # 20:00: quiet


def test_daylight_saving_moves_the_utc_hour_not_the_local_one():
    ny = person("America/New_York")
    # US clocks went back on Sunday 2026-11-01: 09:00 was 13:00 UTC on Friday 30 Oct, 14:00 UTC on Monday 2 Nov
    assert schedule.digest_moment(ny, date(2026, 10, 30), PLAN).astimezone(UTC).hour == 13
    assert schedule.digest_moment(ny, date(2026, 11, 2), PLAN).astimezone(UTC).hour == 14
    assert digest_due(ny, at("2026-10-30T13:00"), PLAN) == date(2026, 10, 30)
    assert digest_due(ny, at("2026-11-02T13:00"), PLAN) is None  # 08:00 EST
    assert digest_due(ny, at("2026-11-02T14:00"), PLAN) == date(2026, 11, 2)
    london = person("Europe/London")  # UK clocks went back on 2026-10-25
    assert schedule.digest_moment(london, date(2026, 10, 23), PLAN).astimezone(UTC).hour == 8
    assert schedule.digest_moment(london, date(2026, 10, 26), PLAN).astimezone(UTC).hour == 9


def test_first_due_moment_per_day_walking_an_hourly_clock_across_dst():
    ny, seen = person("America/New_York"), {}
    moment = at("2026-10-29T00:00")
    while moment < at("2026-11-04T00:00"):
        day = digest_due(ny, moment, PLAN)
        if day is not None and day not in seen:
            seen[day] = moment.hour
        moment += timedelta(hours=1)
    assert seen == {date(2026, 10, 29): 13, date(2026, 10, 30): 13, date(2026, 11, 2): 14, date(2026, 11, 3): 14}


def test_leave_weekends_and_custom_working_days():
    assert digest_due(person("Asia/Tokyo", on_leave=True), at("2026-11-20T01:00"), PLAN) is None
    sun_thu = Schedule(working_days=parse_days("sun-thu"))
    assert digest_due(person("Asia/Dubai"), at("2026-11-22T06:00"), sun_thu) == date(2026, 11, 22)  # Sunday
    assert digest_due(person("Asia/Dubai"), at("2026-11-20T06:00"), sun_thu) is None  # Friday


def test_unknown_zone_falls_back_to_utc():
    assert digest_due(person("Mars/Olympus"), at("2026-11-20T09:00"), PLAN) == date(2026, 11, 20)


def test_weekly_is_for_managers_on_the_weekly_day():
    manager = person("Asia/Tokyo", Role.MANAGER)
    assert schedule.weekly_due(manager, at("2026-11-23T00:30"), PLAN) == date(2026, 11, 23)
    assert schedule.weekly_due(manager, at("2026-11-24T00:30"), PLAN) is None
    assert schedule.weekly_due(person("Asia/Tokyo"), at("2026-11-23T00:30"), PLAN) is None


@pytest.mark.parametrize("due, reminded", [
    (date(2026, 11, 24), date(2026, 11, 23)),  # Tuesday -> Monday
    (date(2026, 11, 23), date(2026, 11, 20)),  # Monday -> Friday
    (date(2026, 11, 22), date(2026, 11, 20)),  # Sunday -> Friday
    (date(2026, 11, 21), date(2026, 11, 20)),  # Saturday -> Friday
])
def test_reminders_go_on_the_last_working_day_before(due, reminded):
    assert schedule.reminder_day(due, PLAN) == reminded


def test_parsing_days_and_hours():
    assert parse_days("mon-fri") == frozenset(range(5))
    assert parse_days("fri-mon") == frozenset({4, 5, 6, 0})
    assert parse_days("mon, wed") == frozenset({0, 2})
    assert parse_hours("20:00-08:00") == (time(20), time(8))
    assert parse_hours("none") == (None, None)
    for bad in ("mo-fr", ""):
        with pytest.raises(ValueError):
            parse_days(bad)
    with pytest.raises(ValueError):
        parse_hours("8pm")


def test_quiet_hours_may_wrap_midnight_or_not():
    assert PLAN.quiet(time(23)) and PLAN.quiet(time(7, 59)) and not PLAN.quiet(time(8))
    lunch = Schedule(quiet_start=time(12), quiet_end=time(13))
    assert lunch.quiet(time(12, 30)) and not lunch.quiet(time(13)) and not lunch.quiet(time(23))
    assert not Schedule(quiet_start=None, quiet_end=None).quiet(time(3))


def test_a_schedule_that_could_never_send_is_refused():
    with pytest.raises(ValueError, match="digest time"):
        Schedule(digest_time=time(7))
    with pytest.raises(ValueError, match="reminder time"):
        Schedule(reminder_time=time(21))
    with pytest.raises(ValueError, match="working day"):
        Schedule(working_days=frozenset())


D = date(2026, 11, 20)


@pytest.mark.parametrize("sent, today, allowed", [
    ([], D, True),
    ([D], D, False),                                              # never twice a day
    ([D - timedelta(days=1)], D, False),
    ([D - timedelta(days=2)], D, False),
    ([D - timedelta(days=3)], D, True),                           # after 3 days
    ([D - timedelta(days=6), D - timedelta(days=3)], D, False),   # then weekly
    ([D - timedelta(days=10), D - timedelta(days=7)], D, True),
    ([D - timedelta(days=31)], D, True),                          # forgotten after a month
    ([D - timedelta(days=40), D - timedelta(days=35)], D, True),
])
def test_backoff(sent, today, allowed):
    assert backoff_allows(sent, today, PLAN) is allowed


def test_backoff_walk_sends_on_days_0_3_10_17():
    sent: list[date] = []
    for offset in range(20):
        day = D + timedelta(days=offset)
        if backoff_allows(sent, day, PLAN):
            sent.append(day)
    assert [(d - D).days for d in sent] == [0, 3, 10, 17]


def nudge(kind: NudgeKind, client: int, stake_extra: int = 0) -> Nudge:
    return Nudge(kind, 1, client, f"Client {client}", Msg("x"), Msg("y"),
                 f"client:{client}:{kind.value}", STAKE[kind] + stake_extra)


def test_choose_ranks_by_stake_caps_and_skips_what_backs_off():
    found = [nudge(NudgeKind.QUIET, 1), nudge(NudgeKind.PROMISE_OVERDUE, 2), nudge(NudgeKind.ASK_ONLY, 3),
             nudge(NudgeKind.PROBLEM_WAITING, 4), nudge(NudgeKind.QUIET, 5, stake_extra=12),
             nudge(NudgeKind.BUSY_LAPSE, 6), nudge(NudgeKind.AFTER_WIN, 7)]
    chosen = choose(found, {}, D, PLAN)
    # what is due first, then the win to follow through, then patterns: the two quiet clients are
    # one item (the high-trust one first), so five items carry six nudges
    assert [n.client_id for n in chosen] == [2, 4, 7, 5, 1, 3]
    backing_off = {("client:2:promise_overdue", "promise_overdue"): [D - timedelta(days=1)]}
    assert [n.client_id for n in choose(found, backing_off, D, PLAN)] == [4, 7, 5, 1, 3, 6]
    assert choose([], {}, D, PLAN) == []
    assert [n.client_id for n in choose(found, {}, D, Schedule(digest_size=2))] == [2, 4]


def test_a_promise_due_comes_before_any_pattern_whatever_the_stakes():
    found = [nudge(NudgeKind.ASK_ONLY, c, stake_extra=40) for c in range(1, 8)] + [
        nudge(NudgeKind.QUIET, 8, stake_extra=40), nudge(NudgeKind.PROMISE_DUE, 9, stake_extra=-30)]
    assert [n.client_id for n in choose(found, {}, D, PLAN)][:1] == [9]
    assert len(choose(found, {}, D, PLAN)) == 9  # three items: the promise, quiet, only asking


def test_team_timezone_is_the_managers_else_the_most_common():
    members = [person("Asia/Tokyo"), person("Asia/Tokyo"), person("Europe/London")]
    assert schedule.team_timezone(members) == "Asia/Tokyo"
    assert schedule.team_timezone(members + [person("Europe/London", Role.MANAGER)]) == "Europe/London"
    assert schedule.team_timezone([]) == "UTC"


def test_a_weekly_day_that_is_not_a_working_day_is_refused():
    with pytest.raises(ValueError, match="weekly digest's day"):
        Schedule(working_days=parse_days("tue-sat"))  # the weekly day is Monday by default
    assert Schedule(working_days=parse_days("tue-sat"), weekly_day=1).weekly_day == 1


@pytest.mark.parametrize("name", ["Asia", "Mars/Olympus", "x" * 300, "", "../etc"])
def test_a_zone_name_that_is_no_zone_falls_back_to_utc(name):
    assert str(schedule.zone(name)) == "UTC"
