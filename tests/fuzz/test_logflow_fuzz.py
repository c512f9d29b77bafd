"""Any sequence of inputs, from any state, for a rep, a manager and an admin: the engine answers
(never raises), the conversation it stores can always be continued or cancelled, and the ledger
stays consistent. The real engine on a real database, with a movable clock."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from coaching import checkin, ledger
from coaching.commands import WORDS as COMMANDS
from coaching.engine import Inbound
from coaching.messages import LANGUAGES, Msg
from coaching.model import PromiseStatus
from coaching.nudges import NudgeKind
from storage.models import (ClientRow, InteractionRow, LedgerEntryRow, NudgeFeedbackRow, PersonRow, ProblemRow,
                            PromiseRow)
from tests.support import START, MovableClock, make_coach, seed_quiet_clients, seed_roster

PEOPLE = ("alice@acme.example", "ken@acme.example", "mia@acme.example", "ada@acme.example")
HUGE_IDS = (0, 2**31, 2**63, 10**30)
WRITTEN = (ClientRow, InteractionRow, PromiseRow, ProblemRow, LedgerEntryRow, NudgeFeedbackRow, PersonRow)

ids = st.one_of(st.integers(0, 12), st.sampled_from(HUGE_IDS)).map(str)
digits = st.sampled_from(["1", "2", "3", "9", "0", "01", "²", "١", "１", "-1", "1.5", "99999999999999999999"])
unicode_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)  # NUL, surrogates too
words = st.sampled_from([w for group in COMMANDS.values() for w in group])
answers = st.sampled_from([
    "yes", "no", "skip", "save", "edit", "cancel", "call", "give", "ask", "service", "meeting", "はい", "いいえ",
    "スキップ", "保存", "修正", "記録する", "修正する", "編集", "やめる", "打ち合わせ", "ギブ", "提案", "対応",
    "promise", "problem", "proof", "justify", "+ Promise", "+ 約束を追加", "✓ Track record shown", "Skip for now",
    "Expertise in my specialty", "今回はスキップ", "記録内容の確認に戻る", "level:1", "level:4", "level:9",
    "send the quote by Friday", "来週月曜までに見積もり", "by tomorrow", "late invoices", "Acme", "Kobe Steelworks",
    "Boston Bay", "田中商事", "Acme Corp", "sat down with them", *[f"edit:{f}" for f in (
        "client", "date", "kind", "purpose", "note", "proof", "promise", "problem", "asked_for", "justification",
        "nonsense")],
    *checkin.NOT_TODAY,
])
dates = st.sampled_from(["today", "tomorrow", "yesterday", "明日", "来週", "来週の金曜", "11/20", "2/29", "2026-02-30",
                         "2026-12-01", "in 3 days", "in 999 days", "13/45", "Friday", "金曜日", "next mon"])
buttons = st.one_of(
    st.builds("tap:{}".format, st.one_of(ids, st.just("other"))),
    st.builds("client:{}".format, st.one_of(ids, digits)),
    st.builds("new:{}".format, st.one_of(unicode_text, st.sampled_from(["", "  ", "Acme", "㍿" * 200, "x" * 201]))),
    st.builds("purpose:{}:{}".format, ids, st.sampled_from(["give", "ask", "service", "pending"])),
    st.builds("{}:{}:{}".format, st.sampled_from(["snooze", "dismiss"]),
              st.sampled_from([*(k.value for k in NudgeKind), "bogus"]),
              st.one_of(st.builds("client:{}:quiet".format, ids), unicode_text.filter(bool), st.just("s" * 500))),
    st.builds("{}:{}".format, st.sampled_from(["kept", "broken", "守った", "守れなかった"]), ids),
    st.builds("{} {}".format, st.sampled_from(["kept", "broken", "守った"]), st.one_of(ids, digits)),
)
commands = st.builds(
    "{}{} {}".format, st.sampled_from(["", "/"]), words,
    st.one_of(st.just(""), unicode_text, answers, dates, st.sampled_from(["Acme", "East", "off", "on", "channel here",
                                                                           "Acme page 99999", "Acme p 2"])))
quick = st.builds("/logmeeting {} {} {} {}: {}".format, st.sampled_from(["Acme", "Kobe Steelworks", "Zeta", ""]),
                  st.sampled_from(["call", "visit", "電話", ""]), st.sampled_from(["give", "ask", "ギブ", ""]),
                  st.one_of(dates, st.just("")), st.one_of(unicode_text, answers))
huge = st.sampled_from(["x" * 4001, "あ" * 100_000, "/logmeeting " + "A" * 100_000, "new:" + "N" * 100_000,
                        "\x00" * 10, "note\x00with a nul", "\ud800 half a pair", " " * 5000])
inputs = st.one_of(answers, answers, digits, dates, buttons, commands, quick, unicode_text, huge, st.just(""))
step = st.one_of(inputs, st.sampled_from(["<31 minutes>", "<1 day>"]))
# Whole flows that save a touch, so random steps also land mid-way through real conversations.
FLOWS = (
    ("/logmeeting Acme call give: shared a report", "level:2", "save"),
    ("/logmeeting", "Acme", "a note", "call", "give", "+ Promise", "send the quote by Friday", "problem", "late invoices",
     "proof", "save"),
    ("/logmeeting Kobe Steelworks visit ask", "no note", "skip", "promise", "quote", "tomorrow", "edit", "edit:date",
     "yesterday", "save"),
    ("/logmeeting 田中商事 打ち合わせ ギブ: 業界レポートを共有。来週月曜までに見積もり再提出を約束", "1", "+ 実績を示した",
     "修正する", "edit:asked_for", "専門分野とその周辺の解決策", "記録する"),
    ("/logmeeting Acme: they asked why, and wanted every number backed by data", "meeting", "justify", "level:3",
     "edit", "edit:justification", "no", "save"),
    ("tap:1", "give", "no"),
    ("tap:other", "Zeta Corp", "1", "service", "call them back by Monday", "no"),
    ("purpose:1:give",),
    ("promises", "1"),
    ("promises", "kept 1"),
    ("broken 1",),
)


@st.composite
def scripts(draw) -> list[str]:
    if draw(st.booleans()):  # a flow, with random steps slipped in
        script = list(draw(st.sampled_from(FLOWS)))
        for _ in range(draw(st.integers(0, 3))):
            script.insert(draw(st.integers(0, len(script))), draw(step))
        return script
    return draw(st.lists(step, min_size=1, max_size=12))


class World:
    def __init__(self, database_url: str) -> None:
        self.clock = MovableClock(START)
        self.coach = make_coach(database_url, self.clock)
        self.ids = seed_roster(self.coach)
        seed_quiet_clients(self.coach, self.ids, START.date() - timedelta(days=60))
        # a touch captured in a client channel, its purpose not said yet (for purpose: buttons)
        shared = Inbound(self.coach.workspace, "C-acme", "capture Acme", email="ada@acme.example", platform="slack")
        self.coach.engine.handle(shared)
        self.coach.engine.capture(dataclasses.replace(shared, email="alice@acme.example", text=""), START)
        self.cases = self.turns = self.logged = 0

    def send(self, email: str, text: str, platform: str, external_id: str | None = None):
        inbound = Inbound(self.coach.workspace, f"dm-{email}", text, email=email, platform=platform,
                          external_id=external_id, direct=platform == "console")
        outcome = self.coach.engine.handle(inbound)
        self.turns += 1
        self.logged += outcome.logged is not None and not outcome.logged.duplicate
        for reply in outcome.replies:  # every line must render in both languages
            for line in reply.lines:
                for language in LANGUAGES:
                    self.coach.catalog.render(line, language)
            for choice in reply.choices:
                assert isinstance(choice.value, str) and len(choice.value) <= 2000
        return outcome

    def snapshot(self, email: str) -> tuple:
        """What a turn may change: rows of every kind it writes, and the conversation."""
        with self.coach.uow_factory() as uow:
            counts = [uow.session.scalar(select(func.count()).select_from(t)) for t in WRITTEN]
            record = uow.dialogs.get(self.coach.workspace, f"dm-{email}", email)
            return counts, record.state if record else None

    def check_ledger(self) -> None:
        ws, points = self.coach.workspace, self.coach.rules.points
        with self.coach.uow_factory() as uow:
            for client in uow.clients.list(ws):
                entries = uow.ledger.for_client(ws, client.id)
                assert uow.ledger.balance(ws, client.id) == sum(e.amount for e in entries), client.name
            keys = set(uow.session.scalars(select(LedgerEntryRow.key).where(LedgerEntryRow.workspace_id == ws)))
            touch_ids = list(uow.session.scalars(select(InteractionRow.id).where(InteractionRow.workspace_id == ws)))
            for touch_id in touch_ids:  # every touch carries the entries it earns
                touch = uow.interactions.get(ws, touch_id)
                if not touch.voided:
                    assert {d.key for d in ledger.for_interaction(touch, points)} <= keys, touch
            for promise_id, status, interaction_id in uow.session.execute(
                    select(PromiseRow.id, PromiseRow.status, PromiseRow.interaction_id)
                    .where(PromiseRow.workspace_id == ws)):
                assert interaction_id is None or interaction_id in touch_ids
                if status != PromiseStatus.OPEN.value:  # a closed promise carries its entry
                    assert f"promise:{promise_id}:closed" in keys
            problems = select(ProblemRow.interaction_id).where(ProblemRow.workspace_id == ws)
            assert set(uow.session.scalars(problems)) - {None} <= set(touch_ids)
            causes = uow.session.scalars(select(LedgerEntryRow.cause).where(LedgerEntryRow.cause.like("interaction:%")))
            assert {int(c.split(":")[1]) for c in causes} <= set(touch_ids)

    def cancel_works(self, email: str, platform: str) -> None:
        """Whatever was left behind loads, and ``cancel`` ends it."""
        outcome = self.send(email, "cancel", platform)
        last = outcome.replies[-1].lines[-1]
        assert isinstance(last, Msg) and last.key in ("log.cancelled", "log.nothing_to_cancel"), last
        with self.coach.uow_factory() as uow:
            assert uow.dialogs.get(self.coach.workspace, f"dm-{email}", email) is None


def run(world: World, email: str, platform: str, script: list[str]) -> None:
    world.cases += 1
    for number, text in enumerate(script):
        if text == "<31 minutes>":
            world.clock.advance(minutes=31)
        elif text == "<1 day>":
            world.clock.advance(days=1)
        else:  # now and then the platform delivers a message twice
            mid = f"m-{world.cases}-{number}" if number % 3 == 0 else None
            first = world.send(email, text, platform, mid)
            if mid:  # a refused message wrote nothing, not even its id: the retry is refused alike
                before = world.snapshot(email)
                again = world.send(email, text, platform, mid)
                if again.extra != {"duplicate": True}:
                    assert again.replies == first.replies and world.snapshot(email) == before
    world.check_ledger()
    world.cancel_works(email, platform)


def fuzz(database_url: str, examples: int) -> World:
    world = World(database_url)

    @settings(deadline=None, max_examples=examples, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(PEOPLE), st.sampled_from(["console", "slack", "teams"]), scripts())
    def conversation(email: str, platform: str, script: list[str]) -> None:
        run(world, email, platform, script)

    conversation()
    return world


def test_any_inputs_leave_a_usable_conversation_and_a_consistent_ledger(tmp_path) -> None:
    world = fuzz(f"sqlite:///{tmp_path / 'coach.sqlite3'}", 120)
    assert world.cases >= 60 and world.logged > 0  # deep enough to save touches, not only to start
    print(f"conversation fuzz (SQLite): {world.cases} cases, {world.turns} turns, {world.logged} touches logged")


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # SQLite has the larger run above
def test_any_inputs_on_postgres(database_url: str) -> None:
    world = fuzz(database_url, 30)
    print(f"conversation fuzz (PostgreSQL): {world.cases} cases, {world.turns} turns, {world.logged} touches logged")
