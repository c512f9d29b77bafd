"""The coach's effect on what reps do, read for some teams over a period (``coach
nudges-effect``, and one line of team health): the sent and held-back nudges of the teams'
people, and what they did in the following days (:mod:`coaching.effect`)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Sequence

from coaching import effect
from coaching.messages import Msg, msg
from coaching.model import Team
from coaching.ports import UnitOfWork


def read(uow: UnitOfWork, workspace_id: str, teams: Sequence[Team], start: date, end: date,
         days: int = effect.EFFECT_DAYS) -> list[effect.Effect]:
    """Nudges delivered or held back from ``start`` to ``end``, judged on what was done up to
    ``end`` (a nudge whose ``days`` have not all passed by then is not judged yet)."""
    ids = [t.id for t in teams]
    people = sorted({p.id for t in teams for p in uow.people.list(workspace_id, t.id)})
    sent = uow.deliveries.sent_items_between(workspace_id, people, start, end)
    held = uow.deliveries.sent_items_between(workspace_id, people, start, end, held=True)
    touches = uow.histories.touches_between(workspace_id, ids, start, end)
    promises = uow.histories.promises_closed_between(workspace_id, ids, start, end)
    problems = uow.histories.problems_raised_between(workspace_id, ids, start - timedelta(days=90), end)
    feedback = uow.feedback.for_period(workspace_id, people, start, end)
    return effect.effects(sent, held, touches, promises, problems, feedback, end, days)


def _pct(value: float | None) -> Msg:
    return msg("health.na") if value is None else msg("health.percent", value=round(value * 100))


def line(e: effect.Effect) -> Msg:
    """One kind's (or all kinds') comparison, in words a manager can read."""
    interval = e.interval
    params = {"kind": msg(f"nudge.{e.kind}.title") if e.kind != "all" else msg("effect.all"),
              "sent": _pct(e.sent.share), "sent_n": e.sent.n, "held": _pct(e.held.share), "held_n": e.held.n,
              "useful": _pct(e.rate(e.useful)), "ignored": _pct(e.rate(e.ignored))}
    if interval is None:
        return msg("effect.line_no_holdout", **params)
    low, high = interval
    return msg("effect.line_small" if e.small else "effect.line", **params,
               diff=round(e.difference * 100), low=round(low * 100), high=round(high * 100))  # type: ignore[operator]
