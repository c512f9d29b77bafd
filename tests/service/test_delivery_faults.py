"""A morning's digests to 200 reps while Slack and Teams fail in every way they do: each digest
arrives once, late rather than twice.

Slack is FakeSlackApi, answering the real notifier over HTTP: some posts are rate limited (429
with Retry-After 0 or 1, some past the client's own retries), some answered 500 or left hanging
past the client's timeout, either before the message reached the conversation or after it did;
for some reps the history the coach reads to settle an unconfirmed post is unreadable at first.
The dispatcher runs every five minutes of a moving clock until a run has nothing left to do.
Every rep's DM must then hold exactly one digest, tagged with its own delivery's key, and every
record must say ``sent``.

Teams is FakeConnector behind the real Agents SDK endpoint. The connector cannot be read back,
so an unconfirmed activity is never sent again: the test counts how many of those were lost
(the failure came before the activity was taken) and checks that none arrived twice.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from bot.notifiers import EVENT_TYPE, FirstThatDelivers, SlackNotifier
from coaching import jobs
from coaching.jobs import ScheduledJobs, delivery_key
from coaching.model import Person, Role, Workspace
from coaching.records import FAILED, INTERRUPTED, SENT, ChatReference, Delivery, PersonDraft
from coaching.schedule import Schedule
from tests.slack.fake_api import FakeSlackApi
from tests.support import WORKSPACE, MovableClock, make_coach
from tests.teams.connector import FakeConnector
from tests.teams.playground import LOCAL

UTC = timezone.utc
FRIDAY = date(2026, 11, 20)
MORNING = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # everyone works in UTC: digests are due
REPS = 200
TIMEOUT = 1.0  # the notifiers' HTTP timeout here (30 s in production)
HANG = TIMEOUT + 0.5  # a hang the client gives up on
MAX_RUNS = 8


# ---- a sales floor of 200 reps, each with a client gone quiet -----------------------------------

def seed_reps(uow_factory: Callable[[], Any], count: int, workspace: str = WORKSPACE, created_on: date = FRIDAY,
              slack: bool = True) -> list[Person]:
    """``count`` reps in UTC, each owning one client untouched for 60 days (a quiet nudge, so a
    digest is due); Slack user ``U0000``... when ``slack``. One transaction."""
    with uow_factory() as uow:
        if uow.workspaces.get(workspace) is None:
            uow.workspaces.add(Workspace(workspace, workspace.title()))
        team = uow.teams.by_name(workspace, "Field") or uow.teams.add(workspace, "Field")
        people = [uow.people.upsert(workspace, PersonDraft(
            f"rep{i:03d}@acme.example", f"Rep {i:03d}", Role.REP, (team.id,), "UTC", "en",
            slack_user_id=f"U{i:04d}" if slack else None)) for i in range(count)]
        for person in people:
            uow.clients.add(workspace, f"Client of {person.name}", team.id, person.id, created_on - timedelta(days=60))
        uow.commit()
    return people


def digests(coach) -> dict[int, Delivery]:
    with coach.uow_factory() as uow:
        return {d.person_id: d for d in uow.deliveries.list(WORKSPACE, FRIDAY) if d.job == jobs.DIGEST}


def run_until_quiet(d: ScheduledJobs, clock: MovableClock) -> tuple[int, Counter]:
    """Runs of the digest job five minutes apart until one has nothing to do; how many runs
    did something, and the dispatcher's figures over all of them."""
    figures: Counter = Counter()
    for runs in range(MAX_RUNS):
        job = d.run(WORKSPACE, clock(), jobs=(jobs.DIGEST,)).job(jobs.DIGEST)
        did = Counter(sent=job.sent, failed=job.failed, retried=job.retried, confirmed=job.confirmed)
        figures.update(did)
        if not +did:
            return runs, figures
        clock.advance(minutes=5)
    pytest.fail(f"still busy after {MAX_RUNS} runs: {figures}")


# ---- Slack ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Script:
    """What Slack does to one rep's digest: the answers to its posts in order, then to its
    history reads; the post calls that makes and the attempts the record ends with."""

    name: str
    reps: int
    posts: tuple[dict[str, Any], ...] = ()
    history: tuple[dict[str, Any], ...] = ()
    calls: int = 1
    attempts: int = 1


def rate_limited(seconds: int, times: int = 1) -> dict[str, Any]:
    return dict(status=429, retry_after=seconds, times=times)


ERROR_BEFORE = dict(status=500)
ERROR_AFTER = dict(status=500, after=True)
HANG_BEFORE = dict(status=None, hang=HANG)
HANG_AFTER = dict(status=None, hang=HANG, after=True)
UNREADABLE = dict(status=500, times=3)  # a history read and the client's two retries
ONE_500 = dict(status=500)  # retried by the client: the read succeeds

SLACK = [
    Script("rate limited, Retry-After 0", 5, (rate_limited(0),), calls=2),
    Script("rate limited, Retry-After 1", 2, (rate_limited(1),), calls=2),
    Script("rate limited past the client's 3 retries", 1, (rate_limited(0, times=4),), calls=5, attempts=2),
    Script("500 before the message was stored", 12, (ERROR_BEFORE,), calls=2, attempts=2),
    Script("500 after the message was stored", 12, (ERROR_AFTER,)),
    Script("timeout before the message was stored", 3, (HANG_BEFORE,), calls=2, attempts=2),
    Script("timeout after the message was stored", 3, (HANG_AFTER,)),
    Script("500 after, a history read answered 500 once", 3, (ERROR_AFTER,), (ONE_500,)),
    Script("500 after, history unreadable at first", 1, (ERROR_AFTER,), (UNREADABLE,)),
    Script("500 before, history unreadable at first", 1, (ERROR_BEFORE,), (UNREADABLE,), calls=2, attempts=2),
    Script("500 before, twice", 3, (ERROR_BEFORE, ERROR_BEFORE), calls=3, attempts=3),
    Script("timeout after, then 500 after on nothing", 1, (HANG_AFTER, ERROR_AFTER)),  # the second is never met
]


@dataclass
class Floor:
    coach: Any
    clock: MovableClock
    people: list[Person]
    scripts: dict[int, Script] = field(default_factory=dict)  # person id -> what Slack does


@pytest.fixture
def floor(database_url: str) -> Floor:
    clock = MovableClock(MORNING)
    coach = make_coach(database_url, clock)
    return Floor(coach, clock, seed_reps(coach.uow_factory, REPS))


def dm(person: Person) -> str:
    return f"D{person.slack_user_id}"  # the DM FakeSlackApi opens for a user


def test_slack_failures_on_200_digests_deliver_each_exactly_once(floor: Floor):
    coach, clock = floor.coach, floor.clock
    started = time.monotonic()
    with FakeSlackApi(clock=lambda: clock().timestamp()).started_in_thread() as api:
        people = iter(floor.people)
        injected: Counter = Counter()
        for script in SLACK:
            for _ in range(script.reps):
                person = next(people)
                floor.scripts[person.id] = script
                for fault in script.posts:
                    api.fail_next("chat.postMessage", where={"channel": dm(person)}, **fault)
                    injected["post " + fault_name(fault)] += fault.get("times", 1)
                for fault in script.history:
                    api.fail_next("conversations.history", where={"channel": dm(person)}, **fault)
                    injected[f"history {fault['status']}"] += fault.get("times", 1)
        slack = SlackNotifier(coach.catalog, "xoxb-test", f"{api.url}/api/", timeout=TIMEOUT, clock=clock)
        d = ScheduledJobs(coach.uow_factory, FirstThatDelivers([slack]), coach.rules,
                       Schedule(checkin_time=None), clock)
        runs, figures = run_until_quiet(d, clock)
        records = digests(coach)
        posts = Counter(c.params["channel"] for c in api.calls_to("chat.postMessage"))
        unmet = api.unmet()

        assert len(records) == REPS
        duplicates = lost = 0
        for person in floor.people:
            record = records[person.id]
            messages = api.messages(dm(person))
            duplicates += max(len(messages) - 1, 0)
            lost += not messages
            assert [m["metadata"] for m in messages] == [
                {"event_type": EVENT_TYPE, "event_payload": {"delivery": delivery_key(WORKSPACE, record)}}], person
            assert messages[0]["text"].startswith(f"Good morning, {person.name.split()[0]}. ")  # greeted by given name
            assert (record.status, record.channel) == (SENT, "slack"), record
            script = floor.scripts.get(person.id, Script("clean", 0))
            assert (posts[dm(person)], record.attempts) == (script.calls, script.attempts), (script.name, record)
        assert (duplicates, lost) == (0, 0)
        # every scripted failure was met, but the one a delivered message never gave a chance
        assert unmet == [("chat.postMessage", 500, True)]
        assert runs == 3  # "500 before, twice" needs three attempts, five minutes apart
        assert figures["confirmed"] == 1  # found in the history only by a later run
    print(f"\nSlack: {REPS} digests, {sum(posts.values())} posts, {runs} runs, injected {dict(injected)}, "
          f"dispatcher {dict(figures)}, lost {lost}, duplicates {duplicates}, "
          f"{time.monotonic() - started:.1f} s")


def fault_name(fault: dict[str, Any]) -> str:
    status = fault.get("status")
    if status == 429:
        return f"429 Retry-After {fault['retry_after']}"
    return f"{status or 'timeout'} {'after' if fault.get('after') else 'before'} storing"


class Dying:
    """The real notifier in a process that dies mid-send: right after its post to ``after``
    went out, or right before its post to ``before`` would have."""

    def __init__(self, inner: FirstThatDelivers, after: str = "", before: str = "") -> None:
        self.inner, self.after, self.before = inner, after, before

    def send(self, person: Person, reply: Any, key: str | None = None) -> str | None:
        if person.email == self.before:
            raise SystemExit("the process died before posting")
        sent = self.inner.send(person, reply, key=key)
        if person.email == self.after:
            raise SystemExit("the process died before recording the post")
        return sent

    def send_channel(self, channel: str, reply: Any, locale: str | None, key: str | None = None) -> str | None:
        return self.inner.send_channel(channel, reply, locale, key=key)

    def find(self, *args: Any) -> str | None:
        return self.inner.find(*args)

    def find_channel(self, *args: Any) -> str | None:
        return self.inner.find_channel(*args)


def test_posts_cut_short_by_a_crash_are_settled_from_the_history_not_sent_twice(database_url: str):
    """Two runs die mid-send (one after its post reached Slack, one before); once the lease is
    over the next run finds the first in the DM and records it sent, and sends the second."""
    clock = MovableClock(MORNING)
    coach = make_coach(database_url, clock)
    landed, lost, other = seed_reps(coach.uow_factory, 3)
    with FakeSlackApi(clock=lambda: clock().timestamp()).started_in_thread() as api:
        slack = FirstThatDelivers([SlackNotifier(coach.catalog, "xoxb-test", f"{api.url}/api/", timeout=TIMEOUT,
                                                 clock=clock)])
        plan = Schedule(checkin_time=None)
        for dying in (Dying(slack, after=landed.email), Dying(slack, before=lost.email)):
            with pytest.raises(SystemExit):
                ScheduledJobs(coach.uow_factory, dying, coach.rules, plan, clock).run(WORKSPACE, clock())
        assert [len(api.messages(dm(p))) for p in (landed, lost, other)] == [1, 0, 0]
        clock.advance(minutes=11)  # past the lease: the runs that died are not coming back
        report = ScheduledJobs(coach.uow_factory, slack, coach.rules, plan, clock).run(WORKSPACE, clock())
        again = ScheduledJobs(coach.uow_factory, slack, coach.rules, plan, clock).run(WORKSPACE, clock())
        records = digests(coach)
        assert report.job("all").interrupted == 2
        assert (report.job(jobs.DIGEST).confirmed, report.job(jobs.DIGEST).sent) == (1, 3)
        assert again.sent == 0
        assert [(records[p.id].status, records[p.id].attempts) for p in (landed, lost, other)] == [
            (SENT, 1), (SENT, 2), (SENT, 1)]
        assert [len(api.messages(dm(p))) for p in (landed, lost, other)] == [1, 1, 1]


def test_the_fake_history_answers_as_slack_does():
    """What the look-up relies on: newest first, ``oldest`` exclusive, pages by cursor, metadata
    only when asked for; a failure ``after`` leaves the message posted, one before does not."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    clock = MovableClock(MORNING)
    with FakeSlackApi(clock=lambda: clock().timestamp()).started_in_thread() as api:
        client = WebClient(token="xoxb-test", base_url=f"{api.url}/api/")
        tagged = lambda n: {"event_type": EVENT_TYPE, "event_payload": {"delivery": f"w:{n}"}}  # noqa: E731
        first = client.chat_postMessage(channel="D1", text="one", metadata=tagged(1))["ts"]
        clock.advance(seconds=1)
        api.fail_next("chat.postMessage", status=500, after=True)
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel="D1", text="two", metadata=tagged(2))
        api.fail_next("chat.postMessage", status=500)
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel="D1", text="lost", metadata=tagged(3))
        client.chat_postMessage(channel="D1", text="three")
        page = client.conversations_history(channel="D1", oldest=first, limit=1, include_all_metadata=True)
        rest = client.conversations_history(channel="D1", oldest=first, limit=1, include_all_metadata=True,
                                            cursor=page["response_metadata"]["next_cursor"])
        plain = client.conversations_history(channel="D1")
    assert [m["text"] for m in page["messages"]] == ["three"] and page["has_more"]
    assert [(m["text"], m["metadata"]) for m in rest["messages"]] == [("two", tagged(2))] and not rest["has_more"]
    assert [m["text"] for m in plain["messages"]] == ["three", "two", "one"]
    assert all("metadata" not in m for m in plain["messages"])


# ---- Teams ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """What the connector does to one rep's digest; whether the rep ends up with it."""

    name: str
    reps: int
    faults: tuple[dict[str, Any], ...] = ()
    received: int = 1
    status: str = SENT


TEAMS = [
    Answer("429, Retry-After 0", 10, (dict(status=429, headers={"Retry-After": "0"}),)),
    Answer("412", 2, (dict(status=412),)),
    Answer("502", 2, (dict(status=502),)),
    Answer("503 with Retry-After 0", 6, (dict(status=503, headers={"Retry-After": "0"}),)),
    Answer("429 past the notifier's 5 attempts", 2, (dict(status=429, headers={"Retry-After": "0"}, times=5),)),
    Answer("500 before the activity was taken", 6, (dict(status=500),), received=0, status=FAILED),
    Answer("500 after the activity was taken", 6, (dict(status=500, after=True),), status=FAILED),
    Answer("504 after the activity was taken", 3, (dict(status=504, after=True),), status=FAILED),
    Answer("timeout before the activity was taken", 3, (dict(status=None, hang=HANG),), received=0, status=FAILED),
    Answer("timeout after the activity was taken", 3, (dict(status=None, hang=HANG, after=True),), status=FAILED),
]


def save_references(coach, people: list[Person], service_url: str) -> None:
    with coach.uow_factory() as uow:
        for person in people:
            conversation = f"a:chat-{person.id}"
            reference = {"activityId": "m1", "user": {"id": f"29:{person.id}", "aadObjectId": f"aad-{person.id}"},
                         "bot": {"id": "bot", "name": "coach"},
                         "conversation": {"id": conversation, "conversationType": "personal"},
                         "channelId": "msteams", "serviceUrl": service_url, "locale": "en-US"}
            uow.chats.save(WORKSPACE, ChatReference("teams", f"aad-{person.id}", conversation,
                                                                 service_url, reference, person.id), MORNING)
        uow.commit()


def test_teams_failures_on_200_digests_never_deliver_one_twice(floor: Floor, connector: FakeConnector):
    from bot.teams.app import TeamsEndpoint
    from bot.teams.notifier import TeamsNotifier

    coach, clock = floor.coach, floor.clock
    started = time.monotonic()
    save_references(coach, floor.people, connector.url)
    answers: dict[int, Answer] = {}
    people = iter(floor.people)
    injected: Counter = Counter()
    for answer in TEAMS:
        for _ in range(answer.reps):
            person = next(people)
            answers[person.id] = answer
            for fault in answer.faults:
                connector.fail_next(fault.get("status"), fault.get("headers"), times=fault.get("times", 1),
                                    after=fault.get("after", False), hang=fault.get("hang", 0.0),
                                    conversation=f"a:chat-{person.id}")
                injected[answer.name] += fault.get("times", 1)
    teams = TeamsNotifier(coach, TeamsEndpoint(coach, env=LOCAL), timeout=TIMEOUT)
    d = ScheduledJobs(coach.uow_factory, FirstThatDelivers([teams]), coach.rules, Schedule(checkin_time=None), clock)
    runs, figures = run_until_quiet(d, clock)
    records = digests(coach)
    received = Counter(c.conversation for c in connector.received)

    assert len(records) == REPS
    lost = duplicates = 0
    for person in floor.people:
        answer = answers.get(person.id, Answer("clean", 0))
        record, got = records[person.id], received[f"a:chat-{person.id}"]
        duplicates += max(got - 1, 0)
        lost += got == 0
        assert (got, record.status) == (answer.received, answer.status), (answer.name, record)
        if record.status == FAILED:  # may have arrived: recorded so, never sent again
            assert (record.reason, record.channel, record.attempts) == (INTERRUPTED, "teams", 1), record
        else:
            assert record.channel == "teams"
    assert duplicates == 0
    assert lost == sum(a.reps for a in TEAMS if a.received == 0)
    assert connector.unmet() == []  # every scripted failure was met
    print(f"\nTeams: {REPS} digests, {len(connector.posts())} posts, {runs} runs, injected {dict(injected)}, "
          f"dispatcher {dict(figures)}, lost {lost} (unconfirmed before taken), duplicates {duplicates}, "
          f"{time.monotonic() - started:.1f} s")
