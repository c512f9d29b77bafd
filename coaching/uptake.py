"""Nudge uptake: how many nudge items a rep was sent, and how many they acted on.

Pure functions over plain values; the definition of *acted on* (and why a later item does not
count yet) is under **Nudges acted on** in :mod:`coaching.metrics`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable

from coaching.model import Problem, Promise, PromiseStatus
from coaching.records import SentItem, TouchRow

ACTED_DAYS = 3  # a nudge delivered on D is acted on by something done on D .. D + ACTED_DAYS


@dataclass(frozen=True)
class Uptake:
    """How many nudge items qualify (``delivered``) and how many of them were acted on."""

    delivered: int
    acted: int

    @property
    def share(self) -> float | None:
        return self.acted / self.delivered if self.delivered else None


def _record_id(subject: str, kind: str) -> int | None:
    """The promise or problem an item is about: ``promise:12`` -> 12."""
    head, _, rest = subject.partition(":")
    return int(rest) if head == kind and rest.isdigit() else None


@dataclass(frozen=True)
class Done:
    """What the reps did, indexed to judge items: the days each rep touched each client, the days
    each rep touched anyone, and the day each closed promise closed."""

    client_days: dict[tuple[int, int], set[date]]
    rep_days: dict[int, set[date]]
    closed_on: dict[int, date]
    answered_on: dict[int, date]

    @classmethod
    def of(cls, touches: Iterable[TouchRow], promises_closed: Iterable[Promise],
           problems: Iterable[Problem] = ()) -> Done:
        client_days: dict[tuple[int, int], set[date]] = defaultdict(set)
        rep_days: dict[int, set[date]] = defaultdict(set)
        for t in touches:
            client_days[(t.rep_id, t.client_id)].add(t.on)
            rep_days[t.rep_id].add(t.on)
        closed_on = {
            p.id: p.closed_on for p in promises_closed
            if p.status is not PromiseStatus.OPEN and p.closed_on is not None
        }
        answered_on = {p.id: p.first_response_on for p in problems if p.first_response_on is not None}
        return cls(client_days, rep_days, closed_on, answered_on)

    def acted_on(self, item: SentItem, days: int = ACTED_DAYS) -> bool:
        window = [item.local_date + timedelta(days=n) for n in range(days + 1)]
        promise_id, problem_id = _record_id(item.subject, "promise"), _record_id(item.subject, "problem")
        closed = self.closed_on.get(promise_id) if promise_id is not None else None
        answered = self.answered_on.get(problem_id) if problem_id is not None else None
        touched = self.rep_days.get(item.rep_id, set()) if item.client_id is None else \
            self.client_days.get((item.rep_id, item.client_id), set())
        return any(day in touched for day in window) or closed in window or answered in window


def nudge_uptake(
    items: Iterable[SentItem],
    touches: Iterable[TouchRow],
    promises_closed: Iterable[Promise],
    last_day: date,
) -> Uptake:
    """Nudge items delivered and acted on within ``ACTED_DAYS`` (see :mod:`coaching.metrics`);
    only items with ``local_date + ACTED_DAYS <= last_day`` qualify."""
    judged = [item for item in items if item.local_date + timedelta(days=ACTED_DAYS) <= last_day]
    if not judged:
        return Uptake(0, 0)
    done = Done.of(touches, promises_closed)
    return Uptake(len(judged), sum(done.acted_on(item) for item in judged))


def acted_share(
    items: Iterable[SentItem],
    touches: Iterable[TouchRow],
    promises_closed: Iterable[Promise],
    last_day: date,
) -> float | None:
    """The share of qualifying nudge items acted on, ``None`` when none qualifies."""
    return nudge_uptake(items, touches, promises_closed, last_day).share
