"""Recording, claiming and sending one message: the steps every job shares.

A message is recorded and claimed (``sending``) in one transaction under the recipient's lock,
sent outside any transaction, then recorded ``sent`` or ``failed``; see :mod:`coaching.jobs`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Callable

from coaching import schedule
from coaching.errors import MaybeDelivered
from coaching.model import Person
from coaching.nudges import Nudge
from coaching.ports import Notifier, Traceable, UnitOfWork, UnitOfWorkFactory
from coaching.records import FAILED, INTERRUPTED, PENDING, SENT, SKIPPED, Delivery, DeliveryItem, person_recipient
from coaching.replies import Reply
from coaching.rules import Rules

from coaching.jobs.reports import UNREACHABLE, JobReport, delivery_key, log

Send = Callable[[str | None], str | None]  # a send, given the delivery's key; returns where it landed


def _item(n: Nudge) -> DeliveryItem:
    return DeliveryItem(n.rep_id, n.subject, n.kind.value, n.client_id, n.stake)


def recorded_items(delivery: Delivery) -> set[tuple[str, str]]:
    """The (subject, kind) of every item a message was recorded with."""
    return {(i.subject, i.kind) for i in delivery.items}


class Sending:
    """What every job needs: the unit of work, the notifier, the rules, the plan and the clock."""

    def __init__(self, uow_factory: UnitOfWorkFactory, notifier: Notifier, rules: Rules,
                 plan: schedule.Schedule, clock: Callable[[], datetime], note_retention_days: int | None = None) -> None:
        self.uow_factory, self.notifier, self.rules = uow_factory, notifier, rules
        self.plan, self.clock = plan, clock
        self.note_retention_days = note_retention_days  # the daily upkeep blanks older note text (None: kept)

    # --- recording ------------------------------------------------------------------------------

    def _send_items(self, workspace_id: str, job: str, person: Person, day: date, nudges: list[Nudge],
                    report: JobReport, choose: Callable[[list[Nudge]], list[Nudge]],
                    build: Callable[[list[Nudge]], Reply | None]) -> None:
        """A message made of nudge items: record it with the items no other message of the day
        carries, claim it, and send exactly what was recorded."""
        recipient = person_recipient(person.id)
        with self.uow_factory() as uow:
            uow.lock(f"{workspace_id}:{recipient}:{day.isoformat()}")
            taken = uow.deliveries.items_on(workspace_id, person.id, day)
            chosen = choose([n for n in nudges if (n.subject, n.kind.value) not in taken])
            planned = uow.deliveries.plan(workspace_id, job, recipient, person.id, day,
                                          [_item(n) for n in chosen], self.clock(),
                                          status=PENDING if chosen else SKIPPED)
            if planned is None:  # another replica (or an earlier run) has it
                return
            if not chosen:
                uow.commit()
                report.skipped += 1
                return
            claimed = uow.deliveries.claim(workspace_id, planned.id, self.clock(), self.plan.max_attempts)
            uow.commit()
        if claimed is None:
            return
        recorded = recorded_items(claimed)
        reply = build([n for n in chosen if (n.subject, n.kind.value) in recorded])
        if reply is None:  # every item was taken by another message of the day
            self._skip(workspace_id, claimed, report)
            return
        self._deliver(workspace_id, claimed, person, reply, report)

    def _send_reply(self, workspace_id: str, job: str, recipient: str, person_id: int | None, day: date,
                    report: JobReport, build: Callable[[UnitOfWork], Reply | None],
                    send: Callable[[Reply], Send]) -> None:
        """A message that is one reply (the weekly view, a team's count): built only when not
        recorded yet, recorded and claimed under the recipient's lock, then sent."""
        with self.uow_factory() as uow:
            uow.lock(f"{workspace_id}:{recipient}:{day.isoformat()}")
            if (recipient, day) in uow.deliveries.recorded(workspace_id, job, [day]):
                return
            reply = build(uow)
            planned = uow.deliveries.plan(workspace_id, job, recipient, person_id, day, (), self.clock(),
                                          status=PENDING if reply else SKIPPED)
            if planned is None:
                return
            claimed = uow.deliveries.claim(workspace_id, planned.id, self.clock(), self.plan.max_attempts) if reply else None
            uow.commit()
        if reply is None:
            report.skipped += 1
            return
        if claimed is not None:
            self._finish(workspace_id, claimed, send(reply), report)

    def _claim(self, workspace_id: str, delivery: Delivery) -> Delivery | None:
        with self.uow_factory() as uow:
            claimed = uow.deliveries.claim(workspace_id, delivery.id, self.clock(), self.plan.max_attempts)
            uow.commit()
        return claimed

    def _skip(self, workspace_id: str, delivery: Delivery, report: JobReport, reason: str = "empty") -> None:
        with self.uow_factory() as uow:
            uow.deliveries.finish(workspace_id, delivery.id, SKIPPED, self.clock(), reason=reason)
            uow.commit()
        report.skipped += 1

    # --- sending ------------------------------------------------------------------------------------

    def _to_person(self, person: Person, reply: Reply) -> Send:
        """The send of ``reply`` to ``person``, given the delivery's key (passed on only to a
        notifier that tags its messages)."""
        if isinstance(self.notifier, Traceable):
            return lambda key: self.notifier.send(person, reply, key=key)
        return lambda key: self.notifier.send(person, reply)

    def _to_channel(self, channel: str, reply: Reply, locale: str | None) -> Send:
        if isinstance(self.notifier, Traceable):
            return lambda key: self.notifier.send_channel(channel, reply, locale, key=key)
        return lambda key: self.notifier.send_channel(channel, reply, locale)

    def _deliver(self, workspace_id: str, claimed: Delivery, person: Person, reply: Reply, report: JobReport) -> None:
        self._finish(workspace_id, claimed, self._to_person(person, reply), report)

    def _finish(self, workspace_id: str, claimed: Delivery, send: Send, report: JobReport) -> None:
        reason = platform = None
        try:
            channel = send(delivery_key(workspace_id, claimed))
        except MaybeDelivered as error:  # it may have arrived: never resent unless the platform says it did not
            platform = getattr(error, "platform", None)
            log.warning("a %s message may or may not have been delivered (%s); it is not sent again unless "
                        "%s says it never got it", claimed.job, error, platform or "the platform")
            channel, reason = None, INTERRUPTED
        except Exception as error:  # a platform's failure is recorded; the run goes on
            log.warning("a %s message could not be delivered: %s", claimed.job, type(error).__name__)
            channel, reason = None, type(error).__name__
        with self.uow_factory() as uow:
            if channel:
                uow.deliveries.finish(workspace_id, claimed.id, SENT, self.clock(), channel=channel)
                report.sent += 1
            else:
                uow.deliveries.finish(workspace_id, claimed.id, FAILED, self.clock(), reason=reason or UNREACHABLE,
                                      channel=platform)
                report.failed += 1
            uow.commit()
