"""A client's stored summary as the :class:`ClientHistory` it keeps for a day.

The nudge run and team health read one ``client_summaries`` row per client
(:mod:`storage.history`); the daily upkeep decodes the same rows for the coming days to find
the days a client raises nothing (:mod:`storage.quiet_days`). Both go through :class:`Decoder`,
so what the upkeep simulates is what the run will read.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement

from coaching.model import Purpose, TrustLevel
from coaching.nudges import TREND_DAYS, AnsweredProblem, ClientHistory, OpenPromise, Touch, WaitingProblem
from storage import summaries
from storage.models import ClientRow, ClientSummaryRow

PURPOSES = {purpose.value: purpose for purpose in Purpose}
TRUST = {level.value: level for level in TrustLevel}


def columns() -> list[ColumnElement[Any]]:
    """What :class:`Decoder` reads of a client joined to its summary, in its order."""
    c, s = ClientRow.__table__.c, ClientSummaryRow.__table__.c  # Core: compiled without the ORM
    return [c.owner_id, c.id, c.name, c.created_on, c.trust_level, s.client_id, s.through_on, s.touches,
            s.last_note, s.balance, s.first_entry_on, s.entries, s.last_setback_on, s.last_put_right_on,
            s.last_won_on]


def problems(rows: list[Any], as_of: date) -> tuple[tuple[WaitingProblem, ...], tuple[AnsweredProblem, ...]]:
    """A client's unsolved problems as of ``as_of`` (raised by then): waiting for a first
    response, or answered."""
    if not rows:
        return (), ()
    rows = [r for r in rows if r[4] <= as_of]
    waiting = tuple(WaitingProblem(r[2], r[3], r[4]) for r in rows if r[5] is None or r[5] > as_of)
    answered = tuple(AnsweredProblem(r[2], r[3], r[5]) for r in rows if r[5] is not None and r[5] <= as_of)
    return waiting, answered


def note(note: str | None) -> str | None:
    """A touch's note as ``ClientHistory.last_note`` holds it: ``None`` when blank."""
    return note if note and note.strip() else None


class _Touches(dict[str, Touch]):
    """One ``Touch`` per day and purpose (``"YYYY-MM-DD code"``), made on first use: they are
    immutable, so every history shares them. A missing item is made by ``__missing__``, without
    the cost of raising and catching a ``KeyError`` for each history that meets a new day."""

    def __missing__(self, item: str) -> Touch:
        touch = self[item] = Touch(date.fromisoformat(item[:10]), PURPOSES[item[11:]])
        return touch


_SEEN, _SEEN_MAX = _Touches(), 50_000  # about four purposes a day: over thirty years of days


class Decoder:
    """A ``client_summaries`` row (joined to its client) as the :class:`ClientHistory` it keeps
    for ``as_of``. Every client of a nudge run or a team report passes through here, so it is
    written for speed: one ``Touch`` per day and purpose, shared; the cut of the touches kept by
    a binary search on their days (newest first)."""

    def __init__(self, as_of: date, limit: int, window_days: int) -> None:
        self.as_of, self.limit = as_of, limit
        self.window_start = (as_of - timedelta(days=window_days)).isoformat()
        self.before = as_of - timedelta(days=TREND_DAYS)
        self.cutoff = self.before.isoformat()  # the entries after it are undone for balance_before

    def touches(self, column: str | None) -> tuple[Touch, ...]:
        """The latest ``limit`` touches and every later one within the window, newest first."""
        items = summaries.items(column)
        if len(items) > self.limit:  # beyond the latest few, keep the days within the window
            window_start = self.window_start
            items = items[:bisect_left(items, True, lo=self.limit, key=lambda item: item[:10] <= window_start)]
        seen = _SEEN
        if len(seen) > _SEEN_MAX:  # a bound, never reached by a real book's days
            seen.clear()
        return tuple([seen[item] for item in items])

    def __call__(self, row: Any, promises: list[Any], problem_rows: list[Any]) -> ClientHistory:
        (owner_id, client_id, name, created_on, level, _, _, touches, note, balance, first_entry_on, entries,
         setback, put_right, won) = row
        waiting, answered = problems(problem_rows, self.as_of)
        if first_entry_on is None or first_entry_on > self.before:
            balance_before = None
        else:
            cutoff = self.cutoff
            balance_before = balance - sum(int(e[11:]) for e in summaries.items(entries) if e[:10] > cutoff)
        return ClientHistory(
            client_id, name, owner_id, created_on, touches=self.touches(touches),
            open_promises=tuple([OpenPromise(*p[2:]) for p in promises]) if promises else (),
            waiting_problems=waiting, answered_problems=answered,
            last_won_on=won, last_setback_on=setback, last_put_right_on=put_right,
            trust_level=None if level is None else TRUST[level],
            balance=balance, last_note=note, balance_before=balance_before,
        )
