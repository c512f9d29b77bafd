"""The service layer over in-memory fakes (tests/fakes.py): plain values in and out, no database.

Each service call runs in its own unit of work and is committed, as a channel would do it; what
it left behind is read back through a fresh unit of work.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from coaching import access, daily, passbooks, services
from coaching.logflow import LogRequest
from coaching.engine import Engine, Inbound
from coaching.messages import Msg
from coaching.model import (
    Client, EntryDraft, InteractionDraft, Kind, Person, PromiseDraft, PromiseStatus, Purpose, Reason, Role,
    Team, TrustLevel, Workspace,
)
from coaching.nudges import NudgeKind, Touch
from coaching.records import PersonDraft
from coaching.rules import DEFAULT_RULES as RULES
from coaching.access import CoachError
from coaching.daily import UpkeepResult
from coaching.services import LogResult
from tests.fakes import FakeStore, FakeUnitOfWork

WS = "w1"
CREATED = date(2026, 6, 1)
DAY = date(2026, 11, 20)  # a Friday
G, A, S = Purpose.GIVE, Purpose.ASK, Purpose.SERVICE


@dataclass(frozen=True)
class Roster:
    east: Team
    west: Team
    ann: Person  # rep, East, London
    bob: Person  # rep, West, New York
    ken: Person  # rep on West then East, Tokyo; owns no client
    mia: Person  # manager of East
    ada: Person  # admin, on East only
    acme: Client  # Ann's, East
    corp: Client  # Bob's, West


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def roster(store: FakeStore) -> Roster:
    with FakeUnitOfWork(store) as uow:
        uow.workspaces.add(Workspace(WS, "Sales"))
        east, west = uow.teams.add(WS, "East"), uow.teams.add(WS, "West")

        def person(name: str, role: Role, teams: tuple[int, ...], tz: str) -> Person:
            return uow.people.upsert(WS, PersonDraft(f"{name}@example.com", name.title(), role, teams, tz))

        ann = person("ann", Role.REP, (east.id,), "Europe/London")
        bob = person("bob", Role.REP, (west.id,), "America/New_York")
        ken = person("ken", Role.REP, (west.id, east.id), "Asia/Tokyo")
        mia = person("mia", Role.MANAGER, (east.id,), "Europe/London")
        ada = person("ada", Role.ADMIN, (east.id,), "UTC")
        acme = uow.clients.add(WS, "Acme", east.id, ann.id, CREATED)
        corp = uow.clients.add(WS, "Corp", west.id, bob.id, CREATED)
        uow.commit()
    return Roster(east, west, ann, bob, ken, mia, ada, acme, corp)


def run(store: FakeStore, service: Callable[..., Any], *args: Any) -> Any:
    """One service call in its own unit of work, committed."""
    with FakeUnitOfWork(store) as uow:
        result = service(uow, *args)
        if hasattr(result, "__next__"):
            result = list(result)
        uow.commit()
    return result


def look(store: FakeStore, read: Callable[[FakeUnitOfWork], Any]) -> Any:
    with FakeUnitOfWork(store) as uow:
        return read(uow)


def request(client: str, purpose: Purpose = G, on: date = DAY, *, client_id: int | None = None,
            proof: bool = False, promises: tuple[PromiseDraft, ...] = (), problem: str | None = None,
            asked_for: TrustLevel | None = None) -> LogRequest:
    return LogRequest(client_id, client, on, Kind.CALL, purpose, "", proof, promises, problem, asked_for, None)


def log(store: FakeStore, rep: Person, req: LogRequest, today: date | None = None,
        external_id: str | None = None) -> LogResult:
    return run(store, services.log_request, rep, req, RULES, today or req.occurred_on, external_id)


def entries(store: FakeStore, client_id: int) -> list[tuple[Reason, int, date]]:
    return [(e.reason, e.amount, e.occurred_on) for e in look(store, lambda u: u.ledger.for_client(WS, client_id))]


def error_of(store: FakeStore, service: Callable[..., Any], *args: Any) -> Msg:
    with pytest.raises(CoachError) as raised:
        run(store, service, *args)
    return raised.value.message


# --- logging a touch ---------------------------------------------------------------------

def test_log_request_creates_a_new_client_on_the_reps_first_team_and_books_give_and_proof(store, roster):
    result = log(store, roster.ken, request("  Initech ", G, proof=True))
    assert (result.client.name, result.client.team_id, result.client.owner_id, result.client.created_on) == (
        "Initech", roster.west.id, roster.ken.id, DAY)
    touch_id = result.interaction.id
    assert [(e.reason, e.amount, e.key) for e in result.entries] == [
        (Reason.GIVE_TOUCH, 2, f"interaction:{touch_id}:give"), (Reason.PROOF_SHOWN, 2, f"interaction:{touch_id}:proof")]
    assert result.balance == 4 and not result.duplicate
    assert look(store, lambda u: u.clients.by_name(WS, "ＩＮＩＴＥＣＨ")) == result.client
    assert look(store, lambda u: u.ledger.balance(WS, result.client.id)) == 4


def test_an_ask_touch_books_nothing(store, roster):
    result = log(store, roster.ann, request("Acme", A))
    assert (result.entries, result.balance, result.interaction.purpose) == ((), 0, A)
    assert entries(store, roster.acme.id) == []
    assert [i.purpose for i in look(store, lambda u: u.interactions.for_client(WS, roster.acme.id))] == [A]


def test_a_client_of_another_team_cannot_be_logged_against_or_recreated(store, roster):
    by_id = error_of(store, services.log_request, roster.ann, request("Corp", client_id=roster.corp.id), RULES, DAY)
    by_name = error_of(store, services.log_request, roster.ann, request("corp"), RULES, DAY)
    assert by_id == Msg("error.no_client_none", {"name": "Corp"})
    assert by_name == Msg("error.client_other_team", {"name": "Corp"})
    assert look(store, lambda u: u.interactions.for_client(WS, roster.corp.id)) == []


def test_a_duplicate_external_id_returns_duplicate_and_books_nothing(store, roster):
    first = request("Acme", G, proof=True, promises=(PromiseDraft("send the deck", DAY + timedelta(days=3)),),
                    problem="late invoices")
    assert not log(store, roster.ann, first, external_id="slack:msg-1").duplicate
    again = log(store, roster.ann, request("Acme", G, proof=True), external_id="slack:msg-1")
    assert (again.duplicate, again.interaction, again.entries, again.balance) == (True, None, (), 4)
    assert look(store, lambda u: (len(u.interactions.for_client(WS, roster.acme.id)),
                                  len(u.promises.open_for(WS, client_id=roster.acme.id)),
                                  len(u.problems.unanswered(WS, roster.acme.id)))) == (1, 1, 1)
    assert entries(store, roster.acme.id) == [(Reason.GIVE_TOUCH, 2, DAY), (Reason.PROOF_SHOWN, 2, DAY)]


@pytest.mark.parametrize("answered_after, expected", [
    (0, [(Reason.PROBLEM_ANSWERED_FAST, 3, DAY)]),
    (1, [(Reason.PROBLEM_ANSWERED_FAST, 3, DAY + timedelta(days=1))]),
    (2, []),
    (4, [(Reason.PROBLEM_UNANSWERED, -5, DAY + timedelta(days=3))]),  # late: -5, not +3
])
def test_a_service_touch_answers_the_clients_waiting_problem(store, roster, answered_after, expected):
    log(store, roster.ann, request("Acme", A, problem="the export fails"))
    on = DAY + timedelta(days=answered_after)
    result = log(store, roster.ann, request("Acme", S, on))
    assert [(e.reason, e.amount, e.occurred_on) for e in result.entries] == expected
    assert entries(store, roster.acme.id) == expected
    [problem] = look(store, lambda u: u.histories.problems_raised_between(WS, [roster.east.id], DAY, DAY))
    assert (problem.first_response_on, look(store, lambda u: u.problems.unanswered(WS))) == (on, [])


def test_a_service_touch_leaves_other_clients_and_later_problems_waiting(store, roster):
    log(store, roster.bob, request("Corp", A, DAY, problem="the API is down"))
    log(store, roster.ann, request("Acme", A, DAY + timedelta(days=2), problem="wrong invoice"))
    log(store, roster.ann, request("Acme", S, DAY + timedelta(days=1)))  # before Acme's problem
    assert [p.text for p in look(store, lambda u: u.problems.unanswered(WS))] == ["the API is down", "wrong invoice"]


def test_a_backdated_touch_does_not_overwrite_a_newer_trust_assessment(store, roster):
    log(store, roster.ann, request("Acme", A, DAY, asked_for=TrustLevel.WHOLE_BUSINESS))
    log(store, roster.ann, request("Acme", A, DAY - timedelta(days=7), asked_for=TrustLevel.EXPERTISE), DAY)
    acme = look(store, lambda u: u.clients.get(WS, roster.acme.id))
    assert (acme.trust_level, acme.trust_assessed_on) == (TrustLevel.WHOLE_BUSINESS, DAY)


# --- promises and breaches -----------------------------------------------------------------

def promise_for(store: FakeStore, rep: Person, client: str, due: date) -> int:
    log(store, rep, request(client, A, DAY, promises=(PromiseDraft("send the quote", due),)))
    return look(store, lambda u: u.promises.open_for(WS, rep_id=rep.id))[-1].id


@pytest.mark.parametrize("kept, closed_on, status, amount, reason", [
    (True, DAY + timedelta(days=2), PromiseStatus.KEPT, 3, Reason.PROMISE_KEPT),
    (True, DAY + timedelta(days=3), PromiseStatus.KEPT, 3, Reason.PROMISE_KEPT),  # on the due day
    (True, DAY + timedelta(days=4), PromiseStatus.KEPT_LATE, -1, Reason.PROMISE_KEPT_LATE),
    (False, DAY + timedelta(days=1), PromiseStatus.BROKEN, -10, Reason.PROMISE_BROKEN),
])
def test_close_promise(store, roster, kept, closed_on, status, amount, reason):
    promise_id = promise_for(store, roster.ann, "Acme", DAY + timedelta(days=3))
    promise, entry = run(store, services.close_promise, roster.ann, promise_id, kept, closed_on, RULES)
    assert (promise.status, promise.closed_on) == (status, closed_on)
    assert (entry.reason, entry.amount, entry.occurred_on, entry.key) == (
        reason, amount, closed_on, f"promise:{promise_id}:closed")
    assert look(store, lambda u: (u.ledger.balance(WS, roster.acme.id), u.promises.open_for(WS))) == (amount, [])


def test_close_promise_refuses_someone_elses_an_unknown_and_a_settled_promise(store, roster):
    promise_id = promise_for(store, roster.ann, "Acme", DAY + timedelta(days=3))
    assert error_of(store, services.close_promise, roster.bob, promise_id, True, DAY, RULES) == Msg("error.no_promise", {})
    assert error_of(store, services.close_promise, roster.ann, 999, True, DAY, RULES) == Msg("error.no_promise", {})
    run(store, services.close_promise, roster.ann, promise_id, True, DAY, RULES)
    assert error_of(store, services.close_promise, roster.ann, promise_id, False, DAY, RULES) == Msg(
        "error.promise_closed", {"promise": "send the quote"})
    assert entries(store, roster.acme.id) == [(Reason.PROMISE_KEPT, 3, DAY)]


def test_record_breach_resets_a_positive_balance_to_minus_twenty(store, roster):
    for day in (1, 2, 3):  # give + proof: +4 a touch
        log(store, roster.ann, request("Acme", G, DAY - timedelta(days=day), proof=True), DAY)
    run(store, services.close_promise, roster.ann, promise_for(store, roster.ann, "Acme", DAY), True, DAY, RULES)
    assert look(store, lambda u: u.ledger.balance(WS, roster.acme.id)) == 15
    entry = run(store, services.record_breach, roster.mia, roster.acme, "claimed ISO certification", DAY, RULES)
    assert (entry.reason, entry.amount, entry.rep_id, entry.occurred_on) == (Reason.HONESTY_BREACH, -35, roster.ann.id, DAY)
    assert run(store, services.record_breach, roster.mia, roster.acme, "Claimed ISO certification ", DAY, RULES) is None
    assert look(store, lambda u: u.ledger.balance(WS, roster.acme.id)) == -20


@pytest.mark.parametrize("before, amount", [(0, -20), (-20, 0), (-30, 0)])
def test_a_breach_never_raises_a_balance(store, roster, before, amount):
    if before:
        seed = EntryDraft(roster.acme.id, roster.ann.id, before, Reason.CORRECTION, DAY, "seed")
        run(store, lambda u: u.ledger.add(WS, seed))
    assert run(store, services.record_breach, roster.ann, roster.acme, "fake case study", DAY, RULES).amount == amount
    assert look(store, lambda u: u.ledger.balance(WS, roster.acme.id)) == min(before, -20)


# --- the daily run -------------------------------------------------------------------------

def test_apply_daily_rules_books_what_time_earns_once(store, roster):
    oct1 = date(2026, 10, 1)
    log(store, roster.ann, request("Acme", G, oct1, promises=(PromiseDraft("send the deck", date(2026, 10, 10)),),
                                   problem="late invoices"))
    log(store, roster.bob, request("Corp", A, date(2026, 11, 1)))
    nov5 = date(2026, 11, 5)
    assert run(store, daily.apply_daily_rules, WS, nov5, RULES) == UpkeepResult(1, 1, 2)
    assert entries(store, roster.acme.id) == [
        (Reason.GIVE_TOUCH, 2, oct1),
        (Reason.PROBLEM_UNANSWERED, -5, date(2026, 10, 4)),  # 72 h after it was raised
        (Reason.PROMISE_BROKEN, -10, date(2026, 10, 17)),  # due + 7 days
        (Reason.SILENCE, -1, date(2026, 10, 29)),  # last touch + default cadence (21) + one week
        (Reason.SILENCE, -1, nov5),
    ]
    promise = look(store, lambda u: u.promises.get(WS, 1))
    assert (promise.status, promise.closed_on) == (PromiseStatus.BROKEN, date(2026, 10, 17))
    assert entries(store, roster.corp.id) == []
    assert run(store, daily.apply_daily_rules, WS, nov5, RULES) == UpkeepResult(0, 0, 0)
    assert look(store, lambda u: u.ledger.balance(WS, roster.acme.id)) == -15
    assert run(store, daily.apply_daily_rules, WS, date(2026, 11, 12), RULES) == UpkeepResult(0, 0, 1)


def touch(uow: FakeUnitOfWork, rep: Person, client: Client, on: date, purpose: Purpose) -> None:
    uow.interactions.add(WS, rep.id, InteractionDraft(client.id, on, Kind.CALL, purpose))


def test_nudges_per_client_then_one_busy_lapse_per_rep(store, roster):
    with FakeUnitOfWork(store) as uow:
        beta = uow.clients.add(WS, "Beta", roster.east.id, roster.ann.id, CREATED)
        for week in range(10):  # Ann: 20 touches in the baseline weeks, none in the last two
            touch(uow, roster.ann, roster.acme, date(2026, 9, 1) + timedelta(weeks=week), G)
            touch(uow, roster.ann, beta, date(2026, 9, 2) + timedelta(weeks=week), A)
        due = uow.promises.add(WS, roster.acme.id, roster.ann.id, None, "send the deck", date(2026, 11, 3),
                               DAY + timedelta(days=1))
        touch(uow, roster.bob, roster.corp, date(2026, 11, 18), A)
        problem = uow.problems.add(WS, roster.corp.id, roster.bob.id, None, "the API is down", date(2026, 11, 18))
        uow.commit()
    found = run(store, daily.nudges, WS, DAY, RULES)
    ann, acme, corp = roster.ann.id, roster.acme.id, roster.corp.id
    episode = lambda subject: subject.rsplit(":", 1)[0] if subject.count(":") == 3 else subject  # noqa: E731
    assert [(n.kind, n.rep_id, n.client_id, episode(n.subject)) for n in found] == [
        (NudgeKind.PROMISE_DUE, ann, acme, f"promise:{due.id}"),
        (NudgeKind.QUIET, ann, acme, f"client:{acme}:quiet"),
        (NudgeKind.PROBLEM_WAITING, roster.bob.id, corp, f"problem:{problem.id}"),
        (NudgeKind.QUIET, ann, beta.id, f"client:{beta.id}:quiet"),
        (NudgeKind.ASK_ONLY, ann, beta.id, f"client:{beta.id}:ask_only"),
        (NudgeKind.BUSY_LAPSE, ann, None, f"rep:{ann}:busy_lapse"),
    ]
    assert found[-1].facts == {"recent": 0, "usual": 4, "days": 14}
    assert found[1].facts == {"days": 17, "cadence": 7}
    assert [n.kind for n in run(store, daily.nudges, WS, DAY, RULES, roster.bob.id)] == [NudgeKind.PROBLEM_WAITING]


# --- reading and who may see what ------------------------------------------------------------

def test_passbook_newest_first_for_whoever_may_see_the_client(store, roster):
    log(store, roster.bob, request("Corp", G, DAY - timedelta(days=2), proof=True,
                                   promises=(PromiseDraft("send the SLA", DAY + timedelta(days=4)),)), DAY)
    log(store, roster.bob, request("Corp", G, DAY - timedelta(days=1)), DAY)
    for viewer in (roster.bob, roster.ada):
        view = run(store, passbooks.passbook, viewer, "ＣＯＲＰ")
        assert (view.client, view.balance) == (roster.corp, 6)
        assert [(line.entry.reason, line.balance_after) for line in view.lines] == [
            (Reason.GIVE_TOUCH, 6), (Reason.PROOF_SHOWN, 4), (Reason.GIVE_TOUCH, 2)]
        assert [p.text for p in view.open_promises] == ["send the SLA"]


@pytest.mark.parametrize("viewer, name, expected", [
    ("ann", "Corp", Msg("error.no_client_none", {"name": "Corp"})),  # another team's client
    ("mia", "Corp", Msg("error.no_client_none", {"name": "Corp"})),
    ("ann", "Acm", Msg("error.no_client", {"name": "Acm", "similar": ["Acme"]})),
    ("bob", "Acme", Msg("error.no_client_none", {"name": "Acme"})),
])
def test_passbook_refuses_clients_the_viewer_cannot_see(store, roster, viewer, name, expected):
    assert error_of(store, passbooks.passbook, getattr(roster, viewer), name) == expected


@pytest.mark.parametrize("viewer, team, expected", [
    ("ann", None, Msg("error.managers_only", {})),
    ("mia", "West", Msg("error.not_your_team", {"team": "West"})),
    ("mia", "North", Msg("error.no_team_named", {"team": "North", "teams": ["East"]})),
    ("ada", "North", Msg("error.no_team_named", {"team": "North", "teams": ["East", "West"]})),
    ("mia", None, ["East"]),
    ("mia", "East", ["East"]),
    ("ada", "West", ["West"]),
    ("ada", None, ["East", "West"]),
])
def test_teams_for_health(store, roster, viewer, team, expected):
    person = getattr(roster, viewer)
    if isinstance(expected, Msg):
        assert error_of(store, access.teams_for_health, person, team) == expected
    else:
        assert [t.name for t in run(store, access.teams_for_health, person, team)] == expected


@pytest.mark.parametrize("now, zone, today", [
    (datetime(2026, 11, 20, 14, 59, tzinfo=timezone.utc), "Asia/Tokyo", date(2026, 11, 20)),
    (datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc), "Asia/Tokyo", date(2026, 11, 21)),
    (datetime(2026, 11, 21, 0, 30, tzinfo=timezone.utc), "Asia/Tokyo", date(2026, 11, 21)),
    (datetime(2026, 11, 21, 0, 30, tzinfo=timezone.utc), "America/New_York", date(2026, 11, 20)),
    (datetime(2026, 11, 21, 4, 59, tzinfo=timezone.utc), "America/New_York", date(2026, 11, 20)),
    (datetime(2026, 11, 21, 5, 0, tzinfo=timezone.utc), "America/New_York", date(2026, 11, 21)),
    (datetime(2026, 11, 21, 0, 30, tzinfo=timezone.utc), "Mars/Olympus", date(2026, 11, 21)),  # unknown: UTC
])
def test_local_today_is_the_reps_own_date(now, zone, today):
    rep = Person(1, WS, "r@example.com", "R", Role.REP, (1,), timezone=zone)
    assert access.local_today(rep, now) == today


def test_client_book_matches_names_loosely_within_the_visible_teams(store, roster):
    with FakeUnitOfWork(store) as uow:
        for name, team in [("Acme Corporation", roster.east), ("Acme Corp", roster.east), ("Globex", roster.east),
                           ("Acme Industries", roster.west)]:
            uow.clients.add(WS, name, team.id, roster.ann.id, CREATED)
        directory = access.client_book(uow, roster.ann)
        names = lambda found: [n for _, n in found]  # noqa: E731
        assert names(directory.similar("acme", 8)) == ["Acme", "Acme Corp", "Acme Corporation"]
        assert names(directory.similar("Acme Crop", 3)) == ["Acme", "Acme Corp", "Acme Corporation"]
        assert names(directory.similar("Acme Crop", 1)) == ["Acme"]
        assert names(directory.similar("Globx", 3)) == ["Globex"]
        assert directory.exact("ａｃｍｅ ｃｏｒｐ") == (uow.clients.by_name(WS, "Acme Corp").id, "Acme Corp")
        assert directory.exact("Acme Industries") is None  # West's
        assert directory.exact("  ACME corporation ") == (uow.clients.by_name(WS, "Acme Corporation").id,
                                                         "Acme Corporation")  # as the unique key matches


# --- the engine over the fakes -----------------------------------------------------------------

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def talk(engine: Engine, *texts: str, email: str = "ann@example.com"):
    return [engine.handle(Inbound(WS, "dm-1", text, email=email)) for text in texts]


def test_the_engine_runs_a_whole_logmeeting(store, roster):
    engine = Engine(lambda: FakeUnitOfWork(store), RULES, lambda: NOW)
    *_, saved = talk(engine, "/logmeeting Acme call give: shared the benchmark report",
                     "skip", "+ Track record shown", "+ Promise", "send the revised quote by Friday", "save")
    assert saved.logged is not None and not saved.logged.duplicate
    assert [(e.reason, e.amount) for e in saved.logged.entries] == [(Reason.GIVE_TOUCH, 2), (Reason.PROOF_SHOWN, 2)]
    assert [line.key for line in saved.replies[-1].lines if isinstance(line, Msg)][:4] == [
        "log.saved", "ledger.change", "ledger.change", "ledger.balance"]
    [stored] = look(store, lambda u: u.interactions.for_client(WS, roster.acme.id))
    assert (stored.occurred_on, stored.kind, stored.purpose, stored.note) == (
        DAY, Kind.CALL, G, "shared the benchmark report")
    assert [(p.text, p.due_on) for p in look(store, lambda u: u.promises.open_for(WS))] == [
        ("send the revised quote", date(2026, 11, 27))]
    assert look(store, lambda u: u.ledger.balance(WS, roster.acme.id)) == 4
    assert look(store, lambda u: u.dialogs.get(WS, "dm-1", "ann@example.com")) is None  # finished


def test_a_rolled_back_turn_leaves_no_state_behind(store, roster):
    engine = Engine(lambda: FakeUnitOfWork(store), RULES, lambda: NOW)
    talk(engine, "/logmeeting Acme call give: shared a report")
    before = copy.deepcopy(store)
    [failed] = talk(engine, "/ledger Nobody")  # sets the conversation aside, then fails
    assert [line.key for line in failed.replies[0].lines] == ["error.no_client_none"]
    assert store == before
    *_, saved = talk(engine, "no", "no", "no", "skip", "skip", "save")  # the conversation carries on
    assert saved.logged is not None and saved.logged.balance == 2


def test_a_failed_save_records_nothing(store, roster):
    engine = Engine(lambda: FakeUnitOfWork(store), RULES, lambda: NOW)
    talk(engine, "/logmeeting Corp call ask: pricing", "1", "no", "no", "no", "skip", "skip")  # "1": add as new
    before = copy.deepcopy(store)
    [failed] = talk(engine, "save")  # Corp exists, on a team Ann cannot see
    assert (failed.logged, [line.key for line in failed.replies[0].lines]) == (None, ["error.client_other_team"])
    assert store == before


# --- the fakes keep the ports' promises -------------------------------------------------------

def test_fake_unit_of_work_commits_or_discards(store, roster):
    with FakeUnitOfWork(store) as uow:
        uow.teams.add(WS, "North")  # never committed
    with FakeUnitOfWork(store) as uow:
        assert uow.teams.by_name(WS, "North") is None
        uow.teams.add(WS, "South")
        uow.commit()
        uow.teams.add(WS, "Far")
        uow.rollback()
        assert [t.name for t in uow.teams.list(WS)] == ["East", "South", "West"]
    assert look(store, lambda u: [t.name for t in u.teams.list(WS)]) == ["East", "South", "West"]


def test_fake_keys_count_once_per_workspace(store, roster):
    draft = InteractionDraft(roster.acme.id, DAY, Kind.CALL, G, external_id="ev-1")
    entry = EntryDraft(roster.acme.id, roster.ann.id, 2, Reason.GIVE_TOUCH, DAY, key="k1")
    def add(workspace_id: str) -> tuple[bool, bool]:
        return run(store, lambda u: (u.interactions.add(workspace_id, 1, draft) is None,
                                     u.ledger.add(workspace_id, entry) is None))

    assert add(WS) == (False, False)
    assert add(WS) == (True, True)  # a retry, in a later unit of work
    assert add("w2") == (False, False)  # keys are per workspace


def test_fake_client_histories_keep_the_latest_n_plus_the_window(store, roster):
    with FakeUnitOfWork(store) as uow:
        for on, purpose in [(date(2026, 1, 5), A), (date(2026, 3, 1), G), (date(2026, 11, 1), S),
                            (date(2026, 11, 10), G), (date(2026, 11, 25), A)]:  # the last is after as_of
            touch(uow, roster.ann, roster.acme, on, purpose)
        uow.ledger.add(WS, EntryDraft(roster.acme.id, roster.ann.id, -10, Reason.PROMISE_BROKEN, date(2026, 11, 2), "b"))
        uow.ledger.add(WS, EntryDraft(roster.acme.id, roster.ann.id, 3, Reason.PROMISE_KEPT, date(2026, 11, 30), "k"))
        [acme] = uow.histories.client_histories(WS, DAY, rep_id=roster.ann.id, touches_per_client=1, window_days=30)
        assert list(uow.histories.client_histories(WS, DAY, team_ids=[])) == []
    assert acme.touches == (Touch(date(2026, 11, 10), G), Touch(date(2026, 11, 1), S))
    assert (acme.balance, acme.last_setback_on) == (-10, date(2026, 11, 2))
