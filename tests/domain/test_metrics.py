"""Team-health metrics: small hand-computed tables (see coaching/metrics.py for definitions)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from coaching.messages import Msg
from coaching.metrics import (
    AtRisk, Figures, Uptake, acted_share, by_rep, clients_at_risk, coaching_focus, figures, nudge_uptake,
)
from coaching.model import Problem, Promise, PromiseStatus, Purpose, TrustLevel
from coaching.nudges import ClientHistory, OpenPromise, Touch, WaitingProblem
from coaching.records import SentItem, TouchRow
from coaching.rules import Nudging

AS_OF = date(2025, 6, 30)
RULES = Nudging()
EMPTY_MIX = {1: 0, 2: 0, 3: 0, 4: 0, "unassessed": 0}


def ago(days: int) -> date:
    return AS_OF - timedelta(days=days)


def hist(
    client_id: int = 1, name: str = "Acme", owner: int = 1, *, touched: tuple[int, ...] = (1,),
    created: int = 400, balance: int = 0, trust: TrustLevel | None = None,
    promises_due: tuple[int, ...] = (), waiting: tuple[int, ...] = (), setback: int | None = None,
    put_right: int | None = None,
) -> ClientHistory:
    """A client history; every number is "days before AS_OF" (negative = after)."""
    return ClientHistory(
        client_id=client_id, client_name=name, owner_id=owner, created_on=ago(created),
        touches=tuple(Touch(ago(d), Purpose.GIVE) for d in sorted(touched)),
        open_promises=tuple(OpenPromise(i, f"p{i}", ago(d)) for i, d in enumerate(promises_due)),
        waiting_problems=tuple(WaitingProblem(i, f"q{i}", ago(d)) for i, d in enumerate(waiting)),
        last_setback_on=None if setback is None else ago(setback),
        last_put_right_on=None if put_right is None else ago(put_right),
        trust_level=trust, balance=balance,
    )


def touch(purpose: Purpose, rep: int = 1, client: int = 1) -> TouchRow:
    return TouchRow(rep_id=rep, client_id=client, on=ago(3), purpose=purpose)


def promise(status: PromiseStatus, rep: int = 1, pid: int = 1) -> Promise:
    return Promise(pid, "demo", 1, rep, None, "send deck", ago(20), ago(10), status, ago(9))


def problem(response_days: int | None, rep: int = 1, pid: int = 1) -> Problem:
    raised = ago(20)
    first = None if response_days is None else raised + timedelta(days=response_days)
    return Problem(pid, "demo", 1, rep, None, "late delivery", raised, first)


def fig(histories=(), touches=(), promises=(), problems=(), start=None) -> Figures:
    return figures(list(histories), list(touches), list(promises), list(problems), start or {}, AS_OF, RULES)


# --- empty inputs ------------------------------------------------------------------------------

def test_no_data_gives_none_not_zero_division():
    assert fig() == Figures(
        clients=0, coverage=None, gives=0, asks=0, services=0, give_ask_ratio=None,
        promises_closed=0, promises_kept_on_time_share=None, median_first_response_days=None,
        problems_waiting=0, total_balance=0, median_balance=None, balance_change=0,
        trust_mix=EMPTY_MIX, nudges_delivered=0, nudges_acted_share=None,
    )
    assert fig().give_share is None


def test_clients_but_no_activity():
    f = fig([hist(touched=(5,), balance=4)])
    assert (f.clients, f.coverage, f.give_ask_ratio, f.promises_kept_on_time_share) == (1, 1.0, None, None)
    assert f.median_first_response_days is None


# --- active clients and coverage ---------------------------------------------------------------

@pytest.mark.parametrize(
    "touched, created, clients, coverage",
    [
        ((5, 10), 400, 1, 1.0),          # short history: default cadence 21, silent 5
        ((30,), 400, 1, 0.0),            # silent 30 > 21
        ((7, 14, 21, 28), 400, 1, 1.0),  # cadence 7, silent 7: within (<=)
        ((8, 15, 22), 400, 1, 0.0),      # cadence 7, silent 8
        ((8, 15, 22, -5), 400, 1, 0.0),  # a touch after as_of is ignored
        ((180,), 400, 1, 0.0),           # active at exactly 180 days
        ((181,), 400, 0, None),          # inactive
        ((), 10, 1, 1.0),                # never touched, created 10 days ago: counts from creation
        ((), 30, 1, 0.0),
        ((), 300, 0, None),              # never touched, created long ago: inactive
        ((), -2, 0, None),               # created after as_of
        ((0,), 400, 1, 1.0),             # touched today
        ((), 0, 1, 1.0),                 # created today
    ],
)
def test_active_clients_and_coverage(touched, created, clients, coverage):
    f = fig([hist(touched=touched, created=created)])
    assert (f.clients, f.coverage) == (clients, coverage)


def test_coverage_over_several_clients():
    histories = [
        hist(1, touched=(5, 10)), hist(2, touched=(30,)), hist(3, touched=(7, 14, 21, 28)),
        hist(4, touched=(8, 15, 22)), hist(5, touched=(200,)), hist(6, touched=(), created=10),
        hist(7, touched=(), created=300), hist(8, touched=(180,)),
    ]
    f = fig(histories)
    assert (f.clients, f.coverage) == (6, 0.5)  # covered: 1, 3, 6


# --- touches by purpose ------------------------------------------------------------------------

@pytest.mark.parametrize(
    "gives, asks, services, ratio, share",
    [
        (0, 0, 0, None, None),
        (0, 0, 2, None, None),
        (3, 0, 1, 3.0, 1.0),
        (2, 4, 0, 0.5, 2 / 6),
        (3, 2, 5, 1.5, 0.6),
        (0, 3, 0, 0.0, 0.0),
    ],
)
def test_touch_counts_and_give_ask_ratio(gives, asks, services, ratio, share):
    rows = [touch(Purpose.GIVE)] * gives + [touch(Purpose.ASK)] * asks + [touch(Purpose.SERVICE)] * services
    f = fig(touches=rows)
    assert (f.gives, f.asks, f.services, f.give_ask_ratio, f.give_share) == (gives, asks, services, ratio, share)


# --- promises ----------------------------------------------------------------------------------

K, L, B, O = PromiseStatus.KEPT, PromiseStatus.KEPT_LATE, PromiseStatus.BROKEN, PromiseStatus.OPEN


@pytest.mark.parametrize(
    "statuses, closed, share",
    [
        ((), 0, None),
        ((K,), 1, 1.0),
        ((K, K, L, B), 4, 0.5),
        ((L, B), 2, 0.0),
        ((O, L), 1, 0.0),  # an open row is not a closed promise
        ((O,), 0, None),
        ((K, K, K, L), 4, 0.75),
    ],
)
def test_promises_kept_on_time(statuses, closed, share):
    f = fig(promises=[promise(s, pid=i) for i, s in enumerate(statuses)])
    assert (f.promises_closed, f.promises_kept_on_time_share) == (closed, share)


# --- problems ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "responses, median",
    [
        ((), None),
        ((None,), None),
        ((0, 2, 5), 2.0),
        ((1, 2), 1.5),
        ((0, None, 3), 1.5),
        ((-2, 4), 2.0),  # a response dated before the problem counts as 0 days
    ],
)
def test_median_first_response(responses, median):
    f = fig(problems=[problem(r, pid=i) for i, r in enumerate(responses)])
    assert f.median_first_response_days == median


def test_problems_waiting_counts_those_waiting_a_day_or_more():
    histories = [hist(1, waiting=(0, 1, 5)), hist(2, waiting=(-1,)), hist(3, waiting=(2,))]
    assert fig(histories).problems_waiting == 3  # 1, 5 and 2 days; not today's, not tomorrow's


# --- balances and trust ------------------------------------------------------------------------

@pytest.mark.parametrize(
    "balances, start, total, median, change",
    [
        ((), {}, 0, None, 0),
        ((10, -4, 3), {1: 5, 2: 0}, 9, 3.0, 4),     # client 3 missing at start: started at 0
        ((1, 2), {1: 1, 2: 2, 99: 50}, 3, 1.5, 0),  # clients outside the set are ignored
        ((-20,), {1: 6}, -20, -20.0, -26),
    ],
)
def test_balances_and_trend(balances, start, total, median, change):
    f = fig([hist(i + 1, balance=b) for i, b in enumerate(balances)], start=start)
    assert (f.total_balance, f.median_balance, f.balance_change) == (total, median, change)


def test_trust_mix_counts_every_level_and_unassessed():
    levels = [TrustLevel.EXPERTISE, TrustLevel.WHOLE_BUSINESS, TrustLevel.WHOLE_BUSINESS, None]
    f = fig([hist(i, trust=t) for i, t in enumerate(levels)])
    assert f.trust_mix == {1: 1, 2: 0, 3: 2, 4: 0, "unassessed": 1}


# --- per rep -----------------------------------------------------------------------------------

def test_by_rep_groups_clients_by_owner_and_activity_by_rep():
    histories = [
        hist(1, owner=1, touched=(2,), balance=10, waiting=(3,)),
        hist(2, owner=1, touched=(40,), balance=-2, trust=TrustLevel.SOLUTIONS),
        hist(3, owner=2, touched=(1,), balance=5),
    ]
    touches = [
        touch(Purpose.GIVE, rep=1, client=1), touch(Purpose.ASK, rep=1, client=2),
        touch(Purpose.ASK, rep=2, client=3), touch(Purpose.GIVE, rep=3, client=1),  # rep 3 helps on 1's client
    ]
    promises = [promise(K, rep=2, pid=1), promise(B, rep=2, pid=2), promise(K, rep=1, pid=3)]
    problems = [problem(2, rep=1, pid=1), problem(None, rep=2, pid=2)]
    start = {1: 7, 2: 0, 3: 5}
    reps = by_rep(histories, touches, promises, problems, start, AS_OF, RULES, reps=(4,))

    assert list(reps) == [1, 2, 3, 4]
    one, two, three, four = reps[1], reps[2], reps[3], reps[4]
    assert (one.clients, one.coverage, one.total_balance, one.balance_change) == (2, 0.5, 8, 1)
    assert (one.gives, one.asks, one.give_ask_ratio, one.problems_waiting) == (1, 1, 1.0, 1)
    assert (one.promises_closed, one.promises_kept_on_time_share, one.median_first_response_days) == (1, 1.0, 2.0)
    assert one.trust_mix == {1: 0, 2: 1, 3: 0, 4: 0, "unassessed": 1}
    assert (two.clients, two.coverage, two.total_balance, two.balance_change) == (1, 1.0, 5, 0)
    assert (two.gives, two.asks, two.promises_closed, two.promises_kept_on_time_share) == (0, 1, 2, 0.5)
    assert two.median_first_response_days is None
    assert (three.clients, three.coverage, three.gives, three.total_balance) == (0, None, 1, 0)
    assert four == fig()

    team = figures(histories, touches, promises, problems, start, AS_OF, RULES)
    assert team.gives == sum(f.gives for f in reps.values()) == 2
    assert team.total_balance == sum(f.total_balance for f in reps.values()) == 13


@pytest.mark.parametrize("setbacks, put_right, counted, open_", [
    ((None,), (None,), 0, 0),
    ((0,), (None,), 1, 1),  # today
    ((27,), (None,), 1, 1),  # the last day of the 4 weeks
    ((28,), (None,), 0, 1),  # before them, still not put right
    ((31,), (None,), 0, 0),  # past the recovery window too
    ((3, 5, 40), (1, None, None), 2, 1),
    ((-1,), (None,), 0, 0),  # booked after the day asked about
])
def test_setbacks_and_clients_not_put_right(setbacks, put_right, counted, open_):
    f = fig([hist(i, setback=s, put_right=p) for i, (s, p) in enumerate(zip(setbacks, put_right))])
    assert (f.setbacks, f.in_recovery) == (counted, open_)


def test_a_rep_with_only_a_problem_has_a_row():
    reps = by_rep([], [], [], [problem(1, rep=5)], {}, AS_OF, RULES)
    assert list(reps) == [5] and reps[5].median_first_response_days == 1.0


def test_by_rep_with_nothing_is_empty():
    assert by_rep([], [], [], [], {}, AS_OF, RULES) == {}


# --- nudges acted on within 3 days --------------------------------------------------------------
# Every number is "days before AS_OF"; an item sent 10 days ago (D) is acted on by something done
# 10, 9, 8 or 7 days ago (D .. D+3).

def sent(sent_ago: int = 10, rep: int = 1, client: int | None = 1, subject: str = "client:1:quiet",
         kind: str = "quiet") -> SentItem:
    return SentItem(rep_id=rep, client_id=client, subject=subject, kind=kind, local_date=ago(sent_ago))


def touched(on_ago: int, rep: int = 1, client: int = 1) -> TouchRow:
    return TouchRow(rep_id=rep, client_id=client, on=ago(on_ago), purpose=Purpose.SERVICE)


def closed(pid: int, on_ago: int | None, status: PromiseStatus = PromiseStatus.KEPT, rep: int = 1) -> Promise:
    return Promise(pid, "demo", 1, rep, None, "send deck", ago(30), ago(12), status,
                   None if on_ago is None else ago(on_ago))


PROMISE_ITEM = dict(subject="promise:5", kind="promise_due")
REP_ITEM = dict(client=None, subject="rep:1:busy_lapse", kind="busy_lapse")


@pytest.mark.parametrize(
    "item, touches, promises, acted",
    [
        (sent(), [], [], False),                                      # nothing done
        (sent(), [touched(10)], [], True),                            # a touch on D
        (sent(), [touched(7)], [], True),                             # on D+3: still within
        (sent(), [touched(6)], [], False),                            # on D+4: too late
        (sent(), [touched(11)], [], False),                           # the day before D
        (sent(), [touched(9, rep=2)], [], False),                     # another rep's touch
        (sent(), [touched(9, client=2)], [], False),                  # the rep, another client
        (sent(**PROMISE_ITEM), [], [closed(5, 8)], True),             # the promise kept in the window
        (sent(**PROMISE_ITEM), [], [closed(5, 7, PromiseStatus.KEPT_LATE)], True),
        (sent(**PROMISE_ITEM), [], [closed(5, 10, PromiseStatus.BROKEN)], True),  # broken: acted too
        (sent(**PROMISE_ITEM), [], [closed(5, 8, rep=2)], True),      # whoever made it
        (sent(**PROMISE_ITEM), [], [closed(5, 6)], False),            # closed on D+4
        (sent(**PROMISE_ITEM), [], [closed(5, 11)], False),           # closed before D
        (sent(**PROMISE_ITEM), [], [closed(6, 8)], False),            # another promise
        (sent(**PROMISE_ITEM), [], [closed(5, 8, PromiseStatus.OPEN)], False),  # still open
        (sent(**PROMISE_ITEM), [touched(9)], [], True),               # a touch with its client
        (sent(subject="problem:7", kind="problem_waiting"), [touched(8)], [closed(7, 8)], True),
        (sent(subject="problem:7", kind="problem_waiting"), [], [closed(7, 8)], False),  # promise 7 is not problem 7
        (sent(**REP_ITEM), [touched(8, client=3)], [], True),         # rep level: any touch of the rep
        (sent(**REP_ITEM), [touched(8, rep=2)], [], False),           # ... not a colleague's
        (sent(**REP_ITEM), [touched(5, client=3)], [], False),        # ... nor a late one
    ],
)
def test_a_nudge_is_acted_on_within_three_days(item, touches, promises, acted):
    assert nudge_uptake([item], touches, promises, AS_OF) == Uptake(1, int(acted))
    assert acted_share([item], touches, promises, AS_OF) == float(acted)


@pytest.mark.parametrize(
    "sent_ago, delivered", [(3, 1), (2, 0), (0, 0), (-1, 0)],  # D + 3 <= the last day, or not judged yet
)
def test_only_items_that_can_be_judged_count(sent_ago, delivered):
    up = nudge_uptake([sent(sent_ago)], [touched(max(sent_ago, 0))], [], AS_OF)
    assert up == Uptake(delivered, delivered)
    assert up.share == (1.0 if delivered else None)


def test_nothing_delivered_or_nothing_judged_gives_none():
    assert nudge_uptake([], [touched(1)], [closed(5, 1)], AS_OF) == Uptake(0, 0)
    assert acted_share([], [], [], AS_OF) is None
    assert acted_share([sent(1), sent(2, rep=2)], [touched(1)], [], AS_OF) is None


def test_acted_share_over_several_items():
    items = [
        sent(20),                                    # touched 18 days ago: acted
        sent(10),                                    # same subject sent again, nothing in 10..7: not acted
        sent(12, **PROMISE_ITEM),                    # promise 5 closed 9 days ago (D+3): acted
        sent(10, rep=2, client=2, subject="client:2:quiet"),  # rep 2 touched client 2 on D+1: acted
        sent(15, **REP_ITEM),                        # rep 1 touched nothing 15..12: not acted
        sent(2),                                     # too recent: not counted
    ]
    touches = [touched(18), touched(9, rep=2, client=2), touched(2), touched(19, client=4)]
    up = nudge_uptake(items, touches, [closed(5, 9)], AS_OF)
    assert up == Uptake(5, 3) and up.share == 0.6
    f = fig(touches=touches, promises=[closed(5, 9)])
    assert (f.nudges_delivered, f.nudges_acted_share) == (0, None)  # no items passed in
    f = figures([], touches, [closed(5, 9)], [], {}, AS_OF, RULES, nudges=items)
    assert (f.nudges_delivered, f.nudges_acted_share) == (5, 0.6)
    # The period's last day decides what can be judged: 8 days ago, the items sent 10 days ago
    # (and the recent one) could not be yet; of 20, 12 and 15, two were acted on.
    assert nudge_uptake(items, touches, [closed(5, 9)], ago(8)) == Uptake(3, 2)

def test_by_rep_splits_nudges_by_the_rep_they_reached():
    items = [
        sent(10, rep=1, **PROMISE_ITEM),           # rep 1 owns the client; rep 2 made promise 5
        sent(10, rep=1, client=2, subject="client:2:quiet"),
        sent(10, rep=2, client=2, subject="client:2:quiet"),
        sent(10, rep=5, **{**REP_ITEM, "subject": "rep:5:busy_lapse"}),  # rep 5 did nothing else
    ]
    touches = [touched(9, rep=2, client=2)]       # rep 2's touch acts on rep 2's item only
    promises = [closed(5, 8, rep=2)]
    reps = by_rep([], touches, promises, [], {}, AS_OF, RULES, nudges=items)
    assert list(reps) == [1, 2, 5]
    assert (reps[1].nudges_delivered, reps[1].nudges_acted_share) == (2, 0.5)  # the promise closed
    assert (reps[1].promises_closed, reps[2].promises_closed) == (0, 1)      # still by who made it
    assert (reps[2].nudges_delivered, reps[2].nudges_acted_share) == (1, 1.0)
    assert (reps[5].nudges_delivered, reps[5].nudges_acted_share) == (1, 0.0)
    team = figures([], touches, promises, [], {}, AS_OF, RULES, nudges=items)
    assert (team.nudges_delivered, team.nudges_acted_share) == (4, 0.5)



# --- coaching focus ----------------------------------------------------------------------------

HEALTHY = Figures(
    clients=10, coverage=0.9, gives=5, asks=5, services=1, give_ask_ratio=1.0, promises_closed=4,
    promises_kept_on_time_share=1.0, median_first_response_days=1.0, problems_waiting=0,
    total_balance=30, median_balance=3.0, balance_change=5, trust_mix=EMPTY_MIX,
)
TEAM = replace(
    HEALTHY, coverage=0.8, gives=10, asks=10, promises_kept_on_time_share=0.9,
    median_first_response_days=0.5, problems_waiting=1,
)


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({}, None),
        ({"problems_waiting": 2}, Msg("health.focus.waiting", {"count": 2, "team": 1})),
        ({"promises_kept_on_time_share": 0.5}, Msg("health.focus.promises", {"share": 50, "closed": 4, "team": 90})),
        ({"promises_kept_on_time_share": 0.5, "promises_closed": 1}, None),  # too few to judge
        ({"promises_kept_on_time_share": 0.8}, None),
        ({"promises_kept_on_time_share": None, "promises_closed": 0}, None),
        ({"median_first_response_days": 1.5}, Msg("health.focus.response", {"days": 2, "team": 1})),
        ({"median_first_response_days": 2.5}, Msg("health.focus.response", {"days": 3, "team": 1})),  # rounded up
        ({"median_first_response_days": None}, None),
        ({"coverage": 0.55}, Msg("health.focus.coverage", {"share": 55, "team": 80})),
        ({"coverage": 0.69}, Msg("health.focus.coverage", {"share": 69, "team": 80})),
        ({"coverage": 2 / 3}, Msg("health.focus.coverage", {"share": 66, "team": 80})),  # rounded down
        ({"coverage": 0.7}, None),
        ({"coverage": None, "clients": 0}, None),
        ({"gives": 1, "asks": 4}, Msg("health.focus.give_ask", {"share": 20, "gives": 1, "asks": 4, "team": 50})),
        ({"gives": 0, "asks": 2}, None),  # fewer than 3 gives + asks
        ({"gives": 0, "asks": 3}, Msg("health.focus.give_ask", {"share": 0, "gives": 0, "asks": 3, "team": 50})),
        ({"gives": 3, "asks": 7}, None),  # exactly 30%
        ({"gives": 0, "asks": 0}, None),
    ],
)
def test_coaching_focus_thresholds(changes, expected):
    assert coaching_focus(replace(HEALTHY, **changes), TEAM) == expected


WEAK = {
    "waiting": {"problems_waiting": 1},
    "promises": {"promises_kept_on_time_share": 0.25},
    "response": {"median_first_response_days": 4.0},
    "coverage": {"coverage": 0.2},
    "give_ask": {"gives": 0, "asks": 6},
}


@pytest.mark.parametrize(
    "weak, key",
    [
        (("waiting", "promises", "response", "coverage", "give_ask"), "waiting"),
        (("promises", "response", "coverage", "give_ask"), "promises"),
        (("response", "coverage", "give_ask"), "response"),
        (("coverage", "give_ask"), "coverage"),
        (("give_ask", "waiting"), "waiting"),
        (("give_ask", "response"), "response"),
    ],
)
def test_coaching_focus_picks_the_most_severe(weak, key):
    changes = {k: v for name in weak for k, v in WEAK[name].items()}
    focus = coaching_focus(replace(HEALTHY, **changes), TEAM)
    assert focus is not None and focus.key == f"health.focus.{key}"


def test_coaching_focus_team_figure_falls_back_to_the_reps_own():
    team = replace(TEAM, coverage=None)
    assert coaching_focus(replace(HEALTHY, coverage=0.5), team) == Msg("health.focus.coverage", {"share": 50, "team": 50})


# --- clients at risk ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "kwargs, start, reasons, score",
    [
        ({}, 0, (), 0),
        ({"setback": 30}, 0, ("setback",), 4),
        ({"setback": 31}, 0, (), 0),
        ({"setback": -1}, 0, (), 0),
        ({"promises_due": (1,)}, 0, ("promise_overdue",), 3),
        ({"promises_due": (0, -3)}, 0, (), 0),  # due today or later
        ({"waiting": (1, 4)}, 0, ("problem_waiting",), 3),
        ({"waiting": (0,)}, 0, (), 0),
        ({"touched": (31,)}, 0, (), 0),  # 31 <= 1.5 x 21
        ({"touched": (32,)}, 0, ("silent",), 2),
        ({"touched": (), "created": 40}, 0, ("silent",), 2),
        ({"touched": (11, 16, 21, 26)}, 0, ("silent",), 2),  # cadence 7: 11 > 10.5
        ({"touched": (15, 25, 35, 45)}, 0, (), 0),  # cadence 10: silent exactly 15 is not yet
        ({"setback": 0}, 0, ("setback",), 4),  # a setback today
        ({"balance": 4}, 5, ("falling_balance",), 1),
        ({"balance": 5}, 5, (), 0),
        ({"balance": -1}, None, ("falling_balance",), 1),  # not at start: started at 0
        (
            {"setback": 2, "promises_due": (3,), "waiting": (2,), "touched": (50,), "balance": -9}, 1,
            ("setback", "promise_overdue", "problem_waiting", "silent", "falling_balance"), 13,
        ),
    ],
)
def test_risk_signs(kwargs, start, reasons, score):
    balances = {} if start is None else {1: start}
    found = clients_at_risk([hist(1, "Acme", owner=7, **kwargs)], balances, AS_OF, RULES)
    assert found == ([AtRisk(1, "Acme", 7, score, reasons)] if reasons else [])


RISKY = [
    hist(1, "Delta", touched=(3,), balance=10, promises_due=(-1,), waiting=(0,), setback=31),
    hist(2, "Zulu", setback=5),
    hist(3, "beta", promises_due=(1,), waiting=(3,)),
    hist(4, "Gamma", touched=(40,), balance=5),
    hist(5, "alpha", setback=10, owner=2),
    hist(6, "aardvark", touched=(60,)),
]
START = {1: 10, 4: 8}


def test_clients_at_risk_ordering():
    found = clients_at_risk(RISKY, START, AS_OF, RULES)
    assert [(r.client_name, r.score) for r in found] == [
        ("beta", 6), ("alpha", 4), ("Zulu", 4), ("Gamma", 3), ("aardvark", 2),
    ]
    assert found[1] == AtRisk(5, "alpha", 2, 4, ("setback",))
    assert found[3].reasons == ("silent", "falling_balance")


@pytest.mark.parametrize("limit, names", [(3, ["beta", "alpha", "Zulu"]), (1, ["beta"]), (0, []), (10, ["beta", "alpha", "Zulu", "Gamma", "aardvark"])])
def test_clients_at_risk_limit(limit, names):
    assert [r.client_name for r in clients_at_risk(RISKY, START, AS_OF, RULES, limit=limit)] == names


def test_clients_at_risk_default_limit_is_five():
    many = [hist(i, f"c{i:02}", setback=1) for i in range(8)]
    assert [r.client_id for r in clients_at_risk(many, {}, AS_OF, RULES)] == [0, 1, 2, 3, 4]


def test_no_clients_no_risk():
    assert clients_at_risk([], {}, AS_OF, RULES) == []
