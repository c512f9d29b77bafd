"""The rep's own overview (Slack's App Home, the console's ``home``): what needs them today,
the promises they owe, and their clients ordered by risk, each with balance and last touch."""

from __future__ import annotations

from datetime import date

from coaching import metrics, services, views
from coaching.messages import Msg, msg
from coaching.model import Person
from coaching.nudges import detect
from coaching.ports import UnitOfWork
from coaching.replies import Reply
from coaching.rules import Rules

SHOWN_NUDGES = 5
SHOWN_CLIENTS = 15


def overview(uow: UnitOfWork, person: Person, today: date, rules: Rules) -> Reply:
    histories = list(uow.histories.client_histories(person.workspace_id, today, rep_id=person.id))
    found = sorted((n for h in histories for n in detect(h, today, rules.nudging)), key=lambda n: -n.stake)
    lines: list[Msg | str] = [msg("home.title", name=person.name, on=today)]
    lines.append(msg("home.nudges", count=len(found)) if found else msg("nudge.none"))
    lines += [views.nudge_line(n) for n in found[:SHOWN_NUDGES]]
    promises = services.open_promises(uow, person)
    names = {h.client_id: h.client_name for h in histories}
    lines.append(msg("home.promises", count=len(promises)) if promises else msg("promise.none"))
    lines += [msg("home.promise", client=names.get(p.client_id, "?"), promise=p.text, due=p.due_on) for p in promises[:10]]
    risk = {r.client_id: r.score for r in metrics.clients_at_risk(histories, {}, today, rules.nudging, limit=len(histories))}
    ordered = sorted(histories, key=lambda h: (-risk.get(h.client_id, 0), h.balance, h.client_name.casefold()))
    if ordered:
        lines.append(msg("home.clients", count=len(ordered)))
    for h in ordered[:SHOWN_CLIENTS]:
        last = h.last_touch
        lines.append(msg("home.client", client=h.client_name, balance=h.balance,
                         days=(today - last).days if last else msg("health.na")))
    return Reply.of(*lines)
