"""What the coach would tell a rep today: pure functions over one client's recent history.

Storage gathers :class:`ClientHistory` values for many clients in a few set-based queries; the
functions here only look at one history and a date, so they are cheap, deterministic and easy to
test with tables. Definitions (and why) are in ``docs/nudges.md``.
"""

from __future__ import annotations

import enum
import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Sequence

from coaching.messages import Msg
from coaching.model import Purpose, TrustLevel
from coaching.rules import Nudging


class NudgeKind(enum.StrEnum):
    QUIET = "quiet"
    ASK_ONLY = "ask_only"
    AFTER_WIN = "after_win"
    BUSY_LAPSE = "busy_lapse"
    PROMISE_DUE = "promise_due"
    PROMISE_OVERDUE = "promise_overdue"
    PROBLEM_WAITING = "problem_waiting"
    RECOVERY = "recovery"


# What is at stake, highest first: a setback or a waiting client before a quiet one.
STAKE = {
    NudgeKind.RECOVERY: 90,
    NudgeKind.PROMISE_OVERDUE: 85,
    NudgeKind.PROBLEM_WAITING: 80,
    NudgeKind.PROMISE_DUE: 60,
    NudgeKind.AFTER_WIN: 50,
    NudgeKind.QUIET: 40,
    NudgeKind.ASK_ONLY: 30,
    NudgeKind.BUSY_LAPSE: 20,
}


@dataclass(frozen=True)
class Touch:
    on: date
    purpose: Purpose


@dataclass(frozen=True)
class OpenPromise:
    id: int
    text: str
    due_on: date


@dataclass(frozen=True)
class WaitingProblem:
    id: int
    text: str
    raised_on: date


TREND_DAYS = 28  # a balance's trend compares it with this many days before


@dataclass(frozen=True)
class ClientHistory:
    """The slice of a client's past that nudges need, newest touch first."""

    client_id: int
    client_name: str
    owner_id: int
    created_on: date
    touches: tuple[Touch, ...] = ()
    open_promises: tuple[OpenPromise, ...] = ()
    waiting_problems: tuple[WaitingProblem, ...] = ()
    last_won_on: date | None = None
    last_setback_on: date | None = None  # latest broken promise or honesty breach
    trust_level: TrustLevel | None = None
    balance: int = 0
    balance_before: int | None = None  # the balance ``TREND_DAYS`` before (None: no entries then)
    last_note: str | None = None  # the note of the latest touch, if it had one

    @property
    def last_touch(self) -> date | None:
        return self.touches[0].on if self.touches else None


@dataclass(frozen=True)
class Nudge:
    kind: NudgeKind
    rep_id: int
    client_id: int | None
    client_name: str | None
    reason: Msg
    next_step: Msg
    subject: str  # what it is about: "client:4", "promise:12", "rep:3"
    stake: int = 0
    facts: dict[str, object] = field(default_factory=dict)


def cadence_days(touch_dates: Sequence[date], rules: Nudging) -> int:
    """The client's own rhythm: the median gap between their recent touches, clamped.

    ``touch_dates`` is newest first. While history is short the default cadence applies.
    """
    recent = sorted(set(touch_dates), reverse=True)[: rules.cadence_history + 1]
    if len(recent) < rules.cadence_min_touches:
        return rules.cadence_default_days
    gaps = [(a - b).days for a, b in zip(recent, recent[1:])]
    median = round(statistics.median(gaps))
    return max(rules.cadence_min_days, min(rules.cadence_max_days, median))


def detect(history: ClientHistory, as_of: date, rules: Nudging) -> list[Nudge]:
    """Every nudge this client raises on ``as_of``, most important first."""
    touches = tuple(t for t in history.touches if t.on <= as_of)
    dates = [t.on for t in touches]
    cadence = cadence_days(dates, rules)
    last = dates[0] if dates else history.created_on
    silent = (as_of - last).days
    level = history.trust_level.value if history.trust_level else 0
    nudges: list[Nudge] = []

    def add(kind: NudgeKind, subject: str, next_variant: str = "", **facts: object) -> None:
        params = {"client": history.client_name, **facts}
        step_key = f"nudge.{kind.value}.next{next_variant}"
        nudges.append(
            Nudge(
                kind, history.owner_id, history.client_id, history.client_name,
                Msg(f"nudge.{kind.value}.reason", params), Msg(step_key, params),
                subject, STAKE[kind] + 3 * level + max(-10, min(10, history.balance // 3)),
                facts=facts,
            )
        )

    if history.last_setback_on and (as_of - history.last_setback_on).days <= rules.recovery_window_days:
        if not any(t.on > history.last_setback_on for t in touches):
            add(NudgeKind.RECOVERY, f"client:{history.client_id}:recovery",
                on=history.last_setback_on)

    for promise in history.open_promises:
        days = (promise.due_on - as_of).days
        if 0 <= days <= rules.promise_due_ahead_days:
            add(NudgeKind.PROMISE_DUE, f"promise:{promise.id}", f".{min(days, 1)}",
                promise=promise.text, due=promise.due_on)
        elif days < 0:
            add(NudgeKind.PROMISE_OVERDUE, f"promise:{promise.id}",
                promise=promise.text, due=promise.due_on, days=-days)

    for problem in history.waiting_problems:
        waited = (as_of - problem.raised_on).days
        if waited >= rules.problem_waiting_days:
            add(NudgeKind.PROBLEM_WAITING, f"problem:{problem.id}",
                problem=problem.text, days=waited)

    won_recently = (
        history.last_won_on is not None
        and (as_of - history.last_won_on).days <= rules.after_win_window_days
        and history.last_won_on <= last
    )
    if won_recently and silent > cadence:
        add(NudgeKind.AFTER_WIN, f"client:{history.client_id}:after_win", "",
            days=silent, won=history.last_won_on, cadence=cadence)
    elif silent > rules.quiet_factor * cadence:
        add(NudgeKind.QUIET, f"client:{history.client_id}:quiet", f".{level}",
            days=silent, cadence=cadence)

    window_start = as_of - timedelta(days=rules.ask_only_window_days)
    recent = [t for t in touches if t.on > window_start]
    if len(recent) >= rules.ask_only_min_touches:
        asks = sum(t.purpose is Purpose.ASK for t in recent)
        gives = sum(t.purpose is Purpose.GIVE for t in recent)
        if gives == 0 and asks / len(recent) >= rules.ask_only_share:
            add(NudgeKind.ASK_ONLY, f"client:{history.client_id}:ask_only", f".{level}",
                asks=asks, touches=len(recent))

    return sorted(nudges, key=lambda n: -n.stake)


def detect_busy_lapse(
    rep_id: int, recent_touches: int, baseline_touches: int, rules: Nudging
) -> Nudge | None:
    """One nudge for the rep (not one per client) when their whole contact rate collapsed.

    ``recent_touches`` counts the last ``busy_recent_days``; ``baseline_touches`` the
    ``busy_baseline_days`` before them.
    """
    expected = baseline_touches * rules.busy_recent_days / rules.busy_baseline_days
    if expected < rules.busy_min_baseline or recent_touches >= rules.busy_share * expected:
        return None
    facts = {"recent": recent_touches, "usual": round(expected), "days": rules.busy_recent_days}
    return Nudge(
        NudgeKind.BUSY_LAPSE, rep_id, None, None,
        Msg("nudge.busy_lapse.reason", facts), Msg("nudge.busy_lapse.next", facts),
        f"rep:{rep_id}:busy_lapse", STAKE[NudgeKind.BUSY_LAPSE], facts=facts,
    )
