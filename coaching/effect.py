"""Does the coach change what reps do? The nudges it sent against the ones it held back.

A configurable share of eligible nudges (``Nudging.holdout_share``; off by default, 10 % in a
pilot) is held back at random: the same nudge episode is held every day it is eligible, and
recorded. Eligible: what the digest would carry, except what is due (a promise, a client
waiting on a problem, a setback), which is never held back. For each nudge kind, and for all kinds together, the share *acted on* within
``EFFECT_DAYS`` (a touch with that client, the promise closed, the problem answered; for a
lapse across all clients, any touch) is compared between the two arms. The difference comes
with a 95 % interval (normal approximation for two proportions: wide, honest, and meaningless
with a handful of nudges, which the report says). Alongside: the share of sent nudges marked
useful, and the share ignored (neither acted on nor answered with any feedback).

A nudge counts once per episode: its first day in each arm.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable, Sequence

from coaching.model import Problem, Promise
from coaching.records import NudgeFeedback, SentItem, TouchRow
from coaching.uptake import Done

EFFECT_DAYS = 7
Z95 = 1.96
SMALL = 30  # fewer nudges than this in an arm: the interval says little


@dataclass(frozen=True)
class Arm:
    n: int = 0
    acted: int = 0

    @property
    def share(self) -> float | None:
        return self.acted / self.n if self.n else None


@dataclass(frozen=True)
class Effect:
    kind: str  # a nudge kind, or "all"
    sent: Arm
    held: Arm
    useful: int = 0  # sent nudges marked useful
    ignored: int = 0  # sent nudges neither acted on nor given any feedback

    @property
    def difference(self) -> float | None:
        a, b = self.sent.share, self.held.share
        return None if a is None or b is None else a - b

    @property
    def interval(self) -> tuple[float, float] | None:
        d = self.difference
        if d is None:
            return None
        a, b = self.sent, self.held
        se = math.sqrt(a.share * (1 - a.share) / a.n + b.share * (1 - b.share) / b.n)  # type: ignore[operator]
        return d - Z95 * se, d + Z95 * se

    @property
    def small(self) -> bool:
        return min(self.sent.n, self.held.n) < SMALL

    def rate(self, count: int) -> float | None:
        return count / self.sent.n if self.sent.n else None


def held_back(rep_id: int, subject: str, kind: str, share: float) -> bool:
    """Whether this nudge episode is in the held-back arm: a fixed draw from its identity (the
    same every day it is eligible, independent of what the rep does), below ``share``."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{rep_id}:{subject}:{kind}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def first_episodes(items: Iterable[SentItem]) -> list[SentItem]:
    """Each (rep, subject, kind) once, on its first day."""
    first: dict[tuple[int, str, str], SentItem] = {}
    for item in sorted(items, key=lambda i: i.local_date):
        first.setdefault((item.rep_id, item.subject, item.kind), item)
    return list(first.values())


def effects(sent: Iterable[SentItem], held: Iterable[SentItem], touches: Iterable[TouchRow],
            promises_closed: Iterable[Promise], problems: Iterable[Problem], feedback: Iterable[NudgeFeedback],
            last_day: date, days: int = EFFECT_DAYS) -> list[Effect]:
    """Per kind (most sent first), then ``all``; only nudges whose window has closed by
    ``last_day`` are judged."""
    done = Done.of(touches, promises_closed, problems)
    judged = lambda items: [i for i in first_episodes(items) if i.local_date + timedelta(days=days) <= last_day]  # noqa: E731
    sent_items, held_items = judged(sent), judged(held)
    answered = {(f.rep_id, f.subject, f.kind): f.action for f in feedback}
    kinds = sorted({i.kind for i in sent_items + held_items},
                   key=lambda k: (-sum(i.kind == k for i in sent_items), k))
    return [_effect(k, [i for i in sent_items if i.kind == k], [i for i in held_items if i.kind == k],
                    done, answered, days) for k in kinds] + [_effect("all", sent_items, held_items, done, answered, days)]


def _effect(kind: str, sent: Sequence[SentItem], held: Sequence[SentItem], done: Done,
            answered: dict[tuple[int, str, str], str], days: int) -> Effect:
    acted = [done.acted_on(i, days) for i in sent]
    said = [answered.get((i.rep_id, i.subject, i.kind)) for i in sent]
    return Effect(
        kind, Arm(len(sent), sum(acted)), Arm(len(held), sum(done.acted_on(i, days) for i in held)),
        useful=sum(s == "useful" for s in said),
        ignored=sum(not a and s is None for a, s in zip(acted, said)),
    )
