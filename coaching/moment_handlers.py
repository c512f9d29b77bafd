"""Handlers for the turning points of a relationship (:mod:`coaching.moment_commands`):
record a setback, put it right, a deal won, problems solved, a trust level stated."""

from __future__ import annotations

from coaching import commands as c
from coaching import moments
from coaching.access import CoachError, find_client
from coaching.handlers import Context, handles
from coaching.messages import msg
from coaching.model import Setback
from coaching.replies import Choice, Reply


@handles(c.Setback)
def setback(ctx: Context, command: c.Setback) -> Reply:
    """A false claim or a misunderstanding; when the kind was not said, two buttons ask it
    (they carry the client and what happened, so nothing is lost)."""
    if command.kind is None:
        if not command.client or not command.what.strip():
            raise CoachError(msg("setback.usage"))
        client = find_client(ctx.uow, ctx.person, command.client)
        what = command.what.strip()[:moments.MAX_WHAT]
        choices = tuple(Choice(c.button(c.Setback("", kind, what, client_id=client.id)),
                               msg(f"setback.choice.{kind.value}")) for kind in Setback)
        return Reply.of(msg("setback.which", client=client.name), choices=choices)
    booked = moments.record_setback(ctx.uow, ctx.person, command.client, command.kind, command.what, ctx.today,
                                    ctx.rules, client_id=command.client_id)
    amount = booked.entry.amount if booked.entry is not None else 0
    return Reply.of(msg(f"setback.{command.kind.value}", client=booked.client.name, what=command.what.strip(),
                        balance=booked.balance, amount=amount))


@handles(c.PutRight)
def put_right(ctx: Context, command: c.PutRight) -> Reply:
    booked = moments.put_right(ctx.uow, ctx.person, command.client, command.what, ctx.today, ctx.rules)
    amount = booked.entry.amount if booked.entry is not None else 0
    lines = [msg("put_right.fast" if amount > 0 else "put_right.late", client=booked.client.name, amount=amount)]
    return Reply.of(*lines, msg("ledger.balance_only", balance=booked.balance))


@handles(c.Won)
def won(ctx: Context, command: c.Won) -> Reply:
    if not command.client:
        raise CoachError(msg("won.usage"))
    client = moments.record_win(ctx.uow, ctx.person, command.client, command.what, ctx.today)
    return Reply.of(msg("won.recorded", client=client.name, on=ctx.today))


@handles(c.Solved)
def solved(ctx: Context, command: c.Solved) -> Reply:
    client, count = moments.solve_problems(ctx.uow, ctx.person, command.client, ctx.today)
    return Reply.of(msg("solved.recorded", client=client.name, count=count) if count
                    else msg("solved.none", client=client.name))


@handles(c.SetTrust)
def set_trust(ctx: Context, command: c.SetTrust) -> Reply:
    client = moments.state_trust(ctx.uow, ctx.person, command.client, command.level, ctx.today)
    level = command.level or 0
    return Reply.of(msg("trust.set", client=client.name, level=level, label=msg(f"trust.level.{level}")))
