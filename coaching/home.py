"""The rep's own overview (Slack's App Home, the console's ``home``): what needs them today,
the promises they owe, and their clients ordered by risk, each with balance and last touch."""

from __future__ import annotations

from datetime import date

from coaching import metrics, services, views
from coaching.messages import Msg, PersonName, msg
from coaching.model import Person, Purpose
from coaching.nudges import ClientHistory, detect
from coaching.ports import UnitOfWork
from coaching.replies import Reply
from coaching.rules import Rules

SHOWN_NUDGES = 5
SHOWN_CLIENTS = 15
SUMMARY_CLIENTS = 25
GIVE_ASK_DAYS = 90


def overview(uow: UnitOfWork, person: Person, today: date, rules: Rules) -> Reply:
    histories = list(uow.histories.client_histories(person.workspace_id, today, rep_id=person.id))
    found = sorted((n for h in histories for n in detect(h, today, rules.nudging)), key=lambda n: -n.stake)
    lines: list[Msg | str] = [msg("home.title", name=PersonName(person.name), on=today)]
    lines.append(msg("home.nudges", count=len(found)) if found else msg("nudge.none"))
    lines += [views.nudge_line(n) for n in found[:SHOWN_NUDGES]]
    promises = services.open_promises(uow, person)
    names = {h.client_id: h.client_name for h in histories}
    lines.append(msg("home.promises", count=len(promises)) if promises else msg("promise.none"))
    lines += [msg("home.promise", client=names.get(p.client_id, "?"), promise=p.text, due=p.due_on) for p in promises[:10]]
    ordered = by_risk(histories, today, rules)
    if ordered:
        lines.append(msg("home.clients", count=len(ordered)))
    lines += [client_line(h, today) for h in ordered[:SHOWN_CLIENTS]]
    return Reply.of(*lines)


def by_risk(histories: list[ClientHistory], today: date, rules: Rules) -> list[ClientHistory]:
    """Most at risk first (the team-health risk score), then the lowest balance."""
    risk = {r.client_id: r.score for r in metrics.clients_at_risk(histories, {}, today, rules.nudging, limit=len(histories))}
    return sorted(histories, key=lambda h: (-risk.get(h.client_id, 0), h.balance, h.client_name.casefold()))


def trend(history: ClientHistory) -> str:
    """↑, ↓ or → : the balance against four weeks before."""
    before = history.balance_before or 0
    return "↑" if history.balance > before else "↓" if history.balance < before else "→"


def client_line(h: ClientHistory, today: date) -> Msg:
    """Balance and its trend, days since the last touch, give:ask over the last 90 days."""
    last = h.last_touch
    recent = [t for t in h.touches if 0 <= (today - t.on).days < GIVE_ASK_DAYS]
    counts = {"gives": sum(t.purpose is Purpose.GIVE for t in recent),
              "asks": sum(t.purpose is Purpose.ASK for t in recent)}
    if last is None:
        return msg("home.client_never", client=h.client_name, balance=h.balance, trend=trend(h), **counts)
    return msg("home.client", client=h.client_name, balance=h.balance, trend=trend(h),
               days=(today - last).days, **counts)


def summary(uow: UnitOfWork, person: Person, today: date, rules: Rules) -> Reply:
    """``ledger`` with no client: the rep's own book, most at risk first."""
    histories = list(uow.histories.client_histories(person.workspace_id, today, rep_id=person.id))
    if not histories:
        return Reply.of(msg("home.summary_empty"))
    ordered = by_risk(histories, today, rules)
    lines: list[Msg | str] = [msg("home.summary_title", count=len(ordered),
                                  total=sum(h.balance for h in histories))]
    lines += [client_line(h, today) for h in ordered[:SUMMARY_CLIENTS]]
    if len(ordered) > SUMMARY_CLIENTS:
        lines.append(msg("home.summary_more", count=len(ordered) - SUMMARY_CLIENTS))
    lines.append(msg("home.summary_hint"))
    return Reply.of(*lines)
