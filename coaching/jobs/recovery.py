"""Messages whose send was cut short: marked interrupted once their lease runs out, then looked
up on the platform that may have them (found: sent; certainly absent: sent again)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Iterable, Mapping

from coaching.errors import MaybeDelivered
from coaching.model import Person, Team
from coaching.ports import Traceable
from coaching.records import FAILED, INTERRUPTED, NOT_RECEIVED, SENT, Delivery

from coaching.jobs.reports import JOBS, LOOK_UP_DAYS, JobReport, RunReport, delivery_key, log
from coaching.jobs.sending import Sending

Find = Callable[[str, datetime], str | None]  # a look-up, given the key and since when; where it is


def _finder(notifier: Traceable, delivery: Delivery, people: Mapping[int, Person],
            teams: Mapping[int, Team]) -> Find | None:
    """How to look ``delivery`` up: with its person, or in its team's channel; None when there
    is nobody to ask about any more."""
    person = people.get(delivery.person_id) if delivery.person_id is not None else None
    if person is not None:
        return lambda key, since: notifier.find(person, key, since, delivery.channel)
    kind, _, number = delivery.recipient.partition(":")
    team = teams.get(int(number)) if kind == "team" and number.isdigit() else None
    if team is not None and team.digest_channel:
        channel = team.digest_channel
        return lambda key, since: notifier.find_channel(channel, key, since, delivery.channel)
    return None


class Recovery(Sending):

    def recover(self, workspace_id: str, report: RunReport) -> None:
        cutoff = self.clock() - timedelta(minutes=self.plan.lease_minutes)
        with self.uow_factory() as uow:
            count = uow.deliveries.interrupt_stale(workspace_id, cutoff, self.clock())
            uow.commit()
        if count:
            log.warning("%d message(s) were interrupted mid-send; none is sent again unless the platform "
                        "says it never got it", count)
            report.job("all").interrupted += count

    def resolve(self, workspace_id: str, report: RunReport, jobs: Iterable[str] = JOBS,
                claimed_before: datetime | None = None) -> None:
        """Interrupted messages of the last two days, claimed before ``claimed_before`` (an
        earlier run: a platform still taking a message has had a tick), looked up on the
        platform that may have them. Found: ``sent``. Certainly absent: ``failed`` with reason
        ``not_received``, which :meth:`retry` sends again at once if it is still that person's
        day. Otherwise left as they are. Only with a ``Traceable`` notifier."""
        if not isinstance(self.notifier, Traceable):
            return
        wanted = set(jobs)
        before = claimed_before or self.clock()
        with self.uow_factory() as uow:
            found = [d for d in uow.deliveries.interrupted(workspace_id, before - LOOK_UP_DAYS, before)
                     if d.job in wanted]
            if not found:
                return
            people = {p.id: p for p in uow.people.list(workspace_id)}
            teams = {t.id: t for t in uow.teams.list(workspace_id)}
        for delivery in found:
            find = _finder(self.notifier, delivery, people, teams)
            if find is not None:  # else nobody to ask about any more
                self._look_up(workspace_id, delivery, find, delivery.claimed_at or before, report)

    def _look_up(self, workspace_id: str, delivery: Delivery, find: Find, since: datetime,
                 report: RunReport) -> None:
        """Ask the platform about one interrupted message and record its answer; when it cannot
        tell (or fails), the message stays as it is."""
        try:
            where = find(delivery_key(workspace_id, delivery), since)
        except MaybeDelivered as error:
            log.info("an interrupted %s message could not be looked up (%s); it stays interrupted",
                     delivery.job, error)
            return
        except Exception as error:  # a platform's failure: asked again at the next run
            log.warning("an interrupted %s message could not be looked up: %s", delivery.job,
                        type(error).__name__)
            return
        self._settle(workspace_id, delivery, where, report.job(delivery.job))

    def _settle(self, workspace_id: str, delivery: Delivery, where: str | None, report: JobReport) -> None:
        """Record what the platform said, unless another run settled the message meanwhile."""
        with self.uow_factory() as uow:
            uow.lock(f"{workspace_id}:{delivery.recipient}:{delivery.local_date.isoformat()}")
            current = uow.deliveries.get(workspace_id, delivery.id)
            if current is None or (current.status, current.reason, current.attempts) != (
                    FAILED, INTERRUPTED, delivery.attempts):
                return
            if where:
                uow.deliveries.finish(workspace_id, delivery.id, SENT, self.clock(), channel=where)
                report.sent += 1
                report.confirmed += 1
            else:
                uow.deliveries.finish(workspace_id, delivery.id, FAILED, self.clock(), reason=NOT_RECEIVED)
            uow.commit()
        log.info("an interrupted %s message was %s", delivery.job, f"found in {where}" if where else "never received")
