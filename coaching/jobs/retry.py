"""Failed messages, sent once more the same local day (up to ``max_attempts``), rebuilt from
what is true now."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Mapping

from coaching import checkin, daily, digest, schedule
from coaching.model import Person, Team
from coaching.ports import UnitOfWork
from coaching.records import NOT_RECEIVED, Delivery
from coaching.replies import Reply

from coaching.jobs.digests import Digests
from coaching.jobs.overviews import Overviews
from coaching.jobs.reminders import _promise_nudge
from coaching.jobs.reports import CHECKIN, JOBS, REMINDER, TEAM, WEEKLY, RunReport
from coaching.jobs.sending import recorded_items

# the window a person's message of each job is sent in (a rep's digest's, unless named here)
_WINDOWS = {REMINDER: schedule.reminder_due, CHECKIN: schedule.checkin_due}


def _waited(delivery: Delivery, failed_before: datetime | None) -> bool:
    """Whether a failed message has waited its tick: it failed before ``failed_before``, or its
    platform has said it never got it."""
    return (failed_before is None or delivery.finished_at is None
            or delivery.finished_at < failed_before or delivery.reason == NOT_RECEIVED)


class Retries(Digests, Overviews):

    def retry(self, workspace_id: str, now: datetime, report: RunReport, jobs: Iterable[str] = JOBS,
              failed_before: datetime | None = None) -> None:
        """Failed messages of today's local dates, once more (up to ``max_attempts``), rebuilt
        from what is true now: an item resolved since is left out. Only what failed before
        ``failed_before`` (the start of this run): a message that just failed waits a tick, but
        one its platform has just said it never got (``not_received``) goes now."""
        with self.uow_factory() as uow:
            people = {p.id: p for p in uow.people.list(workspace_id)}
            teams = {t.id: t for t in uow.teams.list(workspace_id)}
        days = sorted({schedule.local(p, now).date() for p in people.values()})
        with self.uow_factory() as uow:
            waiting = [d for d in uow.deliveries.retryable(workspace_id, days, self.plan.max_attempts)
                       if d.job in jobs and _waited(d, failed_before)]
        for delivery in waiting:
            if delivery.job == TEAM:
                self._retry_team(workspace_id, delivery, now, people, teams, report)
            else:
                person = people.get(delivery.person_id) if delivery.person_id is not None else None
                self._retry_person(workspace_id, delivery, now, person, report)

    def _retry_team(self, workspace_id: str, delivery: Delivery, now: datetime, people: Mapping[int, Person],
                    teams: Mapping[int, Team], report: RunReport) -> None:
        team = teams.get(int(delivery.recipient.split(":")[1]))
        if team is None or not team.digest_channel:
            return
        members = [p for p in people.values() if team.id in p.team_ids]
        recipient = self._team_person(team, members)
        if schedule.digest_due(recipient, now, self.plan) != delivery.local_date:
            return
        with self.uow_factory() as uow:
            reply = self._team_reply(uow, team, members, delivery.local_date)
        if reply is None:
            self._skip(workspace_id, delivery, report.job(TEAM), reason="resolved")
            return
        claimed = self._claim(workspace_id, delivery)
        if claimed is not None:
            report.job(TEAM).retried += 1
            self._finish(workspace_id, claimed, self._to_channel(team.digest_channel or "", reply, recipient.locale),
                         report.job(TEAM))

    def _retry_person(self, workspace_id: str, delivery: Delivery, now: datetime, person: Person | None,
                      report: RunReport) -> None:
        window = _WINDOWS.get(delivery.job, schedule.digest_due)
        if person is None or window(person, now, self.plan) != delivery.local_date:
            return  # the day has passed for them, or it is quiet hours now
        reply = self._rebuild(workspace_id, delivery, person)
        if reply is None:
            self._skip(workspace_id, delivery, report.job(delivery.job), reason="resolved")
            return
        claimed = self._claim(workspace_id, delivery)
        if claimed is not None:
            report.job(delivery.job).retried += 1
            self._deliver(workspace_id, claimed, person, reply, report.job(delivery.job))

    # --- rebuilding a person's message from what is true now --------------------------------------

    def _rebuild(self, workspace_id: str, delivery: Delivery, person: Person) -> Reply | None:
        day = delivery.local_date
        with self.uow_factory() as uow:
            if delivery.job == WEEKLY:
                return self._weekly_reply(uow, person, day)
            if delivery.job == CHECKIN:
                return checkin.reply(person, checkin.gather(uow, person, day))
            if delivery.job == REMINDER:
                return self._rebuild_reminder(uow, workspace_id, delivery, person)
            recorded = recorded_items(delivery)
            pairs = [(n, h) for n, h in daily.nudges_with_histories(uow, workspace_id, day, self.rules,
                                                                         rep_id=person.id)
                     if (n.subject, n.kind.value) in recorded]
            lapsed = self._lapsed(uow, workspace_id, [person.id], day)
        histories = {h.client_id: h for _, h in pairs if h is not None}
        return digest.digest(person, [n for n, _ in pairs], self.plan.digest_size, histories, day,
                             lapsed.get(person.id))

    @staticmethod
    def _rebuild_reminder(uow: UnitOfWork, workspace_id: str, delivery: Delivery, person: Person) -> Reply | None:
        """The recorded promises still open, reminded of again."""
        open_ids = {f"promise:{p.id}": p for p in uow.promises.open_for(workspace_id, rep_id=person.id)}
        names = {c.id: c.name for c in uow.clients.list(workspace_id)}
        nudges = [_promise_nudge(open_ids[subject], names) for subject, _ in sorted(recorded_items(delivery))
                  if subject in open_ids]
        return digest.reminder(person, nudges)
