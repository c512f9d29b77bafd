"""Team health: which relationships are healthy, which are slipping, who to coach on what.

Pure functions over plain values. The service layer fetches, for one team and one period ending
on ``as_of``: the team's :class:`~coaching.nudges.ClientHistory` values as of ``as_of``, the
touches, closed promises and raised problems of the period, and each client's credit balance at
the period start. Nothing here reads a clock; every date is passed in. All day counts are whole
calendar days (``(later - earlier).days``).

Definitions (a *client* below is one ``ClientHistory``; touches dated after ``as_of`` are ignored)

* **Book** -- every client passed in. Balances, trust mix and waiting problems cover the book.
* **Active client** -- a client whose latest touch, or (never touched) whose creation date, falls
  within the ``ACTIVE_DAYS`` (180) days up to and including ``as_of``. ``clients`` counts them.
* **Days since last touch** -- ``as_of`` minus the latest touch; a client never touched counts
  from its creation date (as the ``quiet`` nudge does).
* **Cadence** -- the client's own rhythm, :func:`coaching.nudges.cadence_days` over its touches.
* **coverage** -- share (0..1) of active clients whose days since last touch are at most their
  cadence. ``None`` when there is no active client.
* **gives / asks / services** -- touches in the period by purpose (the rows passed in).
* **give_ask_ratio** -- ``gives / asks``; ``float(gives)`` when there are gives but no asks;
  ``None`` when there are neither.
* **give_share** (property) -- ``gives / (gives + asks)``; ``None`` when both are 0.
* **promises_closed** -- promises closed in the period (kept, kept late or broken; rows still
  marked open are ignored). **promises_kept_on_time_share** -- kept on time / closed, ``None``
  when none closed.
* **median_first_response_days** -- median over problems raised in the period that have a
  first response of (first response - raised) in days (never below 0); ``None`` if none.
* **problems_waiting** -- unanswered client problems in the book that have waited at least
  ``Nudging.problem_waiting_days`` (default 1) days, the same test as the ``problem_waiting``
  nudge, so a problem raised this morning does not count yet.
* **total_balance / median_balance** -- sum and median of the book's credit balances now
  (median ``None`` for an empty book). **balance_change** -- ``total_balance`` minus the sum of
  the same clients' balances at the period start (a client missing from the start balances,
  e.g. one created during the period, started at 0).
* **trust_mix** -- clients in the book per trust level: keys 1, 2, 3, 4 and ``"unassessed"``,
  always all present.
* **Nudges acted on** -- the nudge items passed in (:class:`~coaching.records.SentItem`: each item
  of a digest or promise reminder whose delivery status is ``sent``; the same subject sent on
  two days is two items). An item delivered to a rep on local date D is *acted on* when, within
  D..D + ``ACTED_DAYS`` (3) days inclusive, the same rep logged a touch (non-voided interaction)
  with the item's client, or -- for a promise item (subject ``promise:<id>``) -- that promise
  was closed (kept, kept late or broken all count, whoever closed it). A rep-level item (no
  client, e.g. ``rep:3:busy_lapse``) is acted on by any touch the rep logged in the window.
  Snoozing or dismissing a nudge is not acting on it. Only items with D + 3 <= the period's last
  day (``as_of``) qualify; later ones cannot be judged yet. **nudges_delivered** -- the items
  that qualify. **nudges_acted_share** -- acted on / nudges_delivered, ``None`` when no item
  qualifies. Touches and closed promises are those passed in (team health passes those on the
  team's clients, and the items to its members about its clients or about the rep).

Per rep (:func:`by_rep`): client-level figures (clients, coverage, balances, trust mix, waiting
problems) group by the client's owner; activity figures (touches, promises, problems) group by the
rep who did them, so a touch on a colleague's client counts for whoever made it. Nudge items
group by the rep they reached; a promise item is judged against every closed promise passed in
(a promise nudge can reach the client's owner while a colleague made the promise).

Coaching focus (:func:`coaching_focus`) -- the one figure to coach a rep on. Weak means:
``problems_waiting > 0`` (key ``health.focus.waiting``, params ``count``); promises kept on time
< 80% with at least 2 closed (``promises``: ``share``, ``closed``); median first response > 1 day
(``response``: ``days``, rounded up); coverage < 70% (``coverage``: ``share``); give share < 30%
with at least 3 gives + asks (``give_ask``: ``share``, ``gives``, ``asks``). When several are
weak the most severe wins, in that order: waiting > promises > response > coverage > give_ask.
Shares are whole percents rounded down; every message also carries ``team``, the team's figure
in the same unit (the team includes the rep, so it exists whenever the rep's figure does).

Clients at risk (:func:`clients_at_risk`) -- a score adding, for each warning sign present:
``setback`` 4 (a broken promise or breach within ``Nudging.recovery_window_days``, default 30),
``promise_overdue`` 3 (an open promise due before ``as_of``), ``problem_waiting`` 3 (a problem
waiting as defined above), ``silent`` 2 (days since last touch > ``quiet_factor`` x cadence),
``falling_balance`` 1 (balance now below the balance at the period start). Reasons are listed in
that order. Only clients scoring above 0 are listed: highest score first, ties by client name
(case-insensitive, then id), at most ``limit``.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable, Mapping, Sequence

from coaching.messages import Msg
from coaching.model import Problem, Promise, PromiseStatus, Purpose
from coaching.nudges import ClientHistory, cadence_days
from coaching.records import SentItem, TouchRow
from coaching.rules import Nudging

ACTIVE_DAYS = 180
COVERAGE_MIN = 0.7
GIVE_SHARE_MIN = 0.3
GIVE_ASK_MIN_TOUCHES = 3
KEPT_ON_TIME_MIN = 0.8
KEPT_MIN_CLOSED = 2
RESPONSE_MAX_DAYS = 1
ACTED_DAYS = 3  # a nudge delivered on D is acted on by something done on D .. D + ACTED_DAYS

RISK_WEIGHTS = {  # in the order reasons are listed
    "setback": 4,
    "promise_overdue": 3,
    "problem_waiting": 3,
    "silent": 2,
    "falling_balance": 1,
}
TRUST_KEYS: tuple[int | str, ...] = (1, 2, 3, 4, "unassessed")


@dataclass(frozen=True)
class Figures:
    clients: int
    coverage: float | None
    gives: int
    asks: int
    services: int
    give_ask_ratio: float | None
    promises_closed: int
    promises_kept_on_time_share: float | None
    median_first_response_days: float | None
    problems_waiting: int
    total_balance: int
    median_balance: float | None
    balance_change: int
    trust_mix: dict[int | str, int]
    nudges_delivered: int = 0
    nudges_acted_share: float | None = None

    @property
    def give_share(self) -> float | None:
        total = self.gives + self.asks
        return self.gives / total if total else None


@dataclass(frozen=True)
class AtRisk:
    client_id: int
    client_name: str
    owner_id: int
    score: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Uptake:
    """How many nudge items qualify (``delivered``) and how many of them were acted on."""

    delivered: int
    acted: int

    @property
    def share(self) -> float | None:
        return self.acted / self.delivered if self.delivered else None


def _promise_id(subject: str) -> int | None:
    kind, _, rest = subject.partition(":")
    return int(rest) if kind == "promise" and rest.isdigit() else None


def nudge_uptake(
    items: Iterable[SentItem],
    touches: Iterable[TouchRow],
    promises_closed: Iterable[Promise],
    last_day: date,
) -> Uptake:
    """Nudge items delivered and acted on within ``ACTED_DAYS`` (see module docs); only items
    with ``local_date + ACTED_DAYS <= last_day`` qualify."""
    client_days: dict[tuple[int, int], set[date]] = defaultdict(set)
    rep_days: dict[int, set[date]] = defaultdict(set)
    for t in touches:
        client_days[(t.rep_id, t.client_id)].add(t.on)
        rep_days[t.rep_id].add(t.on)
    closed_on = {
        p.id: p.closed_on for p in promises_closed
        if p.status is not PromiseStatus.OPEN and p.closed_on is not None
    }
    delivered = acted = 0
    for item in items:
        if item.local_date + timedelta(days=ACTED_DAYS) > last_day:
            continue
        delivered += 1
        window = [item.local_date + timedelta(days=n) for n in range(ACTED_DAYS + 1)]
        if item.client_id is None:
            days = rep_days.get(item.rep_id, set())
        else:
            days = client_days.get((item.rep_id, item.client_id), set())
        promise_id = _promise_id(item.subject)
        closed = closed_on.get(promise_id) if promise_id is not None else None
        acted += any(day in days for day in window) or (closed is not None and closed in window)
    return Uptake(delivered, acted)


def acted_share(
    items: Iterable[SentItem],
    touches: Iterable[TouchRow],
    promises_closed: Iterable[Promise],
    last_day: date,
) -> float | None:
    """The share of qualifying nudge items acted on, ``None`` when none qualifies."""
    return nudge_uptake(items, touches, promises_closed, last_day).share


def _touch_dates(history: ClientHistory, as_of: date) -> list[date]:
    return [t.on for t in history.touches if t.on <= as_of]


def _days_silent(history: ClientHistory, dates: Sequence[date], as_of: date) -> int:
    return (as_of - (dates[0] if dates else history.created_on)).days


def _waiting(history: ClientHistory, as_of: date, rules: Nudging) -> int:
    return sum((as_of - p.raised_on).days >= rules.problem_waiting_days for p in history.waiting_problems)


def figures(
    histories: Sequence[ClientHistory],
    touches: Iterable[TouchRow],
    promises_closed: Iterable[Promise],
    problems: Iterable[Problem],
    balances_at_start: Mapping[int, int],
    as_of: date,
    rules: Nudging,
    *,
    nudges: Iterable[SentItem] = (),
    nudge_promises: Iterable[Promise] | None = None,
) -> Figures:
    """The health figures of one set of clients and the activity passed in (see module docs).

    ``nudges`` are the nudge items delivered in the period; they are judged against
    ``touches`` and ``nudge_promises`` (default: ``promises_closed``) up to ``as_of``.
    """
    touches = list(touches)
    active = covered = 0
    trust_mix: dict[int | str, int] = dict.fromkeys(TRUST_KEYS, 0)
    for h in histories:
        dates = _touch_dates(h, as_of)
        anchor = dates[0] if dates else h.created_on
        if anchor <= as_of and (as_of - anchor).days <= ACTIVE_DAYS:
            active += 1
            covered += _days_silent(h, dates, as_of) <= cadence_days(dates, rules)
        trust_mix[int(h.trust_level) if h.trust_level else "unassessed"] += 1

    counts = {purpose: 0 for purpose in Purpose}
    for row in touches:
        counts[Purpose(row.purpose)] += 1
    gives, asks = counts[Purpose.GIVE], counts[Purpose.ASK]
    if asks:
        ratio: float | None = gives / asks
    else:
        ratio = float(gives) if gives else None

    closed = [p for p in promises_closed if p.status is not PromiseStatus.OPEN]
    kept = sum(p.status is PromiseStatus.KEPT for p in closed)
    waits = [
        max(0, (p.first_response_on - p.raised_on).days)
        for p in problems
        if p.first_response_on is not None
    ]
    balances = [h.balance for h in histories]
    total = sum(balances)
    uptake = nudge_uptake(nudges, touches, closed if nudge_promises is None else nudge_promises, as_of)
    return Figures(
        clients=active,
        coverage=covered / active if active else None,
        gives=gives,
        asks=asks,
        services=counts[Purpose.SERVICE],
        give_ask_ratio=ratio,
        promises_closed=len(closed),
        promises_kept_on_time_share=kept / len(closed) if closed else None,
        median_first_response_days=float(statistics.median(waits)) if waits else None,
        problems_waiting=sum(_waiting(h, as_of, rules) for h in histories),
        total_balance=total,
        median_balance=float(statistics.median(balances)) if balances else None,
        balance_change=total - sum(balances_at_start.get(h.client_id, 0) for h in histories),
        trust_mix=trust_mix,
        nudges_delivered=uptake.delivered,
        nudges_acted_share=uptake.share,
    )


def by_rep(
    histories: Iterable[ClientHistory],
    touches: Iterable[TouchRow],
    promises_closed: Iterable[Promise],
    problems: Iterable[Problem],
    balances_at_start: Mapping[int, int],
    as_of: date,
    rules: Nudging,
    *,
    reps: Iterable[int] = (),
    nudges: Iterable[SentItem] = (),
) -> dict[int, Figures]:
    """:func:`figures` per rep, grouping the inputs in one pass (see module docs).

    Every rep who owns a client, did something in the period or was sent a nudge item gets an
    entry, plus every id in ``reps`` (so a rep with nothing at all still appears, with empty
    figures). Sorted by rep id.
    """
    promises_closed = list(promises_closed)
    h_by: dict[int, list[ClientHistory]] = defaultdict(list)
    t_by: dict[int, list[TouchRow]] = defaultdict(list)
    p_by: dict[int, list[Promise]] = defaultdict(list)
    q_by: dict[int, list[Problem]] = defaultdict(list)
    n_by: dict[int, list[SentItem]] = defaultdict(list)
    for h in histories:
        h_by[h.owner_id].append(h)
    for t in touches:
        t_by[t.rep_id].append(t)
    for p in promises_closed:
        p_by[p.rep_id].append(p)
    for q in problems:
        q_by[q.rep_id].append(q)
    for n in nudges:
        n_by[n.rep_id].append(n)
    ids = set(reps) | h_by.keys() | t_by.keys() | p_by.keys() | q_by.keys() | n_by.keys()
    return {
        rep: figures(
            h_by.get(rep, []), t_by.get(rep, []), p_by.get(rep, []), q_by.get(rep, []),
            balances_at_start, as_of, rules, nudges=n_by.get(rep, []), nudge_promises=promises_closed,
        )
        for rep in sorted(ids)
    }


def _percent(share: float) -> int:
    return math.floor(share * 100 + 1e-9)


def coaching_focus(f: Figures, team: Figures) -> Msg | None:
    """The one thing to coach this rep on, or ``None`` when nothing is weak (see module docs).

    Only the catalogue key and its numbers are chosen here; the words (advice, not blame) live
    in the message catalogue under ``health.focus.*``.
    """

    def pct(mine: float, theirs: float | None) -> tuple[int, int]:
        return _percent(mine), _percent(mine if theirs is None else theirs)

    if f.problems_waiting > 0:
        return Msg("health.focus.waiting", {"count": f.problems_waiting, "team": team.problems_waiting})
    kept = f.promises_kept_on_time_share
    if kept is not None and f.promises_closed >= KEPT_MIN_CLOSED and kept < KEPT_ON_TIME_MIN:
        share, team_share = pct(kept, team.promises_kept_on_time_share)
        return Msg("health.focus.promises", {"share": share, "closed": f.promises_closed, "team": team_share})
    response = f.median_first_response_days
    if response is not None and response > RESPONSE_MAX_DAYS:
        theirs = team.median_first_response_days
        return Msg("health.focus.response", {
            "days": math.ceil(response), "team": math.ceil(response if theirs is None else theirs),
        })
    if f.coverage is not None and f.coverage < COVERAGE_MIN:
        share, team_share = pct(f.coverage, team.coverage)
        return Msg("health.focus.coverage", {"share": share, "team": team_share})
    give = f.give_share
    if give is not None and f.gives + f.asks >= GIVE_ASK_MIN_TOUCHES and give < GIVE_SHARE_MIN:
        share, team_share = pct(give, team.give_share)
        return Msg("health.focus.give_ask", {
            "share": share, "gives": f.gives, "asks": f.asks, "team": team_share,
        })
    return None


def clients_at_risk(
    histories: Iterable[ClientHistory],
    balances_at_start: Mapping[int, int],
    as_of: date,
    rules: Nudging,
    limit: int = 5,
) -> list[AtRisk]:
    """The clients most at risk, highest score first (see module docs for the score)."""
    found: list[AtRisk] = []
    for h in histories:
        dates = _touch_dates(h, as_of)
        signs = {
            "setback": h.last_setback_on is not None
            and 0 <= (as_of - h.last_setback_on).days <= rules.recovery_window_days,
            "promise_overdue": any(p.due_on < as_of for p in h.open_promises),
            "problem_waiting": _waiting(h, as_of, rules) > 0,
            "silent": _days_silent(h, dates, as_of) > rules.quiet_factor * cadence_days(dates, rules),
            "falling_balance": h.balance < balances_at_start.get(h.client_id, 0),
        }
        reasons = tuple(name for name in RISK_WEIGHTS if signs[name])
        if reasons:
            score = sum(RISK_WEIGHTS[name] for name in reasons)
            found.append(AtRisk(h.client_id, h.client_name, h.owner_id, score, reasons))
    found.sort(key=lambda r: (-r.score, r.client_name.casefold(), r.client_id))
    return found[: max(0, limit)]


# --- logging coverage ---------------------------------------------------------------------

LOGGING_MOST_DAYS = 0.5  # "logged on most working days": on more than half of them
WAYS = ("tap", "command", "shortcut", "channel", "other")
_WAY_OF_SOURCE = {"checkin": "tap", "command": "command", "form": "command", "shortcut": "shortcut",
                  "channel": "channel"}


@dataclass(frozen=True)
class Logging:
    """How completely touches are logged, so a quiet client can be told from an unlogged one.

    * **working_days** -- the days in ``start..end`` that are working days.
    * **days_logged** -- per rep, the working days with at least one touch (any way) dated on them.
    * **reps_logging** -- reps whose ``days_logged / working_days`` is more than
      ``LOGGING_MOST_DAYS`` (half): they logged on most working days.
    * **by_way** -- touches in the period by how they were logged: ``tap`` (the end-of-day
      check-in), ``command`` (/logmeeting and the Slack form), ``shortcut`` (a message logged with
      the Slack shortcut or the Teams message action), ``channel`` (captured from an opted-in
      client channel), ``other`` (imports, demo data). Every key is always present.
    """

    working_days: int
    days_logged: dict[int, int]  # every rep counted, 0 for none
    by_way: dict[str, int]

    @property
    def reps(self) -> int:
        return len(self.days_logged)

    @property
    def reps_logging(self) -> int:
        return sum(self.logs_most_days(rep) for rep in self.days_logged)

    def logs_most_days(self, rep_id: int) -> bool:
        return self.working_days > 0 and self.days_logged.get(rep_id, 0) / self.working_days > LOGGING_MOST_DAYS


def logging_coverage(touches: Iterable[TouchRow], rep_ids: Iterable[int], start: date, end: date,
                     working_days: frozenset[int] = frozenset(range(5))) -> Logging:
    """Logging coverage of ``rep_ids`` over ``start..end`` from the touches passed in (touches of
    other people or outside the period are ignored)."""
    reps = sorted(set(rep_ids))
    days: dict[int, set[date]] = {rep: set() for rep in reps}
    by_way = dict.fromkeys(WAYS, 0)
    for touch in touches:
        if touch.rep_id not in days or not start <= touch.on <= end:
            continue
        by_way[_WAY_OF_SOURCE.get(touch.source, "other")] += 1
        if touch.on.weekday() in working_days:
            days[touch.rep_id].add(touch.on)
    working = sum((start + timedelta(days=k)).weekday() in working_days for k in range((end - start).days + 1))
    return Logging(working, {rep: len(d) for rep, d in days.items()}, by_way)


def working_days_since(last: date, today: date, working_days: frozenset[int] = frozenset(range(5))) -> int:
    """Working days after ``last`` and before ``today`` (the days a rep could have logged on)."""
    return sum((last + timedelta(days=k)).weekday() in working_days for k in range(1, (today - last).days))
