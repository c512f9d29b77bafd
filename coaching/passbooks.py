"""A client's passbook (信用通帳): every entry with its reason and the balance after it, the
open promises, and why the trust level is what it is; as it stands today or as of a past day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from coaching import ledger, trust
from coaching.access import find_client
from coaching.messages import Msg
from coaching.model import Client, Person, Promise, PromiseStatus
from coaching.ports import UnitOfWork
from coaching.rules import Rules


@dataclass(frozen=True)
class PassbookView:
    client: Client
    lines: tuple[ledger.PassbookLine, ...]  # newest first
    balance: int
    open_promises: tuple[Promise, ...]
    trust: Msg | None = None  # why the trust level is what it is
    as_of: date | None = None  # the passbook as it stood that day (None: today)


def passbook(uow: UnitOfWork, viewer: Person, client_name: str, as_of: date | None = None,
             rules: Rules = Rules()) -> PassbookView:
    """The client's passbook; ``as_of`` a past day: nothing booked after it counts (the trust
    line is today's, a level has no history to go back to)."""
    client = find_client(uow, viewer, client_name)
    ws = viewer.workspace_id
    entries = [e for e in uow.ledger.for_client(ws, client.id) if as_of is None or e.occurred_on <= as_of]
    lines = ledger.passbook(entries)
    promises = [p for p in uow.promises.for_client(ws, client.id)
                if as_of is None and p.status is PromiseStatus.OPEN
                or as_of is not None and p.made_on <= as_of and (p.closed_on is None or p.closed_on > as_of)]
    stated = client.trust_level is not None and client.trust_asked_for is None
    signals = uow.interactions.trust_signals(ws, client.id, client.trust_assessed_on if stated else None,
                                             rules.trusting.trust_window)
    balance = lines[-1].balance_after if lines else 0
    return PassbookView(client, tuple(reversed(lines)), balance, tuple(promises),
                        trust.explain(client, signals, rules.trusting), as_of)
