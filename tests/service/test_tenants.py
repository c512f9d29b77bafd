"""Two workspaces with the same teams, people, e-mails and client names, and different books:
nothing one of them reads (commands, client search, the App Home, passbooks, digests, weekly team
health and its chart, the CLI's exports) ever shows the other's data.

Each workspace's own words carry its marker (client notes, promises, problems, one client's
name), its balances differ from the other's, and every output is searched for the other's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from bot import charts
from bot.cli import main
from coaching import access, capturing, health, passbooks, services, views
from coaching.logflow import LogRequest
from coaching.jobs import ScheduledJobs
from coaching.engine import Inbound
from bot.catalog import Catalog
from coaching.model import Kind, Person, PromiseDraft, Purpose
from coaching.replies import Reply
from coaching.schedule import Schedule
from tests.support import MovableClock, make_coach, seed_roster

UTC = timezone.utc
FRIDAY = date(2026, 11, 20)
# workspace -> (marker, give touches with Acme: the balances differ)
BOOKS = {"acme": ("tangerine", 3), "umbrella": ("eggplant", 1)}
SHARED = ("Acme", "Kobe Steelworks", "Boston Bay")  # client names both workspaces have
OWNERS = {"Acme": ("alice", "East"), "Kobe Steelworks": ("ken", "East"), "Boston Bay": ("bob", "West")}
PEOPLE = ("alice", "ken", "mia", "bob", "will", "ada")
# Friday's digests (Tokyo, London, New York), reminders and check-ins, Monday's weekly team health
RUNS = [datetime(2026, 11, 20, h, m, tzinfo=UTC) for h, m in ((0, 0), (7, 0), (8, 30), (9, 0), (14, 0),
                                                               (16, 0), (17, 30), (21, 0), (22, 30))]
RUNS += [datetime(2026, 11, 23, 9, 0, tzinfo=UTC), datetime(2026, 11, 23, 14, 0, tzinfo=UTC)]


def other(workspace: str) -> str:
    return next(w for w in BOOKS if w != workspace)


def unique_client(workspace: str) -> str:
    return f"{BOOKS[workspace][0].title()} Works"


def email(who: str) -> str:
    return f"{who}@acme.example"  # the same people in both workspaces


def seed(coach, workspace: str) -> None:
    marker, gives = BOOKS[workspace]
    seed_roster(coach, workspace)
    with coach.uow_factory() as uow:
        for name, (owner, team) in {**OWNERS, unique_client(workspace): ("alice", "East")}.items():
            rep = uow.people.by_email(workspace, email(owner))
            client = uow.clients.add(workspace, name, uow.teams.by_name(workspace, team).id, rep.id,
                                     FRIDAY - timedelta(days=70))
            for n in range(gives if name == "Acme" else 1):
                on = FRIDAY - timedelta(days=20 + 9 * n)
                promises = (PromiseDraft(f"send the {marker} quote for {name}", FRIDAY),) if n == 0 else ()
                request = LogRequest(client.id, name, on, Kind.MEETING, Purpose.GIVE, f"{marker} review with {name}",
                                     n == 0, promises, f"{marker} invoices for {name}" if n == 0 else None, None, None)
                services.log_request(uow, rep, request, coach.rules, on)
        for team in uow.teams.list(workspace):  # each team's own channel for the team digest
            uow.teams.set_digest_channel(workspace, team.id, f"C{workspace.upper()}{team.name.upper()}")
        ada = uow.people.by_email(workspace, email("ada"))
        capturing.capture_channel(uow, ada, "slack", "CSHARED", "Acme", FRIDAY)  # one channel id, both mapped
        uow.commit()


def balance(coach, workspace: str, client: str) -> int:
    with coach.uow_factory() as uow:
        return uow.ledger.balance(workspace, uow.clients.by_name(workspace, client).id)


@pytest.fixture
def both(database_url):
    clock = MovableClock(datetime(2026, 11, 20, 0, 0, tzinfo=UTC))
    coach = make_coach(database_url, clock)
    for workspace in BOOKS:
        seed(coach, workspace)
    assert balance(coach, "acme", "Acme") != balance(coach, "umbrella", "Acme")
    return coach, clock


def leaks(text: str, workspace: str) -> list[str]:
    """The other workspace's words found in ``text`` (any case)."""
    foreign = [BOOKS[other(workspace)][0], unique_client(other(workspace))]
    return [word for word in foreign if word.casefold() in text.casefold()]


def said(reply: Reply, lang: str = "en") -> str:
    catalog = Catalog(lang)
    return "\n".join([catalog.render(line, lang) for line in reply.lines]
                     + [catalog.render(c.label, lang) if not isinstance(c.label, str) else c.label
                        for c in reply.choices] + [c.value for c in reply.choices])


COMMANDS = ("ledger", "promises", "clients", "nudges", "home", "teamhealth", "teamhealth East",
            "teamhealth West", "capture", "help", *(f"ledger {name}" for name in SHARED))


def test_no_command_or_search_shows_the_other_workspaces_book(both):
    coach, _ = both
    engine, seen = coach.engine, 0
    for workspace in BOOKS:
        for who in PEOPLE:
            inbound = Inbound(workspace, "CSHARED", "", email=email(who), platform="slack")
            for text in (*COMMANDS, f"ledger {unique_client(other(workspace))}"):
                outcome = engine.handle(Inbound(workspace, f"dm-{who}", text, email=email(who), platform="slack"))
                assert outcome.person is not None and outcome.person.workspace_id == workspace
                lang = outcome.locale or "en"
                text_out = "\n".join(said(r, lang) for r in outcome.replies)
                if text.endswith(unique_client(other(workspace))):  # no such client here: the name is only echoed
                    assert outcome.replies[0].lines[0].key == "error.no_client_none"
                    text_out = text_out.replace(unique_client(other(workspace)), "")
                assert not leaks(text_out, workspace), (workspace, who, text, text_out)
                seen += bool(text_out)
            home = engine.home(inbound)
            assert not leaks("\n".join(said(r, home.locale or "en") for r in home.replies), workspace)
            for query in ("", "a", "Works", unique_client(other(workspace)), BOOKS[other(workspace)][0]):
                offered = " ".join(f"{v} {label}" for v, label in engine.suggest_clients(inbound, query)
                                   if v.startswith("client:"))
                assert not leaks(offered, workspace), (workspace, who, query, offered)
    assert seen == len(BOOKS) * len(PEOPLE) * (len(COMMANDS) + 1)


@pytest.mark.parametrize("workspace", list(BOOKS))
def test_passbooks_show_the_workspaces_own_balance_and_entries(both, workspace):
    coach, _ = both
    with coach.uow_factory() as uow:
        ada = uow.people.by_email(workspace, email("ada"))
        for name in (*SHARED, unique_client(workspace)):
            view = passbooks.passbook(uow, ada, name)
            assert view.client.workspace_id == workspace and view.balance == balance(coach, workspace, name)
            assert all(line.entry.workspace_id == workspace for line in view.lines)
            assert not leaks(said(views.passbook(view)), workspace)
        with pytest.raises(access.CoachError):  # the other workspace's own client is no client here
            passbooks.passbook(uow, ada, unique_client(other(workspace)))


@dataclass
class RecordingNotifier:
    """The scheduler's port: remembers who was sent what, and which channels."""

    people: list[tuple[Person, Reply]] = field(default_factory=list)
    channels: list[tuple[str, Reply]] = field(default_factory=list)

    def send(self, person: Person, reply: Reply) -> str | None:
        self.people.append((person, reply))
        return "test"

    def send_channel(self, channel: str, reply: Reply, locale: str | None) -> str | None:
        self.channels.append((channel, reply))
        return "test"


def test_digests_reminders_checkins_and_weekly_team_health_stay_in_their_workspace(both):
    coach, clock = both
    sent = {workspace: RecordingNotifier() for workspace in BOOKS}
    dispatchers = {w: ScheduledJobs(coach.uow_factory, n, coach.rules, Schedule(), clock) for w, n in sent.items()}
    for now in RUNS:  # interleaved, as one scheduler serving both would run them
        clock.now = now
        for workspace, dispatcher in dispatchers.items():
            dispatcher.run(workspace, now)
    for workspace, notifier in sent.items():
        with coach.uow_factory() as uow:
            mine = {p.id for p in uow.people.list(workspace)}
            teams = {t.digest_channel for t in uow.teams.list(workspace)}
        jobs = set()
        for person, reply in notifier.people:
            assert person.workspace_id == workspace and person.id in mine
            assert not leaks(said(reply, person.locale or "en"), workspace), (workspace, person.email, said(reply))
            jobs.add(reply.lines[0].key if hasattr(reply.lines[0], "key") else reply.lines[0])
            if reply.chart is not None:  # the weekly team health's chart: the workspace's own balances
                check_chart(coach, workspace, reply)
        for channel, reply in notifier.channels:
            assert channel in teams and not leaks(said(reply), workspace)
        # not a vacuous pass: digests, check-ins and the weekly view all went out, and the team digest
        assert {"digest.title", "checkin.title", "health.header"} <= jobs, jobs
        assert notifier.channels
        with coach.uow_factory() as uow:
            recorded = uow.deliveries.list(workspace, FRIDAY)
            ours = {"workspace"} | {f"person:{i}" for i in mine} | {f"team:{t.id}" for t in uow.teams.list(workspace)}
        assert recorded and not [d.recipient for d in recorded if d.recipient not in ours]


def owner_balances(coach, workspace: str, team: str) -> dict[str, int]:
    """Each rep's book on ``team``, from the workspace's own clients and ledger."""
    with coach.uow_factory() as uow:
        team_id = uow.teams.by_name(workspace, team).id
        people = {p.id: p.email for p in uow.people.list(workspace)}
        clients = uow.clients.list(workspace, [team_id])
        found = uow.ledger.balances(workspace, [c.id for c in clients])
    totals: dict[str, int] = {}
    for c in clients:
        totals[people[c.owner_id]] = totals.get(people[c.owner_id], 0) + found.get(c.id, 0)
    return totals


def check_chart(coach, workspace: str, reply: Reply) -> None:
    chart = reply.chart
    team = chart.title.params["teams"][0]
    expected = owner_balances(coach, workspace, team)
    assert {s.key: s.balances[-1] for s in chart.reps if s.key in expected} == expected
    assert not leaks(" ".join(s.name for s in chart.reps), workspace)


@pytest.mark.parametrize("workspace", list(BOOKS))
def test_team_health_and_its_chart_are_the_workspaces_own(both, workspace):
    coach, clock = both
    with coach.uow_factory() as uow:
        mia = uow.people.by_email(workspace, email("mia"))
        report = health.team_health(uow, mia, None, clock(), coach.rules)
    assert [t.workspace_id for t in report.teams] == [workspace]
    assert report.now.total_balance == sum(owner_balances(coach, workspace, "East").values())
    assert not leaks(json.dumps(health.as_dict(report), ensure_ascii=False, default=str), workspace)
    reply = health.reply(report)
    assert not leaks(said(reply), workspace)
    check_chart(coach, workspace, reply)
    png = charts.render_png(reply.chart, coach.catalog, "en")
    assert png.startswith(b"\x89PNG") and not leaks(png.decode("latin-1"), workspace)


def test_two_workspaces_charts_never_share_a_file(both, tmp_path):
    coach, clock = both
    paths = {}
    for workspace in BOOKS:
        with coach.uow_factory() as uow:
            mia = uow.people.by_email(workspace, email("mia"))
            chart = health.reply(health.team_health(uow, mia, None, clock(), coach.rules)).chart
        paths[workspace] = charts.save(chart, coach.catalog, "en", tmp_path / "charts")
    assert paths["acme"] != paths["umbrella"]


# --- the CLI exports: COACH_WORKSPACE picks the book ------------------------------------------------

def cli(coach, workspace: str, tmp_path, *args: str) -> str:
    env = {"DATABASE_URL": coach.settings.url, "COACH_WORKSPACE": workspace,
           "COACH_DATA_DIR": str(tmp_path / workspace), "COACH_LANGUAGE": "en", "COACH_RULES_FILE": ""}
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


def _formats(command: str) -> list[str]:
    option = next(p for p in main.commands[command].params if p.name == "fmt")
    return list(option.type.choices)


@pytest.mark.parametrize("workspace", list(BOOKS))
def test_cli_exports_show_only_the_selected_workspace(both, tmp_path, workspace):
    coach, clock = both
    for now in RUNS[:5]:  # some deliveries to export
        clock.now = now
        for w in BOOKS:
            ScheduledJobs(coach.uow_factory, RecordingNotifier(), coach.rules, Schedule(), clock).run(w, now)
    exports = [("ledger", "--client", "Acme"), ("teamhealth", "--team", "East", "--as-of", "2026-11-20"),
               ("deliveries", "--date", "2026-11-20"), ("nudges", "--as-of", "2026-11-20")]
    for args in exports:
        for fmt in _formats(args[0]):
            out = cli(coach, workspace, tmp_path, *args, "--format", fmt)
            assert not leaks(out, workspace), (args, fmt, out)
            if fmt == "json" and args[0] == "ledger":
                assert json.loads(out)["balance"] == balance(coach, workspace, "Acme")
            if fmt == "json" and args[0] == "deliveries":
                with coach.uow_factory() as uow:
                    assert len(json.loads(out)) == len(uow.deliveries.list(workspace, FRIDAY)) > 0
