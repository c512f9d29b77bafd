"""One coaching move per rep for the manager's one-to-one, drawn from the model: a setback to
review first, then a teammate to learn from, then the rep's weakest figure, then a strength to
recognise. Named people and numbers, never a figure alone.

1. ``review_setback``: a setback of the rep's is not put right yet (credit is lost at once;
   a fast, written correction limits the damage).
2. ``pair``: problems wait for the rep's answer and a teammate answers fast (a day or less on
   median, at least ``PAIR_MIN_ANSWERED`` answered): pair them, by name.
3. the rep's coaching focus (:func:`coaching.focus.coaching_focus`), the weakest figure.
4. ``celebrate``: promises kept on time, at least ``STREAK_MIN`` closed and all on time or
   nearly (``STREAK_SHARE``): say it in front of the team.
5. ``endorse``: the rep answered client problems fast (``ENDORSE_MIN`` or more service
   touches, median first answer within a day): how a problem is handled matters most.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Mapping

from coaching.focus import coaching_focus
from coaching.messages import Msg, PersonName

if TYPE_CHECKING:
    from coaching.metrics import Figures

PAIR_MIN_ANSWERED = 1
STREAK_MIN = 3
STREAK_SHARE = 0.9
ENDORSE_MIN = 2


def _fastest(figures: Mapping[int, Figures], names: Mapping[int, str], rep_id: int) -> tuple[str, float] | None:
    """The teammate who answers problems fastest (a day or less on median), if any."""
    fast = [(f.median_first_response_days, names[rid]) for rid, f in figures.items()
            if rid != rep_id and rid in names and f.median_first_response_days is not None
            and f.median_first_response_days <= 1]
    if not fast:
        return None
    days, name = min(fast)
    return name, days


def move(rep_id: int, figures: Mapping[int, Figures], names: Mapping[int, str], team: Figures) -> Msg | None:
    """The manager's one move for this rep (see module docs), or ``None`` for nothing to say."""
    f, name = figures[rep_id], names.get(rep_id, "")
    if f.in_recovery:
        return Msg("health.move.review_setback", {"rep": PersonName(name), "count": f.in_recovery})
    if f.problems_waiting and (peer := _fastest(figures, names, rep_id)):
        days = Msg("health.days", {"value": max(1, math.ceil(peer[1]))})
        return Msg("health.move.pair", {"rep": PersonName(name), "peer": PersonName(peer[0]), "days": days,
                                        "count": f.problems_waiting})
    if (focus := coaching_focus(f, team)) is not None:
        return focus
    share = f.promises_kept_on_time_share
    if share is not None and f.promises_closed >= STREAK_MIN and share >= STREAK_SHARE:
        kept = round(share * f.promises_closed)
        return Msg("health.move.celebrate", {"rep": PersonName(name), "kept": kept, "closed": f.promises_closed})
    response = f.median_first_response_days
    if f.services >= ENDORSE_MIN and response is not None and response <= 1:
        return Msg("health.move.endorse", {"rep": PersonName(name), "count": f.services})
    return None
