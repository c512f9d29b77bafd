"""What the coach would tell a rep today: pure functions over one client's recent history.

Storage gathers :class:`ClientHistory` values for many clients in a few set-based queries; the
functions here only look at one history and a date, so they are cheap, deterministic and easy to
test with tables. Definitions (and why) are in ``docs/nudges.md``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, timedelta
from operator import attrgetter, sub
from typing import Callable, Sequence

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
    PROBLEM_FOLLOW_UP = "problem_follow_up"  # answered, not yet solved: a gentle check, no penalty
    RECOVERY = "recovery"


# What is at stake, highest first: a setback or a waiting client before a quiet one.
STAKE = {
    NudgeKind.RECOVERY: 90,
    NudgeKind.PROMISE_OVERDUE: 85,
    NudgeKind.PROBLEM_WAITING: 80,
    NudgeKind.PROMISE_DUE: 60,
    NudgeKind.AFTER_WIN: 50,
    NudgeKind.QUIET: 40,
    NudgeKind.PROBLEM_FOLLOW_UP: 35,
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


@dataclass(frozen=True)
class AnsweredProblem:
    """A problem answered (on ``answered_on``) and not marked solved yet."""

    id: int
    text: str
    answered_on: date


TREND_DAYS = 28  # a balance's trend compares it with this many days before
# Answered, unsolved problems are followed up within this many days of the answer (the default
# recovery window and a day): storage gathers no older ones.
FOLLOW_UP_DAYS = 31


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
    last_setback_on: date | None = None  # latest broken promise, false claim or misunderstanding
    last_put_right_on: date | None = None  # latest correction the rep sent after a setback
    answered_problems: tuple[AnsweredProblem, ...] = ()
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
    days = sorted(set(map(date.toordinal, touch_dates)), reverse=True)[: rules.cadence_history + 1]
    if len(days) < max(2, rules.cadence_min_touches):
        return rules.cadence_default_days
    # Day numbers and the median by hand: this runs once per client in every nudge run and team
    # report, where statistics.median cost more than the rest together, and timedeltas a sixth.
    gaps = sorted(map(sub, days, days[1:]))
    half = len(gaps) // 2
    median = round(gaps[half] if len(gaps) % 2 else (gaps[half - 1] + gaps[half]) / 2)
    return max(rules.cadence_min_days, min(rules.cadence_max_days, median))


class _Situation:
    """One client's history seen from ``as_of``: what the detectors share, worked out once.
    (A plain class with slots: built once per client in every run, where a frozen dataclass's
    ``__init__`` cost more than several detectors.)"""

    __slots__ = ("history", "as_of", "rules", "touches", "cadence", "last", "silent", "level", "quiet_after_win")

    def __init__(self, history: ClientHistory, as_of: date, rules: Nudging) -> None:
        touches = history.touches
        dates = [t.on for t in touches]
        if dates and max(dates) > as_of:  # a past day asked: the later touches did not happen yet
            touches = tuple([t for t in touches if t.on <= as_of])
            dates = [t.on for t in touches]
        self.history, self.as_of, self.rules = history, as_of, rules
        self.touches: tuple[Touch, ...] = touches  # those on or before ``as_of``, newest first
        self.cadence = cadence_days(dates, rules)
        self.last: date = touches[0].on if touches else history.created_on  # the latest touch, or the creation date
        self.silent = (as_of - self.last).days  # days since ``last``
        self.level = history.trust_level.value if history.trust_level else 0  # 0 when unassessed
        self.quiet_after_win = quiet_since_win(history.last_won_on, self.last, self.silent, self.cadence, as_of, rules)

    def episode(self, kind: str, since: date | None) -> str:
        """A pattern's subject with its episode: the day it started (the last touch of a quiet
        client, the latest ask, the win, the setback). The same episode backs off in the
        digest and stays snoozed; a new one (the client was touched, asked again) is news."""
        return f"client:{self.history.client_id}:{kind}" + (f":{since.isoformat()}" if since else "")

    def nudge(self, kind: NudgeKind, subject: str, next_variant: str = "", **facts: object) -> Nudge:
        h = self.history
        params = {"client": h.client_name, **facts}
        return Nudge(
            kind, h.owner_id, h.client_id, h.client_name,
            Msg(_REASON_KEYS[kind], params), Msg(_STEP_KEYS[kind] + next_variant, params),
            subject, STAKE[kind] + 3 * self.level + max(-10, min(10, h.balance // 3)), facts,
        )


# A nudge's message keys, made once per kind, not once per nudge (most clients raise one a day)
_REASON_KEYS = {kind: f"nudge.{kind.value}.reason" for kind in NudgeKind}
_STEP_KEYS = {kind: f"nudge.{kind.value}.next" for kind in NudgeKind}


_ASK, _GIVE = Purpose.ASK, Purpose.GIVE  # bound once: an enum member's lookup is not free


# --- detectors: one per nudge kind, each returning the nudges of that kind ---------------------

def in_recovery(history: ClientHistory, as_of: date, rules: Nudging) -> bool:
    """A setback within the recovery window, not yet put right. Other contact does not repair
    it: only a correction the rep marks as one (on the day of the setback or after) does."""
    setback, put_right = history.last_setback_on, history.last_put_right_on
    if not setback or setback > as_of or (as_of - setback).days > rules.recovery_window_days:
        return False
    return put_right is None or not setback <= put_right <= as_of


def _recovery(s: _Situation) -> list[Nudge]:
    if not in_recovery(s.history, s.as_of, s.rules):
        return []
    setback = s.history.last_setback_on
    return [s.nudge(NudgeKind.RECOVERY, s.episode("recovery", setback), on=setback)]


def _promise_due(s: _Situation) -> list[Nudge]:
    found = []
    for promise in s.history.open_promises:
        days = (promise.due_on - s.as_of).days
        if 0 <= days <= s.rules.promise_due_ahead_days:
            found.append(s.nudge(NudgeKind.PROMISE_DUE, f"promise:{promise.id}", f".{min(days, 1)}",
                                 promise=promise.text, due=promise.due_on))
    return found


def _promise_overdue(s: _Situation) -> list[Nudge]:
    found = []
    for promise in s.history.open_promises:
        days = (promise.due_on - s.as_of).days
        if days < 0:
            found.append(s.nudge(NudgeKind.PROMISE_OVERDUE, f"promise:{promise.id}",
                                 promise=promise.text, due=promise.due_on, days=-days))
    return found


def _problem_waiting(s: _Situation) -> list[Nudge]:
    found = []
    for problem in s.history.waiting_problems:
        waited = (s.as_of - problem.raised_on).days
        if waited >= s.rules.problem_waiting_days:
            found.append(s.nudge(NudgeKind.PROBLEM_WAITING, f"problem:{problem.id}",
                                 problem=problem.text, days=waited))
    return found


def _problem_follow_up(s: _Situation) -> list[Nudge]:
    """A problem answered ``follow_through_days`` ago or more, not marked solved, with no touch
    since: check the fix held (within the recovery window; older ones are let go)."""
    found = []
    for problem in s.history.answered_problems:
        days = (s.as_of - problem.answered_on).days
        if not s.rules.follow_through_days <= days <= s.rules.recovery_window_days:
            continue
        if any(t.on > problem.answered_on for t in s.touches):
            continue
        found.append(s.nudge(NudgeKind.PROBLEM_FOLLOW_UP, f"problem:{problem.id}:follow_up",
                             problem=problem.text, days=days))
    return found


def quiet_since_win(won: date | None, last: date, silent: int, cadence: int, as_of: date, rules: Nudging) -> bool:
    """A recent win, no touch since (``last``: the latest touch, else the day the client was
    added), and the client's own cadence has passed: what the after-win nudge looks for (team
    health counts these clients)."""
    return (won is not None and (as_of - won).days <= rules.after_win_window_days and won <= last
            and silent > cadence)


def _after_win(s: _Situation) -> list[Nudge]:
    if not s.quiet_after_win:
        return []
    return [s.nudge(NudgeKind.AFTER_WIN, s.episode("after_win", s.history.last_won_on), "",
                    days=s.silent, won=s.history.last_won_on, cadence=s.cadence)]


def _quiet(s: _Situation) -> list[Nudge]:
    # after_win is the more specific nudge for the same silence: never both
    if s.quiet_after_win or s.silent <= s.rules.quiet_factor * s.cadence:
        return []
    return [s.nudge(NudgeKind.QUIET, s.episode("quiet", s.last), f".{s.level}",
                    days=s.silent, cadence=s.cadence)]


def _ask_only(s: _Situation) -> list[Nudge]:
    """The balance of asks and gives over the window: at least ``ask_only_min_touches`` asks,
    and asks are ``ask_only_share`` or more of asks and gives together. A contact is no give (a
    courtesy call does not silence it), and one give among many asks does not either."""
    window_start = s.as_of - timedelta(days=s.rules.ask_only_window_days)
    asks = gives = 0
    latest_ask = window_start
    for t in s.touches:
        if t.on > window_start:
            if t.purpose is _ASK:
                asks += 1
                if t.on > latest_ask:
                    latest_ask = t.on
            elif t.purpose is _GIVE:
                gives += 1
    if asks < s.rules.ask_only_min_touches or asks / (asks + gives) < s.rules.ask_only_share:
        return []
    return [s.nudge(NudgeKind.ASK_ONLY, s.episode("ask_only", latest_ask), f".{s.level}",
                    asks=asks, touches=asks + gives)]


# Every per-client detector; a new nudge kind adds one function here. Equal stakes keep this order.
DETECTORS: tuple[Callable[[_Situation], list[Nudge]], ...] = (
    _recovery, _promise_due, _promise_overdue, _problem_waiting, _after_win, _quiet, _problem_follow_up,
    _ask_only,
)


def detect(history: ClientHistory, as_of: date, rules: Nudging) -> list[Nudge]:
    """Every nudge this client raises on ``as_of``, most important first."""
    situation = _Situation(history, as_of, rules)
    nudges = [nudge for detector in DETECTORS for nudge in detector(situation)]
    if len(nudges) > 1:  # most clients raise none or one; equal stakes keep DETECTORS' order
        nudges.sort(key=attrgetter("stake"), reverse=True)
    return nudges


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
