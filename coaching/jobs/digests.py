"""The rep's daily digest: each due rep's nudges for their local date, at most once a day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Mapping, Sequence

from coaching import daily, digest, digest_items, effect, metrics, schedule
from coaching.model import Person
from coaching.nudges import ClientHistory, Nudge
from coaching.ports import UnitOfWork
from coaching.records import person_recipient

from coaching.jobs.reports import DIGEST, HELD, JobReport, RunReport
from coaching.jobs.sending import SKIPPED, Sending, _item


class Digests(Sending):

    def digests(self, workspace_id: str, now: datetime, as_of: date | None = None,
                rep_ids: Sequence[int] | None = None, report: RunReport | None = None) -> RunReport:
        """Each due rep's digest for their local date; ``as_of`` forces that date for everyone
        (``coach nudges --as-of DATE --send``), skipping the time-of-day checks but not the
        working days, leave, back-off or the records."""
        report = report if report is not None else RunReport()
        with self.uow_factory() as uow:
            people = [p for p in uow.people.list(workspace_id) if rep_ids is None or p.id in rep_ids]
        due = {p.id: (p, d) for p in people if (d := self._digest_day(p, now, as_of)) is not None}
        if due:
            self._digests_due(workspace_id, due, report.job(DIGEST))
        return report

    def _digest_day(self, person: Person, now: datetime, as_of: date | None) -> date | None:
        """The local date ``person``'s digest is due for now, or ``as_of`` when forced (still
        only on a working day they are not on leave, and never to someone deactivated)."""
        if as_of is None:
            return schedule.digest_due(person, now, self.plan)
        return as_of if not person.on_leave and person.active and as_of.weekday() in self.plan.working_days else None

    def _digests_due(self, workspace_id: str, due: Mapping[int, tuple[Person, date]], report: JobReport) -> None:
        """The digests of the due reps, one local date at a time, but for those recorded already."""
        days = sorted({day for _, day in due.values()})
        with self.uow_factory() as uow:
            done = uow.deliveries.recorded(workspace_id, DIGEST, days)
        for day in days:
            todo = {pid: p for pid, (p, d) in due.items() if d == day and (person_recipient(pid), day) not in done}
            report.already += sum(d == day for _, d in due.values()) - len(todo)
            if todo:
                self._digests_for(workspace_id, day, todo, report)

    def _digests_for(self, workspace_id: str, day: date, people: Mapping[int, Person], report: JobReport) -> None:
        with self.uow_factory() as uow:
            pairs = list(daily.nudges_with_histories(uow, workspace_id, day, self.rules, rep_ids=set(people)))
            since = day - timedelta(days=self.plan.backoff_memory_days)
            sent = uow.deliveries.sent_items(workspace_id, since, list(people))
            lapsed = self._lapsed(uow, workspace_id, list(people), day)
        found: dict[int, list[Nudge]] = {pid: [] for pid in people}
        histories: dict[int, ClientHistory] = {}
        for nudge, history in pairs:
            found[nudge.rep_id].append(nudge)
            if history is not None:
                histories[history.client_id] = history
        by_rep: dict[int, dict[tuple[str, str], list[date]]] = {pid: {} for pid in people}
        for (rep, subject, kind), dates in sent.items():  # one pass, not one per rep
            by_rep.setdefault(rep, {})[(subject, kind)] = dates
        for pid, person in sorted(people.items()):
            self._one_digest(workspace_id, person, day, found[pid], histories, by_rep[pid], report, lapsed.get(pid))

    def _lapsed(self, uow: UnitOfWork, workspace_id: str, rep_ids: Sequence[int], day: date) -> dict[int, date]:
        """Reps whose logging has lapsed: their last touch, when ``logging_lapse_days`` working
        days or more have passed since it. (A rep who never logged is not judged.)"""
        last = uow.histories.last_logged(workspace_id, rep_ids, day)
        return {rep: on for rep, on in last.items()
                if metrics.working_days_since(on, day, self.plan.working_days) >= self.rules.nudging.logging_lapse_days}

    def _one_digest(self, workspace_id: str, person: Person, day: date, nudges: list[Nudge],
                    histories: Mapping[int, ClientHistory], sent: Mapping[tuple[str, str], Sequence[date]],
                    report: JobReport, lapsed_since: date | None = None) -> None:
        eligible = schedule.choose(nudges, sent, day, self.plan)  # what the digest would carry
        nudges = self._hold_back(workspace_id, person, day, nudges, eligible)
        self._send_items(workspace_id, DIGEST, person, day, nudges, report,
                         choose=lambda found: schedule.choose(found, sent, day, self.plan),
                         build=lambda items: digest.digest(person, items, self.plan.digest_size, histories, day,
                                                           lapsed_since))

    def _hold_back(self, workspace_id: str, person: Person, day: date, nudges: list[Nudge],
                   eligible: list[Nudge]) -> list[Nudge]:
        """The nudges left for the digest once the held-back arm is taken out and recorded (a
        skipped delivery of its own, once a day: coach nudges-effect compares the two arms).
        Only nudges the digest would carry are drawn, so both arms are alike, and never what is
        due (a promise, a client waiting on a problem, a setback): no client waits for a test."""
        share = self.rules.nudging.holdout_share
        held = [n for n in eligible if digest_items.TIERS.get(n.kind, 2) > 0
                and effect.held_back(n.rep_id, n.subject, n.kind.value, share)]
        if held:
            with self.uow_factory() as uow:
                uow.deliveries.plan(workspace_id, HELD, person_recipient(person.id), person.id, day,
                                    [_item(n) for n in held], self.clock(), status=SKIPPED)
                uow.commit()
        return [n for n in nudges if n not in held]
