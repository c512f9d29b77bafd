"""HubSpot activity exports: calls, meetings, notes and emails, one file each, with their
documented internal property names (``hs_timestamp``, ``hubspot_owner_id``, ``hs_call_title``,
``hs_call_body``, ...) or the English export labels ("Activity date", "Call notes", ...).

- The record id (``hs_object_id``, "Record ID") is the touch's external id.
- The owner is ``hubspot_owner_id`` through the owners file (id, e-mail), or an owner column
  holding an e-mail or a name on the roster.
- The client is the associated company's name ("Associated Company"; the first of several),
  or its id through a companies file.
- The day is ``hs_timestamp`` (ISO 8601 or epoch milliseconds, read in UTC) or the "Activity
  date" as written. A meeting cancelled or not attended, and a call not completed, are no touch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from coaching.imports.activities import Activity, Context, Record, Skip, client_name, values_of
from coaching.model import Kind


@dataclass(frozen=True)
class Shape:
    kind: Kind | None
    subject: tuple[str, ...]
    body: tuple[str, ...]


SHAPES = {
    "calls": Shape(Kind.CALL, ("hs_call_title", "call title"), ("hs_call_body", "call notes", "notes")),
    "meetings": Shape(Kind.MEETING, ("hs_meeting_title", "meeting name", "meeting title"),
                      ("hs_meeting_body", "meeting description", "description")),
    "notes": Shape(None, (), ("hs_note_body", "note body", "note")),
    "emails": Shape(Kind.EMAIL, ("hs_email_subject", "email subject", "subject"),
                    ("hs_email_text", "email body", "body", "hs_email_html")),
}
ID = ("hs_object_id", "record id", "activity id", "id")
WHEN = ("hs_timestamp", "activity date", "timestamp", "date")
OWNER_ID = ("hubspot_owner_id", "activity owner id", "owner id")
OWNER = ("activity assigned to", "activity owner", "call owner", "meeting owner", "owner", "created by")
COMPANY = ("associated company", "associated companies", "company name", "company")
COMPANY_ID = ("associated company ids", "associated company id", "associatedcompanyid", "company id")
NOT_HELD = ("canceled", "cancelled", "no_show", "no show", "failed", "busy", "no_answer", "no answer")
STATUS = ("hs_meeting_outcome", "meeting outcome", "hs_call_status", "call status", "outcome")


def owners(rows: Iterable[Record]) -> dict[str, str]:
    """``{owner id: e-mail}`` from an owners file (id, email)."""
    found = {}
    for record in rows:
        if (key := record.get("id", "owner id", "hubspot_owner_id", "user id")) and (email := record.get("email")):
            found[key] = email
    return found


def companies(rows: Iterable[Record]) -> dict[str, str]:
    """``{company id: name}`` from a companies file."""
    found = {}
    for record in rows:
        if (key := record.get("hs_object_id", "record id", "company id", "id")) and (
                name := record.get("name", "company name")):
            found[key] = name
    return found


def _client(record: Record, ids: dict[str, str], ctx: Context) -> str | None:
    name = client_name(record.get(*COMPANY))
    if name is None and (key := next(iter(values_of(record.get(*COMPANY_ID))), "")):
        name = client_name(ids.get(key, ""))
        if name is None:
            ctx.tally.skip(Skip.UNKNOWN_CLIENT, record.file, record.line)
            return None
    if name is None:
        ctx.tally.skip(Skip.NO_CLIENT, record.file, record.line)
    return name


def _owner(record: Record, ids: dict[str, str], ctx: Context) -> str | None:
    if key := record.get(*OWNER_ID):
        if key not in ids:
            ctx.tally.skip(Skip.NO_OWNER, record.file, record.line)
            return None
        return ctx.rep(record, ids[key])
    return ctx.rep(record, record.get(*OWNER))


def activities(kind: str, rows: Iterable[Record], owner_ids: dict[str, str], company_ids: dict[str, str],
               ctx: Context) -> list[Activity]:
    """The touches of one export file; ``kind``: calls, meetings, notes or emails."""
    shape, found = SHAPES[kind], []
    for record in rows:
        if record.get(*STATUS).casefold() in NOT_HELD:
            ctx.tally.skip(Skip.CANCELLED, record.file, record.line)
            continue
        client = _client(record, company_ids, ctx)
        rep = _owner(record, owner_ids, ctx) if client else None
        on = ctx.dated(record, record.get(*WHEN)) if rep else None
        if client is None or rep is None or on is None:
            continue
        found.append(Activity(record.file, record.line, f"hubspot:{kind}:{record.get(*ID)}", rep, client, on,
                              shape.kind, record.get(*shape.subject) if shape.subject else "",
                              record.get(*shape.body)))
    return found


REQUIRED = {kind: (ID, WHEN) for kind in SHAPES}  # each a choice of names: one of them must be there
