"""Nudges: what the coach would tell a rep today, from one client's history (DOMAIN.md's table)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from coaching.messages import Msg
from coaching.model import Purpose, TrustLevel
from coaching.nudges import (
    AnsweredProblem,
    ClientHistory,
    NudgeKind,
    OpenPromise,
    Touch,
    WaitingProblem,
    cadence_days,
    detect,
    detect_busy_lapse,
)
from coaching.rules import Nudging

AS_OF = date(2025, 6, 30)
RULES = Nudging()
G, A, S, C = Purpose.GIVE, Purpose.ASK, Purpose.SERVICE, Purpose.CONTACT


def ago(days: int) -> date:
    return AS_OF - timedelta(days=days)


def hist(
    touches: tuple[tuple[int, Purpose], ...] = ((1, G),), *, created: int = 400,
    due: tuple[int, ...] = (), waiting: tuple[int, ...] = (), won: int | None = None,
    setback: int | None = None, trust: TrustLevel | None = None, balance: int = 0,
    put_right: int | None = None, answered: tuple[int, ...] = (),
) -> ClientHistory:
    """Every number is "days before AS_OF" (negative: after it)."""
    return ClientHistory(
        client_id=4, client_name="Acme", owner_id=2, created_on=ago(created),
        touches=tuple(Touch(ago(d), p) for d, p in sorted(touches)),
        open_promises=tuple(OpenPromise(10 + i, f"promise {i}", ago(d)) for i, d in enumerate(due)),
        waiting_problems=tuple(WaitingProblem(20 + i, f"problem {i}", ago(d)) for i, d in enumerate(waiting)),
        last_won_on=None if won is None else ago(won),
        last_setback_on=None if setback is None else ago(setback),
        last_put_right_on=None if put_right is None else ago(put_right),
        answered_problems=tuple(AnsweredProblem(30 + i, f"fixed {i}", ago(d)) for i, d in enumerate(answered)),
        trust_level=trust, balance=balance,
    )


def kinds(history: ClientHistory) -> list[NudgeKind]:
    return [n.kind for n in detect(history, AS_OF, RULES)]


def only(history: ClientHistory, kind: NudgeKind):
    [nudge] = [n for n in detect(history, AS_OF, RULES) if n.kind is kind]
    return nudge


def gives(*days: int) -> tuple[tuple[int, Purpose], ...]:
    return tuple((d, G) for d in days)


# --- cadence -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "days_ago, cadence",
    [
        ((), 21),
        ((3,), 21),
        ((3, 13), 21),  # two touches: still the default
        ((3, 3, 3, 3), 21),  # one distinct day
        ((0, 10, 20, 30, 40), 10),
        ((0, 2, 4, 6, 8), 7),  # clamped up
        ((0, 100, 200, 300), 60),  # clamped down
        ((0, 10, 23), 12),  # median of 10 and 13 is 11.5 -> 12
        ((0, 9, 20, 31), 11),
        # the last 7 touches (6 gaps of 10) decide; the 50-day gaps before them do not
        ((0, 10, 20, 30, 40, 50, 60, 110, 160, 210, 260, 310, 360, 410), 10),
        ((0, 50, 100, 150, 200, 250, 300, 310, 320, 330, 340, 350, 360), 50),
        # exactly 7 touches count: gaps 10,10,10,50,50,50 -> 30 (6 touches would give 10, all 10 would too)
        ((0, 10, 20, 30, 80, 130, 180, 190, 200, 210), 30),
    ],
)
def test_cadence_days(days_ago, cadence) -> None:
    assert cadence_days([ago(d) for d in days_ago], RULES) == cadence


def test_cadence_ignores_the_order_it_is_given() -> None:
    assert cadence_days([ago(40), ago(0), ago(20), ago(10), ago(30)], RULES) == 10


# --- each kind fires on a clear case, and not on a clear non-case ----------------------------

def test_quiet_fires_past_one_and_a_half_cadences() -> None:
    nudge = only(hist(gives(40)), NudgeKind.QUIET)
    assert nudge.facts == {"days": 40, "cadence": 21}
    assert (nudge.subject, nudge.rep_id, nudge.client_id, nudge.client_name) == (
        f"client:4:quiet:{ago(40).isoformat()}", 2, 4, "Acme")  # the episode: since the last touch
    assert nudge.reason == Msg("nudge.quiet.reason", {"client": "Acme", "days": 40, "cadence": 21})
    assert nudge.next_step.key == "nudge.quiet.next.0"


@pytest.mark.parametrize("silent", [1, 21, 30, 31])
def test_quiet_does_not_fire_within_one_and_a_half_cadences(silent) -> None:
    assert kinds(hist(gives(silent))) == []


@pytest.mark.parametrize("silent, fires", [(15, False), (16, True)])
def test_quiet_boundary_is_strictly_more_than_one_and_a_half_cadences(silent, fires) -> None:
    history = hist(gives(silent, silent + 10, silent + 20, silent + 30))  # cadence 10: the limit is 15
    assert kinds(history) == ([NudgeKind.QUIET] if fires else [])


def test_quiet_counts_from_creation_when_there_is_no_touch() -> None:
    assert only(hist((), created=32), NudgeKind.QUIET).facts == {"days": 32, "cadence": 21}
    assert kinds(hist((), created=31)) == []


@pytest.mark.parametrize(
    "trust, key",
    [(None, "nudge.quiet.next.0"), (TrustLevel.EXPERTISE, "nudge.quiet.next.1"),
     (TrustLevel.SOLUTIONS, "nudge.quiet.next.2"), (TrustLevel.WHOLE_BUSINESS, "nudge.quiet.next.3"),
     (TrustLevel.PRESENCE, "nudge.quiet.next.4")],
)
def test_quiet_next_step_depends_on_trust_level(trust, key) -> None:
    assert only(hist(gives(40), trust=trust), NudgeKind.QUIET).next_step.key == key


@pytest.mark.parametrize(
    "touches, fires",
    [
        (((5, A), (10, A), (15, A), (20, A)), True),
        (((5, A), (10, A), (15, A)), True),  # exactly the minimum of 3 asks
        (((5, A), (10, A)), False),  # fewer than 3 asks
        (((5, A), (10, A), (15, A), (20, G)), False),  # 3 of 4 asks and gives = 75%
        (((5, A), (10, A), (15, A), (20, A), (25, G)), True),  # 4 of 5 = 80%: one give among many does not silence it
        (((5, A), (10, A), (15, A), (20, A), (25, G), (30, G)), False),  # 4 of 6
        (((5, A), (10, A), (15, A), (20, C), (25, C), (30, C), (35, C), (40, C)), True),  # contact is no give
        (((5, A), (10, A), (15, A), (20, S), (25, S)), True),  # service is neither
        (((5, A), (10, A), (90, A), (95, A)), False),  # 90 days ago is outside the window
        (((5, A), (10, A), (89, A)), True),  # 89 days ago is inside it
        (((0, A), (10, A), (89, A)), True),  # a touch today counts
    ],
)
def test_ask_only(touches, fires) -> None:
    assert (NudgeKind.ASK_ONLY in kinds(hist(touches))) is fires


def test_a_new_episode_is_a_new_subject() -> None:
    """The same silence keeps its subject day after day (it backs off, a snooze holds); a touch
    and a new silence make a new one."""
    first = only(hist(gives(40)), NudgeKind.QUIET).subject
    assert only(hist(gives(41)), NudgeKind.QUIET).subject != first
    later = [n.subject for n in detect(hist(gives(40)), AS_OF + timedelta(days=3), RULES) if n.kind is NudgeKind.QUIET]
    assert later == [first]


def test_ask_only_facts() -> None:
    nudge = only(hist(((5, A), (10, A), (15, A), (20, A), (25, G), (30, C))), NudgeKind.ASK_ONLY)
    assert nudge.facts == {"asks": 4, "touches": 5}  # asks and gives: the contact is neither
    assert (nudge.subject, nudge.next_step.key) == (f"client:4:ask_only:{ago(5).isoformat()}", "nudge.ask_only.next.0")


@pytest.mark.parametrize("won, touched", [(25, gives(25, 35, 45, 55)), (30, gives(25, 30, 40, 50))])
def test_after_win_replaces_quiet(won, touched) -> None:
    history = hist(touched, won=won)
    assert kinds(history) == [NudgeKind.AFTER_WIN]
    nudge = only(history, NudgeKind.AFTER_WIN)
    assert nudge.facts == {"days": 25, "won": ago(won), "cadence": 10}
    assert (nudge.subject, nudge.next_step.key) == (f"client:4:after_win:{ago(won).isoformat()}",
                                                    "nudge.after_win.next")


@pytest.mark.parametrize(
    "won, touched, expected",
    [
        (30, gives(3, 30, 40, 50), []),  # touched since the win, recently
        (25, gives(8, 25, 35, 45), []),  # 8 days silent is within the cadence of 10
        (200, gives(200, 210, 220, 230), [NudgeKind.QUIET]),  # win too old: plain quiet
        (181, gives(181, 191, 201, 211), [NudgeKind.QUIET]),  # a day past the 180-day window
        (10, gives(10, 20, 30, 40), []),  # silent exactly the cadence (10 days): not yet
    ],
)
def test_after_win_does_not_fire(won, touched, expected) -> None:
    assert kinds(hist(touched, won=won)) == expected


def test_after_win_on_the_last_day_of_its_window() -> None:
    assert kinds(hist(gives(180, 190, 200, 210), won=180)) == [NudgeKind.AFTER_WIN]
    assert kinds(hist(gives(11, 21, 31, 41), won=11)) == [NudgeKind.AFTER_WIN]  # a day past the cadence


def test_promise_due_today_and_tomorrow() -> None:
    found = [n for n in detect(hist(due=(0, -1, -2)), AS_OF, RULES)]
    assert [(n.kind, n.subject, n.next_step.key) for n in found] == [
        (NudgeKind.PROMISE_DUE, "promise:10", "nudge.promise_due.next.0"),
        (NudgeKind.PROMISE_DUE, "promise:11", "nudge.promise_due.next.1"),
    ]
    assert found[0].facts == {"promise": "promise 0", "due": AS_OF}


def test_promise_overdue() -> None:
    nudge = only(hist(due=(3,)), NudgeKind.PROMISE_OVERDUE)
    assert nudge.facts == {"promise": "promise 0", "due": ago(3), "days": 3}
    assert (nudge.subject, nudge.next_step.key) == ("promise:10", "nudge.promise_overdue.next")


def test_problem_waiting_from_the_next_day() -> None:
    nudge = only(hist(waiting=(1,)), NudgeKind.PROBLEM_WAITING)
    assert (nudge.subject, nudge.facts) == ("problem:20", {"problem": "problem 0", "days": 1})
    assert kinds(hist(waiting=(0,))) == []


@pytest.mark.parametrize(
    "setback, put_right, touched, fires",
    [
        (5, None, gives(10), True),
        (5, None, gives(10, 2, 1), True),  # other contact, even gives, does not repair it
        (5, 2, gives(10, 2), False),  # put right three days later
        (5, 5, gives(10), False),  # put right the same day
        (5, 6, gives(10), True),  # a correction before the setback repairs nothing
        (5, -1, gives(10), True),  # nor one booked after the day asked about
        (5, 0, gives(10), False),  # put right today
        (0, None, gives(10), True),  # a setback today
        (-1, None, gives(10), False),  # one booked after the day asked about
        (30, None, gives(31), True),  # the last day of the window
        (31, None, gives(40), False),  # past it
    ],
)
def test_recovery(setback, put_right, touched, fires) -> None:
    history = hist(touched, setback=setback, put_right=put_right)
    assert (NudgeKind.RECOVERY in kinds(history)) is fires


def test_problem_follow_up_looks_at_every_answered_problem() -> None:
    later = only(hist(gives(20, 9), answered=(10, 8)), NudgeKind.PROBLEM_FOLLOW_UP)  # touched since the first
    assert later.subject == "problem:31:follow_up"
    nudge = only(hist(gives(20), answered=(3, 8)), NudgeKind.PROBLEM_FOLLOW_UP)
    assert (nudge.subject, nudge.facts) == ("problem:31:follow_up", {"problem": "fixed 1", "days": 8})
    assert nudge.reason.params == nudge.next_step.params == {"client": "Acme", "problem": "fixed 1", "days": 8}


def test_recovery_says_when_the_setback_was() -> None:
    nudge = only(hist(gives(10), setback=5), NudgeKind.RECOVERY)
    assert (nudge.subject, nudge.facts, nudge.next_step.params) == (
        f"client:4:recovery:{ago(5).isoformat()}", {"on": ago(5)}, {"client": "Acme", "on": ago(5)})


@pytest.mark.parametrize(
    "answered, touched, fires",
    [
        ((7,), gives(10), True),  # a week after the answer, no touch since
        ((6,), gives(10), False),  # not yet
        ((30,), gives(40), True),  # the last day it is followed up
        ((31,), gives(40), False),  # let go
        ((7,), gives(10, 7), True),  # a touch the day of the answer is not "since"
        ((7,), gives(10, 6), False),  # a touch since the answer
        ((0,), gives(10), False),  # answered today
    ],
)
def test_problem_follow_up(answered, touched, fires) -> None:
    history = hist(touched, answered=answered)
    fired = [n for n in detect(history, AS_OF, RULES) if n.kind is NudgeKind.PROBLEM_FOLLOW_UP]
    assert bool(fired) is fires
    if fired:
        assert fired[0].subject == "problem:30:follow_up" and fired[0].facts["days"] == answered[0]


# --- ordering and dates ----------------------------------------------------------------------

def test_most_at_stake_first() -> None:
    history = hist(gives(40), setback=5, due=(2,), waiting=(3,))
    found = detect(history, AS_OF, RULES)
    assert [(n.kind, n.stake) for n in found] == [
        (NudgeKind.RECOVERY, 90), (NudgeKind.PROMISE_OVERDUE, 85),
        (NudgeKind.PROBLEM_WAITING, 80), (NudgeKind.QUIET, 40)]


@pytest.mark.parametrize("trust, balance, stake", [(None, 0, 40), (TrustLevel.SOLUTIONS, 9, 49),
                                                   (TrustLevel.PRESENCE, -60, 42), (None, 90, 50),
                                                   (None, 4, 41), (None, -4, 38)])  # whole points, rounded down
def test_stake_grows_with_trust_and_balance(trust, balance, stake) -> None:
    assert only(hist(gives(40), trust=trust, balance=balance), NudgeKind.QUIET).stake == stake


def test_touches_after_as_of_are_ignored() -> None:
    history = hist(((-5, G), (40, G)), setback=3)
    assert kinds(history) == [NudgeKind.RECOVERY, NudgeKind.QUIET]
    assert only(history, NudgeKind.QUIET).facts == {"days": 40, "cadence": 21}


# --- the rep's own lapse -------------------------------------------------------------------

@pytest.mark.parametrize(
    "recent, baseline, fires",
    [(2, 50, True), (3, 50, True), (4, 50, False), (5, 50, False), (0, 10, False), (0, 20, True)],
)
def test_detect_busy_lapse(recent, baseline, fires) -> None:
    nudge = detect_busy_lapse(3, recent, baseline, RULES)
    assert (nudge is not None) is fires


def test_busy_lapse_nudge() -> None:
    nudge = detect_busy_lapse(3, 2, 50, RULES)
    facts = {"recent": 2, "usual": 10, "days": 14}
    assert (nudge.kind, nudge.rep_id, nudge.client_id, nudge.subject, nudge.stake) == (
        NudgeKind.BUSY_LAPSE, 3, None, "rep:3:busy_lapse", 20)
    assert nudge.facts == facts
    assert (nudge.reason, nudge.next_step) == (Msg("nudge.busy_lapse.reason", facts),
                                               Msg("nudge.busy_lapse.next", facts))
