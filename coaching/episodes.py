"""What team health counts of each client (:class:`ClientFacts`), and the turning points of a
book: setbacks and whether they were put right, deals won and whether contact thinned out after
them (where a manager looks first, because that is where credit is lost at once or a
relationship is left to cool)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable, Sequence

from coaching.nudges import TREND_DAYS, ClientHistory, cadence_days, in_recovery, quiet_since_win
from coaching.rules import Nudging

ACTIVE_DAYS = 180  # a client touched (or created) within this many days is active


@dataclass(frozen=True)
class TurningPoints:
    setbacks: int = 0  # clients with a setback in the last TREND_DAYS
    in_recovery: int = 0  # clients whose setback is not put right yet
    wins: int = 0  # clients with a deal won in the last TREND_DAYS
    quiet_after_win: int = 0  # clients gone quiet since a recent win


def _recent(day: date | None, as_of: date) -> bool:
    return day is not None and 0 <= (as_of - day).days < TREND_DAYS


@dataclass(frozen=True, slots=True)
class ClientFacts:
    """What team health counts of one client on a day, worked out once per report and shared by
    the team's figures, each rep's and the clients at risk."""

    active: bool  # touched (or created) within ACTIVE_DAYS
    covered: bool  # active, and touched within its own cadence
    waiting: int  # problems waiting past the limit
    silent: bool  # silent beyond quiet_factor times its cadence
    setback: bool  # a setback in the last TREND_DAYS
    in_recovery: bool
    won: bool  # a deal won in the last TREND_DAYS
    quiet_after_win: bool


def facts(h: ClientHistory, as_of: date, rules: Nudging) -> ClientFacts:
    dates = [t.on for t in h.touches if t.on <= as_of]
    anchor = dates[0] if dates else h.created_on
    silent, cadence = (as_of - anchor).days, cadence_days(dates, rules)
    active = anchor <= as_of and silent <= ACTIVE_DAYS
    return ClientFacts(
        active=active, covered=active and silent <= cadence,
        waiting=sum((as_of - p.raised_on).days >= rules.problem_waiting_days for p in h.waiting_problems),
        silent=silent > rules.quiet_factor * cadence,
        setback=_recent(h.last_setback_on, as_of), in_recovery=in_recovery(h, as_of, rules),
        won=_recent(h.last_won_on, as_of),
        quiet_after_win=quiet_since_win(h.last_won_on, anchor, silent, cadence, as_of, rules),
    )


def facts_by_client(histories: Iterable[ClientHistory], as_of: date, rules: Nudging) -> dict[int, ClientFacts]:
    return {h.client_id: facts(h, as_of, rules) for h in histories}


def count(found: Sequence[ClientFacts]) -> TurningPoints:
    return TurningPoints(
        setbacks=sum(f.setback for f in found), in_recovery=sum(f.in_recovery for f in found),
        wins=sum(f.won for f in found), quiet_after_win=sum(f.quiet_after_win for f in found),
    )
