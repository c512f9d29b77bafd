"""The coaching model's plain values: who sells to whom, what happened, what it was worth.

Everything here is a frozen dataclass or an enum; no I/O, no clock. Identifiers are integers
assigned by storage, except workspaces, which are keyed by the platform's own id (a Slack team
id, a Teams tenant id, or a name such as ``demo`` for the console).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date


class Role(enum.StrEnum):
    REP = "rep"
    MANAGER = "manager"
    ADMIN = "admin"


class Kind(enum.StrEnum):
    """How a rep and a client met."""

    MEETING = "meeting"
    CALL = "call"
    EMAIL = "email"
    MESSAGE = "message"
    VISIT = "visit"
    EVENT = "event"


class Purpose(enum.StrEnum):
    """Why the rep reached out: to give value, to ask for business, to serve a problem, or just
    to keep in touch (connection is not trust: a contact keeps the rhythm and earns nothing)."""

    GIVE = "give"
    ASK = "ask"
    SERVICE = "service"
    CONTACT = "contact"
    # A touch captured from a client channel: it happened, but the rep has not said why yet
    # (the end-of-day check-in asks). It earns nothing and weighs on no purpose share until then.
    PENDING = "pending"

    @classmethod
    def stated(cls) -> tuple[Purpose, ...]:
        """The purposes a rep can choose."""
        return (cls.GIVE, cls.ASK, cls.SERVICE, cls.CONTACT)


class Source(enum.StrEnum):
    """How a touch reached the ledger (team health counts logging coverage by it)."""

    COMMAND = "command"  # /logmeeting, step by step or as a quick form
    FORM = "form"  # the Slack modal form
    CHECKIN = "checkin"  # one tap in the end-of-day check-in
    SHORTCUT = "shortcut"  # a Slack message shortcut or a Teams message action
    CHANNEL = "channel"  # the rep's own message in an opted-in client channel
    IMPORT = "import"
    DEMO = "demo"


class PromiseStatus(enum.StrEnum):
    OPEN = "open"
    KEPT = "kept"
    KEPT_LATE = "kept_late"
    BROKEN = "broken"


class TrustLevel(enum.IntEnum):
    """A client's current position (DOMAIN.md): what they ask of the rep."""

    EXPERTISE = 1  # expertise in the rep's specialty
    SOLUTIONS = 2  # solutions in that specialty and around it
    WHOLE_BUSINESS = 3  # a view of the whole business
    PRESENCE = 4  # the rep's presence itself


class Reason(enum.StrEnum):
    """Why a ledger entry exists. Each has a sentence in the message catalogue."""

    GIVE_TOUCH = "give_touch"
    ASK_TOUCH = "ask_touch"
    PROOF_SHOWN = "proof_shown"
    PROMISE_KEPT = "promise_kept"
    PROMISE_KEPT_LATE = "promise_kept_late"
    PROMISE_BROKEN = "promise_broken"
    PROBLEM_ANSWERED_FAST = "problem_answered_fast"
    PROBLEM_UNANSWERED = "problem_unanswered"
    HONESTY_BREACH = "honesty_breach"  # a claim that proved false
    MISUNDERSTANDING = "misunderstanding"  # the rep's message was taken wrongly
    PUT_RIGHT = "put_right"  # a correction after a setback: the recovery is done
    SILENCE = "silence"
    CORRECTION = "correction"  # a reversing entry (a mistaken entry cancelled)


class Setback(enum.StrEnum):
    """What went wrong with a client, as a rep records it."""

    FALSE_CLAIM = "false_claim"  # a claim that proved false: the balance is reset
    MISUNDERSTANDING = "misunderstanding"  # the message was ambiguous: a smaller debit


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    platform: str = "console"  # console | slack | teams
    llm_enabled: bool = True  # an admin may switch the LLM off for the workspace (it is only
    # ever used when the operator configured one)


@dataclass(frozen=True)
class Team:
    id: int
    workspace_id: str
    name: str
    digest_channel: str | None = None


@dataclass(frozen=True)
class Person:
    """Someone on the roster: a rep, a manager or an admin."""

    id: int
    workspace_id: str
    email: str
    name: str
    role: Role
    team_ids: tuple[int, ...]
    timezone: str = "UTC"
    locale: str | None = None
    slack_user_id: str | None = None
    teams_user_id: str | None = None
    on_leave: bool = False
    active: bool = True  # False: deactivated (they left): no messages, no use of the coach, history kept

    @property
    def is_manager(self) -> bool:
        return self.active and self.role in (Role.MANAGER, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        """An admin's powers: none once deactivated, whatever the roster's role says."""
        return self.active and self.role is Role.ADMIN


@dataclass(frozen=True)
class Client:
    id: int
    workspace_id: str
    name: str
    team_id: int
    owner_id: int
    created_on: date
    trust_level: TrustLevel | None = None
    trust_assessed_on: date | None = None
    trust_asked_for: TrustLevel | None = None  # what the client last asked of the rep
    trust_demanded_justification: bool | None = None


@dataclass(frozen=True)
class PromiseDraft:
    """A promise as the rep states it while logging: what, and by when."""

    text: str
    due_on: date
    status: PromiseStatus = PromiseStatus.OPEN
    closed_on: date | None = None


@dataclass(frozen=True)
class ProblemDraft:
    text: str
    first_response_on: date | None = None


@dataclass(frozen=True)
class InteractionDraft:
    """Everything a rep says about one touch, before it is stored."""

    client_id: int
    occurred_on: date
    kind: Kind
    purpose: Purpose
    note: str = ""
    proof_shown: bool = False
    promises: tuple[PromiseDraft, ...] = ()
    problem: ProblemDraft | None = None
    asked_for: TrustLevel | None = None
    demanded_justification: bool | None = None
    won_deal: str | None = None  # None: no deal won; "" a deal won with no note
    source: str = "command"  # a Source value
    external_id: str | None = None  # idempotency key from the platform or the import
    correction: bool = False  # the rep put a setback right in this touch
    setback: Setback | None = None  # something went wrong in this touch (an import says so)


@dataclass(frozen=True)
class Interaction:
    id: int
    workspace_id: str
    client_id: int
    rep_id: int
    occurred_on: date
    kind: Kind
    purpose: Purpose
    note: str = ""
    proof_shown: bool = False
    source: str = "command"
    voided: bool = False
    asked_for: TrustLevel | None = None  # the trust signals this touch carried
    demanded_justification: bool | None = None


@dataclass(frozen=True)
class Promise:
    id: int
    workspace_id: str
    client_id: int
    rep_id: int
    interaction_id: int | None
    text: str
    made_on: date
    due_on: date
    status: PromiseStatus = PromiseStatus.OPEN
    closed_on: date | None = None


@dataclass(frozen=True)
class Problem:
    id: int
    workspace_id: str
    client_id: int
    rep_id: int
    interaction_id: int | None
    text: str
    raised_on: date
    first_response_on: date | None = None
    resolved_on: date | None = None


@dataclass(frozen=True)
class EntryDraft:
    """A ledger entry before storage gives it an id.

    ``key`` makes the entry idempotent: storing a draft whose key already exists in the
    workspace does nothing, so a retried request or a re-run daily job never counts twice.
    ``detail`` holds the words the reason sentence quotes (a promise's text, a week count).
    """

    client_id: int
    rep_id: int
    amount: int
    reason: Reason
    occurred_on: date
    key: str
    cause: str = ""  # what caused it, e.g. "interaction:12", "promise:4"
    detail: dict[str, str] = field(default_factory=dict)
    reverses_id: int | None = None


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    workspace_id: str
    client_id: int
    rep_id: int
    amount: int
    reason: Reason
    occurred_on: date
    key: str
    cause: str = ""
    detail: dict[str, str] = field(default_factory=dict)
    reverses_id: int | None = None
