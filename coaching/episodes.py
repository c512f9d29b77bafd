"""The turning points of a book of clients, counted for team health: setbacks and whether they
were put right, deals won and whether contact thinned out after them (where a manager looks
first, because that is where credit is lost at once or a relationship is left to cool)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Sequence

from coaching.nudges import TREND_DAYS, ClientHistory, NudgeKind, detect, in_recovery
from coaching.rules import Nudging


@dataclass(frozen=True)
class TurningPoints:
    setbacks: int = 0  # clients with a setback in the last TREND_DAYS
    in_recovery: int = 0  # clients whose setback is not put right yet
    wins: int = 0  # clients with a deal won in the last TREND_DAYS
    quiet_after_win: int = 0  # clients gone quiet since a recent win


def _recent(day: date | None, as_of: date) -> bool:
    return day is not None and 0 <= (as_of - day).days < TREND_DAYS


def count(histories: Sequence[ClientHistory], as_of: date, rules: Nudging) -> TurningPoints:
    return TurningPoints(
        setbacks=sum(_recent(h.last_setback_on, as_of) for h in histories),
        in_recovery=sum(in_recovery(h, as_of, rules) for h in histories),
        wins=sum(_recent(h.last_won_on, as_of) for h in histories),
        quiet_after_win=sum(any(n.kind is NudgeKind.AFTER_WIN for n in detect(h, as_of, rules))
                            for h in histories if h.last_won_on is not None),
    )
