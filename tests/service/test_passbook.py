"""The rep's own passbook: ``ledger`` with no client lists their book most at risk first, with
balance and its four-week trend, days since the last touch and give:ask over 90 days; App Home
shows the same lines. ``ledger CLIENT`` stays the entry-by-entry passbook."""

from __future__ import annotations

from datetime import timedelta

from coaching.engine import Inbound
from bot.catalog import Catalog
from coaching.model import EntryDraft, InteractionDraft, Kind, Purpose, Reason
from tests.support import START, WORKSPACE, make_coach, seed_roster

TODAY = START.date()


def said(coach, email: str, text: str, lang: str = "en") -> str:
    outcome = coach.engine.handle(Inbound(WORKSPACE, "dm", text, email=email))
    return "\n".join(Catalog(lang).render(line, lang) for reply in outcome.replies for line in reply.lines)


def book(coach, ids):
    with coach.uow_factory() as uow:
        east = uow.teams.by_name(WORKSPACE, "East")
        steady = uow.clients.add(WORKSPACE, "Steady Co", east.id, ids["alice"], TODAY - timedelta(days=200))
        slipping = uow.clients.add(WORKSPACE, "Slipping Ltd", east.id, ids["alice"], TODAY - timedelta(days=200))
        entries = ((steady, 60, 4), (steady, 10, 3), (slipping, 60, 6), (slipping, 5, -10))
        for n, (client, days, amount) in enumerate(entries):
            uow.ledger.add(WORKSPACE, EntryDraft(client.id, ids["alice"], amount, Reason.GIVE_TOUCH,
                                                 TODAY - timedelta(days=days), f"k{n}", detail={"kind": "call"}))
        for days, purpose in ((3, Purpose.GIVE), (20, Purpose.ASK), (40, Purpose.GIVE), (120, Purpose.ASK)):
            uow.interactions.add(WORKSPACE, ids["alice"], InteractionDraft(steady.id, TODAY - timedelta(days=days),
                                                                          Kind.CALL, purpose))
        uow.interactions.add(WORKSPACE, ids["alice"], InteractionDraft(slipping.id, TODAY - timedelta(days=50),
                                                                      Kind.CALL, Purpose.ASK))
        uow.commit()


def test_ledger_without_a_client_is_the_reps_own_book(database_url):
    coach = make_coach(database_url)
    ids = seed_roster(coach)
    book(coach, ids)
    text = said(coach, "alice@acme.example", "ledger")
    lines = text.splitlines()
    assert lines[0] == "Your passbook: 2 clients, credit +3 in all. Most at risk first:"
    assert lines[1] == "• Slipping Ltd: credit -4 ↓, last touch 50 days ago, give:ask 0:1 in 90 days"
    assert lines[2] == "• Steady Co: credit +7 ↑, last touch 3 days ago, give:ask 2:1 in 90 days"
    assert "ledger CLIENT" in lines[-1]
    japanese = said(coach, "alice@acme.example", "台帳", "ja")
    assert "あなたの信用通帳:お客様2社" in japanese and "直近90日の情報提供2件/商談・提案1件" in japanese
    assert "Slipping Ltd" in said(coach, "alice@acme.example", "ledger Slipping Ltd")  # one client: the passbook


def test_a_rep_with_no_clients_is_told_how_to_start(database_url):
    coach = make_coach(database_url)
    seed_roster(coach)
    assert "You have no clients yet" in said(coach, "bob@acme.example", "ledger")


def test_home_shows_the_same_client_lines(database_url):
    coach = make_coach(database_url)
    ids = seed_roster(coach)
    book(coach, ids)
    text = said(coach, "alice@acme.example", "home")
    assert "• Steady Co: credit +7 ↑, last touch 3 days ago, give:ask 2:1 in 90 days" in text
