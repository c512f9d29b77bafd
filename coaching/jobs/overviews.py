"""The overviews: the manager's weekly digest and the team channel's daily digest, each one
reply, built only when not recorded yet."""

from __future__ import annotations

from datetime import date, datetime
from typing import Sequence

from coaching import access, digest, health, schedule
from coaching.model import Person, Role, Team
from coaching.nudges import detect
from coaching.ports import UnitOfWork
from coaching.records import person_recipient
from coaching.replies import Reply
from coaching.access import CoachError

from coaching.jobs.reports import TEAM, WEEKLY, JobReport, RunReport
from coaching.jobs.sending import Sending


class Overviews(Sending):

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
            teams = access.teams_for_health(uow, person, None)
        except CoachError:
            return None
        return health.reply(health.report(uow, person.workspace_id, teams, day, self.rules, self.plan.working_days))

    def _one_weekly(self, workspace_id: str, person: Person, day: date, report: JobReport) -> None:
        self._send_reply(workspace_id, WEEKLY, person_recipient(person.id), person.id, day, report,
                         build=lambda uow: self._weekly_reply(uow, person, day),
                         send=lambda reply: self._to_person(person, reply))

    # --- the team channel digest --------------------------------------------------------------------

    def team_digests(self, workspace_id: str, now: datetime, report: RunReport) -> None:
        with self.uow_factory() as uow:
            teams = [t for t in uow.teams.list(workspace_id) if t.digest_channel]
            people = uow.people.list(workspace_id)
        for team in teams:
            members = [p for p in people if team.id in p.team_ids and p.active]  # whose zone and language
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
