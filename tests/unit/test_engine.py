"""The turn runner and the command handlers, on in-memory fakes of the ports (no database)."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, date, datetime

import pytest

from coaching import access, capturing
from coaching.access import CoachError
from coaching.engine import Engine, Inbound
from coaching.logflow import LogRequest
from bot.catalog import Catalog
from coaching.model import Kind, Purpose, Role, Workspace
from coaching.records import PersonDraft
from coaching.rules import DEFAULT_RULES
from tests.fakes import FakeStore, FakeUnitOfWork

WS = "acme"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CATALOG = Catalog()


@pytest.fixture
def engine() -> tuple[Engine, FakeStore]:
    store = FakeStore()
    with FakeUnitOfWork(store) as uow:
        uow.workspaces.add(Workspace(WS, "Acme"))
        east = uow.teams.add(WS, "East")
        rep = uow.people.upsert(WS, PersonDraft("rep@acme.example", "Rita Rep", Role.REP, (east.id,), "UTC", "en"))
        mate = uow.people.upsert(WS, PersonDraft("mate@acme.example", "Mo Mate", Role.REP, (east.id,), "UTC", "en"))
        uow.people.upsert(WS, PersonDraft("boss@acme.example", "Bea Boss", Role.MANAGER, (east.id,), "UTC", "ja"))
        for n in range(31):
            uow.clients.add(WS, f"Client {n:02d}", east.id, rep.id if n < 7 else mate.id, date(2026, 1, 1))
        uow.commit()
    return Engine(lambda: FakeUnitOfWork(store), DEFAULT_RULES, lambda: NOW), store


def said(engine: Engine, email: str, text: str, locale: str = "en") -> str:
    outcome = engine.handle(Inbound(WS, f"dm-{email}", text, email=email))
    return "\n".join(CATALOG.render(line, locale) for reply in outcome.replies for line in reply.lines)


def test_clients_lists_the_reps_own_and_says_how_to_see_the_teams(engine):
    coach, _ = engine
    answer = said(coach, "rep@acme.example", "clients")
    assert "Your clients (7)" in answer and "Client 06" in answer and "Client 07" not in answer
    assert "31 clients in all" in answer
    team = said(coach, "rep@acme.example", "clients team")
    assert "(31)" in team and "Client 30" in team


def test_a_manager_with_no_clients_of_their_own_sees_the_teams(engine):
    coach, _ = engine
    answer = said(coach, "boss@acme.example", "顧客", "ja")
    assert "チームのお客様(31社)" in answer


def test_a_button_pressed_mid_log_acts_and_keeps_the_conversation(engine):
    coach, _ = engine
    assert "Which client" in said(coach, "rep@acme.example", "/logmeeting")
    said(coach, "rep@acme.example", "away")  # typed without a slash: an answer to the question, not a command
    assert "Which client" in said(coach, "rep@acme.example", "/logmeeting")
    assert "not useful" in said(coach, "rep@acme.example", "dismiss:quiet:client:1")
    next_step = said(coach, "rep@acme.example", "Client 01")  # still logging: the client was the answer
    assert "Which client" not in next_step and "?" in next_step


def test_a_slash_command_mid_log_sets_the_log_aside(engine):
    coach, _ = engine
    said(coach, "rep@acme.example", "/logmeeting")
    answer = said(coach, "rep@acme.example", "/promises")
    assert "I set your unfinished log aside" in answer and "You have no open promises" in answer


def test_someone_deactivated_is_turned_away_in_their_language_and_nothing_changes(engine):
    coach, store = engine
    with FakeUnitOfWork(store) as uow:
        for email in ("rep@acme.example", "boss@acme.example"):
            uow.people.set_active(WS, uow.people.by_email(WS, email).id, False)
        uow.commit()
    before = copy.deepcopy(store)
    assert said(coach, "rep@acme.example", "/logmeeting Client 01 call give: sent the deck").startswith(
        "Your access to the coach is switched off")
    assert said(coach, "boss@acme.example", "teamhealth", "ja").startswith("コーチの利用は停止されています")
    inbound = Inbound(WS, "dm", "", email="rep@acme.example", platform="slack", platform_user_id="U9")
    request = LogRequest(1, "Client 01", date(2026, 11, 20), Kind.CALL, Purpose.GIVE, "n", False, (), None, None, None)
    for outcome in (coach.home(inbound), coach.log_form(inbound, request),
                    coach.log_message(inbound, "we talked", NOW), coach.capture(inbound, NOW)):
        assert outcome.extra.get("deactivated") and outcome.logged is None
    assert coach.suggest_clients(inbound, "Client") == []
    assert store == before  # not even the Slack id was linked
    with FakeUnitOfWork(store) as uow:  # an admin who left has no admin's reach or powers
        boss = uow.people.by_email(WS, "boss@acme.example")
        admin = dataclasses.replace(boss, role=Role.ADMIN)
        assert access.visible_team_ids(uow, admin) == () and not admin.is_admin and not admin.is_manager
        with pytest.raises(CoachError):
            capturing.capture_channel(uow, admin, "slack", "C1", "Client 01", date(2026, 11, 20))
