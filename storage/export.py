"""Everything a workspace holds about one person or one client, as JSON-able rows.

The rows are found the way an erasure finds them (:mod:`storage.erasure`): every table whose
foreign key points at the person or the client (from the schema, so a new table is exported by
itself), the feedback and nudge items about the client, and the text elsewhere that names them
(others' notes, conversations under way, the claims of platform requests, request bodies still
waiting). Each row comes whole, every column, dates as ISO strings.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Callable, Sequence

from sqlalchemy import ColumnElement, Table, or_, select
from sqlalchemy.orm import Session

from storage import redaction
from storage.erasure import references, refers_to, subjects_of
from storage.models import (
    ClientRow, ConversationRow, DeliveryItemRow, InboundRequestRow, NudgeFeedbackRow, PersonRow, ProcessedRequestRow,
    TeamMemberRow, TeamRow,
)


def plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _rows(session: Session, table: Table, *where: ColumnElement[bool]) -> list[dict[str, Any]]:
    order = list(table.primary_key.columns)
    return [{k: plain(v) for k, v in row.items()}
            for row in session.execute(select(table).where(*where).order_by(*order)).mappings()]


def _pointing(session: Session, workspace_id: str, target: str, row_id: int) -> dict[str, list[dict[str, Any]]]:
    """The rows of every table whose foreign key points at ``target``'s row ``row_id``."""
    found: dict[str, list[dict[str, Any]]] = {}
    columns = references(target)
    for table, column in columns:
        several = sum(t is table for t, _ in columns) > 1
        scope = [table.c.workspace_id == workspace_id] if "workspace_id" in table.c else []
        found[f"{table.name}.{column.name}" if several else table.name] = _rows(session, table, column == row_id,
                                                                                 *scope)
    return found


def _elsewhere(session: Session, workspace_id: str, found: Sequence[str], theirs: set[tuple[str, int]],
               talks: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Text outside their own rows (``theirs``: table and id) that names them: others' notes and
    quotations, conversations under way (``talks`` picks theirs), claims of platform requests,
    request bodies still waiting."""
    mentions = [{"table": row.__tablename__, "id": r.id, "column": column.key, "text": text}
                for r, column, text in redaction.texts_naming(session, workspace_id, found)
                for row in (column.class_,)]
    mentions += [{"table": "ledger_entries", "id": r.id, "column": "detail", "text": r.detail}
                 for r in redaction.entries_naming(session, workspace_id, found)]
    c, p, ir = ConversationRow, ProcessedRequestRow, InboundRequestRow
    return {
        "mentions": [m for m in mentions if (m["table"], m["id"]) not in theirs],
        "conversations": [row for row in _rows(session, c.__table__, c.workspace_id == workspace_id) if talks(row)],
        "processed_requests": _rows(session, p.__table__, p.workspace_id == workspace_id,
                                    redaction.mentions(p.key, found)),
        "inbound_requests": [row for row in _rows(session, ir.__table__, ir.body.is_not(None))
                             if redaction.holds(row["body"], found)],
    }


def _theirs(own: dict[str, list[dict[str, Any]]]) -> set[tuple[str, int]]:
    return {(table, row["id"]) for table, rows in own.items() for row in rows if "id" in row}


def _text(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, default=str)


def export_person(session: Session, workspace_id: str, person_id: int) -> dict[str, Any]:
    p = PersonRow
    [person] = _rows(session, p.__table__, p.workspace_id == workspace_id, p.id == person_id) or [None]
    if person is None:
        raise LookupError(f"no person {person_id} in workspace {workspace_id!r}")
    teams = session.scalars(select(TeamRow.name).join(TeamMemberRow, TeamMemberRow.team_id == TeamRow.id).where(
        TeamMemberRow.person_id == person_id).order_by(TeamMemberRow.position)).all()
    own = _pointing(session, workspace_id, "people", person_id)
    ids = {person[k] for k in ("email", "slack_user_id", "teams_user_id") if person[k]}
    found = redaction.needles([person["email"], person["name"], person["slack_user_id"], person["teams_user_id"]])
    regex = redaction.pattern(found)
    elsewhere = _elsewhere(session, workspace_id, found, _theirs(own), lambda row: row["user"] in ids or bool(
        regex and regex.search(_text(row))))
    return {"kind": "person", "workspace": workspace_id, "person": person, "teams": list(teams), **own, **elsewhere}


def export_client(session: Session, workspace_id: str, client_id: int) -> dict[str, Any]:
    c = ClientRow
    [client] = _rows(session, c.__table__, c.workspace_id == workspace_id, c.id == client_id) or [None]
    if client is None:
        raise LookupError(f"no client {client_id} in workspace {workspace_id!r}")
    team = session.scalar(select(TeamRow.name).where(TeamRow.id == client["team_id"]))
    own = _pointing(session, workspace_id, "clients", client_id)
    about = subjects_of(client_id, [r["id"] for r in own.get("promises", [])], [r["id"] for r in own.get("problems", [])])
    f, d = NudgeFeedbackRow, DeliveryItemRow
    own["nudge_feedback"] = _rows(session, f.__table__, f.workspace_id == workspace_id, about(f.subject))
    own["delivery_items"] = _rows(session, d.__table__, d.workspace_id == workspace_id,
                                  or_(d.client_id == client_id, about(d.subject)))
    found = redaction.needles([client["name"]])
    regex, refers = redaction.pattern(found), refers_to(client_id)
    elsewhere = _elsewhere(session, workspace_id, found, _theirs(own), lambda row: bool(
        refers.search(_text(row)) or (regex and regex.search(_text(row)))))
    return {"kind": "client", "workspace": workspace_id, "client": client, "team": team, **own, **elsewhere}
