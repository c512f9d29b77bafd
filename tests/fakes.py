"""In-memory fakes of :mod:`coaching.ports` for service tests: plain dicts and lists.

One :class:`FakeStore` holds the committed data, shared by many units of work. Each
:class:`FakeUnitOfWork` works on a deep copy taken on ``__enter__``; ``commit()`` copies it back
(last writer wins: enough for sequential tests), leaving ``with`` uncommitted discards it. The
semantics follow ``storage/``: idempotency keys, NFKC+casefold names, workspace scoping, and the
orderings the ports' docstrings promise.
"""

from __future__ import annotations

import copy
import json
from collections import namedtuple
from dataclasses import dataclass, field, replace
from operator import attrgetter
from datetime import UTC, date, datetime, timedelta
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

from coaching.model import (
    Client, EntryDraft, Interaction, InteractionDraft, LedgerEntry, Person, Problem, Promise,
    PromiseStatus, Purpose, Reason, Team, TrustLevel, Workspace,
)
from coaching.ledger import SETBACKS
from coaching.nudges import FOLLOW_UP_DAYS, TREND_DAYS, AnsweredProblem, ClientHistory, OpenPromise, Touch, WaitingProblem
from coaching.rules import Nudging
from coaching.trust import Signal, assess
from coaching.records import (
    FAILED, INTERRUPTED, PENDING, SENDING, SENT, SKIPPED, ChannelCapture, DialogState, ChatReference, Delivery,
    DeliveryItem, NudgeFeedback, PersonDraft, SentItem, TouchRow,
)

T = TypeVar("T")
OPEN = PromiseStatus.OPEN
PLATFORMS = {"slack": "slack_user_id", "teams": "teams_user_id"}
ANY = object()
DISMISS_DAYS = 30  # as storage.feedback.DISMISS_DAYS: a dismissal holds this many days


from coaching.vocabulary import name_key  # noqa: E402  (the one formula, as storage's unique key)


def pick(rows: Iterable[T], order: Callable[[T], Any] | None = None, **equal: Any) -> list[T]:
    """The rows whose attributes equal ``equal`` (``ANY`` matches anything), sorted by ``order``."""
    found = [r for r in rows if all(v is ANY or getattr(r, k) == v for k, v in equal.items())]
    return sorted(found, key=order) if order else found


def _any(value: Any) -> Any:
    return ANY if value is None else value


def _utc(moment: datetime) -> datetime:
    """As ``storage.activity.as_utc``: naive times are UTC, aware ones are converted."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


by_id = attrgetter("id")
FakeDeal = namedtuple("FakeDeal", "workspace_id client_id rep_id interaction_id won_on note")
FakeFeedback = namedtuple("FakeFeedback", "id workspace_id feedback")
FakeDelivery = namedtuple("FakeDelivery", "id workspace_id created_at delivery")


@dataclass
class FakeStore:
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    teams: dict[int, Team] = field(default_factory=dict)
    people: dict[int, Person] = field(default_factory=dict)
    clients: dict[int, Client] = field(default_factory=dict)
    interactions: dict[int, Interaction] = field(default_factory=dict)
    external_ids: dict[tuple[str, str], int] = field(default_factory=dict)
    promises: dict[int, Promise] = field(default_factory=dict)
    problems: dict[int, Problem] = field(default_factory=dict)
    deals: list[FakeDeal] = field(default_factory=list)
    ledger: dict[int, LedgerEntry] = field(default_factory=dict)
    dialogs: dict[tuple[str, str, str], DialogState] = field(default_factory=dict)
    claims: dict[tuple[str, str], datetime] = field(default_factory=dict)  # (workspace, key) -> seen at
    feedback: dict[int, FakeFeedback] = field(default_factory=dict)
    # (workspace, platform, user id) -> (reference, saved at)
    chats: dict[tuple[str, str, str], tuple[ChatReference, datetime]] = field(default_factory=dict)
    deliveries: dict[int, FakeDelivery] = field(default_factory=dict)
    captures: dict[tuple[str, str, str], ChannelCapture] = field(default_factory=dict)  # (ws, platform, channel)
    last_ids: dict[str, int] = field(default_factory=dict)

    def next_id(self, table: str) -> int:
        self.last_ids[table] = self.last_ids.get(table, 0) + 1
        return self.last_ids[table]


class _Repo:
    table = ""

    def __init_subclass__(cls, table: str = "") -> None:
        cls.table = table

    def __init__(self, data: FakeStore) -> None:
        self.data, self.rows = data, getattr(data, self.table, {})

    def get(self, workspace_id: str, row_id: int) -> Any:
        row = self.rows.get(row_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    def _get_or_fail(self, workspace_id: str, row_id: int) -> Any:
        if (row := self.get(workspace_id, row_id)) is None:
            raise LookupError(f"no {self.table} row {row_id} in workspace {workspace_id!r}")
        return row

    def _store(self, row: T) -> T:
        self.rows[row.id] = row  # type: ignore[attr-defined]
        return row

    def _new(self, kind: Callable[..., T], *values: Any, **named: Any) -> T:
        return self._store(kind(self.data.next_id(self.table), *values, **named))

    def _between(self, rows: dict[int, T], workspace_id: str, team_ids: Sequence[int], on: str,
                 start: date, end: date) -> list[T]:
        """Rows of clients of these teams whose date ``on`` is within [start, end], by that date."""
        chosen = {c.id for c in self.data.clients.values() if c.workspace_id == workspace_id and c.team_id in team_ids}
        found = [r for r in rows.values() if r.client_id in chosen and (d := getattr(r, on)) and start <= d <= end]
        return sorted(found, key=lambda r: (getattr(r, on), r.id))


class FakeWorkspaceRepository(_Repo):
    def get(self, workspace_id: str) -> Workspace | None:  # type: ignore[override]
        return self.data.workspaces.get(workspace_id)

    def add(self, workspace: Workspace) -> Workspace:
        self.data.workspaces[workspace.id] = workspace
        return workspace

    def set_llm(self, workspace_id: str, enabled: bool) -> Workspace:
        if workspace_id not in self.data.workspaces:
            raise LookupError(f"no workspace {workspace_id!r}")
        updated = replace(self.data.workspaces[workspace_id], llm_enabled=enabled)
        self.data.workspaces[workspace_id] = updated
        return updated


class FakeTeamRepository(_Repo, table="teams"):
    def by_name(self, workspace_id: str, name: str) -> Team | None:
        return next(iter(pick(self.rows.values(), workspace_id=workspace_id, name=name)), None)

    def list(self, workspace_id: str) -> list[Team]:
        return pick(self.rows.values(), lambda t: (t.name, t.id), workspace_id=workspace_id)

    def add(self, workspace_id: str, name: str) -> Team:
        if self.by_name(workspace_id, name):
            raise ValueError(f"team {name!r} exists")  # the unique (workspace, name) constraint
        return self._new(Team, workspace_id, name)

    def set_digest_channel(self, workspace_id: str, team_id: int, channel: str | None) -> Team:
        return self._store(replace(self._get_or_fail(workspace_id, team_id), digest_channel=channel))


class FakePersonRepository(_Repo, table="people"):
    def by_email(self, workspace_id: str, email: str) -> Person | None:
        return next(iter(pick(self.rows.values(), workspace_id=workspace_id, email=email.strip().lower())), None)

    def by_platform_id(self, workspace_id: str, platform: str, user_id: str) -> Person | None:
        if platform not in PLATFORMS:
            raise ValueError(f"unknown platform {platform!r}")
        found = pick(self.rows.values(), by_id, workspace_id=workspace_id, **{PLATFORMS[platform]: user_id})
        return found[0] if found else None  # the oldest entry wins

    def list(self, workspace_id: str, team_id: int | None = None) -> list[Person]:
        people = pick(self.rows.values(), lambda p: (p.name, p.id), workspace_id=workspace_id)
        return [p for p in people if team_id is None or team_id in p.team_ids]

    def upsert(self, workspace_id: str, draft: PersonDraft) -> Person:
        team_ids = tuple(dict.fromkeys(draft.team_ids))
        if missing := [t for t in team_ids if FakeTeamRepository(self.data).get(workspace_id, t) is None]:
            raise ValueError(f"teams {missing} are not in workspace {workspace_id!r}")
        email = draft.email.strip().lower()
        person = self.by_email(workspace_id, email) or Person(
            self.data.next_id(self.table), workspace_id, email, draft.name, draft.role, ())
        kept = {a: v for a in ("locale", "slack_user_id", "teams_user_id", "on_leave")
                if (v := getattr(draft, a)) is not None}
        return self._store(replace(person, name=draft.name, role=draft.role, timezone=draft.timezone,
                                   team_ids=team_ids, **kept))

    def link_platform(self, workspace_id: str, person_id: int, platform: str, user_id: str,
                      timezone: str | None = None) -> Person:
        if platform not in PLATFORMS:
            raise ValueError(f"unknown platform {platform!r}")
        person = self._get_or_fail(workspace_id, person_id)
        zone = timezone if timezone and person.timezone == "UTC" else person.timezone
        return self._store(replace(person, timezone=zone, **{PLATFORMS[platform]: user_id}))

    def set_on_leave(self, workspace_id: str, person_id: int, on_leave: bool) -> Person:
        return self._store(replace(self._get_or_fail(workspace_id, person_id), on_leave=on_leave))

    def set_active(self, workspace_id: str, person_id: int, active: bool) -> Person:
        return self._store(replace(self._get_or_fail(workspace_id, person_id), active=active))


class FakeClientRepository(_Repo, table="clients"):
    def list(self, workspace_id: str, team_ids: Sequence[int] | None = None) -> list[Client]:
        clients = pick(self.rows.values(), lambda c: (name_key(c.name), c.id), workspace_id=workspace_id)
        return [c for c in clients if team_ids is None or c.team_id in team_ids]

    def by_name(self, workspace_id: str, name: str) -> Client | None:
        return next((c for c in self.list(workspace_id) if name_key(c.name) == name_key(name)), None)

    def add(self, workspace_id: str, name: str, team_id: int, owner_id: int, created_on: date) -> Client:
        if self.by_name(workspace_id, name):
            raise ValueError(f"a client called {name!r} exists")  # the unique name_key constraint
        return self._new(Client, workspace_id, name.strip(), team_id, owner_id, created_on)

    def set_trust(self, workspace_id: str, client_id: int, level: TrustLevel | None, on: date,
                  asked_for: TrustLevel | None, demanded_justification: bool | None) -> None:
        self._store(replace(self._get_or_fail(workspace_id, client_id), trust_level=level, trust_assessed_on=on,
                            trust_asked_for=asked_for, trust_demanded_justification=demanded_justification))


class FakeInteractionRepository(_Repo, table="interactions"):
    def add(self, workspace_id: str, rep_id: int, draft: InteractionDraft) -> Interaction | None:
        external = (workspace_id, draft.external_id)
        if draft.external_id is not None and external in self.data.external_ids:
            return None
        touch = self._new(Interaction, workspace_id, draft.client_id, rep_id, draft.occurred_on, draft.kind,
                          draft.purpose, note=draft.note, proof_shown=draft.proof_shown, source=draft.source,
                          asked_for=draft.asked_for, demanded_justification=draft.demanded_justification)
        if draft.external_id is not None:
            self.data.external_ids[external] = touch.id
        return touch

    def last_by_rep(self, workspace_id: str, rep_id: int) -> Interaction | None:
        mine = pick(self.rows.values(), by_id, workspace_id=workspace_id, rep_id=rep_id, voided=False)
        return mine[-1] if mine else None  # ids grow in the order touches are logged

    def void(self, workspace_id: str, interaction_id: int) -> None:
        self._store(replace(self._get_or_fail(workspace_id, interaction_id), voided=True))

    def for_client(self, workspace_id: str, client_id: int, limit: int = 20) -> list[Interaction]:
        touches = pick(self.rows.values(), lambda i: (i.occurred_on, i.id),
                       workspace_id=workspace_id, client_id=client_id, voided=False)
        return touches[::-1][:limit]

    def recent_purposes(self, workspace_id: str, client_id: int, limit: int) -> list[Purpose]:
        return [t.purpose for t in self.for_client(workspace_id, client_id, limit)]

    def for_rep_on(self, workspace_id: str, rep_id: int, day: date) -> list[Interaction]:
        return pick(self.rows.values(), by_id, workspace_id=workspace_id, rep_id=rep_id, occurred_on=day,
                    voided=False)

    def set_purpose(self, workspace_id: str, interaction_id: int, purpose: Purpose) -> Interaction:
        return self._store(replace(self._get_or_fail(workspace_id, interaction_id), purpose=purpose))

    def trust_signals(self, workspace_id: str, client_id: int, after: date | None, limit: int) -> list[Signal]:
        touches = [i for i in self.for_client(workspace_id, client_id, limit=10**9)
                   if i.asked_for is not None and (after is None or i.occurred_on > after)]
        return [Signal(i.occurred_on, assess(i.asked_for, i.demanded_justification)) for i in touches[:limit]]


class FakeCaptureRepository(_Repo):
    def get(self, workspace_id: str, platform: str, channel_id: str) -> ChannelCapture | None:  # type: ignore[override]
        return self.data.captures.get((workspace_id, platform, channel_id))

    def save(self, workspace_id: str, capture: ChannelCapture) -> None:
        self.data.captures[(workspace_id, capture.platform, capture.channel_id)] = capture

    def remove(self, workspace_id: str, platform: str, channel_id: str) -> bool:
        return self.data.captures.pop((workspace_id, platform, channel_id), None) is not None

    def list(self, workspace_id: str) -> list[ChannelCapture]:
        return [c for (ws, _, _), c in sorted(self.data.captures.items()) if ws == workspace_id]


class FakePromiseRepository(_Repo, table="promises"):
    def add(self, workspace_id: str, client_id: int, rep_id: int, interaction_id: int | None,
            text: str, made_on: date, due_on: date) -> Promise:
        return self._new(Promise, workspace_id, client_id, rep_id, interaction_id, text, made_on, due_on)

    def close(self, workspace_id: str, promise_id: int, status: PromiseStatus, closed_on: date) -> Promise:
        return self._store(replace(self._get_or_fail(workspace_id, promise_id), status=status, closed_on=closed_on))

    def for_client(self, workspace_id: str, client_id: int) -> list[Promise]:
        return pick(self.rows.values(), lambda p: (p.due_on, p.id), workspace_id=workspace_id, client_id=client_id)

    def open_for(self, workspace_id: str, rep_id: int | None = None, client_id: int | None = None) -> list[Promise]:
        return pick(self.rows.values(), lambda p: (p.due_on, p.id), workspace_id=workspace_id, status=OPEN,
                    rep_id=_any(rep_id), client_id=_any(client_id))

    def open_due_before(self, workspace_id: str, day: date) -> list[Promise]:
        return [p for p in self.open_for(workspace_id) if p.due_on < day]


class FakeProblemRepository(_Repo, table="problems"):
    def add(self, workspace_id: str, client_id: int, rep_id: int, interaction_id: int | None,
            text: str, raised_on: date, first_response_on: date | None = None) -> Problem:
        return self._new(Problem, workspace_id, client_id, rep_id, interaction_id, text, raised_on,
                         first_response_on=first_response_on)

    def unanswered(self, workspace_id: str, client_id: int | None = None) -> list[Problem]:
        """Longest waiting first."""
        return pick(self.rows.values(), lambda p: (p.raised_on, p.id), workspace_id=workspace_id,
                    first_response_on=None, client_id=_any(client_id))

    def answer(self, workspace_id: str, problem_id: int, on: date) -> Problem:
        problem = self._get_or_fail(workspace_id, problem_id)
        return problem if problem.first_response_on else self._store(replace(problem, first_response_on=on))

    def unresolved(self, workspace_id: str, client_id: int) -> list[Problem]:
        return pick(self.rows.values(), lambda p: (p.raised_on, p.id), workspace_id=workspace_id,
                    client_id=client_id, resolved_on=None)

    def resolve(self, workspace_id: str, problem_id: int, on: date) -> Problem:
        problem = self._get_or_fail(workspace_id, problem_id)
        return self._store(replace(problem, resolved_on=problem.resolved_on or on,
                                   first_response_on=problem.first_response_on or on))


class FakeDealRepository(_Repo):
    def add(self, workspace_id: str, client_id: int, rep_id: int, interaction_id: int | None,
            won_on: date, note: str) -> None:
        self.data.deals.append(FakeDeal(workspace_id, client_id, rep_id, interaction_id, won_on, note))


class FakeLedgerRepository(_Repo, table="ledger"):
    def add(self, workspace_id: str, draft: EntryDraft) -> LedgerEntry | None:
        if pick(self.rows.values(), workspace_id=workspace_id, key=draft.key):
            return None  # counted once
        return self._new(LedgerEntry, workspace_id, draft.client_id, draft.rep_id, draft.amount, draft.reason,
                         draft.occurred_on, draft.key, cause=draft.cause, detail=dict(draft.detail),
                         reverses_id=draft.reverses_id)

    def for_client(self, workspace_id: str, client_id: int) -> list[LedgerEntry]:
        return pick(self.rows.values(), lambda e: (e.occurred_on, e.id), workspace_id=workspace_id, client_id=client_id)

    def for_cause(self, workspace_id: str, cause: str) -> list[LedgerEntry]:
        return pick(self.rows.values(), by_id, workspace_id=workspace_id, cause=cause)

    def balance(self, workspace_id: str, client_id: int) -> int:
        return self.balances(workspace_id, [client_id])[client_id]

    def balances(self, workspace_id: str, client_ids: Sequence[int], as_of: date | None = None) -> dict[int, int]:
        result = dict.fromkeys(client_ids, 0)
        for e in pick(self.rows.values(), workspace_id=workspace_id):
            if e.client_id in result and (as_of is None or e.occurred_on <= as_of):
                result[e.client_id] += e.amount
        return result


class FakeDialogRepository(_Repo):
    def get(self, workspace_id: str, conversation: str, user: str) -> DialogState | None:  # type: ignore[override]
        return copy.deepcopy(self.data.dialogs.get((workspace_id, conversation, user)))

    def save(self, workspace_id: str, conversation: str, user: str, state: dict[str, Any], now: datetime) -> None:
        stored = json.loads(json.dumps(state))  # a JSON column: what cannot be serialised fails here too
        moment = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
        self.data.dialogs[(workspace_id, conversation, user)] = DialogState(stored, moment)

    def delete(self, workspace_id: str, conversation: str, user: str) -> None:
        self.data.dialogs.pop((workspace_id, conversation, user), None)


class FakeClaimRepository(_Repo):
    def claim(self, workspace_id: str, key: str, now: datetime) -> bool:
        """Rolled back with the fake unit of work, like any other write."""
        if (workspace_id, key) in self.data.claims:
            return False
        self.data.claims[(workspace_id, key)] = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
        return True


class FakeNudgeFeedbackRepository(_Repo, table="feedback"):
    """Append-only, like ``storage.feedback``: snoozes hold ``on <= day < until``, dismissals
    ``on <= day < on + DISMISS_DAYS``, "acted" and "useful" never suppress."""

    def record(self, workspace_id: str, feedback: NudgeFeedback) -> None:
        if feedback.action not in ("snoozed", "dismissed", "acted", "useful"):
            raise ValueError(f"unknown nudge feedback action {feedback.action!r}")
        if feedback.action == "snoozed" and feedback.until is None:
            raise ValueError("a snooze needs an `until` day")
        self._new(FakeFeedback, workspace_id, feedback)

    def suppressed(self, workspace_id: str, as_of: date, rep_id: int | None = None) -> set[tuple[int, str]]:
        def holds(f: NudgeFeedback) -> bool:
            if f.action == "snoozed":
                return f.on <= as_of < f.until  # type: ignore[operator]
            return f.action == "dismissed" and f.on <= as_of < f.on + timedelta(days=DISMISS_DAYS)
        return {(r.feedback.rep_id, r.feedback.subject) for r in pick(self.rows.values(), workspace_id=workspace_id)
                if holds(r.feedback) and (rep_id is None or r.feedback.rep_id == rep_id)}

    def for_period(self, workspace_id: str, rep_ids: Sequence[int], start: date, end: date) -> list[NudgeFeedback]:
        rows = pick(self.rows.values(), lambda r: (r.feedback.on, r.id), workspace_id=workspace_id)
        return [r.feedback for r in rows if r.feedback.rep_id in rep_ids and start <= r.feedback.on <= end]


class FakeChatRepository(_Repo):
    """As ``storage.references``: one per (workspace, platform, user); saving replaces and
    reactivates; ``for_person`` sees only active ones, the latest saved first."""

    def save(self, workspace_id: str, ref: ChatReference, now: datetime) -> None:
        stored = replace(ref, reference=json.loads(json.dumps(ref.reference)), active=True)  # a JSON column
        moment = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
        self.data.chats[(workspace_id, ref.platform, ref.user_id)] = (stored, moment)

    def for_person(self, workspace_id: str, platform: str, person_id: int) -> ChatReference | None:
        found = [(ref, at) for (w, p, _), (ref, at) in self.data.chats.items()
                 if w == workspace_id and p == platform and ref.person_id == person_id and ref.active]
        found.sort(key=lambda pair: pair[0].user_id)
        found.sort(key=lambda pair: pair[1], reverse=True)
        return copy.deepcopy(found[0][0]) if found else None

    def for_user(self, workspace_id: str, platform: str, user_id: str) -> ChatReference | None:
        found = self.data.chats.get((workspace_id, platform, user_id))
        return None if found is None else copy.deepcopy(found[0])

    def deactivate(self, workspace_id: str, platform: str, user_id: str) -> None:
        key = (workspace_id, platform, user_id)
        if (found := self.data.chats.get(key)) is not None:
            self.data.chats[key] = (replace(found[0], active=False), found[1])


class FakeDeliveryRepository(_Repo, table="deliveries"):
    """As ``storage.deliveries``: one delivery per (job, recipient, local date), one item per
    (rep, subject, kind, local date) across deliveries; ``claim`` takes pending messages and
    failed ones with attempts left that were not interrupted; times are kept in UTC."""

    def plan(self, workspace_id: str, job: str, recipient: str, person_id: int | None, local_date: date,
             items: Sequence[DeliveryItem], now: datetime, status: str = PENDING) -> Delivery | None:
        if status not in (PENDING, SENT, FAILED, SKIPPED):  # "sending" only by claim()
            raise ValueError(f"a delivery cannot be planned as {status!r}")
        if any((d.job, d.recipient, d.local_date) == (job, recipient, local_date) for d in self._mine(workspace_id)):
            return None
        wanted = {(i.rep_id, i.subject, i.kind) for i in items}
        for d in self._mine(workspace_id):  # a failed message's items go to whoever carries them now
            if d.local_date == local_date and _released(d):
                left = tuple(i for i in d.items if (i.rep_id, i.subject, i.kind) not in wanted)
                if left != d.items:
                    self._update(d, items=left)
        taken = {(i.rep_id, i.subject, i.kind) for i in self._items(workspace_id, local_date)}
        kept: list[DeliveryItem] = []
        for item in items:
            if (key := (item.rep_id, item.subject, item.kind)) not in taken:
                taken.add(key)
                kept.append(item)
        moment = _utc(now)
        row_id = self.data.next_id(self.table)
        delivery = Delivery(row_id, job, recipient, person_id, local_date, status, items=tuple(kept),
                            finished_at=None if status == PENDING else moment)
        self._store(FakeDelivery(row_id, workspace_id, moment, delivery))
        return delivery

    def get(self, workspace_id: str, delivery_id: int) -> Delivery | None:
        row = super().get(workspace_id, delivery_id)
        return None if row is None else row.delivery

    def recorded(self, workspace_id: str, job: str, local_dates: Sequence[date]) -> set[tuple[str, date]]:
        return {(d.recipient, d.local_date) for d in self._mine(workspace_id) if d.job == job and d.local_date in local_dates}

    def items_on(self, workspace_id: str, rep_id: int, local_date: date) -> set[tuple[str, str]]:
        return {(i.subject, i.kind) for d in self._mine(workspace_id) if d.local_date == local_date
                and not _released(d) for i in d.items if i.rep_id == rep_id}

    def sent_items(self, workspace_id: str, since: date, rep_ids: Sequence[int] | None = None
                   ) -> dict[tuple[int, str, str], list[date]]:
        sent: dict[tuple[int, str, str], list[date]] = {}
        for d in self._mine(workspace_id):
            if d.status == SENT and d.local_date >= since:
                for i in d.items:
                    if rep_ids is None or i.rep_id in rep_ids:
                        sent.setdefault((i.rep_id, i.subject, i.kind), []).append(d.local_date)
        return {key: sorted(days) for key, days in sent.items()}

    def sent_items_between(self, workspace_id: str, rep_ids: Sequence[int], start: date, end: date,
                           held: bool = False) -> list[SentItem]:
        found = [SentItem(i.rep_id, i.client_id, i.subject, i.kind, d.local_date)
                 for d in self._mine(workspace_id)
                 if (d.job == "held_back" if held else d.status == SENT and d.job in ("digest", "reminder"))
                 and start <= d.local_date <= end
                 for i in d.items if i.rep_id in rep_ids]
        return sorted(found, key=lambda x: (x.local_date, x.rep_id, x.subject, x.kind))

    def claim(self, workspace_id: str, delivery_id: int, now: datetime, max_attempts: int) -> Delivery | None:
        delivery = self.get(workspace_id, delivery_id)
        if delivery is None or not self._claimable(delivery, max_attempts):
            return None
        return self._update(delivery, status=SENDING, attempts=delivery.attempts + 1,
                            claimed_at=_utc(now), channel=None, reason=None, finished_at=None)

    def finish(self, workspace_id: str, delivery_id: int, status: str, now: datetime,
               channel: str | None = None, reason: str | None = None) -> None:
        if status not in (PENDING, SENDING, SENT, FAILED, SKIPPED):
            raise ValueError(f"unknown delivery status {status!r}")
        delivery = self.get(workspace_id, delivery_id)
        if delivery is None:
            raise LookupError(f"no delivery {delivery_id} in workspace {workspace_id!r}")
        self._update(delivery, status=status, channel=channel, reason=reason, finished_at=_utc(now))

    def retryable(self, workspace_id: str, local_dates: Sequence[date], max_attempts: int) -> list[Delivery]:
        """Oldest first (by when planned, then id)."""
        rows = pick(self.rows.values(), lambda r: (r.created_at, r.id), workspace_id=workspace_id)
        return [r.delivery for r in rows
                if r.delivery.local_date in local_dates and self._claimable(r.delivery, max_attempts)]

    def interrupted(self, workspace_id: str, claimed_after: datetime, claimed_before: datetime) -> list[Delivery]:
        return sorted((d for d in self._mine(workspace_id)
                       if d.status == FAILED and d.reason == INTERRUPTED and d.claimed_at is not None
                       and _utc(claimed_after) <= d.claimed_at < _utc(claimed_before)),
                      key=lambda d: (d.claimed_at, d.id))

    def interrupt_stale(self, workspace_id: str, claimed_before: datetime, now: datetime) -> int:
        stale = [d for d in self._mine(workspace_id)
                 if d.status == SENDING and d.claimed_at is not None and d.claimed_at < _utc(claimed_before)]
        for delivery in stale:
            self._update(delivery, status=FAILED, reason=INTERRUPTED, finished_at=_utc(now))
        return len(stale)

    def list(self, workspace_id: str, local_date: date) -> list[Delivery]:
        return sorted((d for d in self._mine(workspace_id) if d.local_date == local_date),
                      key=lambda d: (d.job, d.recipient, d.id))

    @staticmethod
    def _claimable(delivery: Delivery, max_attempts: int) -> bool:
        return delivery.status == PENDING or (
            delivery.status == FAILED and delivery.attempts < max_attempts and delivery.reason != INTERRUPTED)

    def _mine(self, workspace_id: str) -> list[Delivery]:
        return [r.delivery for r in pick(self.rows.values(), by_id, workspace_id=workspace_id)]

    def _items(self, workspace_id: str, local_date: date) -> list[DeliveryItem]:
        return [i for d in self._mine(workspace_id) if d.local_date == local_date for i in d.items]

    def _update(self, delivery: Delivery, **changes: Any) -> Delivery:
        row = self.rows[delivery.id]
        changed = replace(delivery, **changes)
        self._store(row._replace(delivery=changed))
        return changed


def _released(d: Delivery) -> bool:
    """A failed message never reached the rep (unless interrupted mid-send): its items are free."""
    return d.status == FAILED and d.reason != INTERRUPTED


class FakeHistoryRepository(_Repo):
    def client_histories(
        self, workspace_id: str, as_of: date, *, rep_id: int | None = None,
        team_ids: Sequence[int] | None = None, touches_per_client: int = 12, window_days: int = 90,
        rep_ids: Sequence[int] | None = None, quiet_for: Nudging | None = None,
    ) -> Iterator[ClientHistory]:
        # quiet_for may leave clients out; reading them all is what it stands for
        if (team_ids is not None and not team_ids) or (rep_ids is not None and not rep_ids):
            return
        clients = pick(self.data.clients.values(), lambda c: c.id,
                       workspace_id=workspace_id, owner_id=_any(rep_id))
        yield from [self._history(c, as_of, touches_per_client, window_days)
                    for c in clients if (team_ids is None or c.team_id in team_ids)
                    and (rep_ids is None or c.owner_id in rep_ids)]

    def keep_quiet_days(self, workspace_id: str, day: date, rules: Nudging, after: int = 0) -> tuple[int | None, int]:
        return None, 0  # no quiet days kept: every run reads every client

    def _history(self, client: Client, as_of: date, limit: int, window_days: int) -> ClientHistory:
        d, window_start, mine = self.data, as_of - timedelta(days=window_days), {"client_id": client.id}
        touches = [i for i in pick(d.interactions.values(), lambda i: (i.occurred_on, i.id), voided=False, **mine)
                   if i.occurred_on <= as_of][::-1]
        promises = [p for p in pick(d.promises.values(), lambda p: (p.due_on, p.id), **mine)
                    if p.made_on <= as_of and (p.status is OPEN or (p.closed_on and p.closed_on > as_of))]
        unsolved = [p for p in pick(d.problems.values(), lambda p: (p.raised_on, p.id), **mine)
                    if p.raised_on <= as_of and (p.resolved_on is None or p.resolved_on > as_of)]
        problems = [p for p in unsolved if p.first_response_on is None or p.first_response_on > as_of]
        answered = [p for p in unsolved if p.first_response_on is not None
                    and as_of - timedelta(days=FOLLOW_UP_DAYS) < p.first_response_on <= as_of]
        entries = [e for e in pick(d.ledger.values(), **mine) if e.occurred_on <= as_of]
        before = [e.amount for e in entries if e.occurred_on <= as_of - timedelta(days=TREND_DAYS)]
        kept = [(rank, i) for rank, i in enumerate(touches, 1) if rank <= limit or i.occurred_on > window_start]
        # Only the newest touch brings its note (as storage: a note only for rank 1); blank is None.
        note = kept[0][1].note if kept and kept[0][0] == 1 else None
        return ClientHistory(
            client.id, client.name, client.owner_id, client.created_on,
            touches=tuple(Touch(i.occurred_on, i.purpose) for _, i in kept),
            open_promises=tuple(OpenPromise(p.id, p.text, p.due_on) for p in promises),
            waiting_problems=tuple(WaitingProblem(p.id, p.text, p.raised_on) for p in problems),
            answered_problems=tuple(AnsweredProblem(p.id, p.text, p.first_response_on) for p in answered),
            last_put_right_on=max((e.occurred_on for e in entries if e.reason is Reason.PUT_RIGHT), default=None),
            last_won_on=max((x.won_on for x in pick(d.deals, **mine) if x.won_on <= as_of), default=None),
            last_setback_on=max((e.occurred_on for e in entries if e.reason in SETBACKS), default=None),
            trust_level=client.trust_level, balance=sum(e.amount for e in entries),
            balance_before=sum(before) if before else None,
            last_note=note if note and note.strip() else None,
        )

    def rep_touch_counts(self, workspace_id: str, as_of: date, recent_days: int,
                         baseline_days: int) -> dict[int, tuple[int, int]]:
        """Only reps with a touch in either period; recent is ``as_of - recent_days < on <= as_of``."""
        recent_start = as_of - timedelta(days=recent_days)
        baseline_start = recent_start - timedelta(days=baseline_days)
        counts: dict[int, tuple[int, int]] = {}
        for i in pick(self.data.interactions.values(), workspace_id=workspace_id, voided=False):
            if baseline_start < i.occurred_on <= as_of:
                recent, baseline = counts.get(i.rep_id, (0, 0))
                counts[i.rep_id] = (recent + 1, baseline) if i.occurred_on > recent_start else (recent, baseline + 1)
        return counts

    def owner_balances(self, workspace_id: str, team_ids: Sequence[int], dates: Sequence[date]) -> dict[int, list[int]]:
        if not team_ids or not dates:
            return {}
        owners = {c.id: c.owner_id for c in self.data.clients.values()
                  if c.workspace_id == workspace_id and c.team_id in team_ids}
        result = {owner: [0] * len(dates) for owner in owners.values()}
        for e in self.data.ledger.values():
            if e.workspace_id == workspace_id and e.client_id in owners:
                for k, d in enumerate(dates):
                    result[owners[e.client_id]][k] += e.amount if e.occurred_on <= d else 0
        return result

    def touches_between(self, workspace_id: str, team_ids: Sequence[int], start: date, end: date) -> list[TouchRow]:
        touches = self._between(self.data.interactions, workspace_id, team_ids, "occurred_on", start, end)
        return [TouchRow(i.rep_id, i.client_id, i.occurred_on, i.purpose, i.source) for i in touches if not i.voided]

    def last_logged(self, workspace_id: str, rep_ids: Sequence[int], as_of: date) -> dict[int, date]:
        found: dict[int, date] = {}
        for i in pick(self.data.interactions.values(), workspace_id=workspace_id, voided=False):
            if i.rep_id in rep_ids and i.occurred_on <= as_of:
                found[i.rep_id] = max(found.get(i.rep_id, i.occurred_on), i.occurred_on)
        return found

    def promises_closed_between(self, workspace_id: str, team_ids: Sequence[int], start: date, end: date) -> list[Promise]:
        promises = self._between(self.data.promises, workspace_id, team_ids, "closed_on", start, end)
        return [p for p in promises if p.status is not OPEN]

    def problems_raised_between(self, workspace_id: str, team_ids: Sequence[int], start: date, end: date) -> list[Problem]:
        return self._between(self.data.problems, workspace_id, team_ids, "raised_on", start, end)


class NoSnapshots:
    """Implements ``coaching.snapshots.SnapshotRepository`` as a store that keeps nothing: every
    report computes its past days (the fake store has no write path to remove stale ones)."""

    def figures(self, workspace_id: str, key: str, day: date) -> None:
        return None

    def owner_balances(self, workspace_id: str, key: str, days: Sequence[date]) -> dict:
        return {}

    def save(self, workspace_id: str, key: str, day: date, **kept: object) -> None:
        pass


class FakeUnitOfWork:
    """Implements ``coaching.ports.UnitOfWork`` over a shared :class:`FakeStore`."""

    def __init__(self, store: FakeStore) -> None:
        self.store, self.data, self.commits = store, None, 0  # type: FakeStore, FakeStore | None, int
        self.locks: list[str] = []  # every name passed to lock(), in order

    def __enter__(self) -> FakeUnitOfWork:
        if self.data is not None:
            raise RuntimeError("this unit of work is already open")
        return self._bind(copy.deepcopy(self.store))

    def __exit__(self, *exc: object) -> None:
        self.data = None  # whatever was not committed is gone

    def commit(self) -> None:
        vars(self.store).update(copy.deepcopy(vars(self._open())))
        self.commits += 1

    def rollback(self) -> None:
        self._open()
        self._bind(copy.deepcopy(self.store))

    def _bind(self, data: FakeStore) -> FakeUnitOfWork:
        self.data = data
        self.workspaces, self.teams = FakeWorkspaceRepository(data), FakeTeamRepository(data)
        self.people, self.clients = FakePersonRepository(data), FakeClientRepository(data)
        self.interactions, self.promises = FakeInteractionRepository(data), FakePromiseRepository(data)
        self.problems, self.deals = FakeProblemRepository(data), FakeDealRepository(data)
        self.ledger, self.dialogs = FakeLedgerRepository(data), FakeDialogRepository(data)
        self.histories, self.claims = FakeHistoryRepository(data), FakeClaimRepository(data)
        self.feedback = FakeNudgeFeedbackRepository(data)
        self.chats = FakeChatRepository(data)
        self.deliveries = FakeDeliveryRepository(data)
        self.captures = FakeCaptureRepository(data)
        self.snapshots = NoSnapshots()
        return self

    def lock(self, name: str) -> None:
        """Nothing to wait for (one thread); remembered in ``locks`` for tests to look at."""
        self._open()
        self.locks.append(name)

    def _open(self) -> FakeStore:
        if self.data is None:
            raise RuntimeError("the unit of work is not open: use it in a `with` block")
        return self.data
