"""The shared dialog scripts, through the console channel, on every database."""

from __future__ import annotations

import pytest

from bot.console import ConsoleChannel
from coaching.engine import Inbound
from tests.dialogs import SCRIPTS, Pick, Script
from tests.support import MovableClock, client_state, make_coach, seed_roster


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.name)
def test_script(database_url, script: Script):
    coach = make_coach(database_url)
    seed_roster(coach)
    channel = ConsoleChannel(coach, script.email)
    for number, step in enumerate(script.steps, 1):
        text = str(step.number) if isinstance(step, Pick) else step.text
        answer, _ = channel.send(text)
        for fragment in step.expect:
            assert fragment in answer, f"step {number} ({text!r}) lacks {fragment!r}:\n{answer}"
    assert client_state(coach, script.client) == (script.balance, script.interactions)


def test_conversation_survives_a_restart(database_url):
    """State lives in the database: a new process (a new Coach) carries on where the last left off."""
    clock = MovableClock()
    first = make_coach(database_url, clock)
    seed_roster(first)
    ConsoleChannel(first, "alice@acme.example").send("/logmeeting Initech visit ask: pricing talk")
    second = make_coach(database_url, clock)
    channel = ConsoleChannel(second, "alice@acme.example")
    answer, _ = channel.send("1")  # add Initech as a new client
    assert "track record" in answer
    for text in ("no", "no", "no", "skip", "skip", "save"):
        answer, _ = channel.send(text)
    assert "Saved your touch with Initech." in answer
    assert "No credit change this time" in answer
    assert client_state(second, "Initech") == (0, 1)


def test_abandoned_conversation_expires(database_url):
    clock = MovableClock()
    coach = make_coach(database_url, clock)
    seed_roster(coach)
    channel = ConsoleChannel(coach, "alice@acme.example")
    channel.send("/logmeeting")
    clock.advance(minutes=31)
    answer, _ = channel.send("Acme Corp")
    assert "timed out" in answer
    assert "I didn't understand “Acme Corp”" in answer
    assert client_state(coach, "Acme Corp") == (0, 0)


def test_a_retried_confirmation_records_once(database_url):
    """The platform delivers the final "save" twice with the same message id: one touch, one set of entries."""
    coach = make_coach(database_url)
    seed_roster(coach)
    inbound = lambda text, mid=None: Inbound(coach.workspace, "dm-1", text, email="alice@acme.example", external_id=mid)
    for text in ("/logmeeting Acme call give: shared a report", "1", "no", "no", "no", "skip", "skip"):
        coach.engine.handle(inbound(text))
    first = coach.engine.handle(inbound("save", "msg-42"))
    assert first.logged is not None and not first.logged.duplicate
    for text in ("/logmeeting Acme call give: shared a report", "1", "no", "no", "no", "skip", "skip"):
        coach.engine.handle(inbound(text))
    again = coach.engine.handle(inbound("save", "msg-42"))
    assert again.extra == {"duplicate": True} and again.replies == ()
    assert client_state(coach, "Acme") == (2, 1)


def test_unknown_user_is_told_how_to_get_added(database_url):
    coach = make_coach(database_url)
    seed_roster(coach)
    answer, outcome = ConsoleChannel(coach, "stranger@elsewhere.example").send("/logmeeting")
    assert "Ask your sales admin to add you" in answer
    assert outcome is not None and outcome.person is None


def test_reps_cannot_see_another_teams_clients(database_url):
    coach = make_coach(database_url)
    seed_roster(coach)
    bob = ConsoleChannel(coach, "bob@acme.example")  # team West
    for text in ("/logmeeting Westco call give: intro", "1", "no", "no", "no", "skip", "skip", "save"):
        bob.send(text)
    alice = ConsoleChannel(coach, "alice@acme.example")  # team East
    answer, _ = alice.send("ledger Westco")
    assert "No client called “Westco” that you can see" in answer
    answer, _ = alice.send("teamhealth")
    assert "Team health is for managers" in answer
    mia = ConsoleChannel(coach, "mia@acme.example")  # manager of East
    answer, _ = mia.send("teamhealth West")
    assert "You can only see your own team's health" in answer
    answer, _ = mia.send("teamhealth")
    assert "Team health: East" in answer and "Westco" not in answer
    ada = ConsoleChannel(coach, "ada@acme.example")  # admin
    answer, _ = ada.send("teamhealth West")
    assert "Team health: West" in answer and "Bob Brown" in answer


def test_help_in_both_languages(database_url):
    coach = make_coach(database_url)
    seed_roster(coach)
    answer, _ = ConsoleChannel(coach, "ken@acme.example").send("help")
    assert "できること" in answer and "teamhealth" not in answer
    answer, _ = ConsoleChannel(coach, "mia@acme.example").send("help")
    assert "Here's what I can do" in answer and "teamhealth [TEAM]" in answer


def test_a_button_pressed_mid_conversation_keeps_the_conversation(database_url):
    coach = make_coach(database_url)
    seed_roster(coach)
    channel = ConsoleChannel(coach, "alice@acme.example")
    for text in ("/logmeeting Acme call give: shared a report", "1", "+ Promise"):
        channel.send(text)
    answer, _ = channel.send("snooze:promise_due:promise:1")
    assert "Snoozed: I won't bring this up again before Fri 27 Nov." in answer
    answer, _ = channel.send("send the quote tomorrow")  # still the promise question
    assert "send the quote" in answer and "Here's what I'll record:" in answer
    answer, _ = channel.send("save")
    assert "Saved your touch with Acme." in answer


def test_a_restarted_log_keeps_its_type_ahead_hint(database_url):
    coach = make_coach(database_url)
    seed_roster(coach)
    channel = ConsoleChannel(coach, "alice@acme.example")
    channel.send("/logmeeting")
    _, outcome = channel.send("/logmeeting")
    assert outcome.replies[0].picker == "client" and outcome.replies[0].lines[0].key == "log.restarted"
