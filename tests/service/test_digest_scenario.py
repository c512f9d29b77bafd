"""The morning digest a busy rep reads, end to end through the scheduler on both databases: a rep
with seven ask-only clients, two quiet ones and a promise due tomorrow gets one short digest,
the promise first, each pattern once, no sentence twice, buttons that act."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from coaching.commands import parse
from coaching.jobs import ScheduledJobs
from bot.catalog import Catalog
from coaching.model import InteractionDraft, Kind, Purpose
from coaching.schedule import Schedule
from tests.support import WORKSPACE, MovableClock, Recorder, make_coach, seed_roster

UTC = timezone.utc
FRIDAY = date(2026, 11, 20)
MAX_CHARS = 1500


def rendered(reply, lang: str) -> list[str]:
    catalog = Catalog(lang)
    return [catalog.render(line, lang) for line in reply.lines]


@pytest.fixture
def busy_rep(database_url):
    clock = MovableClock(datetime(2026, 11, 20, 9, 30, tzinfo=UTC))  # 09:30 in London, Friday
    coach = make_coach(database_url, clock)
    ids = seed_roster(coach)
    with coach.uow_factory() as uow:
        alice = uow.people.get(WORKSPACE, ids["alice"])
        team = alice.team_ids[0]
        for n in range(7):  # seven clients she only asks
            client = uow.clients.add(WORKSPACE, f"Asker {n + 1}", team, alice.id, FRIDAY - timedelta(days=200))
            for days in (16, 9, 2):  # a weekly rhythm, last touched this week: not quiet
                uow.interactions.add(WORKSPACE, alice.id, InteractionDraft(
                    client.id, FRIDAY - timedelta(days=days + n), Kind.CALL, Purpose.ASK, note="asked for the order"))
        for name in ("Quiet One", "Quiet Two"):  # two she has not touched for two months
            client = uow.clients.add(WORKSPACE, name, team, alice.id, FRIDAY - timedelta(days=200))
            uow.interactions.add(WORKSPACE, alice.id, InteractionDraft(
                client.id, FRIDAY - timedelta(days=60), Kind.EMAIL, Purpose.GIVE, note="sent the newsletter"))
        promised = uow.clients.add(WORKSPACE, "Promised Co", team, alice.id, FRIDAY - timedelta(days=200))
        touch = uow.interactions.add(WORKSPACE, alice.id, InteractionDraft(
            promised.id, FRIDAY - timedelta(days=2), Kind.MEETING, Purpose.GIVE, note="walked through the plan"))
        uow.promises.add(WORKSPACE, promised.id, alice.id, touch.id, "send the revised quote", FRIDAY - timedelta(days=2),
                         FRIDAY + timedelta(days=1))
        uow.commit()
    return coach, clock, ids


def test_one_short_digest_what_is_due_first_each_pattern_once(busy_rep):
    coach, clock, _ = busy_rep
    notifier = Recorder(clock)
    ScheduledJobs(coach.uow_factory, notifier, coach.rules, Schedule(checkin_time=None), coach.clock).run(
        WORKSPACE, clock())
    [(_, reply)] = notifier.to("alice")
    for lang in ("en", "ja"):
        lines = rendered(reply, lang)
        body = "\n".join(lines)
        assert len(body) <= MAX_CHARS, (lang, len(body), body)
        sentences = [s.strip() for line in lines for s in line.replace("→", ".").split(".") if len(s.strip()) > 12]
        assert len(sentences) == len(set(sentences)), body  # no sentence twice
    en = rendered(reply, "en")
    assert "send the revised quote" in en[1]  # the promise due tomorrow, first
    assert en[2].startswith("Gone quiet with 2 clients: Quiet One, Quiet Two")
    assert en[3].startswith("Only asking with 7 clients: Asker") and "and 2 more" in en[3]
    assert sum("Only asking" in line for line in en) == 1 and "today" not in " ".join(en[1:])
    # buttons that act: the promise is marked kept; a group opens its clients; "not useful" on each
    labels = [Catalog("en").render(c.label, "en") for c in reply.choices]
    assert labels == ["Done: kept", "Not useful", "Show them", "Not useful", "Show them", "Not useful", "👍 Useful"]
    kept, _, quiet, _, asks, *_ = (parse(c.value) for c in reply.choices)
    assert type(kept).__name__ == "ClosePromise" and (quiet.kind, asks.kind) == ("quiet", "ask_only")


def test_a_group_opens_to_its_clients_and_feedback_is_recorded(busy_rep):
    coach, clock, ids = busy_rep
    notifier = Recorder(clock)
    ScheduledJobs(coach.uow_factory, notifier, coach.rules, Schedule(checkin_time=None), coach.clock).run(
        WORKSPACE, clock())
    [(_, reply)] = notifier.to("alice")
    from tests.service.test_credit_model import ConsoleChannel  # the real engine in the terminal
    chat = ConsoleChannel(coach, "alice@acme.example")
    detail, _ = chat.send(reply.choices[4].value)  # "Show them" under "Only asking"
    assert detail.count("Only asking:") == 7 and "Asker 7" in detail
    useful, _ = chat.send(reply.choices[-1].value)
    assert "noted as useful" in useful
    not_useful, _ = chat.send(reply.choices[5].value)  # "Not useful" under the ask-only group
    assert "Not relevant" not in not_useful
    with coach.uow_factory() as uow:
        recorded = uow.feedback.for_period(WORKSPACE, [ids["alice"]], FRIDAY, FRIDAY)
    assert sum(f.action == "useful" for f in recorded) == 10  # every nudge of the digest
    assert sum(f.action == "dismissed" and f.kind == "ask_only" for f in recorded) == 7
    nudges_now, _ = chat.send("nudges")
    assert "Only asking" not in nudges_now and "send the revised quote" in nudges_now


def test_held_back_nudges_are_recorded_and_compared(busy_rep):
    """With half the nudges held back, the digest carries the rest; a week later the report
    compares what the rep did with the clients of each arm."""
    coach, clock, ids = busy_rep
    rules = coach.rules.with_overrides({"nudging": {"holdout_share": 0.5}})
    notifier = Recorder(clock)
    ScheduledJobs(coach.uow_factory, notifier, rules, Schedule(checkin_time=None), coach.clock).run(WORKSPACE, clock())
    from coaching import effect, effect_report
    with coach.uow_factory() as uow:
        people = [ids["alice"]]
        held = uow.deliveries.sent_items_between(WORKSPACE, people, FRIDAY, FRIDAY, held=True)
        sent = uow.deliveries.sent_items_between(WORKSPACE, people, FRIDAY, FRIDAY)
    assert held and not {(i.subject, i.kind) for i in held} & {(i.subject, i.kind) for i in sent}
    assert all(effect.held_back(i.rep_id, i.subject, i.kind, 0.5) for i in held)
    assert "promise_due" not in {i.kind for i in held} and "promise_due" in {i.kind for i in sent}  # never what is due
    rules = coach.rules.with_overrides({"nudging": {"holdout_share": 1.0}})  # even holding back everything
    later = Recorder(clock)
    clock.advance(days=3)
    ScheduledJobs(coach.uow_factory, later, rules, Schedule(checkin_time=None), coach.clock).run(WORKSPACE, clock())
    assert any("send the revised quote" in line for _, reply in later.to("alice") for line in rendered(reply, "en"))
    with coach.uow_factory() as uow:  # two days later she calls every client the digest named
        alice = uow.people.get(WORKSPACE, ids["alice"])
        for i in sent:
            if i.client_id is not None:
                uow.interactions.add(WORKSPACE, alice.id, InteractionDraft(
                    i.client_id, FRIDAY + timedelta(days=2), Kind.CALL, Purpose.GIVE, note="followed up"))
        uow.commit()
        teams = [uow.teams.by_name(WORKSPACE, "East")]
        *_, everything = effect_report.read(uow, WORKSPACE, teams, FRIDAY, FRIDAY + timedelta(days=8))
    assert everything.sent.n == len({(i.subject, i.kind) for i in sent}) and everything.sent.acted == everything.sent.n
    assert everything.held.n == len(held) and everything.held.acted == 0
    said = Catalog("en").render(effect_report.line(everything), "en")
    assert said.startswith(f"All nudges: acted on 100% of {everything.sent.n} sent, 0% of {everything.held.n} held back:")
    assert "too few nudges to tell yet" in said
