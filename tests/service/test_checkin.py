"""The end-of-day check-in on real databases with a moving clock: asked once at 17:30 in each
rep's zone on working days, skipped on a day already logged, on leave and after "not today";
one tap stores one touch; a touch captured from a client channel has its purpose asked."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from coaching import capturing, checkin
from coaching.jobs import CHECKIN, ScheduledJobs
from coaching.engine import Inbound
from bot.catalog import Catalog
from coaching.model import InteractionDraft, Kind, Purpose, Role
from coaching.records import SKIPPED, ChannelCapture, PersonDraft
from coaching.schedule import Schedule
from tests.support import WORKSPACE, MovableClock, Recorder, make_coach, seed_quiet_clients, seed_roster

UTC = timezone.utc
THURSDAY = date(2026, 11, 19)
FRIDAY = date(2026, 11, 20)
MONDAY = date(2026, 11, 23)


def text(reply, lang="en") -> str:
    catalog = Catalog(lang)
    return "\n".join(catalog.render(line, lang) for line in reply.lines)


def labels(reply, lang="en") -> list[str]:
    catalog = Catalog(lang)
    return [catalog.render(c.label, lang) if not isinstance(c.label, str) else c.label for c in reply.choices]


@pytest.fixture
def world(database_url):
    clock = MovableClock(datetime(2026, 11, 19, 0, 0, tzinfo=UTC))  # Thursday 00:00 UTC
    coach = make_coach(database_url, clock)
    ids = seed_roster(coach)
    seed_quiet_clients(coach, ids, FRIDAY - timedelta(days=60))
    return coach, clock, ids


def checkins_only(coach, notifier) -> ScheduledJobs:
    return ScheduledJobs(coach.uow_factory, notifier, coach.rules, Schedule(), coach.clock)


def run_hourly(d: ScheduledJobs, clock: MovableClock, until: datetime, jobs=(CHECKIN,)) -> None:
    while clock.now < until:
        d.run(WORKSPACE, clock(), jobs=jobs)
        clock.advance(hours=1)


def say(coach, email: str, text_: str, key: str | None = None, conversation: str = "dm"):
    return coach.engine.handle(Inbound(WORKSPACE, conversation, text_, email=email, external_id=key))


def client_id(coach, name: str) -> int:
    with coach.uow_factory() as uow:
        return uow.clients.by_name(WORKSPACE, name).id


def touches(coach, name: str):
    with coach.uow_factory() as uow:
        return uow.interactions.for_client(WORKSPACE, client_id(coach, name), limit=50)


def log_touch(coach, rep_id: int, name: str, on: date, source: str = "command", purpose=Purpose.GIVE) -> None:
    with coach.uow_factory() as uow:
        uow.interactions.add(WORKSPACE, rep_id, InteractionDraft(client_id(coach, name), on, Kind.CALL, purpose,
                                                                 source=source))
        uow.commit()


def test_each_rep_is_asked_once_at_half_past_five_their_time_on_working_days(world):
    coach, clock, _ = world
    notifier = Recorder(clock)
    run_hourly(checkins_only(coach, notifier), clock, datetime(2026, 11, 24, 0, 0, tzinfo=UTC))
    hours = {who: [at.strftime("%a %H") for at, _ in notifier.to(who)] for who in ("alice", "ken", "bob", "mia")}
    # 17:30 local: Tokyo 08:30 UTC, London 17:30 UTC, New York 22:30 UTC; the hourly run sends at
    # the next whole hour; Saturday and Sunday are not working days; managers are not asked.
    assert hours["ken"] == ["Thu 09", "Fri 09", "Mon 09"]
    assert hours["alice"] == ["Thu 18", "Fri 18", "Mon 18"]
    # Thursday 00:00 UTC is Wednesday 19:00 in New York: Wednesday's check-in, caught up once.
    assert hours["bob"] == ["Thu 00", "Thu 23", "Fri 23", "Mon 23"]
    assert hours["mia"] == []
    first = notifier.to("alice")[0][1]
    assert "Alice, before you wrap up: any client touches today?" in text(first)
    assert "Someone else…" in labels(first) and "Not today" in labels(first)
    assert first.picker == "client"
    assert "田中さん、今日の締めくくりに" in text(notifier.to("ken")[0][1], "ja")


def test_a_second_replica_and_a_rerun_do_not_ask_twice(world):
    coach, clock, _ = world
    clock.now = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # Friday 18:00 in London
    notifier = Recorder(clock)
    first, second = checkins_only(coach, notifier), checkins_only(coach, notifier)
    first.run(WORKSPACE, clock(), jobs=(CHECKIN,))
    report = second.run(WORKSPACE, clock(), jobs=(CHECKIN,))
    assert [at for at, _ in notifier.to("alice")] == [clock.now]
    assert report.job(CHECKIN).already >= 1


def test_skipped_on_a_day_already_logged_and_on_leave(world):
    coach, clock, ids = world
    log_touch(coach, ids["alice"], "Acme", FRIDAY)
    with coach.uow_factory() as uow:
        uow.people.set_on_leave(WORKSPACE, ids["bob"], True)
        uow.commit()
    notifier = Recorder(clock)
    clock.now = datetime(2026, 11, 20, 19, 0, tzinfo=UTC)  # 19:00 in London
    report = checkins_only(coach, notifier).run(WORKSPACE, clock(), jobs=(CHECKIN,))
    assert report.job(CHECKIN).skipped == 1  # Alice's day, recorded so it is not worked out again
    clock.now = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)  # 18:00 in New York
    checkins_only(coach, notifier).run(WORKSPACE, clock(), jobs=(CHECKIN,))
    assert notifier.to("alice") == [] and notifier.to("bob") == []
    with coach.uow_factory() as uow:
        alice = [d for d in uow.deliveries.list(WORKSPACE, FRIDAY) if d.job == CHECKIN and d.person_id == ids["alice"]]
    assert [d.status for d in alice] == [SKIPPED]


def test_a_touch_captured_from_a_channel_does_not_count_as_logged(world):
    coach, clock, ids = world
    log_touch(coach, ids["alice"], "Acme", FRIDAY, source="channel", purpose=Purpose.PENDING)
    clock.now = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    notifier = Recorder(clock)
    checkins_only(coach, notifier).run(WORKSPACE, clock(), jobs=(CHECKIN,))
    [(_, reply)] = notifier.to("alice")
    assert "You wrote in the channel you share with Acme today. What was it for?" in text(reply)
    assert "Tap a client you were in touch with today" not in text(reply)  # no candidates: the open form
    assert labels(reply)[:3] == ["Give", "Ask", "Service"]


def test_not_today_before_the_check_in_means_it_is_never_sent(world):
    coach, clock, _ = world
    clock.now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # Friday noon in London
    answer = say(coach, "alice@acme.example", "Not today")
    assert "Got it, no check-in today." in text(answer.replies[0])
    clock.now = datetime(2026, 11, 20, 19, 0, tzinfo=UTC)
    notifier = Recorder(clock)
    checkins_only(coach, notifier).run(WORKSPACE, clock(), jobs=(CHECKIN,))
    assert notifier.to("alice") == []
    with coach.uow_factory() as uow:
        [declined] = [d for d in uow.deliveries.list(WORKSPACE, FRIDAY) if d.job == CHECKIN]
    assert (declined.status, declined.reason) == (SKIPPED, checkin.DECLINED)
    say(coach, "ken@acme.example", "今日はなし")  # Japanese works too; Ken's Friday is past 17:30 already
    monday = Recorder(clock)
    clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 18:00 in Tokyo: a new day asks again
    checkins_only(coach, monday).run(WORKSPACE, clock(), jobs=(CHECKIN,))
    assert len(monday.to("ken")) == 1


def test_the_buttons_offer_the_clients_most_likely_touched(world):
    coach, clock, ids = world
    with coach.uow_factory() as uow:
        east = uow.teams.by_name(WORKSPACE, "East")
        for name in ("Orion", "Zeta Foods", "Hokuto"):
            uow.clients.add(WORKSPACE, name, east.id, ids["alice"], FRIDAY - timedelta(days=10))  # not quiet
        acme = uow.clients.by_name(WORKSPACE, "Acme").id
        zeta = uow.clients.by_name(WORKSPACE, "Zeta Foods").id
        uow.promises.add(WORKSPACE, zeta, ids["alice"], None, "send the deck", FRIDAY - timedelta(days=3), FRIDAY)
        uow.commit()
    # This morning's digest named Acme (sent), so Acme is a likely touch too; Orion and Hokuto are not.
    clock.now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    notifier = Recorder(clock)
    d = checkins_only(coach, notifier)
    d.run(WORKSPACE, clock(), jobs=("digest",))
    assert any("Acme" in text(r) for _, r in notifier.to("alice"))
    clock.now = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    d.run(WORKSPACE, clock(), jobs=(CHECKIN,))
    reply = notifier.to("alice")[-1][1]
    assert [c.value for c in reply.choices][:2] == [f"tap:{zeta}", f"tap:{acme}"]
    assert labels(reply)[:2] == ["Zeta Foods", "Acme"]
    assert "Orion" not in labels(reply) and "Hokuto" not in labels(reply)


def test_one_tap_stores_one_touch_asking_only_purpose_and_promise(world):
    coach, clock, ids = world
    clock.now = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    acme = client_id(coach, "Acme")
    first = say(coach, "alice@acme.example", f"tap:{acme}", key="k1")
    assert "What did they get from you?" in text(first.replies[0])
    second = say(coach, "alice@acme.example", "give", key="k2")
    assert "Did you promise anything?" in text(second.replies[0])
    saved = say(coach, "alice@acme.example", "send the case study by Tuesday", key="k3")
    assert "Noted: “send the case study”" in text(saved.replies[0])
    done = say(coach, "alice@acme.example", "no", key="k4")
    assert "Saved your touch with Acme." in text(done.replies[-1])
    again = say(coach, "alice@acme.example", "no", key="k4")  # the platform retried the last tap
    assert again.replies == ()
    [touch] = touches(coach, "Acme")
    assert (touch.source, touch.purpose, touch.occurred_on) == ("checkin", Purpose.GIVE, FRIDAY)
    with coach.uow_factory() as uow:
        [promise] = uow.promises.open_for(WORKSPACE, rep_id=ids["alice"])
        assert promise.text == "send the case study"
        assert uow.ledger.balance(WORKSPACE, acme) == 2


def test_someone_else_asks_for_the_client_first(world):
    coach, clock, _ = world
    clock.now = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    assert "Which client did you meet?" in text(say(coach, "alice@acme.example", "tap:other").replies[0])
    assert "What did they get from you?" in text(say(coach, "alice@acme.example", "Acme").replies[0])
    say(coach, "alice@acme.example", "ask")
    done = say(coach, "alice@acme.example", "no")
    assert "Saved your touch with Acme." in text(done.replies[-1])
    assert [t.purpose for t in touches(coach, "Acme")] == [Purpose.ASK]


def test_a_client_picked_from_the_search_with_no_conversation_starts_a_tap(world):
    coach, clock, _ = world
    clock.now = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    acme = client_id(coach, "Acme")
    assert "What did they get from you?" in text(say(coach, "alice@acme.example", f"client:{acme}").replies[0])


def test_a_tap_on_a_client_of_another_team_is_refused(world):
    coach, clock, _ = world
    boston = client_id(coach, "Boston Bay")  # West's client; Alice is on East
    answer = say(coach, "alice@acme.example", f"tap:{boston}")
    assert "No client called" in text(answer.replies[0])
    assert touches(coach, "Boston Bay") == []


def test_the_purpose_of_a_captured_touch_is_stated_once(world):
    coach, clock, ids = world
    clock.now = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    with coach.uow_factory() as uow:
        uow.captures.save(WORKSPACE, ChannelCapture("slack", "C-ACME", client_id(coach, "Acme"), ids["ada"], FRIDAY))
        alice = uow.people.get(WORKSPACE, ids["alice"])
        touch = capturing.capture_message(uow, alice, "slack", "C-ACME", FRIDAY)
        assert capturing.capture_message(uow, alice, "slack", "C-ACME", FRIDAY) is None  # once a day
        uow.commit()
    stated = say(coach, "alice@acme.example", f"purpose:{touch.id}:give", key="p1")
    assert "Noted: your messages with Acme today were give" in text(stated.replies[0])
    assert "+2" in text(stated.replies[0])
    again = say(coach, "alice@acme.example", f"purpose:{touch.id}:ask", key="p2")
    assert "Already noted" in text(again.replies[0])
    [stored] = touches(coach, "Acme")
    assert (stored.purpose, stored.kind, stored.source) == (Purpose.GIVE, Kind.MESSAGE, "channel")
    with coach.uow_factory() as uow:
        assert uow.ledger.balance(WORKSPACE, stored.client_id) == 2
    # Someone else's touch is not theirs to state.
    refused = say(coach, "ken@acme.example", f"purpose:{touch.id}:ask")
    assert "見つかりません" in text(refused.replies[0], "ja")


def test_the_check_in_time_is_a_setting_and_can_be_switched_off(world):
    coach, clock, _ = world
    clock.now = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    notifier = Recorder(clock)
    off = ScheduledJobs(coach.uow_factory, notifier, coach.rules, Schedule(checkin_time=None), coach.clock)
    off.run(WORKSPACE, clock(), jobs=(CHECKIN,))
    assert notifier.sent == []
    late = ScheduledJobs(coach.uow_factory, notifier, coach.rules, Schedule(checkin_time=time(18, 30)), coach.clock)
    late.run(WORKSPACE, clock(), jobs=(CHECKIN,))
    assert notifier.to("alice") == []
    with pytest.raises(ValueError, match="check-in time falls in the quiet hours"):
        Schedule(checkin_time=time(21, 0))


def test_team_health_tells_a_quiet_client_from_an_unlogged_one(world):
    coach, clock, ids = world
    day = FRIDAY
    worked = [day - timedelta(days=k) for k in range(28) if (day - timedelta(days=k)).weekday() < 5]
    for k, on in enumerate(worked[:15]):  # Alice logs on 15 of the 20 working days, in every way
        log_touch(coach, ids["alice"], "Acme", on, source=("checkin", "command", "shortcut", "channel", "form")[k % 5])
    log_touch(coach, ids["ken"], "Kobe Steelworks", worked[0], source="checkin")  # Ken on one day only
    with coach.uow_factory() as uow:  # and one of his clients looks quiet: his lapse distorts his coverage
        ken = uow.people.get(WORKSPACE, ids["ken"])
        uow.clients.add(WORKSPACE, "Osaka Gas", ken.team_ids[0], ken.id, day - timedelta(days=60))
        uow.commit()
    clock.now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    said = text(say(coach, "mia@acme.example", "/teamhealth").replies[0])
    assert "Logging: reps who logged on most working days, 1 of 2." in said
    assert "by one tap 4, by command 6, by shortcut 3, from channels 3, other 0" in said
    assert "working days" not in said.split("Alice Smith")[1].split("\n")[1]  # Alice's logging is no news
    assert "logged on only 1 of 20 working days: a quiet client may be an unlogged one" in said
    from coaching import health

    with coach.uow_factory() as uow:
        teams = [uow.teams.by_name(WORKSPACE, "East")]
        data = health.as_dict(health.report(uow, WORKSPACE, teams, day, coach.rules))
    assert data["logging"]["reps_logging_most_days"] == 1
    assert data["logging"]["days_logged"] == {"alice@acme.example": 15, "ken@acme.example": 1}


def test_the_digest_says_so_when_a_reps_logging_has_lapsed(world):
    coach, clock, ids = world
    with coach.uow_factory() as uow:  # a client of each that has gone quiet: both get a digest
        east, west = uow.teams.by_name(WORKSPACE, "East"), uow.teams.by_name(WORKSPACE, "West")
        uow.clients.add(WORKSPACE, "Orion", east.id, ids["alice"], FRIDAY - timedelta(days=60))
        uow.clients.add(WORKSPACE, "Hudson", west.id, ids["bob"], FRIDAY - timedelta(days=60))
        uow.commit()
    log_touch(coach, ids["alice"], "Acme", date(2026, 11, 16))  # Monday; nothing since
    log_touch(coach, ids["bob"], "Boston Bay", date(2026, 11, 19))  # Thursday: recent enough
    clock.now = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # Monday 09:30 in London
    notifier = Recorder(clock)
    ScheduledJobs(coach.uow_factory, notifier, coach.rules, Schedule(), coach.clock).run(
        WORKSPACE, clock(), jobs=("digest",))
    clock.now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 10:00 in New York
    ScheduledJobs(coach.uow_factory, notifier, coach.rules, Schedule(), coach.clock).run(
        WORKSPACE, clock(), jobs=("digest",))
    [(_, alice)] = notifier.to("alice")
    assert "You haven't logged a touch since Mon, 16 Nov 2026" in text(alice)  # Tue..Fri: 4 working days
    [(_, bob)] = notifier.to("bob")
    assert "Hudson" in text(bob) and "haven't logged" not in text(bob)
