"""The coach measuring itself: nudges sent against nudges held back at random."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from coaching.effect import Arm, Effect, effects, first_episodes, held_back
from coaching.model import Problem, Promise, PromiseStatus, Purpose
from coaching.records import NudgeFeedback, SentItem, TouchRow

D = date(2026, 11, 2)


def item(rep: int, client: int | None, subject: str, kind: str = "quiet", day: int = 0) -> SentItem:
    return SentItem(rep, client, subject, kind, D + timedelta(days=day))


def touch(rep: int, client: int, day: int) -> TouchRow:
    return TouchRow(rep, client, D + timedelta(days=day), Purpose.GIVE)


def test_held_back_is_a_fixed_draw_near_its_share() -> None:
    draws = [held_back(1, f"client:{n}:quiet", "quiet", 0.1) for n in range(10_000)]
    assert 0.09 < sum(draws) / len(draws) < 0.11
    assert draws == [held_back(1, f"client:{n}:quiet", "quiet", 0.1) for n in range(10_000)]  # the same every day
    assert not any(held_back(1, f"client:{n}:quiet", "quiet", 0.0) for n in range(1000))
    assert all(held_back(1, f"client:{n}:quiet", "quiet", 1.0) for n in range(1000))


def test_an_episode_counts_once_on_its_first_day() -> None:
    items = [item(1, 4, "client:4:quiet:2026-10-01", day=3), item(1, 4, "client:4:quiet:2026-10-01", day=0),
             item(1, 4, "client:4:quiet:2026-11-01", day=5)]
    assert [i.local_date for i in first_episodes(items)] == [D, D + timedelta(days=5)]


@pytest.mark.parametrize("done_on, acted", [(0, True), (7, True), (8, False), (-1, False)])
def test_acted_on_within_seven_days(done_on, acted) -> None:
    [e, _] = effects([item(1, 4, "client:4:quiet")], [], [touch(1, 4, done_on)], [], [], [], D + timedelta(days=30))
    assert e.sent == Arm(1, int(acted))


def test_a_promise_kept_or_a_problem_answered_is_acting_on_it() -> None:
    promise = Promise(12, "w", 4, 1, None, "deck", D, D + timedelta(days=1), PromiseStatus.KEPT, D + timedelta(days=2))
    problem = Problem(7, "w", 5, 1, None, "login", D - timedelta(days=1), D + timedelta(days=3))
    sent = [item(1, 4, "promise:12", "promise_due"), item(1, 5, "problem:7", "problem_waiting"),
            item(1, None, "rep:1:busy_lapse", "busy_lapse")]
    found = effects(sent, [], [touch(1, 9, 4)], [promise], [problem], [], D + timedelta(days=30))
    assert {e.kind: e.sent.acted for e in found} == {"promise_due": 1, "problem_waiting": 1, "busy_lapse": 1, "all": 3}


def test_a_window_not_yet_closed_is_not_judged() -> None:
    found = effects([item(1, 4, "client:4:quiet")], [], [], [], [], [], D + timedelta(days=6))
    assert found == [Effect("all", Arm(), Arm())]


def test_the_difference_and_its_interval() -> None:
    sent = [item(1, n, f"client:{n}:quiet") for n in range(100)]
    held = [item(1, 100 + n, f"client:{100 + n}:quiet") for n in range(100)]
    touches = [touch(1, n, 2) for n in range(60)] + [touch(1, 100 + n, 2) for n in range(40)]
    feedback = [NudgeFeedback(1, f"client:{n}:quiet", "quiet", "useful", D) for n in range(10)] + [
        NudgeFeedback(1, f"client:{n}:quiet", "quiet", "dismissed", D) for n in range(90, 95)]
    [quiet, everything] = effects(sent, held, touches, [], [], feedback, D + timedelta(days=30))
    assert (quiet.sent, quiet.held) == (Arm(100, 60), Arm(100, 40)) and quiet == everything.__class__(
        "quiet", Arm(100, 60), Arm(100, 40), useful=10, ignored=35)
    assert quiet.difference == pytest.approx(0.2)
    low, high = quiet.interval
    assert low == pytest.approx(0.2 - 1.96 * (0.6 * 0.4 / 100 + 0.4 * 0.6 / 100) ** 0.5)
    assert high == pytest.approx(0.2 + 1.96 * (0.6 * 0.4 / 100 + 0.4 * 0.6 / 100) ** 0.5)
    assert not quiet.small and (quiet.rate(quiet.useful), quiet.rate(quiet.ignored)) == (0.1, 0.35)


def test_without_a_held_back_arm_there_is_no_difference() -> None:
    [e, _] = effects([item(1, 4, "client:4:quiet")], [], [], [], [], [], D + timedelta(days=30))
    assert e.difference is None and e.interval is None and e.small
