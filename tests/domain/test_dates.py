"""Dates as reps say them, in English and Japanese, against a fixed "today"."""

from __future__ import annotations

from datetime import date

import pytest

from coaching.dates import find_date, parse_date

SUN = date(2026, 11, 22)  # a Sunday: the last day of a Monday-first week
WED = date(2026, 11, 25)


def test_the_fixed_days_are_what_the_tables_assume() -> None:
    assert (SUN.strftime("%A"), WED.strftime("%A")) == ("Sunday", "Wednesday")


# (text, answer on Sunday 11/22, answer on Wednesday 11/25)
FUTURE = [
    ("Friday", date(2026, 11, 27), date(2026, 11, 27)),
    ("fri", date(2026, 11, 27), date(2026, 11, 27)),
    ("FRIDAY", date(2026, 11, 27), date(2026, 11, 27)),
    ("Wednesday", date(2026, 11, 25), date(2026, 12, 2)),  # a bare weekday is never today
    ("next Friday", date(2026, 11, 27), date(2026, 12, 4)),  # Friday of next week
    ("tomorrow", date(2026, 11, 23), date(2026, 11, 26)),
    ("today", SUN, WED),
    ("明日", date(2026, 11, 23), date(2026, 11, 26)),
    ("明後日", date(2026, 11, 24), date(2026, 11, 27)),
    ("来週の月曜", date(2026, 11, 23), date(2026, 11, 30)),
    ("来週月曜日", date(2026, 11, 23), date(2026, 11, 30)),
    ("再来週の水曜", date(2026, 12, 2), date(2026, 12, 9)),
    ("金曜", date(2026, 11, 27), date(2026, 11, 27)),
    ("金曜日", date(2026, 11, 27), date(2026, 11, 27)),
    ("2026-12-01", date(2026, 12, 1), date(2026, 12, 1)),
    ("2026/12/01", date(2026, 12, 1), date(2026, 12, 1)),
    ("２０２６年１２月１日", date(2026, 12, 1), date(2026, 12, 1)),
    ("12/1", date(2026, 12, 1), date(2026, 12, 1)),
    ("12月1日", date(2026, 12, 1), date(2026, 12, 1)),
    ("１２／１", date(2026, 12, 1), date(2026, 12, 1)),
    ("1/15", date(2027, 1, 15), date(2027, 1, 15)),  # no year: the next one
    ("in 3 days", date(2026, 11, 25), date(2026, 11, 28)),
    ("in 1 day", date(2026, 11, 23), date(2026, 11, 26)),
    ("3日後", date(2026, 11, 25), date(2026, 11, 28)),
    ("in 2 weeks", date(2026, 12, 6), date(2026, 12, 9)),
    ("2週間後", date(2026, 12, 6), date(2026, 12, 9)),
    ("end of month", date(2026, 11, 30), date(2026, 11, 30)),
    ("end of the month", date(2026, 11, 30), date(2026, 11, 30)),
    ("月末", date(2026, 11, 30), date(2026, 11, 30)),
    ("by Friday", date(2026, 11, 27), date(2026, 11, 27)),
    ("金曜までに", date(2026, 11, 27), date(2026, 11, 27)),
    ("Friday.", date(2026, 11, 27), date(2026, 11, 27)),
]


@pytest.mark.parametrize("text, on_sunday, on_wednesday", FUTURE)
def test_parse_date(text, on_sunday, on_wednesday) -> None:
    assert (parse_date(text, SUN), parse_date(text, WED)) == (on_sunday, on_wednesday)


@pytest.mark.parametrize(
    "text, today, prefer, expected",
    [
        ("this Friday", WED, "future", date(2026, 11, 27)),
        ("今週金曜", WED, "future", date(2026, 11, 27)),
        ("this Monday", WED, "past", date(2026, 11, 23)),
        ("今週の月曜日", WED, "past", date(2026, 11, 23)),
        ("last Friday", WED, "past", date(2026, 11, 20)),
        ("先週の金曜", SUN, "past", date(2026, 11, 13)),
    ],
)
def test_this_and_last_week(text, today, prefer, expected) -> None:
    assert parse_date(text, today, prefer=prefer) == expected


@pytest.mark.parametrize(
    "text", ["hello", "", "   ", "13/45", "2026-02-30", "Friday afternoon meeting", "friends", "in three days"]
)
def test_not_a_date(text) -> None:
    assert parse_date(text, SUN) is None
    assert parse_date(text, WED, prefer="past") is None


@pytest.mark.parametrize(
    "text, today, future, past",
    [
        ("Tuesday", SUN, date(2026, 11, 24), date(2026, 11, 17)),
        ("Tuesday", WED, date(2026, 12, 1), date(2026, 11, 24)),
        ("火曜", WED, date(2026, 12, 1), date(2026, 11, 24)),
        ("11/20", SUN, date(2026, 11, 20), date(2026, 11, 20)),  # within a week: no year jump
        ("11/1", SUN, date(2027, 11, 1), date(2026, 11, 1)),
        ("12/1", SUN, date(2026, 12, 1), date(2025, 12, 1)),
        ("yesterday", WED, date(2026, 11, 24), date(2026, 11, 24)),
        ("昨日", WED, date(2026, 11, 24), date(2026, 11, 24)),
    ],
)
def test_prefer_past_for_when_a_touch_happened(text, today, future, past) -> None:
    assert (parse_date(text, today), parse_date(text, today, prefer="past")) == (future, past)


@pytest.mark.parametrize("text", ["this Friday", "今週金曜"])
def test_this_weekday_on_a_sunday_is_the_coming_one(text) -> None:
    assert parse_date(text, SUN) == date(2026, 11, 27)


# --- finding a date inside a sentence --------------------------------------------------------

@pytest.mark.parametrize(
    "text, today, found, rest",
    [
        ("send revised quote by Friday", SUN, date(2026, 11, 27), "send revised quote"),
        ("Send the Deck on 12/1 to Bob", SUN, date(2026, 12, 1), "Send the Deck to Bob"),
        ("call back tomorrow", WED, date(2026, 11, 26), "call back"),
        ("Intro to their CFO before next Friday", WED, date(2026, 12, 4), "Intro to their CFO"),
        ("来週月曜までに見積もり再提出", SUN, date(2026, 11, 23), "見積もり再提出"),
        ("明日までに資料送付", WED, date(2026, 11, 26), "資料送付"),
        ("３日後に電話", WED, date(2026, 11, 28), "電話"),
        ("send revised quote", SUN, None, "send revised quote"),
        ("  見積もり再提出 ", SUN, None, "見積もり再提出"),
        ("", SUN, None, ""),
    ],
)
def test_find_date(text, today, found, rest) -> None:
    assert find_date(text, today) == (found, rest)


@pytest.mark.parametrize(
    "text, found, rest",
    [
        ("見積もりを金曜日までに送る", date(2026, 11, 27), "見積もりを送る"),
        ("Intro to their CFO before next Friday, please", date(2026, 12, 4), "Intro to their CFO, please"),
    ],
)
def test_find_date_joins_the_rest_without_a_stray_space(text, found, rest) -> None:
    assert find_date(text, WED) == (found, rest)


@pytest.mark.parametrize(
    "text, prefer, expected",
    [
        ("tmrw", "future", date(2026, 11, 23)),
        ("the day before yesterday", "past", date(2026, 11, 20)),
        ("day before yesterday", "past", date(2026, 11, 20)),  # not "yesterday"
        ("一昨日", "past", date(2026, 11, 20)),  # not 昨日
        ("おととい", "past", date(2026, 11, 20)),
    ],
)
def test_shorthand_and_two_days_back(text, prefer, expected) -> None:
    assert parse_date(text, SUN, prefer=prefer) == expected
    assert find_date(f"met them {text}", SUN, prefer=prefer) == (expected, "met them")


# (text, answer on Sunday 11/22, answer on Wednesday 11/25)
MONTHS_AND_WITHIN = [
    ("Dec 1", date(2026, 12, 1), date(2026, 12, 1)),
    ("by Dec. 1st", date(2026, 12, 1), date(2026, 12, 1)),
    ("December 1", date(2026, 12, 1), date(2026, 12, 1)),
    ("1st of December", date(2026, 12, 1), date(2026, 12, 1)),
    ("jan 15", date(2027, 1, 15), date(2027, 1, 15)),
    ("今週中", SUN, date(2026, 11, 27)),  # within this week: its Friday, or today once that has passed
    ("来週中に", date(2026, 11, 27), date(2026, 12, 4)),  # within next week: by its Friday, not its Monday
    ("end of next week", date(2026, 11, 27), date(2026, 12, 4)),
    ("今月中", date(2026, 11, 30), date(2026, 11, 30)),
]


@pytest.mark.parametrize("text, on_sunday, on_wednesday", MONTHS_AND_WITHIN)
def test_month_names_and_within_a_period(text, on_sunday, on_wednesday) -> None:
    assert (parse_date(text, SUN), parse_date(text, WED)) == (on_sunday, on_wednesday)


@pytest.mark.parametrize("text", ["march", "may the deal close", "we may 2x the order"])
def test_a_month_word_alone_is_not_a_date(text) -> None:
    assert parse_date(text, SUN) is None and find_date(text, SUN)[0] is None
