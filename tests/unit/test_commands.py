"""The typed commands: what each typed text and each button payload parses to, in both
languages, and that every payload the coach writes on a button parses back to the same command."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from coaching import commands as c
from coaching.model import Purpose


@pytest.mark.parametrize("text, command", [
    ("/logmeeting Acme call give: sent the report", c.LogMeeting("Acme call give: sent the report")),
    ("/logmeeting", c.LogMeeting("")),
    ("記録 田中商事 打ち合わせ", c.LogMeeting("田中商事 打ち合わせ")),
    ("ledger", c.Ledger("")), ("ledger Acme Corp", c.Ledger("Acme Corp")),
    ("ledger Acme Corp page 2", c.Ledger("Acme Corp", 2)), ("通帳 田中商事 ページ 3", c.Ledger("田中商事", 3)), ("通帳 田中商事 2ページ", c.Ledger("田中商事", 2)),
    ("通帳 田中商事 2 ページ目", c.Ledger("田中商事", 2)),
    ("台帳 田中商事", c.Ledger("田中商事")),
    ("promises", c.Promises()), ("約束", c.Promises()),
    ("clients", c.Clients()), ("clients team", c.Clients(team=True)), ("顧客 チーム", c.Clients(team=True)),
    ("nudges", c.Nudges()), ("今日", c.Nudges()), ("home", c.Home()), ("ホーム", c.Home()),
    ("teamhealth", c.TeamHealth("")), ("teamhealth West", c.TeamHealth("West")),
    ("teamhealth channel here", c.TeamChannelHere()), ("チーム ここ", c.TeamChannelHere()),
    ("help", c.Help()), ("使い方", c.Help()), ("cancel", c.Cancel()), ("やめる", c.Cancel()),
    ("away", c.SetLeave(True)), ("休暇", c.SetLeave(True)), ("back", c.SetLeave(False)),
    ("戻りました", c.SetLeave(False)),
    ("llm", c.Llm("")), ("llm off", c.Llm("off")), ("capture Acme", c.Capture("Acme")), ("capture", c.Capture("")),
    ("not today", c.NotToday()), ("今日はなし。", c.NotToday()),
    ("kept 1", c.ClosePromise(True, position=1)), ("broken 2", c.ClosePromise(False, position=2)),
    ("守った 1", c.ClosePromise(True, position=1)), ("KEPT 3", c.ClosePromise(True, position=3)),
    ("dance", c.Unknown("dance")), ("", c.Unknown("")),
])
def test_typed_text(text, command):
    assert c.parse(text) == command


@pytest.mark.parametrize("value, command", [
    ("tap:12", c.Tap(12, "12")), ("tap:other", c.Tap(None)), ("client:7", c.PickClient(7, "7")),
    ("client:99999999999", c.PickClient(None, "99999999999")), ("new:Acme Corp", c.NewClient("Acme Corp")),
    ("snooze:quiet:client:4", c.Feedback("snoozed", "quiet", "client:4")),
    ("dismiss:ask_only:client:9", c.Feedback("dismissed", "ask_only", "client:9")),
    ("kept:12", c.ClosePromise(True, promise_id=12)), ("broken:3", c.ClosePromise(False, promise_id=3)),
    ("kept: 12", c.ClosePromise(True, promise_id=12)), ("kept:0", c.ClosePromise(True, promise_id=0)),
    ("purpose:12:give", c.StatePurpose(12, Purpose.GIVE)),
    ("purpose:99999999999999999999:ask", c.StatePurpose(None, Purpose.ASK)),
])
def test_button_payloads(value, command):
    assert c.parse(value) == command


@pytest.mark.parametrize("command", [
    c.Tap(12), c.Tap(None), c.PickClient(7), c.NewClient("Acme Corp"), c.Feedback("snoozed", "quiet", "client:4"),
    c.Feedback("dismissed", "promise_due", "promise:3"), c.ClosePromise(True, promise_id=5),
    c.ClosePromise(False, promise_id=5), c.StatePurpose(8, Purpose.SERVICE), c.LogMeeting("Acme"), c.NotToday(),
])
def test_every_button_the_coach_writes_parses_back(command):
    parsed = c.parse(c.button(command))
    if isinstance(command, (c.Tap, c.PickClient)) and command.client_id is not None:
        parsed = type(parsed)(parsed.client_id)  # the raw id is kept for the refusal only
    assert parsed == command


@given(st.text(max_size=60))
def test_any_text_parses_to_one_command(text):
    assert isinstance(c.parse(text), c.Command.__args__)  # type: ignore[attr-defined]
