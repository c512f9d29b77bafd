"""Salesforce Data Loader exports: Task and Event rows (headers are API field names, matched
case-insensitively), with Account.csv for the client's name and User.csv for the owner's e-mail.

- A task is a touch once done (``Status`` Completed, or ``IsClosed`` true); an open task is
  counted, not imported. An event is a touch once it has started (today or before).
- The client is the task's ``AccountId``; without one, its ``WhatId`` when that is an account
  (ids starting ``001``). A task on an opportunity carries the opportunity's account in
  ``AccountId``. Ids match in their 18- or 15-character form.
- The owner is ``OwnerId`` through User.csv's ``Email``, which must be on the roster.
- The day is ``ActivityDate`` as written (a date, never moved by a time zone); an event
  without one takes its ``StartDateTime``'s date, a task its ``CompletedDateTime``'s.
- The kind comes from ``TaskSubtype`` / ``EventSubtype`` / ``Type``; the note is ``Subject``
  and ``Description``. ``Id`` is the touch's external id: importing again adds nothing.
"""

from __future__ import annotations

from typing import Iterable

from coaching.imports.activities import Activity, Context, Record, Skip, client_name
from coaching.model import Kind

KINDS = {
    "call": Kind.CALL, "email": Kind.EMAIL, "listemail": Kind.EMAIL, "send letter": Kind.MESSAGE,
    "meeting": Kind.MEETING, "event": Kind.MEETING, "電話": Kind.CALL, "メール": Kind.EMAIL,
    "会議": Kind.MEETING, "打ち合わせ": Kind.MEETING, "訪問": Kind.VISIT, "visit": Kind.VISIT,
}
DONE = ("completed", "完了")
TRUE = ("true", "1", "yes")
ACCOUNT_PREFIX = "001"


def ids(rows: Iterable[Record], value: str) -> dict[str, str]:
    """``{Id: row[value]}`` from Account.csv (``Name``) or User.csv (``Email``), each id under
    its 18- and 15-character forms."""
    found: dict[str, str] = {}
    for record in rows:
        if (key := record.get("id")) and (wanted := record.get(value)):
            found[key] = wanted
            found.setdefault(key[:15], wanted)
    return found


def _lookup(table: dict[str, str], key: str) -> str | None:
    return table.get(key) or table.get(key[:15]) if key else None


def _client(record: Record, accounts: dict[str, str], ctx: Context) -> str | None:
    account = record.get("accountid")
    if not account and record.get("whatid").startswith(ACCOUNT_PREFIX):
        account = record.get("whatid")
    if not account:
        ctx.tally.skip(Skip.NO_CLIENT, record.file, record.line)
        return None
    name = _lookup(accounts, account)
    if name is None:
        ctx.tally.skip(Skip.UNKNOWN_CLIENT, record.file, record.line)
    return client_name(name) if name else None


def _owner(record: Record, users: dict[str, str], ctx: Context) -> str | None:
    email = _lookup(users, record.get("ownerid"))
    if email is None:
        ctx.tally.skip(Skip.NO_OWNER, record.file, record.line)
        return None
    return ctx.rep(record, email)


def _kind(record: Record, default: Kind | None) -> Kind | None:
    for value in (record.get("tasksubtype", "eventsubtype"), record.get("type")):
        if (kind := KINDS.get(value.casefold())) is not None:
            return kind
    return default


def _activity(record: Record, on_cell: str, kind: Kind | None, accounts: dict[str, str], users: dict[str, str],
              ctx: Context) -> Activity | None:
    if record.get("isdeleted").casefold() in TRUE:
        ctx.tally.skip(Skip.DELETED, record.file, record.line)
        return None
    client = _client(record, accounts, ctx)
    rep = _owner(record, users, ctx) if client else None
    on = ctx.dated(record, on_cell) if rep else None
    if client is None or rep is None or on is None:
        return None
    return Activity(record.file, record.line, f"salesforce:{record.get('id')}", rep, client, on,
                    _kind(record, kind), record.get("subject"), record.get("description"))


def tasks(rows: Iterable[Record], accounts: dict[str, str], users: dict[str, str], ctx: Context) -> list[Activity]:
    found = []
    for record in rows:
        if record.get("status").casefold() not in DONE and record.get("isclosed").casefold() not in TRUE:
            ctx.tally.skip(Skip.OPEN_TASK, record.file, record.line)
            continue
        day = record.get("activitydate") or record.get("completeddatetime")
        if (activity := _activity(record, day, None, accounts, users, ctx)) is not None:
            found.append(activity)
    return found


def events(rows: Iterable[Record], accounts: dict[str, str], users: dict[str, str], ctx: Context) -> list[Activity]:
    found = []
    for record in rows:
        day = record.get("activitydate") or record.get("startdatetime")
        if (activity := _activity(record, day, Kind.MEETING, accounts, users, ctx)) is not None:
            found.append(activity)
    return found


REQUIRED = {  # the columns each file must have (header keys)
    "tasks": ("id", "ownerid", "subject", "status"),
    "events": ("id", "ownerid", "subject"),
    "accounts": ("id", "name"),
    "users": ("id", "email"),
}
