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

Coaching focus (:func:`coaching_focus`) -- the one figure to coach a rep on, defined in
:mod:`coaching.focus`. Nudge uptake is worked out in :mod:`coaching.uptake`, logging coverage
(:func:`logging_coverage`) in :mod:`coaching.log_coverage`.

Clients at risk (:func:`clients_at_risk`) -- a score adding, for each warning sign present:
``setback`` 4 (a broken promise or breach within ``Nudging.recovery_window_days``, default 30),
``promise_overdue`` 3 (an open promise due before ``as_of``), ``problem_waiting`` 3 (a problem
waiting as defined above), ``silent`` 2 (days since last touch > ``quiet_factor`` x cadence),
``falling_balance`` 1 (balance now below the balance at the period start). Reasons are listed in
that order. Only clients scoring above 0 are listed: highest score first, ties by client name
(case-insensitive, then id), at most ``limit``.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date
from typing import Iterable, Mapping, Sequence

from coaching.focus import (  # noqa: F401  (re-exported)
    COVERAGE_MIN, GIVE_ASK_MIN_TOUCHES, GIVE_SHARE_MIN, KEPT_MIN_CLOSED, KEPT_ON_TIME_MIN,
    RESPONSE_MAX_DAYS, coaching_focus,
)
from coaching.log_coverage import (  # noqa: F401  (re-exported)
    LOGGING_MOST_DAYS, WAYS, Logging, logging_coverage, working_days_since,
)
from coaching.model import Problem, Promise, PromiseStatus, Purpose
from coaching import episodes
from coaching.episodes import ACTIVE_DAYS, ClientFacts  # noqa: F401  (re-exported)
from coaching.nudges import ClientHistory
from coaching.records import SentItem, TouchRow
from coaching.rules import Nudging
from coaching.uptake import ACTED_DAYS, Uptake, acted_share, nudge_uptake  # noqa: F401  (re-exported)


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
    setbacks: int = 0  # clients with a setback in the last TREND_DAYS
    in_recovery: int = 0  # clients whose setback is not put right yet
    wins: int = 0  # clients with a deal won in the last TREND_DAYS
    quiet_after_win: int = 0  # clients gone quiet since a recent win

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


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _trust_mix(histories: Sequence[ClientHistory]) -> dict[int | str, int]:
    mix: dict[int | str, int] = dict.fromkeys(TRUST_KEYS, 0)
    for h in histories:
        mix[int(h.trust_level) if h.trust_level else "unassessed"] += 1
    return mix


def _by_purpose(touches: Iterable[TouchRow]) -> dict[Purpose, int]:
    counts = {purpose: 0 for purpose in Purpose}
    for row in touches:
        counts[Purpose(row.purpose)] += 1
    return counts


def _give_ask_ratio(gives: int, asks: int) -> float | None:
    if asks:
        return gives / asks
    return float(gives) if gives else None


def _first_response_waits(problems: Iterable[Problem]) -> list[int]:
    return [max(0, (p.first_response_on - p.raised_on).days) for p in problems if p.first_response_on is not None]


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
    facts: Mapping[int, ClientFacts] | None = None,
) -> Figures:
    """The health figures of one set of clients and the activity passed in (see module docs).

    ``nudges`` are the nudge items delivered in the period; they are judged against
    ``touches`` and ``nudge_promises`` (default: ``promises_closed``) up to ``as_of``.
    ``facts`` (by client id, as of ``as_of``) saves working them out again.
    """
    touches = list(touches)
    known = facts if facts is not None else episodes.facts_by_client(histories, as_of, rules)
    mine = [known[h.client_id] for h in histories]
    active, covered = sum(f.active for f in mine), sum(f.covered for f in mine)
    trust_mix = _trust_mix(histories)
    counts = _by_purpose(touches)
    gives, asks = counts[Purpose.GIVE], counts[Purpose.ASK]
    closed = [p for p in promises_closed if p.status is not PromiseStatus.OPEN]
    kept = sum(p.status is PromiseStatus.KEPT for p in closed)
    waits = _first_response_waits(problems)
    balances = [h.balance for h in histories]
    total = sum(balances)
    uptake = nudge_uptake(nudges, touches, closed if nudge_promises is None else nudge_promises, as_of)
    return Figures(
        clients=active,
        coverage=_share(covered, active),
        gives=gives,
        asks=asks,
        services=counts[Purpose.SERVICE],
        give_ask_ratio=_give_ask_ratio(gives, asks),
        promises_closed=len(closed),
        promises_kept_on_time_share=_share(kept, len(closed)),
        median_first_response_days=_median(waits),
        problems_waiting=sum(f.waiting for f in mine),
        total_balance=total,
        median_balance=_median(balances),
        balance_change=total - sum(balances_at_start.get(h.client_id, 0) for h in histories),
        trust_mix=trust_mix,
        nudges_delivered=uptake.delivered,
        nudges_acted_share=uptake.share,
        **asdict(episodes.count(mine)),
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
    facts: Mapping[int, ClientFacts] | None = None,
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
    histories = list(histories)
    known = facts if facts is not None else episodes.facts_by_client(histories, as_of, rules)
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
            balances_at_start, as_of, rules, nudges=n_by.get(rep, []), nudge_promises=promises_closed, facts=known,
        )
        for rep in sorted(ids)
    }


def clients_at_risk(
    histories: Iterable[ClientHistory],
    balances_at_start: Mapping[int, int],
    as_of: date,
    rules: Nudging,
    limit: int = 5,
    facts: Mapping[int, ClientFacts] | None = None,
) -> list[AtRisk]:
    """The clients most at risk, highest score first (see module docs for the score)."""
    found: list[AtRisk] = []
    for h in histories:
        f = facts[h.client_id] if facts is not None else episodes.facts(h, as_of, rules)
        signs = {
            "setback": h.last_setback_on is not None
            and 0 <= (as_of - h.last_setback_on).days <= rules.recovery_window_days,
            "promise_overdue": any(p.due_on < as_of for p in h.open_promises),
            "problem_waiting": f.waiting > 0,
            "silent": f.silent,
            "falling_balance": h.balance < balances_at_start.get(h.client_id, 0),
        }
        reasons = tuple(name for name in RISK_WEIGHTS if signs[name])
        if reasons:
            score = sum(RISK_WEIGHTS[name] for name in reasons)
            found.append(AtRisk(h.client_id, h.client_name, h.owner_id, score, reasons))
    found.sort(key=lambda r: (-r.score, r.client_name.casefold(), r.client_id))
    return found[: max(0, limit)]
