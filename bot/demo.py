"""A demo organisation with 120 days of history, so every screen has something to show.

``seed_demo(coach)`` fills the coach's workspace (once: a workspace that already has people is
left alone) with two teams, eight reps, two managers, an admin and sixty clients, and replays
four months of touches, promises and problems through the service layer, running the daily
rules weekly as the scheduler would have. Everything comes from ``random.Random(seed)`` and the
``today`` passed in, so the same seed always gives the same data. Each rep's data is in the
rep's own language: a Japanese ("ja") rep owns clients with Japanese names and writes Japanese
notes, promises, problems and deals; an English one English (``CLIENTS_BY_LANG``, ``WORDS``).

Each rep plays one archetype (``ARCHETYPES`` maps e-mail -> code) with a signature nudge today:

``giver``      gives before asking, keeps every promise on time, answers problems fast: the
               highest balances, no ``ask_only``.
``seller``     only calls to sell (every touch an ask, no gives): ``ask_only`` on every client.
``after_win``  won three deals 40-60 days ago, then went quiet on those clients: ``after_win``
               (the other five clients still get steady contact).
``busy``       touched every client about weekly for 100 days, then nearly stopped in the last
               2-3 weeks: ``busy_lapse``.
``promiser``   lives by promises on one client: several kept on time, one kept late, one left to
               break (the daily job books it), one open and overdue (``promise_overdue``), one
               due tomorrow (``promise_due``).
``responder``  clients raise problems often; each is answered the same or the next day (+3).
``ignorer``    never serves: older problems answered late (-5), two still waiting
               (``problem_waiting``).
``steady``     an average rep; one client suffered an honesty breach nine days ago and has not
               been contacted since (``recovery``).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

# The cast and the plan live in bot.demo_plan; the names the bench and the tests import from
# here are re-exported.
from bot.demo_plan import (  # noqa: F401  (re-exported)
    ARCHETYPES, CLIENTS, CLIENTS_BY_LANG, DEALS, DOMAIN, HISTORY_DAYS, KINDS, PEOPLE, PROFILES, PROMISER, TEAMS, WORDS,
    Event, Profile, _plan,
)
from coaching import daily, services
from coaching.model import InteractionDraft, ProblemDraft, PromiseDraft, TrustLevel, Workspace
from coaching.records import PersonDraft

if TYPE_CHECKING:
    from bot.bootstrap import Coach


@dataclass(frozen=True)
class DemoReport:
    created: bool
    teams: int
    people: int
    clients: int
    interactions: int
    entries: int


# ---- seeding ---------------------------------------------------------------------------------

class _Replay:
    """Plays the planned events through the service layer day by day, running the daily rules
    weekly (and on ``today``) as the scheduler would have."""

    def __init__(self, uow: Any, coach: Coach, people: dict[str, Any], clients: dict[str, Any],
                 seed: int, today: date) -> None:
        self.uow, self.ws, self.rules = uow, coach.workspace, coach.rules
        self.people, self.clients, self.seed, self.today = people, clients, seed, today
        self.promise_ids: dict[int, int] = {}  # planner token -> the stored promise's id
        self.touches = 0

    def run(self, events: list[Event], start: date) -> None:
        by_day: dict[int, list[tuple[int, str, tuple[Any, ...]]]] = defaultdict(list)
        for ago, order, action, details in events:
            by_day[ago].append((order, action, details))
        for offset in range(HISTORY_DAYS):
            day, ago = start + timedelta(days=offset), HISTORY_DAYS - 1 - offset
            for _, action, details in sorted(by_day[ago]):
                self._play(action, details, day)
            if (offset and offset % 7 == 0) or day == self.today:
                daily.apply_daily_rules(self.uow, self.ws, day, self.rules)

    def _play(self, action: str, details: tuple[Any, ...], day: date) -> None:
        rep = self.people[details[0]]
        if action == "touch":
            self._touch(rep, details, day)
        elif action == "close":
            services.close_promise(self.uow, rep, self.promise_ids[details[1]], True, day, self.rules)
        else:
            services.record_breach(self.uow, rep, self.clients[details[1]], details[2], day, self.rules)

    def _touch(self, rep: Any, details: tuple[Any, ...], day: date) -> None:
        _, name, purpose, kind, note, proof, promise, problem, trust, won = details
        client = self.clients[name]
        self.touches += 1
        draft = InteractionDraft(
            client.id, day, kind, purpose, note=note, proof_shown=proof,
            promises=(PromiseDraft(promise[0], self.today - timedelta(days=promise[1])),) if promise else (),
            problem=ProblemDraft(problem) if problem else None,
            asked_for=TrustLevel(trust[0]) if trust else None,
            demanded_justification=trust[1] if trust else None,
            won_deal=won, source="demo", external_id=f"demo:{self.seed}:{self.touches}")
        services.record_touch(self.uow, rep, client, draft, self.rules, day)
        if promise:
            self.promise_ids[promise[2]] = max(
                p.id for p in self.uow.promises.open_for(self.ws, rep_id=rep.id, client_id=client.id)
                if p.text == promise[0] and p.made_on == day)


def _claim_workspace(uow: Any, ws: str) -> bool:
    """Creates the demo workspace if need be; False when it already has people (left alone)."""
    if uow.workspaces.get(ws) is None:
        uow.workspaces.add(Workspace(ws, "Demo Sales", "console"))
        return True
    return not uow.people.list(ws)


def _add_people(uow: Any, ws: str) -> tuple[list[Any], dict[str, Any]]:
    """The teams, and everyone in ``PEOPLE`` by e-mail."""
    teams = [uow.teams.add(ws, name) for name in TEAMS]
    people = {}
    for local, name, role, team, tz, locale, _ in PEOPLE:
        team_ids = () if team is None else (teams[team].id,)
        email = f"{local}@{DOMAIN}"
        people[email] = uow.people.upsert(ws, PersonDraft(email, name, role, team_ids, tz, locale))
    return teams, people


def seed_demo(coach: Coach, *, seed: int = 7, today: date | None = None) -> DemoReport:
    """Seed ``coach.workspace`` with the demo organisation, in one transaction; see the module."""
    today = today or coach.clock().date()
    ws = coach.workspace
    start = today - timedelta(days=HISTORY_DAYS - 1)
    with coach.uow_factory() as uow:
        if not _claim_workspace(uow, ws):
            return DemoReport(False, 0, 0, 0, 0, 0)
        teams, people = _add_people(uow, ws)
        book, events = _plan(random.Random(seed))
        clients = {name: services.ensure_client(uow, people[email], name, start)
                   for email, names in book.items() for name in names}
        replay = _Replay(uow, coach, people, clients, seed, today)
        replay.run(events, start)
        entries = sum(len(uow.ledger.for_client(ws, c.id)) for c in clients.values())
        uow.commit()
    return DemoReport(True, len(teams), len(people), len(clients), replay.touches, entries)
