"""The scheduler's jobs: who gets what, now, exactly once.

Every job works the same way, so that a crash, a restart or a second replica never sends
anything twice:

1. decide who is due now (``coaching.schedule``: their own time zone, working days, quiet
   hours, leave), leaving out whoever already has a record for their local date;
2. for each recipient, in one transaction under a lock named after the job, the recipient and
   the date (PostgreSQL advisory lock; replicas take turns): record the message and its items
   (unique per job, recipient and local date; items unique per rep, subject, kind and date) and
   claim it (``sending``), then commit;
3. send outside any transaction, then record ``sent`` (with the channel) or ``failed`` (with
   the reason).

A send whose outcome is unknown (the platform answered 5xx, the connection dropped, or the run
stopped between 2 and 3 and its lease ran out) is recorded ``failed`` with reason
``interrupted`` (and the platform it may have reached, when known), and is never simply sent
again. When the notifier can look a message up (``Traceable``: every message carries its
delivery's key), a later run asks: found, it is recorded ``sent``; certainly absent, it is
recorded ``not_received`` and sent again that day (late rather than twice); when the platform
cannot tell, it stays interrupted (at most once). Failed messages are retried the same local
day, up to ``max_attempts``. Missed days are never replayed: only each person's current local
date is planned, so a service back after a weekend sends today's digest once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable, Iterable, Mapping, Sequence

from coaching import checkin, digest, health, metrics, schedule, services
from coaching.errors import MaybeDelivered, MaybeDeliveredOn
from coaching.messages import Msg
from coaching.model import Person, Promise, Role, Team
from coaching.nudges import STAKE, ClientHistory, Nudge, NudgeKind, detect
from coaching.ports import Notifier, Traceable, UnitOfWork, UnitOfWorkFactory
from coaching.records import (
    FAILED,
    INTERRUPTED,
    NOT_RECEIVED,
    PENDING,
    SENT,
    SKIPPED,
    Delivery,
    DeliveryItem,
    person_recipient,
)
from coaching.replies import Reply
from coaching.rules import Rules
from coaching.services import CoachError

log = logging.getLogger(__name__)

DIGEST, REMINDER, WEEKLY, TEAM, UPKEEP = "digest", "reminder", "weekly", "team", "upkeep"
CHECKIN = checkin.JOB
JOBS = (DIGEST, REMINDER, WEEKLY, TEAM, UPKEEP, CHECKIN)
UNREACHABLE = "unreachable"
LOOK_UP_DAYS = timedelta(days=2)  # how long an interrupted message is still looked up
LOOK_UP_GRACE = timedelta(minutes=2)  # a message is looked up only once its send is this old


def delivery_key(workspace_id: str, delivery: Delivery) -> str:
    """What a platform's copy of a message is known by: the same for every attempt."""
    return f"{workspace_id}:{delivery.id}"


@dataclass
class JobReport:
    sent: int = 0
    failed: int = 0
    skipped: int = 0  # nothing to say that day (recorded, so it is not worked out again)
    retried: int = 0
    interrupted: int = 0
    already: int = 0  # due, but recorded by an earlier run (or another replica)
    confirmed: int = 0  # interrupted earlier, found on the platform now (counted in ``sent`` too)


@dataclass
class RunReport:
    jobs: dict[str, JobReport] = field(default_factory=dict)

    def job(self, name: str) -> JobReport:
        return self.jobs.setdefault(name, JobReport())

    @property
    def sent(self) -> int:
        """Messages sent (the upkeep is bookkeeping, not a message)."""
        return sum(j.sent for name, j in self.jobs.items() if name != UPKEEP)

    @property
    def failed(self) -> int:
        return sum(j.failed for j in self.jobs.values())


def _promise_nudge(p: Promise, names: Mapping[int, str]) -> Nudge:
    """A promise falling due, as a reminder item."""
    facts = {"promise": p.text, "due": p.due_on}
    params = {"client": names.get(p.client_id, "?"), **facts}
    return Nudge(NudgeKind.PROMISE_DUE, p.rep_id, p.client_id, names.get(p.client_id),
                 Msg("nudge.promise_due.reason", params), Msg("nudge.promise_due.next.1", params),
                 f"promise:{p.id}", STAKE[NudgeKind.PROMISE_DUE], facts=facts)


def _item(n: Nudge) -> DeliveryItem:
    return DeliveryItem(n.rep_id, n.subject, n.kind.value, n.client_id, n.stake)


class ScheduledJobs:
    """Runs the jobs of one workspace. ``clock`` stamps claims and results (a run can be long);
    the moment a run decides for is the ``now`` it is given."""

    def __init__(self, uow_factory: UnitOfWorkFactory, notifier: Notifier, rules: Rules,
                 plan: schedule.Schedule, clock: Callable[[], datetime]) -> None:
        self.uow_factory, self.notifier, self.rules = uow_factory, notifier, rules
        self.plan, self.clock = plan, clock

    # --- the whole cycle ----------------------------------------------------------------------

    def run(self, workspace_id: str, now: datetime, jobs: Iterable[str] = JOBS) -> RunReport:
        """Everything due at ``now``: what a scheduler tick (or ``coach scheduler --once``) does."""
        report = RunReport()
        wanted = set(jobs)
        started = self.clock()
        self.recover(workspace_id, report)
        # a message whose send ended less than a grace ago may still be landing on the platform
        # (another replica's timeout, a crash just now): looking now could miss it and send twice
        grace = min(LOOK_UP_GRACE, timedelta(minutes=self.plan.lease_minutes))  # a lease of 0: at once
        self.resolve(workspace_id, report, wanted, claimed_before=started - grace)
        if UPKEEP in wanted:
            self.upkeep(workspace_id, now.date(), report)
        if DIGEST in wanted:
            self.digests(workspace_id, now, report=report)
        if REMINDER in wanted:
            self.reminders(workspace_id, now, report)
        if WEEKLY in wanted:
            self.weekly(workspace_id, now, report)
        if TEAM in wanted:
            self.team_digests(workspace_id, now, report)
        if CHECKIN in wanted:
            self.checkins(workspace_id, now, report)
        self.retry(workspace_id, now, report, wanted, failed_before=started)
        return report

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
            key = delivery_key(workspace_id, delivery)
            since = delivery.claimed_at or before
            person = people.get(delivery.person_id) if delivery.person_id is not None else None
            kind, _, number = delivery.recipient.partition(":")
            team = teams.get(int(number)) if kind == "team" and number.isdigit() else None
            try:
                if person is not None:
                    where = self.notifier.find(person, key, since, delivery.channel)
                elif team is not None and team.digest_channel:
                    where = self.notifier.find_channel(team.digest_channel, key, since, delivery.channel)
                else:  # nobody to ask about any more
                    continue
            except MaybeDelivered as error:
                log.info("an interrupted %s message could not be looked up (%s); it stays interrupted",
                         delivery.job, error)
                continue
            except Exception as error:  # a platform's failure: asked again at the next run
                log.warning("an interrupted %s message could not be looked up: %s", delivery.job,
                            type(error).__name__)
                continue
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

    # --- daily upkeep: what time alone earns ----------------------------------------------------

    def upkeep(self, workspace_id: str, day: date, report: RunReport) -> None:
        """Silence, overdue promises, waiting problems: booked once per UTC day, first in a cycle."""
        with self.uow_factory() as uow:
            uow.lock(f"{UPKEEP}:{workspace_id}:{day.isoformat()}")
            if ("workspace", day) in uow.deliveries.recorded(workspace_id, UPKEEP, [day]):
                return
            result = services.apply_daily_rules(uow, workspace_id, day, self.rules)
            uow.deliveries.plan(workspace_id, UPKEEP, "workspace", None, day, (), self.clock(), status=SENT)
            uow.commit()
        log.info("daily upkeep for %s: %s", day, result)
        report.job(UPKEEP).sent += 1

    # --- the rep's daily digest -----------------------------------------------------------------

    def digests(self, workspace_id: str, now: datetime, as_of: date | None = None,
                rep_ids: Sequence[int] | None = None, report: RunReport | None = None) -> RunReport:
        """Each due rep's digest for their local date; ``as_of`` forces that date for everyone
        (``coach nudges --as-of DATE --send``), skipping the time-of-day checks but not the
        working days, leave, back-off or the records."""
        report = report if report is not None else RunReport()
        with self.uow_factory() as uow:
            people = [p for p in uow.people.list(workspace_id) if rep_ids is None or p.id in rep_ids]
        due: dict[int, tuple[Person, date]] = {}
        for person in people:
            if as_of is not None:
                day = as_of if not person.on_leave and as_of.weekday() in self.plan.working_days else None
            else:
                day = schedule.digest_due(person, now, self.plan)
            if day is not None:
                due[person.id] = (person, day)
        if not due:
            return report
        days = sorted({day for _, day in due.values()})
        with self.uow_factory() as uow:
            done = uow.deliveries.recorded(workspace_id, DIGEST, days)
        for day in days:
            todo = {pid: p for pid, (p, d) in due.items() if d == day and (person_recipient(pid), day) not in done}
            report.job(DIGEST).already += sum(d == day for _, d in due.values()) - len(todo)
            if todo:
                self._digests_for(workspace_id, day, todo, report.job(DIGEST))
        return report

    def _digests_for(self, workspace_id: str, day: date, people: Mapping[int, Person], report: JobReport) -> None:
        with self.uow_factory() as uow:
            pairs = list(services.nudges_with_histories(uow, workspace_id, day, self.rules, rep_ids=set(people)))
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
        self._send_items(workspace_id, DIGEST, person, day, nudges, report,
                         choose=lambda fresh: schedule.choose(fresh, sent, day, self.plan),
                         build=lambda items: digest.digest(person, items, self.plan.digest_size, histories, day,
                                                           lapsed_since))

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
        recorded = {(i.subject, i.kind) for i in claimed.items}
        reply = build([n for n in chosen if (n.subject, n.kind.value) in recorded])
        if reply is None:  # every item was taken by another message of the day
            self._skip(workspace_id, claimed, report)
            return
        self._deliver(workspace_id, claimed, person, reply, report)

    # --- promise reminders, the working day before ------------------------------------------------

    def reminders(self, workspace_id: str, now: datetime, report: RunReport) -> None:
        with self.uow_factory() as uow:
            people = {p.id: p for p in uow.people.list(workspace_id)}
            due = {pid: d for pid, p in people.items() if (d := schedule.reminder_due(p, now, self.plan))}
            if not due:
                return
            done = uow.deliveries.recorded(workspace_id, REMINDER, sorted(set(due.values())))
            horizon = max(due.values()) + timedelta(days=8)  # a reminder day is at most a week ahead
            promises = [p for p in uow.promises.open_due_before(workspace_id, horizon)
                        if p.rep_id in due and schedule.reminder_day(p.due_on, self.plan) == due[p.rep_id]
                        and (person_recipient(p.rep_id), due[p.rep_id]) not in done]
            names = {c.id: c.name for c in uow.clients.list(workspace_id)} if promises else {}
        by_rep: dict[int, list[Nudge]] = {}
        for p in promises:
            by_rep.setdefault(p.rep_id, []).append(_promise_nudge(p, names))
        for rep_id, nudges in sorted(by_rep.items()):
            self._one_reminder(workspace_id, people[rep_id], due[rep_id], nudges, report.job(REMINDER))

    def _one_reminder(self, workspace_id: str, person: Person, day: date, nudges: list[Nudge], report: JobReport) -> None:
        self._send_items(workspace_id, REMINDER, person, day, nudges, report,
                         choose=lambda fresh: fresh, build=lambda items: digest.reminder(person, items))

    # --- the weekly manager digest ----------------------------------------------------------------

    def weekly(self, workspace_id: str, now: datetime, report: RunReport) -> None:
        with self.uow_factory() as uow:
            managers = [p for p in uow.people.list(workspace_id) if p.role is Role.MANAGER and p.team_ids]
            due = {p.id: (p, d) for p in managers if (d := schedule.weekly_due(p, now, self.plan))}
            if not due:
                return
            done = uow.deliveries.recorded(workspace_id, WEEKLY, sorted({d for _, d in due.values()}))
        for pid, (person, day) in sorted(due.items()):
            if (person_recipient(pid), day) not in done:
                self._one_weekly(workspace_id, person, day, report.job(WEEKLY))

    def _weekly_reply(self, uow: UnitOfWork, person: Person, day: date) -> Reply | None:
        try:
            teams = services.teams_for_health(uow, person, None)
        except CoachError:
            return None
        return health.reply(health.report(uow, person.workspace_id, teams, day, self.rules, self.plan.working_days))

    def _one_weekly(self, workspace_id: str, person: Person, day: date, report: JobReport) -> None:
        self._send_reply(workspace_id, WEEKLY, person_recipient(person.id), person.id, day, report,
                         build=lambda uow: self._weekly_reply(uow, person, day),
                         send=lambda reply: self._to_person(person, reply))

    def _send_reply(self, workspace_id: str, job: str, recipient: str, person_id: int | None, day: date,
                    report: JobReport, build: Callable[[UnitOfWork], Reply | None],
                    send: Callable[[Reply], Callable[[str | None], str | None]]) -> None:
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

    # --- the team channel digest --------------------------------------------------------------------

    def team_digests(self, workspace_id: str, now: datetime, report: RunReport) -> None:
        with self.uow_factory() as uow:
            teams = [t for t in uow.teams.list(workspace_id) if t.digest_channel]
            people = uow.people.list(workspace_id)
        for team in teams:
            members = [p for p in people if team.id in p.team_ids]
            day = schedule.digest_due(self._team_person(team, members), now, self.plan)
            if day is not None:
                self._one_team(workspace_id, team, members, day, report.job(TEAM))

    @staticmethod
    def _team_person(team: Team, members: Sequence[Person]) -> Person:
        """The team as a recipient: its manager's zone and language."""
        managers = [p for p in members if p.role is Role.MANAGER]
        return Person(0, team.workspace_id, "", team.name, Role.MANAGER, (team.id,),
                      timezone=schedule.team_timezone(members),
                      locale=managers[0].locale if managers else None)

    def _team_reply(self, uow: UnitOfWork, team: Team, members: Sequence[Person], day: date) -> Reply | None:
        quiet = uow.feedback.suppressed(team.workspace_id, day)
        found = [n for h in uow.histories.client_histories(team.workspace_id, day, team_ids=[team.id])
                 for n in detect(h, day, self.rules.nudging) if (n.rep_id, n.subject) not in quiet]
        reps = len({n.rep_id for n in found})
        return digest.team(team.name, found, reps, day)

    def _one_team(self, workspace_id: str, team: Team, members: Sequence[Person], day: date, report: JobReport) -> None:
        locale = self._team_person(team, members).locale
        self._send_reply(workspace_id, TEAM, f"team:{team.id}", None, day, report,
                         build=lambda uow: self._team_reply(uow, team, members, day),
                         send=lambda reply: self._to_channel(team.digest_channel or "", reply, locale))

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

    # --- retries ------------------------------------------------------------------------------------

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
                       if d.job in jobs and (failed_before is None or d.finished_at is None
                                             or d.finished_at < failed_before or d.reason == NOT_RECEIVED)]
        for delivery in waiting:
            person = people.get(delivery.person_id) if delivery.person_id is not None else None
            if delivery.job == TEAM:
                team = teams.get(int(delivery.recipient.split(":")[1]))
                if team is None or not team.digest_channel:
                    continue
                members = [p for p in people.values() if team.id in p.team_ids]
                if schedule.digest_due(self._team_person(team, members), now, self.plan) != delivery.local_date:
                    continue
                with self.uow_factory() as uow:
                    reply = self._team_reply(uow, team, members, delivery.local_date)
                if reply is None:
                    self._skip(workspace_id, delivery, report.job(TEAM), reason="resolved")
                    continue
                claimed = self._claim(workspace_id, delivery)
                if claimed is not None:
                    report.job(TEAM).retried += 1
                    tp = self._team_person(team, members)
                    self._finish(workspace_id, claimed, self._to_channel(team.digest_channel or "", reply, tp.locale),
                                 report.job(TEAM))
                continue
            window = {REMINDER: schedule.reminder_due, CHECKIN: schedule.checkin_due}.get(delivery.job,
                                                                                          schedule.digest_due)
            if person is None or window(person, now, self.plan) != delivery.local_date:
                continue  # the day has passed for them, or it is quiet hours now
            reply = self._rebuild(workspace_id, delivery, person)
            claimed = self._claim(workspace_id, delivery) if reply is not None else None
            if reply is None:
                self._skip(workspace_id, delivery, report.job(delivery.job), reason="resolved")
                continue
            if claimed is not None:
                report.job(delivery.job).retried += 1
                self._deliver(workspace_id, claimed, person, reply, report.job(delivery.job))

    def _claim(self, workspace_id: str, delivery: Delivery) -> Delivery | None:
        with self.uow_factory() as uow:
            claimed = uow.deliveries.claim(workspace_id, delivery.id, self.clock(), self.plan.max_attempts)
            uow.commit()
        return claimed

    def _rebuild(self, workspace_id: str, delivery: Delivery, person: Person) -> Reply | None:
        day = delivery.local_date
        with self.uow_factory() as uow:
            if delivery.job == WEEKLY:
                return self._weekly_reply(uow, person, day)
            if delivery.job == CHECKIN:
                return checkin.reply(person, checkin.gather(uow, person, day))
            recorded = {(i.subject, i.kind) for i in delivery.items}
            if delivery.job == REMINDER:
                open_ids = {f"promise:{p.id}": p for p in uow.promises.open_for(workspace_id, rep_id=person.id)}
                names = {c.id: c.name for c in uow.clients.list(workspace_id)}
                nudges = [_promise_nudge(open_ids[subject], names) for subject, _ in sorted(recorded)
                          if subject in open_ids]
                return digest.reminder(person, nudges)
            pairs = [(n, h) for n, h in services.nudges_with_histories(uow, workspace_id, day, self.rules,
                                                                         rep_id=person.id)
                     if (n.subject, n.kind.value) in recorded]
            lapsed = self._lapsed(uow, workspace_id, [person.id], day)
        histories = {h.client_id: h for _, h in pairs if h is not None}
        return digest.digest(person, [n for n, _ in pairs], self.plan.digest_size, histories, day,
                             lapsed.get(person.id))

    def _skip(self, workspace_id: str, delivery: Delivery, report: JobReport, reason: str = "empty") -> None:
        with self.uow_factory() as uow:
            uow.deliveries.finish(workspace_id, delivery.id, SKIPPED, self.clock(), reason=reason)
            uow.commit()
        report.skipped += 1

    # --- sending ------------------------------------------------------------------------------------

    def _to_person(self, person: Person, reply: Reply) -> Callable[[str | None], str | None]:
        """The send of ``reply`` to ``person``, given the delivery's key (passed on only to a
        notifier that tags its messages)."""
        if isinstance(self.notifier, Traceable):
            return lambda key: self.notifier.send(person, reply, key=key)
        return lambda key: self.notifier.send(person, reply)

    def _to_channel(self, channel: str, reply: Reply, locale: str | None) -> Callable[[str | None], str | None]:
        if isinstance(self.notifier, Traceable):
            return lambda key: self.notifier.send_channel(channel, reply, locale, key=key)
        return lambda key: self.notifier.send_channel(channel, reply, locale)

    def _deliver(self, workspace_id: str, claimed: Delivery, person: Person, reply: Reply, report: JobReport) -> None:
        self._finish(workspace_id, claimed, self._to_person(person, reply), report)

    def _finish(self, workspace_id: str, claimed: Delivery, send: Callable[[str | None], str | None],
                report: JobReport) -> None:
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
