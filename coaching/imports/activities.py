"""Activities from another system (a CRM, an SFA) turned into touches.

Each source (:mod:`.crm`: Salesforce, HubSpot, a mapping file) reads its rows into
:class:`Activity` values, or says why a row is not a touch (:class:`Skip`). Here an activity
becomes a :class:`TouchLine`, as a row of the coach's own file does, read by the same note
reader the chat uses:

- the purpose is what the reader finds in the subject and the note; what it cannot tell is a
  ``contact`` (it keeps the client's rhythm and earns nothing), counted, never guessed as a give
  or an ask;
- a promise is kept only when the note states it with its due date and that date is still to come
  (a past one's outcome is not in the export: booking it broken would invent a setback);
- a problem is kept only when raised within ``RECENT_PROBLEM_DAYS`` of the import (it may still
  be waiting); an older one's handling is not in the export either;
- the source's own record id is the touch's external id, so a second import adds nothing.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Sequence

from coaching.imports.interactions import TouchLine
from coaching.imports.shape import MAX_FIELD_CHARS, MAX_NAME_CHARS
from coaching.model import Kind, ProblemDraft, PromiseDraft, Purpose
from coaching.reading.proposal import NoteReader

RECENT_PROBLEM_DAYS = 14  # "the last two weeks" in the report (import.crm_promises)
READ_PURPOSES = frozenset({Purpose.GIVE, Purpose.ASK, Purpose.SERVICE, Purpose.CONTACT})
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


class Skip(enum.StrEnum):
    """Why a row of an export is not a touch (counted in the report, each with its lines)."""

    OPEN_TASK = "open_task"  # a task not done yet: nothing happened with the client
    FUTURE = "future"  # an event still to come
    DELETED = "deleted"  # in the recycle bin of the source system
    NO_CLIENT = "no_client"  # linked to no account or company
    UNKNOWN_CLIENT = "unknown_client"  # linked to an account the accounts file does not list
    NO_OWNER = "no_owner"  # an owner id the users (owners) file does not list
    NOT_ON_ROSTER = "not_on_roster"  # an owner whose e-mail is not on the coach's roster
    NO_DATE = "no_date"  # no date, or one that cannot be read
    CANCELLED = "cancelled"  # a meeting cancelled, or the client did not come


@dataclass(frozen=True, slots=True)
class Activity:
    file: str
    line: int
    external_id: str  # "salesforce:00T...", "hubspot:call:123", "mapped:..."
    rep_email: str  # lower case
    client: str
    on: date
    kind: Kind | None  # None: the reader's, else a message
    subject: str
    body: str

    @property
    def note(self) -> str:
        """Subject and note, as one text (the subject first, unless the note starts with it)."""
        subject, body = self.subject.strip(), self.body.strip()
        text = body if not subject or body.startswith(subject) else f"{subject}\n{body}" if body else subject
        return text[:MAX_FIELD_CHARS]


@dataclass
class Tally:
    """What an import would do, for ``--dry-run`` and the summary."""

    touches: int = 0
    by_rep: Counter[str] = field(default_factory=Counter)
    by_purpose: Counter[str] = field(default_factory=Counter)
    unread: int = 0  # purpose not told by the note: imported as contact
    promises: int = 0
    promises_past: int = 0  # stated in a note, due before the import: not imported
    problems: int = 0
    problems_old: int = 0
    skipped: dict[Skip, list[tuple[str, int]]] = field(default_factory=dict)  # reason: (file, line)

    def skip(self, reason: Skip, file: str, line: int) -> None:
        self.skipped.setdefault(reason, []).append((file, line))

    def merge(self, other: Tally) -> None:
        """Add what ``other`` counted (a part of the same import, read apart)."""
        self.touches, self.unread = self.touches + other.touches, self.unread + other.unread
        self.promises, self.promises_past = self.promises + other.promises, self.promises_past + other.promises_past
        self.problems, self.problems_old = self.problems + other.problems, self.problems_old + other.problems_old
        self.by_rep.update(other.by_rep)
        self.by_purpose.update(other.by_purpose)
        for reason, where in other.skipped.items():
            self.skipped.setdefault(reason, []).extend(where)


def language_of(text: str) -> str:
    return "ja" if _JAPANESE.search(text) else "en"


def touch_of(activity: Activity, reader: NoteReader, today: date, tally: Tally) -> TouchLine:
    """The touch an activity is, read by ``reader`` as of the activity's own day."""
    note = activity.note
    proposal = reader.read(note, activity.on, [activity.client], language_of(note))
    purpose = proposal.purpose if proposal.purpose in READ_PURPOSES else None
    if purpose is None:
        tally.unread += 1
    promise = _promise(proposal.promises, today, tally)
    problem = None
    if proposal.problem:
        if (today - activity.on).days <= RECENT_PROBLEM_DAYS:
            problem, tally.problems = ProblemDraft(proposal.problem[:MAX_FIELD_CHARS]), tally.problems + 1
        else:
            tally.problems_old += 1
    touch = TouchLine(
        activity.line, activity.rep_email, activity.client, activity.on,
        activity.kind or proposal.kind or Kind.MESSAGE, purpose or Purpose.CONTACT, note, promise, problem,
        None, activity.external_id,
    )
    tally.touches += 1
    tally.by_rep[activity.rep_email] += 1
    tally.by_purpose[touch.purpose.value] += 1
    return touch


def _promise(found: Sequence, today: date, tally: Tally) -> PromiseDraft | None:
    dated = [p for p in found if p.due_on is not None]
    live = [p for p in dated if p.due_on >= today]
    tally.promises_past += len(dated) - len(live)
    if not live:
        return None
    tally.promises += 1
    return PromiseDraft(live[0].text[:MAX_FIELD_CHARS], live[0].due_on)


# --- reading values the sources share -------------------------------------------------------

_SUFFIX = re.compile(r"\s*[(（]\s*(?:※[^)）]*|管理番号[^)）]*)[)）]\s*$")
_SPLIT = re.compile(r"\s*(?:;|,|、|//)\s*")


def header_key(name: str) -> str:
    """A column name as matched: NFKC, without a BOM, a trailing "(※必須項目です)" or
    "(管理番号:…)", trimmed, case-folded."""
    text = unicodedata.normalize("NFKC", name).strip().strip("\ufeff\u200b").strip()
    while (stripped := _SUFFIX.sub("", text)) != text:
        text = stripped
    return text.casefold()


def values_of(cell: str) -> list[str]:
    """A multi-valued cell's values (split on ``;``, ``,``, ``、`` or ``//``), trimmed, non-empty."""
    return [v for v in _SPLIT.split(cell.strip()) if v]


def client_name(cell: str) -> str | None:
    """The first client a cell names (a row naming several belongs to the first), or None."""
    names = values_of(cell) if cell else []
    return names[0][:MAX_NAME_CHARS] if names else None


_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ].*)?$")
_JA_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日.*$")


def day_of(cell: str) -> date | None:
    """The date a cell says, as written (a time and a zone after it never move it: Salesforce's
    ``ActivityDate`` is a date at midnight UTC); epoch milliseconds (HubSpot's ``hs_timestamp``)
    are read in UTC."""
    text = unicodedata.normalize("NFKC", cell).strip()
    if text.isdigit() and len(text) >= 12:  # an epoch in milliseconds
        return datetime.fromtimestamp(int(text) / 1000, timezone.utc).date()
    found = _ISO.match(text) or _JA_DATE.match(text)
    try:
        return date(*map(int, found.groups())) if found else None
    except ValueError:
        return None


# --- what every source is given ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Record:
    """One data row of an export: its file, first line and ``{header_key: value}``."""

    file: str
    line: int
    row: dict[str, str]

    def get(self, *names: str) -> str:
        """The first non-empty value among the columns ``names`` (header keys), or ""."""
        for name in names:
            if value := self.row.get(name, "").strip():
                return value
        return ""


@dataclass
class Context:
    """What a source checks its rows against: the roster (e-mails, and names for exports that
    name their people), the import's today, and the tally it counts into."""

    emails: frozenset[str]
    names: dict[str, str]  # person_key(name) -> e-mail
    today: date
    tally: Tally = field(default_factory=Tally)
    unrostered: Counter[str] = field(default_factory=Counter)  # owners found but not on the roster

    def rep(self, record: Record, value: str) -> str | None:
        """The roster e-mail ``value`` names (an address, or a person's name); None (counted) if none."""
        for candidate in values_of(value) or [value]:
            email = unicodedata.normalize("NFKC", candidate).strip().lower()
            found = email if email in self.emails else self.names.get(person_key(candidate))
            if found:
                return found
        self.unrostered[value.strip() or "?"] += 1
        self.tally.skip(Skip.NOT_ON_ROSTER, record.file, record.line)
        return None

    def dated(self, record: Record, cell: str) -> date | None:
        """The activity's day; None (counted) when missing, unreadable or still to come."""
        on = day_of(cell) if cell else None
        if on is None:
            self.tally.skip(Skip.NO_DATE, record.file, record.line)
        elif on > self.today:
            self.tally.skip(Skip.FUTURE, record.file, record.line)
            return None
        return on


def person_key(name: str) -> str:
    """A person's name as matched: NFKC, case-folded, without spaces (山田 太郎 = 山田太郎)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name)).casefold()
