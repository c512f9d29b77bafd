"""The moments a rep records outside a touch's log: a setback (a claim that proved false, a
misunderstanding), its correction, a deal won, a problem solved, a trust level stated.

Each is a service over an open unit of work, reached the same way from every channel, checked
through :mod:`coaching.access`, and idempotent where a platform retry could repeat it (the
engine's claim of the message id covers the rest).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from coaching import ledger
from coaching.access import CoachError, find_client, visible_client
from coaching.messages import Msg
from coaching.model import (
    Client,
    InteractionDraft,
    Kind,
    LedgerEntry,
    Person,
    Purpose,
    Setback,
    Source,
    TrustLevel,
)
from coaching.ports import UnitOfWork
from coaching.rules import Rules
from coaching.vocabulary import norm

MAX_WHAT = 300  # what happened, as the passbook quotes it


@dataclass(frozen=True)
class Booked:
    """What a moment changed: the client, the ledger entry (if any) and the balance after."""

    client: Client
    entry: LedgerEntry | None
    balance: int


def _client(uow: UnitOfWork, person: Person, name: str, client_id: int | None) -> Client:
    if client_id is not None:
        client = visible_client(uow, person, client_id)
        if client is None:
            raise CoachError(Msg("error.no_client_none", {"name": str(client_id)}))
        return client
    return find_client(uow, person, name)


def record_setback(uow: UnitOfWork, rep: Person, name: str, kind: Setback, what: str, today: date,
                   rules: Rules, client_id: int | None = None) -> Booked:
    """A false claim resets the client's balance to ``breach_reset_to`` at once; a
    misunderstanding costs ``misunderstanding``. Either opens a recovery that only a correction
    closes. The same words recorded twice the same day count once."""
    what = what.strip()[:MAX_WHAT]
    if not what:
        raise CoachError(Msg("setback.usage", {}))
    client = _client(uow, rep, name, client_id)
    ws, key = rep.workspace_id, f"{kind.value}:{client.id}:{today.isoformat()}:{norm(what)[:80]}"
    if kind is Setback.FALSE_CLAIM:
        draft = ledger.for_breach(client.id, rep.id, uow.ledger.balance(ws, client.id), today, key, what, rules.points)
    else:
        draft = ledger.for_misunderstanding(client.id, rep.id, today, key, what, rules.points)
    entry = uow.ledger.add(ws, draft)
    return Booked(client, entry, uow.ledger.balance(ws, client.id))


def put_right(uow: UnitOfWork, rep: Person, name: str, what: str, today: date, rules: Rules) -> Booked:
    """The rep put the open setback right (ideally in writing): a touch, and an entry that ends
    the recovery, worth ``put_right_fast`` when it came within ``put_right_fast_days``."""
    what = what.strip()[:MAX_WHAT]
    if not what:
        raise CoachError(Msg("put_right.usage", {}))
    client = find_client(uow, rep, name)
    ws = rep.workspace_id
    setback = ledger.open_setback(uow.ledger.for_client(ws, client.id), today, rules.nudging.recovery_window_days)
    if setback is None:
        raise CoachError(Msg("put_right.none", {"client": client.name}))
    touch = uow.interactions.add(ws, rep.id, InteractionDraft(
        client.id, today, Kind.EMAIL, Purpose.SERVICE, note=what, source=Source.COMMAND.value,
        external_id=f"put_right:{setback.id}"))
    cause = f"put_right:{setback.id}"  # one correction per setback
    draft = ledger.for_put_right(client.id, rep.id, setback.occurred_on, today, cause, what, rules.points)
    entry = uow.ledger.add(ws, draft) if touch is not None else None
    return Booked(client, entry, uow.ledger.balance(ws, client.id))


def record_win(uow: UnitOfWork, rep: Person, name: str, what: str, today: date) -> Client:
    """A deal won today: from here the coach watches that contact does not thin out."""
    client = find_client(uow, rep, name)
    uow.deals.add(rep.workspace_id, client.id, rep.id, None, today, what.strip()[:MAX_WHAT])
    return client


def solve_problems(uow: UnitOfWork, rep: Person, name: str, today: date) -> tuple[Client, int]:
    """Every problem of the client not marked solved yet is solved today (one never answered
    counts as answered today too)."""
    client = find_client(uow, rep, name)
    open_ = uow.problems.unresolved(rep.workspace_id, client.id)
    for problem in open_:
        uow.problems.resolve(rep.workspace_id, problem.id, today)
    return client, len(open_)


def state_trust(uow: UnitOfWork, rep: Person, name: str, level: int | None, today: date) -> Client:
    """The rep states the client's trust level; later touches move it only when they agree."""
    if level is None or not 1 <= level <= 4:
        raise CoachError(Msg("trust.usage", {}))
    client = find_client(uow, rep, name)
    uow.clients.set_trust(rep.workspace_id, client.id, TrustLevel(level), today, None, None)
    return client
