"""The ports the service layer depends on: protocols only. ``storage/`` implements them with
SQLAlchemy; tests may implement them with fakes. The values they pass are in :mod:`coaching.model`
and :mod:`coaching.records`, the failures they report in :mod:`coaching.errors`. All reads are
scoped to one workspace; no method returns another workspace's rows."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Iterator, Protocol, Sequence, runtime_checkable

from coaching import records
from coaching.model import (
    Client,
    EntryDraft,
    Interaction,
    InteractionDraft,
    LedgerEntry,
    Person,
    Problem,
    Promise,
    PromiseStatus,
    Purpose,
    Team,
    TrustLevel,
    Workspace,
)
from coaching.nudges import ClientHistory
from coaching.rules import Nudging
from coaching.trust import Signal

if TYPE_CHECKING:  # annotations only: import these from coaching.records
    from coaching.privacy import PrivacyRepository
    from coaching.snapshots import SnapshotRepository
    from coaching.records import (
        ChannelCapture, ChatReference, Delivery, DeliveryItem, DialogState, NudgeFeedback, PersonDraft, SentItem,
        TouchRow,
    )


class WorkspaceRepository(Protocol):
    def get(self, workspace_id: str) -> Workspace | None: ...
    def add(self, workspace: Workspace) -> Workspace: ...
    def set_llm(self, workspace_id: str, enabled: bool) -> Workspace:
        """An admin's switch: may this workspace's notes and tips go to the configured LLM?"""


class TeamRepository(Protocol):
    def get(self, workspace_id: str, team_id: int) -> Team | None: ...
    def by_name(self, workspace_id: str, name: str) -> Team | None: ...
    def list(self, workspace_id: str) -> list[Team]: ...
    def add(self, workspace_id: str, name: str) -> Team: ...
    def set_digest_channel(self, workspace_id: str, team_id: int, channel: str | None) -> Team:
        """Where the team's channel digest goes (a Slack or Teams channel id), or nowhere."""


class PersonRepository(Protocol):
    def get(self, workspace_id: str, person_id: int) -> Person | None: ...
    def by_email(self, workspace_id: str, email: str) -> Person | None: ...
    def by_platform_id(self, workspace_id: str, platform: str, user_id: str) -> Person | None:
        """``platform`` is ``slack`` or ``teams``."""
    def list(self, workspace_id: str, team_id: int | None = None) -> list[Person]: ...
    def upsert(self, workspace_id: str, draft: PersonDraft) -> Person:
        """Insert, or update the person with the same e-mail (case-insensitive)."""
    def link_platform(self, workspace_id: str, person_id: int, platform: str, user_id: str,
                      timezone: str | None = None) -> Person:
        """Remember the person's Slack or Teams user id (found by e-mail the first time). The
        platform's ``timezone`` is adopted only when the roster gave none (UTC, its default)."""
    def set_on_leave(self, workspace_id: str, person_id: int, on_leave: bool) -> Person:
        """A person on leave gets no scheduled messages until they are back."""
    def set_active(self, workspace_id: str, person_id: int, active: bool) -> Person:
        """Deactivated (they left): no messages, no use of the coach; their history stays."""


class ClientRepository(Protocol):
    def get(self, workspace_id: str, client_id: int) -> Client | None: ...
    def list(self, workspace_id: str, team_ids: Sequence[int] | None = None) -> list[Client]:
        """Clients of these teams (all of the workspace's when ``None``), by name."""
    def by_name(self, workspace_id: str, name: str) -> Client | None:
        """Exact match, ignoring case and width (NFKC, casefold)."""
    def add(self, workspace_id: str, name: str, team_id: int, owner_id: int, created_on: date) -> Client: ...
    def set_trust(
        self, workspace_id: str, client_id: int, level: TrustLevel | None, on: date,
        asked_for: TrustLevel | None, demanded_justification: bool | None,
    ) -> None: ...


class InteractionRepository(Protocol):
    def add(self, workspace_id: str, rep_id: int, draft: InteractionDraft) -> Interaction | None:
        """Store a touch; ``None`` if its ``external_id`` was already stored (a retry)."""
    def get(self, workspace_id: str, interaction_id: int) -> Interaction | None: ...
    def last_by_rep(self, workspace_id: str, rep_id: int) -> Interaction | None:
        """The rep's most recently logged touch that is not voided."""
    def void(self, workspace_id: str, interaction_id: int) -> None: ...
    def for_client(self, workspace_id: str, client_id: int, limit: int = 20) -> list[Interaction]:
        """Newest first, voided ones left out."""
    def recent_purposes(self, workspace_id: str, client_id: int, limit: int) -> list[Purpose]:
        """The purposes of :meth:`for_client`'s first ``limit`` touches."""
    def for_rep_on(self, workspace_id: str, rep_id: int, day: date) -> list[Interaction]:
        """The rep's touches dated ``day``, voided ones left out, in the order logged."""
    def set_purpose(self, workspace_id: str, interaction_id: int, purpose: Purpose) -> Interaction:
        """Say why a captured touch happened (its purpose was ``pending``)."""
    def trust_signals(self, workspace_id: str, client_id: int, after: date | None, limit: int) -> list[Signal]:
        """The latest ``limit`` touches with a trust signal, newest first, after ``after``."""


class CaptureRepository(Protocol):
    """Client channels opted in to capture. Only these channels' messages are ever read."""

    def get(self, workspace_id: str, platform: str, channel_id: str) -> ChannelCapture | None: ...
    def save(self, workspace_id: str, capture: ChannelCapture) -> None:
        """Insert, or point the channel at another client."""
    def remove(self, workspace_id: str, platform: str, channel_id: str) -> bool:
        """False when the channel was not opted in."""
    def list(self, workspace_id: str) -> list[ChannelCapture]: ...


class PromiseRepository(Protocol):
    def add(
        self, workspace_id: str, client_id: int, rep_id: int, interaction_id: int | None,
        text: str, made_on: date, due_on: date,
    ) -> Promise: ...
    def get(self, workspace_id: str, promise_id: int) -> Promise | None: ...
    def close(self, workspace_id: str, promise_id: int, status: PromiseStatus, closed_on: date) -> Promise: ...
    def for_client(self, workspace_id: str, client_id: int) -> list[Promise]:
        """Every promise made to the client, open or closed, by due date."""
    def open_for(self, workspace_id: str, rep_id: int | None = None, client_id: int | None = None) -> list[Promise]:
        """Open promises, soonest due first."""
    def open_due_before(self, workspace_id: str, day: date) -> list[Promise]:
        """Open promises due before ``day`` (candidates for counting as broken)."""


class ProblemRepository(Protocol):
    def add(
        self, workspace_id: str, client_id: int, rep_id: int, interaction_id: int | None,
        text: str, raised_on: date, first_response_on: date | None = None,
    ) -> Problem: ...
    def unanswered(self, workspace_id: str, client_id: int | None = None) -> list[Problem]: ...
    def answer(self, workspace_id: str, problem_id: int, on: date) -> Problem: ...
    def unresolved(self, workspace_id: str, client_id: int) -> list[Problem]: ...
    def resolve(self, workspace_id: str, problem_id: int, on: date) -> Problem: ...


class DealRepository(Protocol):
    def add(self, workspace_id: str, client_id: int, rep_id: int, interaction_id: int | None, won_on: date, note: str) -> None: ...


class LedgerRepository(Protocol):
    def add(self, workspace_id: str, draft: EntryDraft) -> LedgerEntry | None:
        """Append; ``None`` if an entry with the same key exists (counted once)."""
    def for_client(self, workspace_id: str, client_id: int) -> list[LedgerEntry]:
        """Oldest first."""
    def for_cause(self, workspace_id: str, cause: str) -> list[LedgerEntry]: ...
    def balance(self, workspace_id: str, client_id: int) -> int: ...
    def balances(self, workspace_id: str, client_ids: Sequence[int], as_of: date | None = None) -> dict[int, int]:
        """Balance per client (entries dated on or before ``as_of`` when given); 0 if none."""


class DialogRepository(Protocol):
    def get(self, workspace_id: str, conversation: str, user: str) -> DialogState | None: ...
    def save(self, workspace_id: str, conversation: str, user: str, state: dict[str, Any], now: datetime) -> None: ...
    def delete(self, workspace_id: str, conversation: str, user: str) -> None: ...


class HistoryRepository(Protocol):
    """Set-based reads for the daily run and team health: a few queries, never one per client."""

    def client_histories(
        self, workspace_id: str, as_of: date, *, rep_id: int | None = None,
        team_ids: Sequence[int] | None = None, touches_per_client: int = 12, window_days: int = 90,
        rep_ids: Sequence[int] | None = None, quiet_for: Nudging | None = None,
    ) -> Iterator[ClientHistory]:
        """One history per client (of ``rep_id``, or of any of ``rep_ids``, or of ``team_ids``,
        each narrowing further when given), ordered by client id. ``touches`` holds the
        latest ``touches_per_client`` touches plus every touch within ``window_days``, all on
        or before ``as_of``, newest first. ``quiet_for``: clients kept quiet on ``as_of`` under
        those rules may be left out (:meth:`keep_quiet_days`), and a few then come last."""
    def keep_quiet_days(self, workspace_id: str, day: date, rules: Nudging, after: int = 0) -> tuple[int | None, int]:
        """Keep, for clients after id ``after``, the days from ``day`` they raise nothing unless
        written to; the last client seen (None: no more), how many got quiet days."""
    def rep_touch_counts(self, workspace_id: str, as_of: date, recent_days: int, baseline_days: int) -> dict[int, tuple[int, int]]:
        """rep id -> (touches in the last ``recent_days``, touches in the ``baseline_days`` before)."""
    def touches_between(self, workspace_id: str, team_ids: Sequence[int], start: date, end: date) -> list[TouchRow]:
        """Touches on clients of these teams with ``start <= on <= end``."""
    def promises_closed_between(self, workspace_id: str, team_ids: Sequence[int], start: date, end: date) -> list[Promise]: ...
    def problems_raised_between(self, workspace_id: str, team_ids: Sequence[int], start: date, end: date) -> list[Problem]: ...
    def last_logged(self, workspace_id: str, rep_ids: Sequence[int], as_of: date) -> dict[int, date]:
        """rep id -> the date of their latest touch on or before ``as_of`` (reps with none are
        left out): whether a rep's logging has lapsed."""
    def owner_balances(self, workspace_id: str, team_ids: Sequence[int], dates: Sequence[date]) -> dict[int, list[int]]:
        """owner id -> the summed credit balance of the clients they own (in these teams) as of
        each of ``dates`` (entries on or before it), in one pass; owners without entries appear
        with zeros if they own a client."""


class ClaimRepository(Protocol):
    """What the platforms already delivered, so a retried request changes nothing twice."""

    def claim(self, workspace_id: str, key: str, now: datetime) -> bool:
        """True the first time ``key`` is seen in the workspace, False for a repeat. The claim
        is part of the unit of work: rolled back with it, so a failed turn can be retried."""


class NudgeFeedbackRepository(Protocol):
    """What reps said about their nudges: snoozed, not relevant, acted on."""

    def record(self, workspace_id: str, feedback: NudgeFeedback) -> None: ...
    def suppressed(self, workspace_id: str, as_of: date, rep_id: int | None = None) -> set[tuple[int, str]]:
        """(rep id, subject) pairs not to nudge about on ``as_of``: snoozed until after it, or
        dismissed as not relevant (a dismissal holds for ``dismiss_days`` = 30 days)."""
    def for_period(self, workspace_id: str, rep_ids: Sequence[int], start: date, end: date) -> list[NudgeFeedback]:
        """Feedback recorded with ``start <= on <= end`` by these reps (for team health)."""


class ChatRepository(Protocol):
    """Where to reach a person proactively: saved when they install the app or speak to it."""

    def save(self, workspace_id: str, ref: ChatReference, now: datetime) -> None:
        """Insert or replace the reference for (platform, user_id); saving reactivates it."""
    def for_person(self, workspace_id: str, platform: str, person_id: int) -> ChatReference | None:
        """The active reference for this person, if any."""
    def for_user(self, workspace_id: str, platform: str, user_id: str) -> ChatReference | None: ...
    def deactivate(self, workspace_id: str, platform: str, user_id: str) -> None:
        """The user blocked or removed the app (a 403): stop sending until they come back."""


class DeliveryRepository(Protocol):
    """The record of what the scheduler sent: the only memory it has between runs."""

    def plan(self, workspace_id: str, job: str, recipient: str, person_id: int | None, local_date: date,
             items: Sequence[DeliveryItem], now: datetime, status: str = records.PENDING) -> Delivery | None:
        """Record a message (and its items) once; ``None`` when (job, recipient, local date) is
        already recorded. Items recorded already for the same day by another message are left
        out of this one."""
    def get(self, workspace_id: str, delivery_id: int) -> Delivery | None: ...
    def recorded(self, workspace_id: str, job: str, local_dates: Sequence[date]) -> set[tuple[str, date]]:
        """(recipient, local date) pairs that already have a message of this job."""
    def items_on(self, workspace_id: str, rep_id: int, local_date: date) -> set[tuple[str, str]]:
        """(subject, kind) of every item recorded for this rep on this local date."""
    def sent_items(self, workspace_id: str, since: date, rep_ids: Sequence[int] | None = None
                   ) -> dict[tuple[int, str, str], list[date]]:
        """(rep, subject, kind) -> the local dates it was sent on (``since`` onwards)."""
    def sent_items_between(self, workspace_id: str, rep_ids: Sequence[int], start: date, end: date,
                           held: bool = False) -> list[SentItem]:
        """Items of ``sent`` digests and reminders to these reps with ``start <= local date <=
        end`` (for team health), oldest first, then by rep, subject and kind; ``held``: the
        nudges held back to measure the coach's effect instead."""
    def claim(self, workspace_id: str, delivery_id: int, now: datetime, max_attempts: int) -> Delivery | None:
        """Take a pending (or failed, retryable) message for sending: status ``sending``,
        one more attempt. ``None`` when another process has it or it is done."""
    def finish(self, workspace_id: str, delivery_id: int, status: str, now: datetime,
               channel: str | None = None, reason: str | None = None) -> None: ...
    def retryable(self, workspace_id: str, local_dates: Sequence[date], max_attempts: int) -> list[Delivery]:
        """Pending messages, and failed ones with attempts left, of these local dates."""
    def interrupted(self, workspace_id: str, claimed_after: datetime, claimed_before: datetime) -> list[Delivery]:
        """Failed with reason ``interrupted`` (the platform may have them), last claimed in
        [``claimed_after``, ``claimed_before``); oldest first."""
    def interrupt_stale(self, workspace_id: str, claimed_before: datetime, now: datetime) -> int:
        """Messages left ``sending`` since before ``claimed_before`` become failed (reason
        ``interrupted``) and are not sent again: the platform may have received them."""
    def list(self, workspace_id: str, local_date: date) -> list[Delivery]: ...


@runtime_checkable
class Traceable(Protocol):
    """A notifier that tags each message with its delivery's ``key`` and can look a message up
    by it afterwards. ``find`` and ``find_channel`` answer the platform that has it, ``None``
    when no platform that could have taken it has it (only ``platform``, when given), and raise
    ``MaybeDelivered`` when that cannot be told (a platform that cannot be read back, or an
    answer that did not come). ``since``: when the send that may have arrived began."""

    def send(self, person: Person, reply: Any, key: str | None = None) -> str | None: ...
    def send_channel(self, channel: str, reply: Any, locale: str | None, key: str | None = None) -> str | None: ...
    def find(self, person: Person, key: str, since: datetime, platform: str | None = None) -> str | None: ...
    def find_channel(self, channel: str, key: str, since: datetime, platform: str | None = None) -> str | None: ...


class Notifier(Protocol):
    """Where the scheduler's messages go (Slack, Teams, the log)."""

    def send(self, person: Person, reply: Any) -> str | None:
        """Deliver to one person; the channel that took it ("slack", "teams", "log"), or None."""
    def send_channel(self, channel: str, reply: Any, locale: str | None) -> str | None:
        """Post into a team channel (a Slack channel id or a Teams conversation id)."""


class UnitOfWork(Protocol):
    workspaces: WorkspaceRepository
    teams: TeamRepository
    people: PersonRepository
    clients: ClientRepository
    interactions: InteractionRepository
    promises: PromiseRepository
    problems: ProblemRepository
    deals: DealRepository
    ledger: LedgerRepository
    dialogs: DialogRepository
    histories: HistoryRepository
    claims: ClaimRepository
    feedback: NudgeFeedbackRepository
    chats: ChatRepository
    deliveries: DeliveryRepository
    captures: CaptureRepository
    snapshots: SnapshotRepository  # team reports' past days (coaching.snapshots)
    privacy: PrivacyRepository  # data on request: export, erasure, retention (coaching.privacy)

    def lock(self, name: str) -> None:
        """Hold a lock named ``name`` until this unit of work ends (PostgreSQL: a transaction-scoped
        advisory lock, so replicas take turns; SQLite: nothing, one process is its topology)."""
    def __enter__(self) -> UnitOfWork: ...
    def __exit__(self, *exc: object) -> None: ...  # roll back whatever was not committed
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
