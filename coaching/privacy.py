"""Data on request: everything held about a person or a client handed over (an export), erased
(a person anonymised, a client removed), note text blanked after a retention period, and people
deactivated when they leave.

The operator asks (the CLI; the daily upkeep for retention); storage does the work behind
:class:`PrivacyRepository`, in the caller's unit of work, so an erasure and its audit line are
one transaction. The audit line (:class:`Erasure`) names the row by its id and counts the rows
changed per table; it never holds what was erased.

A person is anonymised rather than removed, so the team's history stays whole: their row keeps
its id (the clients they own, the touches they logged, the points booked still add up) but loses
its name, e-mail and platform ids, and everything they wrote is blanked. A client is removed
with everything about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable, Collection, Mapping, Protocol

from coaching import access
from coaching.access import CoachError
from coaching.messages import Msg
from coaching.model import Client, Person
from coaching.ports import UnitOfWork

REDACTED = "…"  # what quoted words become (a promise, a problem): a sentence that quotes them still reads
PERSON, CLIENT, RETENTION = "person", "client", "retention"  # the kinds of erasure


@dataclass(frozen=True)
class Erasure:
    """One line of the audit: what kind of erasure, of which row (by id), asked by whom, when,
    and how many rows of each table it changed or removed."""

    kind: str
    subject_id: int | None  # the person's or the client's id; None for a retention run
    requested_by: str  # "cli", "upkeep"
    at: datetime
    rows: Mapping[str, int] = field(default_factory=dict)
    before: date | None = None  # a retention run: text dated before this day was blanked
    id: int | None = None


class PrivacyRepository(Protocol):
    """Everything a workspace holds about one person or one client, whatever table it is in."""

    def export_person(self, workspace_id: str, person_id: int) -> dict[str, Any]:
        """Every row about the person (theirs, and others' text that names them), JSON-able."""
    def export_client(self, workspace_id: str, client_id: int) -> dict[str, Any]: ...
    def erase_person(self, workspace_id: str, person_id: int, name: str) -> dict[str, int]:
        """Anonymise: the row takes ``name``, loses its e-mail and platform ids and is deactivated;
        what they wrote is blanked, and their name and e-mail in others' text; where they could be
        reached is removed. Rows changed per table."""
    def erase_client(self, workspace_id: str, client_id: int) -> dict[str, int]:
        """Remove the client and every row about it; its name in others' text is blanked."""
    def blank_before(self, workspace_id: str, day: date) -> dict[str, int]:
        """Blank the text of notes dated before ``day`` (open promises and problems still waiting
        keep theirs); points and dates stay. Rows changed per table."""
    def record(self, workspace_id: str, erasure: Erasure) -> Erasure:
        """Append the audit line; it comes back with its id."""
    def erasures(self, workspace_id: str) -> list[Erasure]:
        """The audit, oldest first."""


# --- export -------------------------------------------------------------------------------------

def export_person(uow: UnitOfWork, person: Person) -> dict[str, Any]:
    return uow.privacy.export_person(person.workspace_id, person.id)


def export_client(uow: UnitOfWork, operator: Person, name: str) -> dict[str, Any]:
    """Everything about the client ``operator`` names (a client they may not see is absent)."""
    client = access.find_client(uow, operator, name)
    return uow.privacy.export_client(operator.workspace_id, client.id)


# --- erasure ------------------------------------------------------------------------------------

def erase_person(uow: UnitOfWork, person: Person, now: datetime, anonymous_name: Callable[[int], str],
                 requested_by: str) -> Erasure:
    """Anonymise ``person`` (see :class:`PrivacyRepository`) and record it; the caller commits."""
    rows = uow.privacy.erase_person(person.workspace_id, person.id, anonymous_name(person.id))
    return uow.privacy.record(person.workspace_id, Erasure(PERSON, person.id, requested_by, now, rows))


def erase_client(uow: UnitOfWork, operator: Person, name: str, now: datetime,
                 requested_by: str) -> tuple[Client, Erasure]:
    """Remove the client ``operator`` names and everything about it, and record it."""
    client = access.find_client(uow, operator, name)
    rows = uow.privacy.erase_client(operator.workspace_id, client.id)
    return client, uow.privacy.record(operator.workspace_id, Erasure(CLIENT, client.id, requested_by, now, rows))


def erased_people(uow: UnitOfWork, workspace_id: str) -> set[int]:
    return {e.subject_id for e in uow.privacy.erasures(workspace_id) if e.kind == PERSON and e.subject_id}


# --- retention ----------------------------------------------------------------------------------

def retention_day(today: date, days: int) -> date:
    """The first day whose note text is kept: ``days`` days before ``today``."""
    return today - timedelta(days=days)


def apply_retention(uow: UnitOfWork, workspace_id: str, today: date, days: int | None, now: datetime,
                    requested_by: str) -> Erasure | None:
    """Blank the note text dated more than ``days`` days before ``today`` (``None``: keep it all),
    and record the run when it blanked anything; the caller commits."""
    if not days:
        return None
    before = retention_day(today, days)
    rows = uow.privacy.blank_before(workspace_id, before)
    if not any(rows.values()):
        return None
    return uow.privacy.record(workspace_id, Erasure(RETENTION, None, requested_by, now, rows, before))


# --- who is active ------------------------------------------------------------------------------

def set_active(uow: UnitOfWork, person: Person, active: bool) -> Person:
    """Deactivate someone who left (no digests, reminders or check-ins; the coach refuses them;
    their history stays with the team), or bring them back. An erased person stays erased."""
    if active and person.id in erased_people(uow, person.workspace_id):
        raise CoachError(Msg("privacy.erased_stays", {"email": person.email}))
    return uow.people.set_active(person.workspace_id, person.id, active)


def sync_active(uow: UnitOfWork, workspace_id: str, listed: Collection[str]) -> tuple[int, int]:
    """A roster file that is the whole roster: whoever it lists (by e-mail, lower case) is active,
    whoever it does not is deactivated (an erased person's e-mail is no address a file can list).
    (deactivated, reactivated)."""
    off = back = 0
    for person in uow.people.list(workspace_id):
        wanted = person.email in listed
        if person.active == wanted:
            continue
        uow.people.set_active(workspace_id, person.id, wanted)
        off, back = off + (not wanted), back + wanted
    return off, back
