"""Trust as a position: the level moves when the evidence does, not on one answer."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.catalog import Catalog
from coaching.model import Client, TrustLevel
from coaching.rules import Trusting
from coaching.trust import Signal, agreed, assess, explain, move

D = date(2026, 11, 20)
RULES = Trusting()
CATALOG = Catalog()
L1, L2, L3, L4 = TrustLevel.EXPERTISE, TrustLevel.SOLUTIONS, TrustLevel.WHOLE_BUSINESS, TrustLevel.PRESENCE


def signals(*levels: TrustLevel) -> list[Signal]:
    """Newest first, a week apart."""
    return [Signal(D - timedelta(days=7 * i), level) for i, level in enumerate(levels)]


@pytest.mark.parametrize("asked, justify, level", [
    (None, None, None), (L3, None, L3), (L3, False, L3), (L3, True, L2), (L2, True, L1),
    (L1, True, L1),  # never below 1
    (L4, True, L3),
])
def test_assess_one_signal(asked, justify, level) -> None:
    assert assess(asked, justify) == level


@pytest.mark.parametrize("current, newest_first, level", [
    (None, (L1,), L1),  # the first signal sets the first position
    (None, (), None),
    (L3, (), L3),
    (L3, (L1,), L3),  # one technical question does not drop a level-3 client to 1
    (L3, (L1, L3, L3), L3),
    (L3, (L1, L1), L1),  # two of the last three agree: it moves
    (L3, (L1, L2, L1), L1),
    (L2, (L3, L1, L3), L3),
    (L2, (L3, L1, L4), L2),  # no two agree: it holds
    (L2, (L3, L1, L4, L3), L2),  # only the last three count
    (L1, (L2, L2, L2), L2),
])
def test_move(current, newest_first, level) -> None:
    assert move(current, signals(*newest_first), RULES) == level


def test_a_team_can_ask_for_more_agreement() -> None:
    strict = Trusting(trust_window=4, trust_agree=3)
    assert move(L3, signals(L1, L1, L3, L3), strict) == L3
    assert move(L3, signals(L1, L1, L3, L1), strict) == L1
    assert agreed(signals(L2, L1, L2, L1), Trusting(trust_window=4, trust_agree=2)) == (L2, 2)  # the newest wins a tie


def client(level: TrustLevel | None, asked: TrustLevel | None = None) -> Client:
    return Client(4, "w", "Acme", 1, 1, D, trust_level=level, trust_assessed_on=D, trust_asked_for=asked)


def said(message) -> str:
    return CATALOG.render(message, "en")


@pytest.mark.parametrize("level, asked, newest_first, text", [
    (None, None, (), "Trust level: not assessed yet."),
    (L2, None, (), "Trust level 2 (they want solutions from you): you set it on Fri, 20 Nov 2026."),
    (L2, L2, (), "Trust level 2 (they want solutions from you), assessed Fri, 20 Nov 2026."),
    (L3, L3, (L3, L3, L1), "Trust level 3 (they want your view of their whole business): their last touches showed it, 2 of 3 "
                           "(latest Fri, 20 Nov 2026)."),
    (L3, L3, (L3,), "Trust level 3 (they want your view of their whole business): from one touch so far"),
    (L3, L1, (L1, L3, L2), "Their last touch (Fri, 20 Nov 2026) pointed to level 1; one touch does not move it."),
])
def test_explain_says_why(level, asked, newest_first, text) -> None:
    assert text in said(explain(client(level, asked), signals(*newest_first), RULES))


def test_a_signal_that_did_not_move_the_level_follows_the_reason_for_it() -> None:
    text = said(explain(client(L3, L3), signals(L1, L3, L3), RULES))
    assert text.startswith("Trust level 3 (they want your view of their whole business): their last touches showed it, 2 of 3")
    assert text.endswith("Their last touch (Fri, 20 Nov 2026) pointed to level 1; one touch does not move it.")
