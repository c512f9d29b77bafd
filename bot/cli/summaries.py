"""``coach summaries check`` and ``coach summaries rebuild``: the per-client summaries the daily
scan and team health read (:mod:`storage.summaries`) against the records they come from."""

from __future__ import annotations

import click

from bot.cli.common import Fail, load_coach, main, say
from coaching.messages import msg
from storage import summaries

SHOWN = 10  # drifted clients named; the count says how many in all


@main.group("summaries")
def summaries_group() -> None:
    """The per-client summaries kept with every write."""


@summaries_group.command("check")
def check() -> None:
    """Recompute every client's summary and compare it with the one kept. Exit 1 on any difference."""
    coach = load_coach()
    with coach.uow_factory() as uow:
        drift = summaries.check(uow.session, coach.workspace)
        names = {c.id: c.name for c in uow.clients.list(coach.workspace)} if drift else {}
    if not drift:
        click.echo(say(coach, msg("cli.summaries_ok")))
        return
    for d in drift[:SHOWN]:
        fields = sorted(k for k in d.computed.__dataclass_fields__
                        if d.stored is None or getattr(d.stored, k) != getattr(d.computed, k))
        click.echo(say(coach, msg("cli.summaries_drift_line", client=names.get(d.client_id, str(d.client_id)),
                                  fields=", ".join(fields) if d.stored is not None else "-")))
    raise Fail(msg("cli.summaries_drift", count=len(drift)), status=1)


@summaries_group.command("rebuild")
def rebuild() -> None:
    """Recompute every client's summary from its records, in one transaction."""
    coach = load_coach()
    with coach.uow_factory() as uow:
        count = summaries.rebuild(uow.session, coach.workspace)
        uow.commit()
    click.echo(say(coach, msg("cli.summaries_rebuilt", count=count)))
