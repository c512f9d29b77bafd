"""Dates in both languages: any text never raises; a date the coach printed reads back as the
same date; relative words land where they should, from any 'today' (year ends, leap days)."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from coaching.dates import find_date, parse_date
from bot.catalog import Catalog
from coaching.messages import msg

CATALOG = Catalog()
EDGES = [date(y, m, d) for y in (2023, 2024, 2025, 2027, 2028, 2099, 2100)
         for m, d in ((12, 31), (1, 1), (2, 28), (2, 29), (3, 1), (12, 25)) if calendar.isleap(y) or (m, d) != (2, 29)]
todays = st.one_of(st.dates(date(2000, 1, 1), date(2100, 12, 31)), st.sampled_from(EDGES))
days = st.dates(date(1990, 1, 1), date(2110, 12, 31))
TOKENS = ["today", "tomorrow", "yesterday", "next", "this", "last", "week", "month", "end of", "in", "days", "weeks",
          "by", "on", "until", "friday", "fri", "sat", "sun", "wed", "jan", "february", "sept", "dec", "of", "st", "th",
          "明日", "今日", "昨日", "来週", "今週", "先週", "再来週", "の", "月", "火", "金", "曜", "曜日", "日", "年", "日後",
          "週間後", "月末", "までに", "まで", "中", "/", "-", ".", "年", "0", "1", "2", "9", "12", "29", "31", "99", "999",
          "2026", "0000", "9999", "99999", "１２", "２９", "(", ")", "(金)", " ", ",", "、", "。", ":", "\n", "\x00"]
texts = st.one_of(st.text(max_size=60), st.lists(st.sampled_from(TOKENS), max_size=10).map("".join),
                  st.lists(st.sampled_from(TOKENS), max_size=10).map(" ".join))
PREFER = st.sampled_from(["future", "past"])


PRINTED = re.compile(r"[A-Z][a-z]{2},? \d{1,2} [A-Z][a-z]{2,3}(?: \d{4})?|(?:\d{4}年)?\d{1,2}月\d{1,2}日\(.\)")


def shown(day: date, language: str, today: date | None = None) -> str:
    """A date as the coach writes it in a message to a reader whose today is ``today`` (“Fri 27
    Nov”, “11月27日(金)” near it; “Fri, 27 Nov 2026”, “2026年11月27日(金)” far from it or
    when the renderer has no today)."""
    catalog = Catalog(today=(lambda: today) if today else None)
    return PRINTED.search(catalog.render(msg("log.retry.due_past", due=day), language))[0]


def test_the_coach_writes_dates_as_expected() -> None:
    friday = date(2026, 11, 27)
    assert (shown(friday, "en"), shown(friday, "ja")) == ("Fri, 27 Nov 2026", "2026年11月27日(金)")
    near, far = date(2026, 12, 5), date(2027, 7, 1)
    assert (shown(friday, "en", near), shown(friday, "ja", near)) == ("Fri 27 Nov", "11月27日(金)")
    assert (shown(friday, "en", far), shown(friday, "ja", far)) == ("Fri, 27 Nov 2026", "2026年11月27日(金)")
    assert shown(date(2027, 1, 8), "ja", near) == "1月8日(金)"  # across New Year, still without the year


@settings(deadline=None, max_examples=800)
@given(texts, todays, PREFER)
def test_any_text_never_raises(text: str, today: date, prefer) -> None:
    found, rest = find_date(text, today, prefer)
    assert found is None or isinstance(found, date)
    assert isinstance(rest, str)
    day = parse_date(text, today, prefer)
    assert day is None or day == found


@settings(deadline=None, max_examples=400)
@given(days, todays, PREFER)
def test_a_printed_date_reads_back_as_itself(day: date, today: date, prefer) -> None:
    """Whether printed with its year or (near today) without: the weekday says which year."""
    for written in (shown(day, "en"), shown(day, "ja"), shown(day, "en", today), shown(day, "ja", today),
                    day.isoformat(), day.strftime("%Y/%m/%d"), f"{day.year}年{day.month}月{day.day}日",
                    f"by {shown(day, 'en', today)}", f"{shown(day, 'ja', today)}までに"):
        assert parse_date(written, today, prefer) == day, written


@settings(deadline=None, max_examples=400)
@given(todays, st.integers(-7, 350))
def test_a_month_and_day_mean_the_next_one_or_the_last_one(today: date, offset: int) -> None:
    ahead, back = today + timedelta(days=offset), today - timedelta(days=offset)
    for day, prefer in ((ahead, "future"), (back, "past")):
        for written in (f"{day.month}/{day.day}", f"{day.month}月{day.day}日", day.strftime("%b %d"),
                        f"{day.day} {day.strftime('%B')}"):
            assert parse_date(written, today, prefer) == day, (written, prefer)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


@settings(deadline=None, max_examples=400)
@given(todays, st.integers(1, 99), st.integers(0, 6))
def test_relative_words_from_any_today(today: date, n: int, weekday: int) -> None:
    def both(words: tuple[str, ...], expected: date, prefer="future") -> None:
        for word in words:
            assert parse_date(word, today, prefer) == expected, (word, today)

    both(("today", "今日", "本日", "きょう"), today)
    both(("tomorrow", "明日", "あした", "あす"), today + timedelta(days=1))
    both(("day after tomorrow", "明後日", "あさって"), today + timedelta(days=2))
    both(("yesterday", "昨日", "きのう"), today - timedelta(days=1), "past")
    both(("day before yesterday", "一昨日", "おととい"), today - timedelta(days=2), "past")
    both((f"in {n} days", f"{n}日後"), today + timedelta(days=n))
    both((f"in {n} weeks", f"{n}週間後"), today + timedelta(weeks=n))
    both(("next week", "来週"), _monday(today) + timedelta(weeks=1))
    both(("end of month", "月末"), today.replace(day=calendar.monthrange(today.year, today.month)[1]))
    en, ja = calendar.day_name[weekday], "月火水木金土日"[weekday]
    both((f"next {en}", f"来週の{ja}曜", f"来週{ja}曜日"), _monday(today) + timedelta(weeks=1, days=weekday))
    both((f"last {en}", f"先週の{ja}曜"), _monday(today) - timedelta(weeks=1) + timedelta(days=weekday), "past")
    ahead = parse_date(en, today)
    assert ahead == parse_date(f"{ja}曜日", today) and ahead.weekday() == weekday and 1 <= (ahead - today).days <= 7
    back = parse_date(en, today, "past")
    assert back == parse_date(f"{ja}曜", today, "past") and back.weekday() == weekday and 0 <= (today - back).days <= 6
