"""Trust (信頼) is felt, not counted: the coach tracks a *position*, the level the evidence shows.

The level is what the client asks of the rep (DOMAIN.md's four "current positions"). Each touch
can carry a signal: what the client asked for, and whether they demanded detailed justification
of every step (a sign of lower trust: it holds that signal one level below what was asked,
never below 1). A position is not one answer: it moves when ``trust_agree`` of the last
``trust_window`` signals agree on a new level, or when the rep states it. A client's first
signal sets the first position (there is nothing to hold). See ``docs/coaching-model.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Sequence

from coaching.messages import Msg, msg
from coaching.model import Client, TrustLevel
from coaching.rules import Trusting


def assess(asked_for: TrustLevel | None, demanded_justification: bool | None) -> TrustLevel | None:
    """The level one touch's signals point to."""
    if asked_for is None:
        return None
    if demanded_justification and asked_for > TrustLevel.EXPERTISE:
        return TrustLevel(asked_for - 1)
    return asked_for


@dataclass(frozen=True)
class Signal:
    """What one touch said about the client's trust: the level it points to, and when."""

    on: date
    level: TrustLevel


def agreed(signals: Sequence[Signal], rules: Trusting) -> tuple[TrustLevel, int] | None:
    """The level ``trust_agree`` of the last ``trust_window`` signals (newest first) agree on,
    with how many do; ``None`` when they do not agree. The newest level wins a tie."""
    recent = list(signals[: rules.trust_window])
    for signal in recent:
        count = sum(s.level == signal.level for s in recent)
        if count >= rules.trust_agree:
            return signal.level, count
    return None


def move(current: TrustLevel | None, signals: Sequence[Signal], rules: Trusting) -> TrustLevel | None:
    """The position after ``signals`` (newest first, only those since the rep last stated a
    level): the first signal sets it; afterwards it moves only when the evidence agrees."""
    if not signals:
        return current
    if current is None:
        return signals[0].level
    found = agreed(signals, rules)
    return found[0] if found is not None else current


def explain(client: Client, signals: Sequence[Signal] = (), rules: Trusting = Trusting()) -> Msg:
    """Why the client's level is what it is, in words the rep can read: stated by the rep, the
    evidence of several touches, or one touch so far; and a newer signal that did not move it."""
    if client.trust_level is None:
        return msg("trust.unassessed")
    params = {"level": int(client.trust_level), "on": client.trust_assessed_on,
              "label": msg(f"trust.level.{int(client.trust_level)}")}
    found = agreed(signals, rules)
    if client.trust_asked_for is None:  # the rep's own word
        key = "trust.stated"
    elif found is not None and found[0] == client.trust_level:
        key, params["agree"], params["of"] = "trust.evidence", found[1], min(len(signals), rules.trust_window)
    else:
        key = "trust.one_touch" if len(signals) == 1 else "trust.assessed"
    line = msg(key, **params)
    newest = signals[0] if signals else None
    if newest is not None and newest.level != client.trust_level:
        return msg("trust.holding", position=line, on=newest.on, other=int(newest.level))
    return line
