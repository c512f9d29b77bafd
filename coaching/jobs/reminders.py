"""Messages to a rep about their own day: promise reminders, the working day before a promise
falls due, and the end-of-day check-in."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Mapping

from coaching import checkin, digest, schedule
from coaching.model import Person, Promise
from coaching.messages import Msg
from coaching.nudges import STAKE, Nudge, NudgeKind
from coaching.ports import UnitOfWork
from coaching.records import person_recipient

from coaching.jobs.reports import CHECKIN, REMINDER, JobReport, RunReport
from coaching.jobs.sending import Sending


def _promise_nudge(p: Promise, names: Mapping[int, str]) -> Nudge:
    """A promise falling due, as a reminder item."""
    facts = {"promise": p.text, "due": p.due_on}
    params = {"client": names.get(p.client_id, "?"), **facts}
    return Nudge(NudgeKind.PROMISE_DUE, p.rep_id, p.client_id, names.get(p.client_id),
                 Msg("nudge.promise_due.reason", params), Msg("nudge.promise_due.next.1", params),
                 f"promise:{p.id}", STAKE[NudgeKind.PROMISE_DUE], facts=facts)


class Reminders(Sending):

    # --- promise reminders, the working day before ------------------------------------------------

    def reminders(self, workspace_id: str, now: datetime, report: RunReport) -> None:
        with self.uow_factory() as uow:
            people = {p.id: p for p in uow.people.list(workspace_id)}
            due = {pid: d for pid, p in people.items() if (d := schedule.reminder_due(p, now, self.plan))}
            if not due:
                return
            promises = self._promises_to_remind(uow, workspace_id, due)
            names = {c.id: c.name for c in uow.clients.list(workspace_id)} if promises else {}
        by_rep: dict[int, list[Nudge]] = {}
        for p in promises:
            by_rep.setdefault(p.rep_id, []).append(_promise_nudge(p, names))
        for rep_id, nudges in sorted(by_rep.items()):
            self._one_reminder(workspace_id, people[rep_id], due[rep_id], nudges, report.job(REMINDER))

    def _promises_to_remind(self, uow: UnitOfWork, workspace_id: str, due: Mapping[int, date]) -> list[Promise]:
        """Open promises whose reminder day is their rep's due date, for reps whose reminder of
        that date is not recorded yet."""
        done = uow.deliveries.recorded(workspace_id, REMINDER, sorted(set(due.values())))
        horizon = max(due.values()) + timedelta(days=8)  # a reminder day is at most a week ahead
        return [p for p in uow.promises.open_due_before(workspace_id, horizon)
                if p.rep_id in due and schedule.reminder_day(p.due_on, self.plan) == due[p.rep_id]
                and (person_recipient(p.rep_id), due[p.rep_id]) not in done]

    def _one_reminder(self, workspace_id: str, person: Person, day: date, nudges: list[Nudge], report: JobReport) -> None:
        self._send_items(workspace_id, REMINDER, person, day, nudges, report,
                         choose=lambda fresh: fresh, build=lambda items: digest.reminder(person, items))

    # --- the end-of-day check-in ---------------------------------------------------------------

    def checkins(self, workspace_id: str, now: datetime, report: RunReport) -> None:
        """Each due rep's check-in for their local date: asked once, and not at all on a day
        they logged already (recorded as skipped) or said "not today" (recorded as declined)."""
        with self.uow_factory() as uow:
            due = {p.id: (p, d) for p in uow.people.list(workspace_id)
                   if (d := schedule.checkin_due(p, now, self.plan)) is not None}
            if not due:
                return
            done = uow.deliveries.recorded(workspace_id, CHECKIN, sorted({d for _, d in due.values()}))
        for pid, (person, day) in sorted(due.items()):
            if (person_recipient(pid), day) in done:
                report.job(CHECKIN).already += 1
                continue
            self._send_reply(workspace_id, CHECKIN, person_recipient(pid), pid, day, report.job(CHECKIN),
                             build=lambda uow: checkin.reply(person, checkin.gather(uow, person, day)),
                             send=lambda reply: self._to_person(person, reply))
