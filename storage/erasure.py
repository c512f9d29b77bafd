"""Erasure on request, in the caller's transaction (:mod:`coaching.privacy` says what and why).

A **person** is anonymised, never removed: clients they own, touches they logged and points
booked keep pointing at their row, so the team's history still adds up. Every column that points
at a person has a line in :data:`PERSON_POLICY` (a test keeps it complete, and an erasure refuses
to run without one, so a new table is decided on rather than forgotten). A **client** is removed
with every row that points at it, found from the schema's foreign keys, so a new table holding a
client's rows is covered by itself.

Text that is not in a row of theirs is searched too: the person's name, e-mail and platform ids
(or the client's name) in others' notes, promises, problems and ledger quotations (blanked where
they appear), in conversations under way (dropped), in the claims of platform requests (dropped)
and in request bodies still waiting in the inbox (cleared).
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Sequence

from sqlalchemy import Column, ColumnElement, Table, delete, or_, select, update
from sqlalchemy.orm import Session

from coaching.privacy import REDACTED
from storage import redaction
from storage.models import (
    Base, ChatReferenceRow, ClientRow, ConversationRow, DealRow, InboundRequestRow, InteractionRow, LedgerEntryRow,
    NudgeFeedbackRow, PersonRow, ProblemRow, ProcessedRequestRow, PromiseRow, TeamSnapshotRow, DeliveryItemRow,
)
from storage.repositories import scoped_get
from storage.requests import DONE
from storage.summary_upkeep import mark

BLANKED, REMOVED, KEPT = "blanked", "removed", "kept"
# What erasing a person does to each column that points at them.
PERSON_POLICY = {
    "interactions.rep_id": BLANKED,  # their notes emptied, their external ids cleared
    "promises.rep_id": BLANKED,  # the words "…"; dates and outcome kept
    "problems.rep_id": BLANKED,
    "deals.rep_id": BLANKED,
    "ledger_entries.rep_id": BLANKED,  # quotations "…"; amounts, reasons and dates kept
    "conversation_references.person_id": REMOVED,  # where to reach them
    "team_members.person_id": KEPT,  # which team their work counted for
    "clients.owner_id": KEPT,  # the team's book
    "deliveries.person_id": KEPT,  # ids, dates and states: no words
    "delivery_items.rep_id": KEPT,
    "nudge_feedback.rep_id": KEPT,
    "channel_captures.enabled_by": KEPT,
}


def references(table_name: str) -> list[tuple[Table, Column[Any]]]:
    """Every column of the schema pointing at ``table_name``'s id, dependent tables first (the
    order rows can be deleted in)."""
    return [(table, fk.parent) for table in reversed(Base.metadata.sorted_tables) if table.name != table_name
            for fk in table.foreign_keys if fk.column.table.name == table_name and fk.column.name == "id"]


def _in_workspace(table: Table, workspace_id: str) -> list[ColumnElement[bool]]:
    return [table.c.workspace_id == workspace_id] if "workspace_id" in table.c else []


# --- a person -------------------------------------------------------------------------------------

def erase_person(session: Session, workspace_id: str, person_id: int, name: str) -> dict[str, int]:
    unplanned = [f"{t.name}.{c.name}" for t, c in references("people") if f"{t.name}.{c.name}" not in PERSON_POLICY]
    if unplanned:
        raise RuntimeError(f"no erasure policy for {unplanned}: add them to storage.erasure.PERSON_POLICY")
    person = scoped_get(session, PersonRow, workspace_id, person_id)
    if person is None:
        raise LookupError(f"no person {person_id} in workspace {workspace_id!r}")
    ids = {v for v in (person.email, person.slack_user_id, person.teams_user_id) if v}
    found = redaction.needles([person.email, person.name, person.slack_user_id, person.teams_user_id])
    counts, clients, said = _blank_own(session, workspace_id, person_id)
    c = ChatReferenceRow
    counts["conversation_references"] = session.execute(delete(c).where(
        c.workspace_id == workspace_id, or_(c.person_id == person_id, c.user_id.in_(sorted(ids))))).rowcount
    regex = redaction.pattern(found)
    counts["conversations"] = drop_dialogs(session, workspace_id, lambda user, text: user in ids or bool(
        regex and regex.search(text)))
    counts |= _forget_requests(session, workspace_id, found, redaction.needles(said))
    mentioned, more = redaction.scrub_mentions(session, workspace_id, found)
    session.execute(update(PersonRow).where(PersonRow.id == person_id).values(
        email=f"erased-{person_id}", name=name, slack_user_id=None, teams_user_id=None, locale=None,
        timezone="UTC", on_leave=False, active=False))
    counts["people"] = 1
    for client_id in sorted(clients | more):
        mark(session, workspace_id, client_id)  # their summaries quote the latest note
    return redaction.add({k: v for k, v in counts.items() if v}, mentioned)


def _blank_own(session: Session, workspace_id: str, person_id: int) -> tuple[dict[str, int], set[int], list[str]]:
    """Everything the person wrote, blanked: rows changed per table, the clients concerned, and
    the words of their setbacks (a button that recorded one carries them in its claim)."""
    i = InteractionRow
    clients = set(session.scalars(select(i.client_id).where(i.workspace_id == workspace_id, i.rep_id == person_id)
                                  .distinct()))
    counts = {"interactions": session.execute(update(i).where(i.workspace_id == workspace_id, i.rep_id == person_id)
                                              .values(note="", external_id=None)).rowcount}
    for row, values in ((PromiseRow, {"text": REDACTED}), (ProblemRow, {"text": REDACTED}), (DealRow, {"note": ""})):
        counts[row.__tablename__] = session.execute(update(row).where(
            row.workspace_id == workspace_id, row.rep_id == person_id).values(**values)).rowcount
    le = LedgerEntryRow
    quoted = session.execute(select(le.id, le.reason, le.detail).where(
        le.workspace_id == workspace_id, le.rep_id == person_id, le.reason.in_(redaction.QUOTING))).all()
    said = [str(r.detail.get("what", "")) for r in quoted if r.reason in redaction.SETBACKS and r.detail]
    counts["ledger_entries"] = redaction.rewrite_entries(session, quoted, redaction.blank_words)
    return counts, clients, said


# --- a client -------------------------------------------------------------------------------------

def erase_client(session: Session, workspace_id: str, client_id: int) -> dict[str, int]:
    client = scoped_get(session, ClientRow, workspace_id, client_id)
    if client is None:
        raise LookupError(f"no client {client_id} in workspace {workspace_id!r}")
    found = redaction.needles([client.name])
    le = LedgerEntryRow
    said = [str(d.get("what", "")) for d in session.scalars(select(le.detail).where(
        le.workspace_id == workspace_id, le.client_id == client_id, le.reason.in_(redaction.SETBACKS))) if d]
    counts = _forget_subjects(session, workspace_id, client_id)
    for table, column in references("clients"):
        removed = session.execute(delete(table).where(column == client_id, *_in_workspace(table, workspace_id)))
        counts[table.name] = counts.get(table.name, 0) + removed.rowcount
    regex, refers = redaction.pattern(found), refers_to(client_id)
    counts["conversations"] = drop_dialogs(session, workspace_id, lambda user, text: bool(
        refers.search(text) or (regex and regex.search(text))))
    counts |= _forget_requests(session, workspace_id, found, redaction.needles(said))
    counts["team_snapshots"] = session.execute(delete(TeamSnapshotRow).where(
        TeamSnapshotRow.workspace_id == workspace_id)).rowcount  # past figures counted the client
    session.execute(delete(ClientRow).where(ClientRow.id == client_id))
    counts["clients"] = 1
    mentioned, clients = redaction.scrub_mentions(session, workspace_id, found)
    for other in sorted(clients):
        mark(session, workspace_id, other)
    return redaction.add({k: v for k, v in counts.items() if v}, mentioned)


def refers_to(client_id: int) -> re.Pattern[str]:
    """A conversation's state (as JSON) that refers to the client: a log under way with it, the
    choices of a question about it."""
    return re.compile(rf'\b(?:client|tap):{client_id}\b|"client_id": {client_id}\b')


def subjects_of(client_id: int, promises: Sequence[int], problems: Sequence[int]
                ) -> Callable[[Any], ColumnElement[bool]]:
    """SQL for a nudge's subject about the client: "client:4:quiet", "promise:12", "problem:7:follow_up"."""
    exact = [f"client:{client_id}", *(f"promise:{p}" for p in promises), *(f"problem:{p}" for p in problems)]
    prefixes = [f"client:{client_id}:", *(f"problem:{p}:" for p in problems)]
    return lambda subject: or_(subject.in_(exact), *(subject.startswith(p, autoescape=True) for p in prefixes))


def _forget_subjects(session: Session, workspace_id: str, client_id: int) -> dict[str, int]:
    """Feedback on the client's nudges, and nudge items about it, found by their subjects."""
    promises = session.scalars(select(PromiseRow.id).where(
        PromiseRow.workspace_id == workspace_id, PromiseRow.client_id == client_id)).all()
    problems = session.scalars(select(ProblemRow.id).where(
        ProblemRow.workspace_id == workspace_id, ProblemRow.client_id == client_id)).all()
    about = subjects_of(client_id, promises, problems)
    counts = {}
    for row in (NudgeFeedbackRow, DeliveryItemRow):
        counts[row.__tablename__] = session.execute(delete(row).where(
            row.workspace_id == workspace_id, about(row.subject))).rowcount
    return counts


# --- where people talk to the coach -------------------------------------------------------------

def drop_dialogs(session: Session, workspace_id: str, doomed: Callable[[str, str], bool]) -> int:
    """Remove the conversations under way whose user, place or state ``doomed`` (user, all of
    it as text) picks; how many."""
    c = ConversationRow
    rows = session.execute(select(c.conversation, c.user, c.state).where(c.workspace_id == workspace_id)).all()
    picked = [(conversation, user) for conversation, user, state in rows
              if doomed(user, f"{conversation} {user} {json.dumps(state, ensure_ascii=False)}")]
    for conversation, user in picked:
        session.execute(delete(c).where(c.workspace_id == workspace_id, c.conversation == conversation,
                                        c.user == user))
    return len(picked)


def _forget_requests(session: Session, workspace_id: str, found: Sequence[str], said: Sequence[str]) -> dict[str, int]:
    """Claims of platform requests whose key names a needle (a button's value carries a new
    client's name, a setback's words), and request bodies still in the inbox that hold one."""
    p = ProcessedRequestRow
    claims = session.execute(delete(p).where(
        p.workspace_id == workspace_id, redaction.mentions(p.key, [*found, *said]))).rowcount
    ir = InboundRequestRow
    waiting = session.execute(select(ir.key, ir.body).where(ir.body.is_not(None))).all()
    keys = [key for key, body in waiting if redaction.holds(body, found)]
    if keys:
        session.execute(update(ir).where(ir.key.in_(keys)).values(status=DONE, body=None, content_type=None))
    return {"processed_requests": claims, "inbound_requests": len(keys)}
