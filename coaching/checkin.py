"""The end-of-day check-in: "Any client touches today?", answered with one tap per client.

At ``Schedule.checkin_time`` (17:30 by default) on a working day, each rep who has not logged
anything that day gets a short message: one button for each client they most likely touched
(open promises due by tomorrow, the clients of this morning's digest and reminders), "someone
else", and "not today". A touch captured from an opted-in client channel has happened but its
purpose is unknown; the check-in asks for it with one tap per purpose, even on a day the rep
logged something else.

A tap starts the shortest logging flow (:func:`coaching.logflow.tap`): the purpose, whether
a promise was made, saved. The check-in is one delivery per rep and local date, like the
digests (:mod:`coaching.jobs`), so it is asked once; a rep who says "not today" before it
goes out records that day's delivery as declined, and it never goes out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from coaching import access, commands
from coaching.messages import PersonName, msg
from coaching.model import Person, Purpose, Source
from coaching.ports import UnitOfWork
from coaching.records import SKIPPED, person_recipient
from coaching.replies import Choice, Reply

JOB = "checkin"
DECLINED = "declined"  # the reason a check-in was skipped because the rep said "not today"
CHOICES = 5  # client buttons at most (Teams shows six actions a row comfortably; Slack 25)
NOT_TODAY = commands.NOT_TODAY_WORDS


@dataclass(frozen=True)
class Checkin:
    """What the check-in of one rep's day asks about."""

    logged: bool  # the rep logged a touch today already (by any way but channel capture)
    pending: tuple[tuple[int, str], ...]  # (touch id, client name): captured, purpose unsaid
    candidates: tuple[tuple[int, str], ...]  # (client id, name): likely touched today


def gather(uow: UnitOfWork, person: Person, day: date, size: int = CHOICES) -> Checkin:
    """The rep's day as the check-in sees it, in a few reads: only the clients it names are
    looked up (never the rep's whole book, which the job would otherwise read once per rep)."""
    ws, teams = person.workspace_id, set(access.visible_team_ids(uow, person))  # read once, not per client

    def named(client_id: int) -> tuple[int, str] | None:
        client = uow.clients.get(ws, client_id)
        return None if client is None or client.team_id not in teams else (client.id, client.name)

    todays = uow.interactions.for_rep_on(ws, person.id, day)
    logged = any(t.source != Source.CHANNEL for t in todays)
    pending = tuple((t.id, found[1] if (found := named(t.client_id)) else "?")
                    for t in todays if t.purpose is Purpose.PENDING)
    touched = {t.client_id for t in todays}
    likely = [p.client_id for p in uow.promises.open_for(ws, rep_id=person.id)  # soonest due first
              if p.due_on <= day + timedelta(days=1)]
    likely += [i.client_id for i in uow.deliveries.sent_items_between(ws, [person.id], day, day)
               if i.client_id is not None]
    candidates: list[tuple[int, str]] = []
    for cid in dict.fromkeys(likely):
        if len(candidates) == size:
            break
        if cid not in touched and (found := named(cid)):
            candidates.append(found)
    return Checkin(logged, pending, tuple(candidates))


def reply(person: Person, checkin: Checkin) -> Reply | None:
    """The check-in message; ``None`` when there is nothing to ask (the rep logged today and
    no captured touch waits for its purpose)."""
    if checkin.logged and not checkin.pending:
        return None
    items = []
    for touch_id, client in checkin.pending:
        purposes = tuple(Choice(commands.button(commands.StatePurpose(touch_id, p)), msg(f"purpose.{p.value}.short"))
                         for p in Purpose.stated())
        items.append((msg("checkin.captured", client=client), purposes))
    if not checkin.logged:
        taps = tuple(Choice(commands.button(commands.Tap(cid)), name) for cid, name in checkin.candidates)
        taps += (Choice(commands.button(commands.Tap(None)), msg("checkin.someone_else")),
                 Choice(commands.button(commands.NotToday()), msg("checkin.none")))
        items.append((msg("checkin.ask" if checkin.candidates else "checkin.ask_open"), taps))
    built = Reply.of_items((msg("checkin.title", name=PersonName(person.name, greeting=True)),), items)
    return dataclasses.replace(built, picker="client" if not checkin.logged else None)


def decline(uow: UnitOfWork, person: Person, day: date, now: datetime) -> bool:
    """"Not today": record the day's check-in as declined so it is not sent. False when it was
    already recorded (sent, or declined before)."""
    planned = uow.deliveries.plan(person.workspace_id, JOB, person_recipient(person.id), person.id, day, (), now,
                                  status=SKIPPED)
    if planned is None:
        return False
    uow.deliveries.finish(person.workspace_id, planned.id, SKIPPED, now, reason=DECLINED)
    return True
