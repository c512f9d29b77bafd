"""`coach demo`: the seeded organisation's size, determinism, idempotence, and that each
archetype (bot.demo.ARCHETYPES) raises its signature nudge or ledger pattern on the seed day."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.bootstrap import Coach, bootstrap
from bot.demo import ARCHETYPES, DemoReport, seed_demo
from bot.settings import Settings
from coaching import daily
from coaching.model import Reason, Role, TrustLevel, Workspace
from coaching.nudges import NudgeKind
from storage import db

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
TODAY = NOW.date()
START = TODAY - timedelta(days=119)


def make_coach(url: str, workspace: str = "demo") -> Coach:
    return bootstrap(Settings(DATABASE_URL=url, COACH_WORKSPACE=workspace), clock=lambda: NOW)


@pytest.fixture
def coach(database_url: str) -> Coach:
    db.upgrade(database_url)
    return make_coach(database_url)


def touch_count(coach: Coach) -> int:
    with coach.uow_factory() as uow:
        team_ids = [t.id for t in uow.teams.list(coach.workspace)]
        return len(uow.histories.touches_between(coach.workspace, team_ids, date(2000, 1, 1), date(2100, 1, 1)))


def entry_count(coach: Coach) -> int:
    with coach.uow_factory() as uow:
        return sum(len(uow.ledger.for_client(coach.workspace, c.id)) for c in uow.clients.list(coach.workspace))


def snapshot(coach: Coach) -> dict[str, tuple[int, str, tuple[tuple[date, str, int], ...]]]:
    """Per client name: balance, owner's e-mail and every ledger entry (date, reason, amount)."""
    ws = coach.workspace
    with coach.uow_factory() as uow:
        emails = {p.id: p.email for p in uow.people.list(ws)}
        clients = uow.clients.list(ws)
        balances = uow.ledger.balances(ws, [c.id for c in clients])
        return {
            c.name: (balances[c.id], emails[c.owner_id], tuple(sorted(
                (e.occurred_on, e.reason.value, e.amount) for e in uow.ledger.for_client(ws, c.id))))
            for c in clients
        }


def test_seeds_the_organisation_once(coach: Coach) -> None:
    report = seed_demo(coach)

    assert (report.created, report.teams, report.people, report.clients) == (True, 2, 11, 60)
    assert 550 <= report.interactions <= 800
    assert 300 <= report.entries <= 550
    assert touch_count(coach) == report.interactions
    assert entry_count(coach) == report.entries
    with coach.uow_factory() as uow:
        assert uow.workspaces.get("demo") == Workspace("demo", "Demo Sales", "console")
        assert sorted(t.name for t in uow.teams.list("demo")) == ["Enterprise", "Mid-Market"]
        people = uow.people.list("demo")
        assert Counter(p.role for p in people) == {Role.REP: 8, Role.MANAGER: 2, Role.ADMIN: 1}
        assert all(p.email.endswith("@demo.example") for p in people)
        assert {p.email for p in people if p.role is Role.REP} == set(ARCHETYPES)
        assert sorted(Counter(ARCHETYPES.values()).items()) == sorted(
            (code, 1) for code in ("giver", "seller", "after_win", "busy", "promiser", "responder",
                                   "ignorer", "steady"))
        japanese = [p for p in people if p.role is Role.REP and p.locale == "ja"]
        assert len(japanese) == 3 and {p.timezone for p in japanese} == {"Asia/Tokyo"}
        assert {p.timezone for p in people} == {"Asia/Tokyo", "Europe/London", "America/New_York"}

        clients = uow.clients.list("demo")
        assert len(clients) == 60 and {"田中商事", "北斗物流", "Acme Corp", "Globex"} <= {c.name for c in clients}
        assert sorted(Counter(c.owner_id for c in clients).values()) == [7] * 4 + [8] * 4
        assert {c.trust_level for c in clients if c.trust_level} == set(TrustLevel)
        justified = [c for c in clients if c.trust_demanded_justification]
        assert len(justified) >= 2
        assert all(c.trust_level == c.trust_asked_for - 1 for c in justified if c.trust_asked_for > 1)

        team_ids = [t.id for t in uow.teams.list("demo")]
        days = {t.on for t in uow.histories.touches_between("demo", team_ids, date(2000, 1, 1), date(2100, 1, 1))}
        assert START <= min(days) and max(days) <= TODAY
        assert min(days) <= START + timedelta(days=14)

    again = seed_demo(coach)
    assert again == DemoReport(False, 0, 0, 0, 0, 0)
    assert touch_count(coach) == report.interactions
    assert entry_count(coach) == report.entries


def test_every_archetype_shows_its_signature(coach: Coach) -> None:
    seed_demo(coach)
    with coach.uow_factory() as uow:
        people = {p.email: p for p in uow.people.list("demo")}
        rep = {code: people[email].id for email, code in ARCHETYPES.items()}
        code_of = {rid: code for code, rid in rep.items()}
        nudges = list(daily.nudges(uow, "demo", TODAY, coach.rules))
        clients = uow.clients.list("demo")
        book: dict[str, set[int]] = defaultdict(set)
        for c in clients:
            book[code_of[c.owner_id]].add(c.id)
        balances = uow.ledger.balances("demo", [c.id for c in clients])
        reasons = {code: Counter(e.reason for cid in ids for e in uow.ledger.for_client("demo", cid))
                   for code, ids in book.items()}

    def of(kind: NudgeKind) -> list:
        return [n for n in nudges if n.kind is kind]

    def owners(kind: NudgeKind) -> Counter:
        return Counter(code_of.get(n.rep_id) for n in of(kind))

    # seller: every client raises ask_only; the giver never does
    assert {n.client_id for n in of(NudgeKind.ASK_ONLY) if n.rep_id == rep["seller"]} == book["seller"]
    assert owners(NudgeKind.ASK_ONLY)["giver"] == 0
    assert reasons["seller"][Reason.GIVE_TOUCH] == 0
    # after_win: three won clients gone quiet, nobody else
    assert owners(NudgeKind.AFTER_WIN) == {"after_win": 3}
    # busy: the only rep whose contact rate collapsed
    assert owners(NudgeKind.BUSY_LAPSE) == {"busy": 1}
    (lapse,) = of(NudgeKind.BUSY_LAPSE)
    assert lapse.facts["recent"] == 1 and lapse.facts["usual"] >= 8
    # promiser: one due tomorrow, one three days overdue, one broken by the daily job
    (due,) = of(NudgeKind.PROMISE_DUE)
    (overdue,) = of(NudgeKind.PROMISE_OVERDUE)
    assert (due.rep_id, due.facts["due"]) == (rep["promiser"], TODAY + timedelta(days=1))
    assert (overdue.rep_id, overdue.facts["days"]) == (rep["promiser"], 3)
    assert reasons["promiser"][Reason.PROMISE_BROKEN] == 1
    assert reasons["promiser"][Reason.PROMISE_KEPT] >= 6
    assert reasons["promiser"][Reason.PROMISE_KEPT_LATE] >= 1
    # responder: problems answered within a day, none left waiting
    assert reasons["responder"][Reason.PROBLEM_ANSWERED_FAST] >= 10
    assert reasons["responder"][Reason.PROBLEM_UNANSWERED] == 0
    # ignorer: two problems waiting today; the old ones cost -5 each
    assert owners(NudgeKind.PROBLEM_WAITING) == {"ignorer": 2}
    assert reasons["ignorer"][Reason.PROBLEM_UNANSWERED] >= 4
    assert reasons["ignorer"][Reason.PROBLEM_ANSWERED_FAST] == 0
    # steady: one honesty breach, nine days ago, not yet repaired
    (recovery,) = of(NudgeKind.RECOVERY)
    assert recovery.rep_id == rep["steady"]
    assert recovery.facts["on"] == TODAY - timedelta(days=9)
    assert sum(r[Reason.HONESTY_BREACH] for r in reasons.values()) == 1
    assert balances[recovery.client_id] <= -20
    # the giver's savings dwarf the seller's
    giver = sum(balances[c] for c in book["giver"])
    seller = sum(balances[c] for c in book["seller"])
    assert giver > 3 * seller and giver >= 120
    assert min(balances[c] for c in book["giver"]) > 0


def test_same_seed_gives_the_same_data(database_url: str, tmp_path: Path) -> None:
    db.upgrade(database_url)
    other_url = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    db.upgrade(other_url)
    first, second = make_coach(database_url), make_coach(other_url)
    reseeded = make_coach(database_url, "demo-seed-8")

    assert seed_demo(first).created
    assert seed_demo(second, seed=7, today=TODAY).created
    assert seed_demo(reseeded, seed=8).created

    a, b, c = snapshot(first), snapshot(second), snapshot(reseeded)
    assert a == b
    assert set(a) == set(c)
    assert sum(a[name][0] != c[name][0] for name in a) >= 20
