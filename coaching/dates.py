"""Dates as reps say them, in English and Japanese, resolved against the rep's own today.

``parse_date`` reads a whole answer ("Friday", "来週の月曜", "2026-12-01", "in 3 days");
``find_date`` finds a date phrase inside a sentence ("send the quote by Friday") and returns the
sentence without it. Weeks start on Monday. A bare weekday means the next one after today;
"next Friday" and 来週の金曜 mean the Friday of next week. Month/day without a year means the
next such day (or, with ``prefer="past"``, the last one), as people write on forms.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date, timedelta
from typing import Callable, Literal

Prefer = Literal["future", "past"]

_EN_DAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}
_JA_DAYS = {"月": 0, "火": 1, "水": 2, "木": 3, "金": 4, "土": 5, "日": 6}
_EN_DAY_RE = "|".join(sorted(_EN_DAYS, key=len, reverse=True))
_EN_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_EN_MONTH_RE = ("january|february|march|april|may|june|july|august|september|october|november|december|"
                "jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec")


def _normalise(text: str) -> str:
    # Lower case letter by letter, keeping the length ("İ" would become two characters), so a
    # match's position is also its position in the caller's text.
    text = unicodedata.normalize("NFKC", text).strip()
    return "".join(c if len(low := c.lower()) != 1 else low for c in text)


def _next_weekday(today: date, weekday: int) -> date:
    days = (weekday - today.weekday()) % 7 or 7
    return today + timedelta(days=days)


def _week_of(today: date, weeks_ahead: int, weekday: int) -> date:
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=weeks_ahead)
    return monday + timedelta(days=weekday)


def _this_week(today: date, weekday: int, prefer: Prefer) -> date:
    """"This Friday": this week's, unless it has passed and a future day is wanted."""
    day = _week_of(today, 0, weekday)
    return _next_weekday(today, weekday) if prefer == "future" and day < today else day


def _month_day(today: date, month: int, day: int, prefer: Prefer) -> date | None:
    """The next such day from a week ago on, or (``past``) the last one up to a week ahead:
    a day just gone or just coming stays in its own year, across New Year too. 29 February
    is the next (or last) one there is."""
    candidates = []
    for year in range(today.year - 4, today.year + 5):
        try:
            candidates.append(date(year, month, day))
        except ValueError:
            continue
    if prefer == "future":
        return next((c for c in candidates if c >= today - timedelta(days=7)), None)
    return next((c for c in reversed(candidates) if c <= today + timedelta(days=7)), None)


def _month_day_of(today: date, month: int, match: re.Match[str], prefer: Prefer) -> date | None:
    """Month and day, in the year (last, this or next) its written weekday belongs to ("Fri 27
    Nov"); with no weekday, or one that fits none of them, as :func:`_month_day` reads it."""
    day, weekday = int(match["d"]), match["wd"]
    if weekday:
        wanted = _JA_DAYS[weekday] if weekday in _JA_DAYS else _EN_DAYS[weekday]
        fits = [c for y in (today.year - 1, today.year, today.year + 1)
                if (c := _valid(y, month, day)) and c.weekday() == wanted]
        if fits:
            return min(fits, key=lambda c: abs(c - today))
    return _month_day(today, month, day, prefer)


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _full(y: str, m: str, d: str) -> date | None:
    try:
        return date(int(y), int(m), int(d))
    except ValueError:
        return None


def _end_of_month(today: date) -> date:
    return today.replace(day=calendar.monthrange(today.year, today.month)[1])


_Resolver = Callable[[re.Match[str], date, Prefer], date | None]
# The weekday the coach prints with a date ("Fri, 27 Nov 2026", "2026年11月27日(金)"): with a
# year it is left aside, the day itself says when; without one ("Fri 27 Nov", "11月27日(金)",
# as the coach writes dates near today) it says which year.
_EN_WEEKDAY = rf"(?:(?:{_EN_DAY_RE})\.?,?\s+)?"
_JA_WEEKDAY = r"(?:\s*\([月火水木金土日](?:曜日?)?\))?"
_EN_WEEKDAY_OF = rf"(?:(?P<wd>{_EN_DAY_RE})\.?,?\s+)?"
_JA_WEEKDAY_OF = r"(?:\s*\((?P<wd>[月火水木金土日])(?:曜日?)?\))?"
_ORDINAL = r"(?:st|nd|rd|th)?"

# (pattern, resolver). Order matters: longer, more specific phrases first.
_PATTERNS: list[tuple[re.Pattern[str], _Resolver]] = [
    (re.compile(rf"(\d{{4}})[-/.年](\d{{1,2}})[-/.月](\d{{1,2}})日?{_JA_WEEKDAY}"),
     lambda m, t, p: _full(m[1], m[2], m[3])),
    (re.compile(rf"\b{_EN_WEEKDAY}(\d{{1,2}}){_ORDINAL}\s+(?:of\s+)?({_EN_MONTH_RE})\.?,?\s+(\d{{4}})\b"),
     lambda m, t, p: _full(m[3], str(_EN_MONTHS[m[2][:3]]), m[1])),
    (re.compile(rf"\b{_EN_WEEKDAY}({_EN_MONTH_RE})\.?\s+(\d{{1,2}}){_ORDINAL},?\s+(\d{{4}})\b"),
     lambda m, t, p: _full(m[3], str(_EN_MONTHS[m[1][:3]]), m[2])),
    (re.compile(rf"(?<![\d/])(?P<m>\d{{1,2}})(?:/|月)(?P<d>\d{{1,2}})日?(?![\d/]){_JA_WEEKDAY_OF}"),
     lambda m, t, p: _month_day_of(t, int(m["m"]), m, p)),
    (re.compile(rf"\b{_EN_WEEKDAY_OF}(?P<m>{_EN_MONTH_RE})\.?\s+(?P<d>\d{{1,2}}){_ORDINAL}\b"),
     lambda m, t, p: _month_day_of(t, _EN_MONTHS[m["m"][:3]], m, p)),
    (re.compile(rf"\b{_EN_WEEKDAY_OF}(?P<d>\d{{1,2}}){_ORDINAL}\s+(?:of\s+)?(?P<m>{_EN_MONTH_RE})\b"),
     lambda m, t, p: _month_day_of(t, _EN_MONTHS[m["m"][:3]], m, p)),
    (re.compile(r"day after tomorrow|明後日|あさって"), lambda m, t, p: t + timedelta(days=2)),
    (re.compile(r"\btoday\b|今日|本日|きょう"), lambda m, t, p: t),
    (re.compile(r"\b(?:the )?day before yesterday\b|一昨日|おととい"), lambda m, t, p: t - timedelta(days=2)),
    (re.compile(r"\btomorrow\b|\btmrw\b|明日|あした|あす"), lambda m, t, p: t + timedelta(days=1)),
    (re.compile(r"\byesterday\b|昨日|きのう"), lambda m, t, p: t - timedelta(days=1)),
    (re.compile(r"\bin (\d{1,3}) days?\b|(\d{1,3})日後"),
     lambda m, t, p: t + timedelta(days=int(m[1] or m[2]))),
    (re.compile(r"\bin (\d{1,2}) weeks?\b|(\d{1,2})週間後"),
     lambda m, t, p: t + timedelta(weeks=int(m[1] or m[2]))),
    (re.compile(r"\bend of (?:the )?month\b|月末|今月中"), lambda m, t, p: _end_of_month(t)),
    # "Within the week" means by its Friday (today, once Friday has passed).
    (re.compile(r"今週中"), lambda m, t, p: max(t, _week_of(t, 0, 4))),
    (re.compile(r"\bend of next week\b|来週中"), lambda m, t, p: _week_of(t, 1, 4)),
    (re.compile(r"\bend of (?:the )?week\b|週末"), lambda m, t, p: _week_of(t, 0, 4) if t.weekday() < 4 else _week_of(t, 1, 4)),
    (re.compile(rf"\bnext ({_EN_DAY_RE})\b"),
     lambda m, t, p: _week_of(t, 1, _EN_DAYS[m[1]])),
    (re.compile(rf"\bthis ({_EN_DAY_RE})\b"),
     lambda m, t, p: _this_week(t, _EN_DAYS[m[1]], p)),
    (re.compile(rf"\blast ({_EN_DAY_RE})\b"),
     lambda m, t, p: _week_of(t, -1, _EN_DAYS[m[1]])),
    (re.compile(r"(再来週|来週|今週|先週)の?([月火水木金土日])曜?日?"),
     lambda m, t, p: _this_week(t, _JA_DAYS[m[2]], p) if m[1] == "今週"
     else _week_of(t, {"再来週": 2, "来週": 1, "先週": -1}[m[1]], _JA_DAYS[m[2]])),
    (re.compile(rf"\b({_EN_DAY_RE})\b"),
     lambda m, t, p: _next_weekday(t, _EN_DAYS[m[1]]) if p == "future" else _next_weekday(t, _EN_DAYS[m[1]]) - timedelta(days=7)),
    (re.compile(r"([月火水木金土日])曜日?"),
     lambda m, t, p: _next_weekday(t, _JA_DAYS[m[1]]) if p == "future" else _next_weekday(t, _JA_DAYS[m[1]]) - timedelta(days=7)),
    (re.compile(r"\bnext week\b|来週"), lambda m, t, p: _week_of(t, 1, 0)),
]

# Words that only join a date to the sentence: "by Friday", "金曜までに", "on 12/1".
_LEAD = re.compile(r"(?:\b(?:by|on|before|until|due)\s+)$")
_TRAIL = re.compile(r"^(?:までに|まで|中に|中|に|には|の)")


def parse_date(text: str, today: date, prefer: Prefer = "future") -> date | None:
    """The date a whole answer means, or ``None`` when it is not a date."""
    found, rest = find_date(text, today, prefer)
    if found is None or re.sub(r"[\s.,、。:]+", "", rest):
        return None
    return found


def find_date(text: str, today: date, prefer: Prefer = "future") -> tuple[date | None, str]:
    """The first date phrase in ``text`` and the text without it (and its "by"/"までに")."""
    norm = _normalise(text)
    for pattern, resolve in _PATTERNS:
        match = pattern.search(norm)
        if not match:
            continue
        found = resolve(match, today, prefer)
        if found is None:
            continue
        before, after = norm[: match.start()], norm[match.end():]
        before = _LEAD.sub("", before)
        after = _TRAIL.sub("", after)
        # Keep the caller's own casing for the rest: cut the same span out of the NFKC text.
        original = unicodedata.normalize("NFKC", text).strip()
        left = original[: len(before)].rstrip()
        right = original[len(norm) - len(after):].lstrip()
        # Join with a space only between words of a spaced language ("CFO, please" stays tight).
        gap = " " if left and right and left[-1].isascii() and right[0].isascii() and right[0].isalnum() else ""
        rest = (left + gap + right).strip(" ,、。")
        return found, re.sub(r"\s{2,}", " ", rest)
    return None, text.strip()
