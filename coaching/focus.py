"""Coaching focus: the one figure of a rep's :class:`~coaching.metrics.Figures` to coach them on.

Weak means: ``problems_waiting > 0`` (key ``health.focus.waiting``, params ``count``); promises
kept on time < 80% with at least 2 closed (``promises``: ``share``, ``closed``); median first
response > 1 day (``response``: ``days``, rounded up); coverage < 70% (``coverage``: ``share``);
give share < 30% with at least 3 gives + asks (``give_ask``: ``share``, ``gives``, ``asks``).
When several are weak the most severe wins, in that order: waiting > promises > response >
coverage > give_ask. Shares are whole percents rounded down; every message also carries
``team``, the team's figure in the same unit (the team includes the rep, so it exists whenever
the rep's figure does).

Only the catalogue key and its numbers are chosen here; the words (advice, not blame) live in
the message catalogue under ``health.focus.*``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

from coaching.messages import Msg

if TYPE_CHECKING:  # coaching.metrics re-exports this module's function, so no import at run time
    from coaching.metrics import Figures

COVERAGE_MIN = 0.7
GIVE_SHARE_MIN = 0.3
GIVE_ASK_MIN_TOUCHES = 3
KEPT_ON_TIME_MIN = 0.8
KEPT_MIN_CLOSED = 2
RESPONSE_MAX_DAYS = 1


def _percent(share: float) -> int:
    return math.floor(share * 100 + 1e-9)


def _percents(mine: float, theirs: float | None) -> tuple[int, int]:
    """The rep's and the team's share in whole percents (the team's is the rep's when missing)."""
    return _percent(mine), _percent(mine if theirs is None else theirs)


def _waiting(f: Figures, team: Figures) -> Msg | None:
    if f.problems_waiting <= 0:
        return None
    return Msg("health.focus.waiting", {"count": f.problems_waiting, "team": team.problems_waiting})


def _promises(f: Figures, team: Figures) -> Msg | None:
    kept = f.promises_kept_on_time_share
    if not (kept is not None and f.promises_closed >= KEPT_MIN_CLOSED and kept < KEPT_ON_TIME_MIN):
        return None
    share, team_share = _percents(kept, team.promises_kept_on_time_share)
    return Msg("health.focus.promises", {"share": share, "closed": f.promises_closed, "team": team_share})


def _response(f: Figures, team: Figures) -> Msg | None:
    response = f.median_first_response_days
    if not (response is not None and response > RESPONSE_MAX_DAYS):
        return None
    theirs = team.median_first_response_days
    return Msg("health.focus.response", {
        "days": math.ceil(response), "team": math.ceil(response if theirs is None else theirs),
    })


def _coverage(f: Figures, team: Figures) -> Msg | None:
    if not (f.coverage is not None and f.coverage < COVERAGE_MIN):
        return None
    share, team_share = _percents(f.coverage, team.coverage)
    return Msg("health.focus.coverage", {"share": share, "team": team_share})


def _give_ask(f: Figures, team: Figures) -> Msg | None:
    give = f.give_share
    if not (give is not None and f.gives + f.asks >= GIVE_ASK_MIN_TOUCHES and give < GIVE_SHARE_MIN):
        return None
    share, team_share = _percents(give, team.give_share)
    return Msg("health.focus.give_ask", {
        "share": share, "gives": f.gives, "asks": f.asks, "team": team_share,
    })


# Most severe first: the first weak one is the focus.
_CHECKS: tuple[Callable[[Figures, Figures], Msg | None], ...] = (
    _waiting, _promises, _response, _coverage, _give_ask,
)


def coaching_focus(f: Figures, team: Figures) -> Msg | None:
    """The one thing to coach this rep on, or ``None`` when nothing is weak (see module docs)."""
    for check in _CHECKS:
        focus = check(f, team)
        if focus is not None:
            return focus
    return None
