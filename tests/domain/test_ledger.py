"""The credit ledger (信用貯金): each fact in, the entries it is worth out (DOMAIN.md's point table)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coaching.ledger import (
    balance,
    for_misunderstanding,
    for_put_right,
    open_setback,
    for_breach,
    for_closed_promise,
    for_interaction,
    for_problem,
    for_silence,
    overdue_break_date,
    passbook,
    promise_outcome,
    reversal,
)
from coaching.model import (
    EntryDraft,
    Interaction,
    Kind,
    LedgerEntry,
    Problem,
    Promise,
    PromiseStatus,
    Purpose,
    Reason,
)
from coaching.rules import DEFAULT_RULES, Nudging, Points, Rules

P = Points()
D = date(2026, 3, 10)


def touch(purpose: Purpose, proof: bool = False, id: int = 7) -> Interaction:
    return Interaction(id, "w", client_id=3, rep_id=5, occurred_on=D, kind=Kind.CALL,
                       purpose=purpose, proof_shown=proof)


def promise(status: PromiseStatus = PromiseStatus.OPEN, closed_on: date | None = None) -> Promise:
    return Promise(4, "w", client_id=3, rep_id=5, interaction_id=7, text="send the quote",
                   made_on=D - timedelta(days=3), due_on=D, status=status, closed_on=closed_on)


def problem(answered_after: int | None) -> Problem:
    first = None if answered_after is None else D + timedelta(days=answered_after)
    return Problem(9, "w", client_id=3, rep_id=5, interaction_id=7, text="late delivery",
                   raised_on=D, first_response_on=first)


def entry(id: int, amount: int, on: date = D, reason: Reason = Reason.GIVE_TOUCH) -> LedgerEntry:
    return LedgerEntry(id, "w", client_id=3, rep_id=5, amount=amount, reason=reason,
                       occurred_on=on, key=f"k{id}")


# --- touches -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "purpose, proof, expected",
    [
        (Purpose.GIVE, False, [(2, Reason.GIVE_TOUCH, "interaction:7:give")]),
        (Purpose.ASK, False, []),
        (Purpose.SERVICE, False, []),
        (Purpose.CONTACT, False, []),  # keeping in touch earns nothing
        (Purpose.CONTACT, True, [(2, Reason.PROOF_SHOWN, "interaction:7:proof")]),
        (Purpose.ASK, True, [(2, Reason.PROOF_SHOWN, "interaction:7:proof")]),
        (Purpose.GIVE, True, [(2, Reason.GIVE_TOUCH, "interaction:7:give"),
                              (2, Reason.PROOF_SHOWN, "interaction:7:proof")]),
    ],
)
def test_for_interaction(purpose, proof, expected) -> None:
    drafts = for_interaction(touch(purpose, proof), P)
    assert [(d.amount, d.reason, d.key) for d in drafts] == expected
    assert all((d.client_id, d.rep_id, d.occurred_on, d.cause) == (3, 5, D, "interaction:7") for d in drafts)


def test_give_entry_records_the_kind() -> None:
    [give] = for_interaction(touch(Purpose.GIVE), P)
    assert give.detail == {"kind": "call"}


def test_ask_touch_earns_an_entry_only_when_a_team_gives_it_points() -> None:
    points = DEFAULT_RULES.with_overrides({"points": {"ask_touch": 1}}).points
    assert [(d.amount, d.reason, d.key) for d in for_interaction(touch(Purpose.ASK), points)] == [
        (1, Reason.ASK_TOUCH, "interaction:7:ask")
    ]


# --- promises ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "status, amount, reason",
    [
        (PromiseStatus.KEPT, 3, Reason.PROMISE_KEPT),
        (PromiseStatus.KEPT_LATE, -1, Reason.PROMISE_KEPT_LATE),
        (PromiseStatus.BROKEN, -10, Reason.PROMISE_BROKEN),
    ],
)
def test_for_closed_promise(status, amount, reason) -> None:
    closed = D + timedelta(days=2)
    draft = for_closed_promise(promise(status, closed), P)
    assert (draft.amount, draft.reason, draft.occurred_on) == (amount, reason, closed)
    assert (draft.key, draft.cause) == ("promise:4:closed", "promise:4")
    assert draft.detail == {"promise": "send the quote", "due": "2026-03-10"}


def test_open_promise_is_worth_nothing_yet() -> None:
    assert for_closed_promise(promise(), P) is None


@pytest.mark.parametrize(
    "kept_after_due, outcome",
    [(-3, PromiseStatus.KEPT), (0, PromiseStatus.KEPT), (1, PromiseStatus.KEPT_LATE), (20, PromiseStatus.KEPT_LATE)],
)
def test_promise_outcome(kept_after_due, outcome) -> None:
    assert promise_outcome(D, D + timedelta(days=kept_after_due)) is outcome


@pytest.mark.parametrize(
    "days_past_due, status, expected",
    [
        (6, PromiseStatus.OPEN, None),
        (7, PromiseStatus.OPEN, D + timedelta(days=7)),
        (30, PromiseStatus.OPEN, D + timedelta(days=7)),
        (30, PromiseStatus.KEPT, None),
        (30, PromiseStatus.KEPT_LATE, None),
        (30, PromiseStatus.BROKEN, None),
    ],
)
def test_overdue_break_date(days_past_due, status, expected) -> None:
    p = promise(status, None if status is PromiseStatus.OPEN else D + timedelta(days=1))
    assert overdue_break_date(p, D + timedelta(days=days_past_due), P) == expected


# --- problems ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "answered_after, as_of_after, expected",
    [
        (0, 10, [(3, Reason.PROBLEM_ANSWERED_FAST, 0, "problem:9:fast")]),
        (1, 10, [(3, Reason.PROBLEM_ANSWERED_FAST, 1, "problem:9:fast")]),
        (2, 10, []),
        (None, 3, [(-5, Reason.PROBLEM_UNANSWERED, 3, "problem:9:unanswered")]),
        (None, 9, [(-5, Reason.PROBLEM_UNANSWERED, 3, "problem:9:unanswered")]),
        (None, 2, []),
        (5, 10, [(-5, Reason.PROBLEM_UNANSWERED, 3, "problem:9:unanswered")]),
    ],
)
def test_for_problem(answered_after, as_of_after, expected) -> None:
    drafts = for_problem(problem(answered_after), D + timedelta(days=as_of_after), P)
    got = [(d.amount, d.reason, (d.occurred_on - D).days, d.key) for d in drafts]
    assert got == expected
    assert all(d.cause == "problem:9" and d.detail == {"problem": "late delivery"} for d in drafts)


# --- breach and silence --------------------------------------------------------------------

@pytest.mark.parametrize("current, amount", [(15, -35), (0, -20), (-19, -1), (-20, 0), (-30, 0)])
def test_for_breach_resets_to_minus_20_and_never_raises(current, amount) -> None:
    draft = for_breach(3, 5, current, D, "breach:1", "claimed a delivery date", P)
    assert draft.amount == amount
    assert (draft.reason, draft.key, draft.cause, draft.detail) == (
        Reason.HONESTY_BREACH, "breach:1", "breach:1", {"what": "claimed a delivery date"})


@pytest.mark.parametrize(
    "as_of, dates",
    [
        (date(2026, 1, 21), []),
        (date(2026, 1, 22), [date(2026, 1, 22)]),
        (date(2026, 2, 4), [date(2026, 1, 22), date(2026, 1, 29)]),
        (date(2026, 2, 5), [date(2026, 1, 22), date(2026, 1, 29), date(2026, 2, 5)]),
    ],
)
def test_for_silence_one_entry_per_full_week_past_cadence(as_of, dates) -> None:
    drafts = for_silence(3, 5, date(2026, 1, 1), 14, as_of, P)
    assert [d.occurred_on for d in drafts] == dates
    assert [d.key for d in drafts] == [f"silence:3:2026-01-01:{w}" for w in range(1, len(dates) + 1)]
    assert [(d.amount, d.reason, d.detail["weeks"], d.detail["cadence"]) for d in drafts] == [
        (-1, Reason.SILENCE, str(w), "14") for w in range(1, len(dates) + 1)]


def test_no_silence_entries_when_silence_costs_nothing() -> None:
    points = Points(silence_per_week=0)
    assert for_silence(3, 5, date(2026, 1, 1), 14, date(2026, 6, 1), points) == []


# --- every entry whole: whose, when, why, and what it quotes ----------------------------------

LATER = D + timedelta(days=1)
WHOLE = {
    "closed promise": (lambda: for_closed_promise(promise(PromiseStatus.KEPT, LATER), P),
                       EntryDraft(3, 5, 3, Reason.PROMISE_KEPT, LATER, "promise:4:closed", "promise:4",
                                  {"promise": "send the quote", "due": D.isoformat()})),
    "closed without a date": (lambda: for_closed_promise(promise(PromiseStatus.KEPT, None), P), None),
    "answered fast": (lambda: for_problem(problem(1), LATER, P)[0],
                      EntryDraft(3, 5, 3, Reason.PROBLEM_ANSWERED_FAST, LATER, "problem:9:fast", "problem:9",
                                 {"problem": "late delivery"})),
    "left waiting": (lambda: for_problem(problem(None), D + timedelta(days=5), P)[0],
                     EntryDraft(3, 5, -5, Reason.PROBLEM_UNANSWERED, D + timedelta(days=3), "problem:9:unanswered",
                                "problem:9", {"problem": "late delivery"})),
    "false claim": (lambda: for_breach(3, 5, 4, LATER, "b:1", "said SSO was in", P),
                    EntryDraft(3, 5, -24, Reason.HONESTY_BREACH, LATER, "b:1", "b:1", {"what": "said SSO was in"})),
    "misunderstanding": (lambda: for_misunderstanding(3, 5, LATER, "m:1", "scope", P),
                         EntryDraft(3, 5, -5, Reason.MISUNDERSTANDING, LATER, "m:1", "m:1", {"what": "scope"})),
    "put right": (lambda: for_put_right(3, 5, D, LATER, "p:1", "sent the fix", P),
                  EntryDraft(3, 5, 2, Reason.PUT_RIGHT, LATER, "p:1", "p:1",
                             {"what": "sent the fix", "setback": D.isoformat()})),
    "silence": (lambda: for_silence(3, 5, D, 14, D + timedelta(days=21), P)[0],
                EntryDraft(3, 5, -1, Reason.SILENCE, D + timedelta(days=21), f"silence:3:{D.isoformat()}:1",
                           "client:3", {"weeks": "1", "cadence": "14"})),
    "reversal": (lambda: reversal(entry(12, -10, reason=Reason.PROMISE_BROKEN), LATER, "by mistake"),
                 EntryDraft(3, 5, 10, Reason.CORRECTION, LATER, "reverse:12", "entry:12",
                            {"reverses": "promise_broken", "why": "by mistake"}, reverses_id=12)),
}


@pytest.mark.parametrize("name", WHOLE)
def test_every_entry_whole(name) -> None:
    make, expected = WHOLE[name]
    assert make() == expected


def test_silence_accrues_week_by_week_until_today() -> None:
    drafts = for_silence(3, 5, D, 14, D + timedelta(days=14 + 7 * 3 + 6), P)
    assert [(d.occurred_on - D).days for d in drafts] == [21, 28, 35]


def test_an_open_purpose_earns_nothing_and_no_unknown_reason() -> None:
    assert for_interaction(touch(Purpose.PENDING), P) == []


# --- corrections and the passbook -----------------------------------------------------------

def test_reversal_negates_and_points_back() -> None:
    original = entry(12, -10, reason=Reason.PROMISE_BROKEN)
    undo = reversal(original, D + timedelta(days=1), "marked by mistake")
    assert (undo.amount, undo.reason, undo.occurred_on) == (10, Reason.CORRECTION, D + timedelta(days=1))
    assert (undo.key, undo.cause, undo.reverses_id) == ("reverse:12", "entry:12", 12)
    assert undo.detail == {"reverses": "promise_broken", "why": "marked by mistake"}


# --- setbacks and their repair ----------------------------------------------------------------

def test_a_misunderstanding_costs_5_whatever_the_balance() -> None:
    draft = for_misunderstanding(3, 5, D, "misunderstanding:3:x", "scope of the quote", P)
    assert (draft.amount, draft.reason, draft.key, draft.detail) == (
        -5, Reason.MISUNDERSTANDING, "misunderstanding:3:x", {"what": "scope of the quote"})


@pytest.mark.parametrize("days_after, amount", [(0, 2), (1, 2), (2, 2), (3, 0), (30, 0), (-1, 0)])
def test_a_correction_is_worth_2_within_two_days_and_is_booked_anyway(days_after, amount) -> None:
    draft = for_put_right(3, 5, D, D + timedelta(days=days_after), "put_right:9", "sent the fix", P)
    assert (draft.amount, draft.reason, draft.detail["setback"]) == (amount, Reason.PUT_RIGHT, D.isoformat())


@pytest.mark.parametrize(
    "booked, as_of, window, open_id",
    [
        ([(1, Reason.HONESTY_BREACH, 0)], 0, 30, 1),
        ([(1, Reason.MISUNDERSTANDING, 0)], 30, 30, 1),  # the last day of the window
        ([(1, Reason.MISUNDERSTANDING, 0)], 31, 30, None),  # past it
        ([(1, Reason.PROMISE_BROKEN, 5)], 4, 30, None),  # booked after the day asked about
        ([(1, Reason.HONESTY_BREACH, 0), (2, Reason.PUT_RIGHT, 0)], 3, 30, None),  # put right the same day
        ([(1, Reason.HONESTY_BREACH, 0), (2, Reason.PUT_RIGHT, 2)], 1, 30, 1),  # not yet, as of day 1
        ([(2, Reason.PUT_RIGHT, 0), (1, Reason.HONESTY_BREACH, 1)], 3, 30, 1),  # a correction before repairs nothing
        ([(1, Reason.HONESTY_BREACH, 0), (2, Reason.MISUNDERSTANDING, 2)], 3, 30, 2),  # the latest one
        ([(1, Reason.GIVE_TOUCH, 0), (2, Reason.SILENCE, 1)], 3, 30, None),
    ],
)
def test_open_setback(booked, as_of, window, open_id) -> None:
    entries = [entry(i, -5, D + timedelta(days=day), reason=reason) for i, reason, day in booked]
    found = open_setback(entries, D + timedelta(days=as_of), window)
    assert (found.id if found else None) == open_id


def test_passbook_runs_in_date_order_then_id() -> None:
    entries = [entry(3, -10, D + timedelta(days=2)), entry(1, 2, D), entry(4, 3, D + timedelta(days=2)),
               entry(2, 2, D + timedelta(days=1))]
    lines = passbook(entries)
    assert [(line.entry.id, line.balance_after) for line in lines] == [(1, 2), (2, 4), (3, -6), (4, -3)]


def test_empty_passbook() -> None:
    assert passbook([]) == [] and balance([]) == 0


# --- tunable points ------------------------------------------------------------------------

def test_overrides_change_points_used_by_the_ledger() -> None:
    rules = DEFAULT_RULES.with_overrides({"points": {"give_touch": 5, "promise_kept": 4},
                                         "nudging": {"quiet_factor": 2}})
    assert (rules.points.give_touch, rules.points.promise_kept, rules.points.proof_shown) == (5, 4, 2)
    assert rules.nudging.quiet_factor == 2.0 and isinstance(rules.nudging.quiet_factor, float)
    assert [d.amount for d in for_interaction(touch(Purpose.GIVE), rules.points)] == [5]
    assert DEFAULT_RULES.points.give_touch == 2  # the original is untouched
    assert rules.nudging == Nudging(quiet_factor=2.0)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"pointz": {"give_touch": 1}}, "unknown rules section [pointz]"),
        ({"points": 3}, "[points] must be a table of settings"),
        ({"points": {"give_tuoch": 1}}, "unknown setting points.give_tuoch"),
        ({"points": {"give_touch": "2"}}, "points.give_touch must be a number, not '2'"),
        ({"points": {"give_touch": 2.5}}, "points.give_touch must be a whole number, not 2.5"),
        ({"points": {"give_touch": True}}, "points.give_touch must be a number, not True"),
        ({"nudging": {"quiet_factor": False}}, "nudging.quiet_factor must be a number, not False"),
    ],
)
def test_override_errors(overrides, message) -> None:
    with pytest.raises(ValueError) as err:
        Rules().with_overrides(overrides)
    assert str(err.value) == message


# --- properties ----------------------------------------------------------------------------

entry_lists = st.lists(
    st.tuples(st.integers(-50, 50), st.dates(date(2024, 1, 1), date(2027, 12, 31))), max_size=40
).map(lambda rows: [entry(i + 1, amount, on) for i, (amount, on) in enumerate(rows)])


@given(entry_lists)
def test_balance_is_the_sum_and_the_passbook_ends_on_it(entries) -> None:
    assert balance(entries) == sum(e.amount for e in entries)
    lines = passbook(entries)
    assert len(lines) == len(entries)
    assert (lines[-1].balance_after if lines else 0) == balance(entries)
    assert [line.entry.occurred_on for line in lines] == sorted(e.occurred_on for e in entries)


@given(entry_lists, st.data())
def test_reversals_cancel_exactly_what_they_reverse(entries, data) -> None:
    chosen = data.draw(st.lists(st.sampled_from(entries), unique_by=lambda e: e.id) if entries else st.just([]))
    later = date(2028, 1, 1)
    with_undo: list[LedgerEntry | EntryDraft] = [*entries, *(reversal(e, later) for e in chosen)]
    assert balance(with_undo) == balance(entries) - sum(e.amount for e in chosen)
    assert balance([*entries, *(reversal(e, later) for e in entries)]) == 0
