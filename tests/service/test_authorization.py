"""Who may do what: every command the engine accepts, for every kind of actor, on a real database.

The policy is one table, ``MATRIX`` (a command per row, an actor per column: allowed, or
refused with the message key the actor reads), and docs/security.md shows the same table (a
test keeps them equal). Each cell runs through the real Engine. A refusal is a message, never
an exception, and the turn that refused leaves the whole database exactly as it was; no reply,
allowed or refused, shows data the actor may not see.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import MetaData, select

from bot.cli import main
from coaching import capturing, services
from coaching.logflow import LogRequest
from coaching.commands import WORDS as COMMANDS
from coaching.engine import Inbound, Outcome
from bot.catalog import Catalog
from coaching.messages import Msg
from coaching.model import InteractionDraft, Kind, PromiseDraft, Purpose, Role, Source, Workspace
from coaching.records import PersonDraft
from storage.db import make_engine
from tests.support import WORKSPACE, MovableClock, make_coach, seed_roster

FOREIGN_WS = "globex"
DAY = date(2026, 11, 20)
OK = "allowed"
IGNORED = "ignored"  # nothing said, nothing recorded (a message in a client's channel)
NR, NC, OT = "error.not_on_roster", "error.no_client_none", "error.client_other_team"
MO, NY, AO = "error.managers_only", "error.not_your_team", "error.admins_only"
NP, NT, HU = "error.no_promise", "error.no_touch", "help.unknown"
DA = "error.deactivated"  # someone deactivated: they left
REFUSALS = {NR, NC, OT, MO, NY, AO, NP, NT, HU, DA, "error.no_client", "error.no_team", "error.no_team_named",
            "error.promise_closed", "capture.not_a_channel"}

# The actors: who they are as the engine hears them (workspace, e-mail).
ACTORS = {
    "rep": (WORKSPACE, "alice@acme.example"),  # Alice, a rep on East
    "manager": (WORKSPACE, "mia@acme.example"),  # Mia, East's manager
    "other manager": (WORKSPACE, "will@acme.example"),  # Will, West's manager
    "admin": (WORKSPACE, "ada@acme.example"),  # Ada, the workspace's admin (on East)
    "unknown": (WORKSPACE, "nobody@acme.example"),  # not on the roster
    # another workspace's admin, with the same e-mail as Alice (one person, two tenants)
    "other workspace": (FOREIGN_WS, "alice@acme.example"),
    "admin who left": (WORKSPACE, "olga@acme.example"),  # Olga, an admin on East, deactivated
}

# Targets: {own} is Alice's client (East), {mate} Ken's (East, Alice's teammate), {other} Bob's
# (West); {own_promise}… and {own_touch}… are row ids of theirs (a captured touch, purpose unsaid).
# Reads first, then buttons and settings, then whatever starts a conversation, so that what one
# cell creates (the other workspace's admin adds clients of those names there) cannot change
# the answer of a later one.
MATRIX: tuple[tuple[str, str, str, str, str, str, str, str], ...] = (
    # command                          rep  manager other manager admin unknown other ws admin who left
    ("ledger {own}",                   OK,  OK,     NC,           OK,   NR,     NC,     DA),
    ("ledger {mate}",                  OK,  OK,     NC,           OK,   NR,     NC,     DA),
    ("ledger {other}",                 NC,  NC,     OK,           OK,   NR,     NC,     DA),
    ("ledger",                         OK,  OK,     OK,           OK,   NR,     OK,     DA),
    ("promises",                       OK,  OK,     OK,           OK,   NR,     OK,     DA),
    ("clients",                        OK,  OK,     OK,           OK,   NR,     OK,     DA),
    ("nudges",                         OK,  OK,     OK,           OK,   NR,     OK,     DA),
    ("home",                           OK,  OK,     OK,           OK,   NR,     OK,     DA),
    ("[app home]",                     OK,  OK,     OK,           OK,   NR,     OK,     DA),
    ("teamhealth",                     MO,  OK,     OK,           OK,   NR,     OK,     DA),
    ("teamhealth East",                MO,  OK,     NY,           OK,   NR,     OK,     DA),
    ("teamhealth West",                MO,  NY,     OK,           OK,   NR,     OK,     DA),
    ("teamhealth channel here",        MO,  OK,     OK,           OK,   NR,     OK,     DA),
    ("help",                           OK,  OK,     OK,           OK,   NR,     OK,     DA),
    ("dance",                          HU,  HU,     HU,           HU,   NR,     HU,     DA),
    ("cancel",                         OK,  OK,     OK,           OK,   NR,     OK,     DA),
    ("away",                           OK,  OK,     OK,           OK,   NR,     OK,     DA),
    ("back",                           OK,  OK,     OK,           OK,   NR,     OK,     DA),
    ("llm",                            OK,  OK,     OK,           OK,   NR,     OK,     DA),
    ("llm off",                        AO,  AO,     AO,           OK,   NR,     OK,     DA),
    ("llm on",                         AO,  AO,     AO,           OK,   NR,     OK,     DA),
    ("capture",                        OK,  OK,     OK,           OK,   NR,     OK,     DA),
    ("capture {own}",                  AO,  AO,     AO,           OK,   NR,     NC,     DA),
    ("capture off",                    AO,  AO,     AO,           OK,   NR,     OK,     DA),
    ("snooze:quiet:client:{own_id}",   OK,  OK,     OK,           OK,   NR,     OK,     DA),
    ("kept:{own_promise}",             OK,  NP,     NP,           NP,   NR,     NP,     DA),
    ("kept:{mate_promise}",            NP,  NP,     NP,           NP,   NR,     NP,     DA),
    ("broken:{other_promise}",         NP,  NP,     NP,           NP,   NR,     NP,     DA),
    ("kept 1",                         OK,  NP,     NP,           NP,   NR,     NP,     DA),
    ("purpose:{own_touch}:give",       OK,  NT,     NT,           NT,   NR,     NT,     DA),
    ("purpose:{other_touch}:give",     NT,  NT,     NT,           NT,   NR,     NT,     DA),
    ("not today",                      OK,  OK,     OK,           OK,   NR,     OK,     DA),
    ("[channel message] {other}",      IGNORED, IGNORED, OK,      OK,   IGNORED, IGNORED, IGNORED),
    ("[form] {other_id}",              NC,  NC,     OK,           OK,   NR,     NC,     DA),
    ("[shortcut] {other}",             OK,  OK,     OK,           OK,   NR,     OK,     DA),
    ("tap:{own_id}",                   OK,  OK,     NC,           OK,   NR,     NC,     DA),
    ("tap:{other_id}",                 NC,  NC,     OK,           OK,   NR,     NC,     DA),
    ("client:{mate_id}",               OK,  OK,     NC,           OK,   NR,     NC,     DA),
    ("tap:other",                      OK,  OK,     OK,           OK,   NR,     OK,     DA),
    ("/logmeeting {own} call give: {note}",   OK, OK, OT,         OK,   NR,     OK,     DA),
    ("/logmeeting {mate} call give: {note}",  OK, OK, OT,         OK,   NR,     OK,     DA),
    ("/logmeeting {other} call give: {note}", OT, OT, OK,         OK,   NR,     OK,     DA),
    ("new:{other}",                    OT,  OT,     OK,           OK,   NR,     OK,     DA),
)
COLUMNS = tuple(ACTORS)

# Row ``[channel message]``: the actor writes in a channel an admin mapped to {other}; only a
# person who may see that client gets a touch, and nothing is said either way. ``[form]``: the
# Slack modal submitted with {other}'s id. ``[shortcut]``: "Log as client touch" on a message in
# {other}'s channel starts the conversation with no client for whoever may not see it.
NAMES = {"own": "Aster Foods", "mate": "Kobe Steelworks", "other": "Boston Bay", "foreign": "Gamma Mills"}
MARKERS = {  # words only a client's own record holds: in its notes, promises and problems
    "own": "heron", "mate": "lynx", "other": "walrus", "foreign": "okapi"}
# What each actor must never read, whatever they ask: the markers and names of books not theirs.
HIDDEN = {
    "rep": ("other", "foreign"), "manager": ("other", "foreign"), "other manager": ("own", "mate", "foreign"),
    "admin": ("foreign",), "unknown": ("own", "mate", "other", "foreign"), "other workspace": ("own", "mate", "other"),
    "admin who left": ("own", "mate", "other", "foreign"),
}
CATALOG = Catalog("en")


def render(outcome: Outcome) -> str:
    return "\n".join(CATALOG.render(line, "en") for reply in outcome.replies for line in reply.lines)


def keys(outcome: Outcome) -> list[str]:
    return [line.key for reply in outcome.replies for line in reply.lines if isinstance(line, Msg)]


# --- the world ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class World:
    coach: object
    clock: MovableClock
    ids: dict[str, int]
    targets: dict[str, object]
    url: str


def _book(coach, ws: str, rep_email: str, team: str, name: str, marker: str, promises: int) -> dict[str, int]:
    """A client of ``rep_email``'s with a logged touch (note, promises, a problem: all carrying
    ``marker``) and a touch captured from a channel whose purpose is not said yet."""
    with coach.uow_factory() as uow:
        rep = uow.people.by_email(ws, rep_email)
        client = uow.clients.add(ws, name, uow.teams.by_name(ws, team).id, rep.id, DAY - timedelta(days=40))
        request = LogRequest(client.id, name, DAY - timedelta(days=3), Kind.MEETING, Purpose.GIVE,
                             f"shared the {marker} benchmark", True,
                             tuple(PromiseDraft(f"send the {marker} quote {n}", DAY + timedelta(days=n + 1))
                                   for n in range(promises)), f"{marker} invoices are late", None, None)
        services.log_request(uow, rep, request, coach.rules, DAY - timedelta(days=3))
        captured = uow.interactions.add(ws, rep.id, InteractionDraft(
            client.id, DAY - timedelta(days=1), Kind.MESSAGE, Purpose.PENDING, source=Source.CHANNEL.value,
            external_id=f"channel:slack:C{marker}:{rep.id}"))
        promise_ids = [p.id for p in uow.promises.open_for(ws, client_id=client.id)]
        uow.commit()
    return {"id": client.id, "promise": promise_ids[0], "touch": captured.id}


def seed_world(database_url: str) -> World:
    clock = MovableClock()
    coach = make_coach(database_url, clock)
    ids = seed_roster(coach)
    own = _book(coach, WORKSPACE, "alice@acme.example", "East", NAMES["own"], MARKERS["own"], 2)
    mate = _book(coach, WORKSPACE, "ken@acme.example", "East", NAMES["mate"], MARKERS["mate"], 1)
    other = _book(coach, WORKSPACE, "bob@acme.example", "West", NAMES["other"], MARKERS["other"], 1)
    with coach.uow_factory() as uow:  # the other workspace: the same team names, Alice's e-mail as its admin
        uow.workspaces.add(Workspace(FOREIGN_WS, "Globex"))
        east, _ = uow.teams.add(FOREIGN_WS, "East"), uow.teams.add(FOREIGN_WS, "West")
        uow.people.upsert(FOREIGN_WS, PersonDraft("alice@acme.example", "Alice Smith", Role.ADMIN, (east.id,), "UTC", "en"))
        uow.people.upsert(FOREIGN_WS, PersonDraft("gus@globex.example", "Gus Grey", Role.REP, (east.id,), "UTC", "en"))
        uow.commit()
    _book(coach, FOREIGN_WS, "gus@globex.example", "East", NAMES["foreign"], MARKERS["foreign"], 1)
    with coach.uow_factory() as uow:  # an admin who left: deactivated, their role still "admin" on the roster
        olga = uow.people.upsert(WORKSPACE, PersonDraft("olga@acme.example", "Olga Left", Role.ADMIN,
                                                        (uow.teams.by_name(WORKSPACE, "East").id,), "UTC", "en"))
        uow.people.set_active(WORKSPACE, olga.id, False)
        uow.commit()
    with coach.uow_factory() as uow:  # an admin mapped a channel to Bob's client
        ada = uow.people.by_email(WORKSPACE, "ada@acme.example")
        capturing.capture_channel(uow, ada, "slack", "CSHARED", NAMES["other"], DAY)
        uow.commit()
    targets = {**NAMES, "note": "sent the recap",
               "own_id": own["id"], "mate_id": mate["id"], "other_id": other["id"],
               "own_promise": own["promise"], "mate_promise": mate["promise"], "other_promise": other["promise"],
               "own_touch": own["touch"], "other_touch": other["touch"]}
    return World(coach, clock, ids, targets, database_url)


class Snapshot:
    """Every row of every table, to tell whether a turn changed anything at all."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.meta = MetaData()
        self.meta.reflect(self.engine)

    def take(self) -> dict[str, list[tuple]]:
        with self.engine.connect() as connection:
            return {table.name: sorted(tuple(map(repr, row)) for row in connection.execute(select(table)))
                    for table in self.meta.sorted_tables}

    def of(self, rows: dict[str, list[tuple]], workspace: str) -> dict[str, list[tuple]]:
        """The rows of one workspace in a snapshot."""
        wanted, found = repr(workspace), {}
        for table in self.meta.sorted_tables:
            if "workspace_id" in table.c:
                column = list(table.c).index(table.c.workspace_id)
                found[table.name] = [r for r in rows[table.name] if r[column] == wanted]
        return found

    def close(self) -> None:
        self.engine.dispose()


# --- running one cell -----------------------------------------------------------------------------

ANSWERS = ("save", "skip", "no")  # how the driver gets through a conversation's questions
CONVERSATION = re.compile(r"^(/logmeeting|tap:|client:|new:)")


def _inbound(actor: str, text: str, conversation: str, **extra) -> Inbound:
    workspace, email = ACTORS[actor]
    return Inbound(workspace, conversation, text, email=email, platform="slack", direct=False, **extra)


def _turns(world: World, actor: str, command: str, conversation: str):
    """Each turn's outcome: one, or a conversation answered until it is saved or refused."""
    engine, t = world.coach.engine, world.targets
    text = command.format(**t)
    if command.startswith("[app home]"):
        yield engine.home(_inbound(actor, "", conversation))
    elif command.startswith("[form]"):
        # the form sends the picked client's id, no name
        request = LogRequest(t["other_id"], "", DAY, Kind.CALL, Purpose.GIVE, "form note", False, (), None, None, None)
        yield engine.log_form(_inbound(actor, "", conversation), request)
    elif command.startswith("[shortcut]"):
        yield engine.log_message(_inbound(actor, "", conversation), "we talked pricing", world.clock(), "CSHARED")
    elif command.startswith("[channel message]"):
        yield engine.capture(_inbound(actor, "", "CSHARED"), world.clock())
    else:
        outcome = engine.handle(_inbound(actor, text, conversation))
        yield outcome
        for _ in range(12):  # a conversation: answer until it is saved, refused or done
            if not CONVERSATION.match(text):
                return
            found = keys(outcome)
            if "log.saved" in found or REFUSALS & set(found) or not outcome.replies:
                return
            values = [c.value for r in outcome.replies for c in r.choices]
            answer = next((a for a in ANSWERS if a in values), values[0] if values else "cancel")
            outcome = engine.handle(_inbound(actor, answer, conversation))
            yield outcome
            if answer == "cancel":
                return


def _interactions(world: World, workspace: str) -> int:
    with world.coach.uow_factory() as uow:
        return sum(len(uow.interactions.for_client(workspace, c.id, limit=1000))
                   for c in uow.clients.list(workspace))


def _visible_leak(actor: str, command: str, said: str, world: World) -> list[str]:
    typed = "" if command.startswith("[") else command.format(**world.targets)  # special rows type nothing
    words = [MARKERS[k] for k in HIDDEN[actor]] + [NAMES[k] for k in HIDDEN[actor] if NAMES[k] not in typed]
    return [w for w in words if w in said]


@pytest.fixture
def world(database_url):
    return seed_world(database_url)


@pytest.fixture
def snapshot(world):
    taker = Snapshot(world.url)
    yield taker
    taker.close()


def test_every_actor_and_command_gets_what_the_policy_says_and_a_refusal_changes_nothing(world, snapshot):
    failures: list[str] = []
    cells = refusals = 0
    for column, actor in enumerate(COLUMNS, 1):
        for n, row in enumerate(MATRIX):
            command, expected = row[0], row[column]
            conversation = f"cell-{column}-{n}"
            touches_before = _interactions(world, ACTORS[actor][0])
            before = at_start = snapshot.take()
            said, last = [], None
            for outcome in _turns(world, actor, command, conversation):
                after = snapshot.take()
                said.append(render(outcome))
                refused = REFUSALS & set(keys(outcome))
                if refused and after != before:
                    changed = [t for t in after if after[t] != before.get(t)]
                    failures.append(f"{actor} / {command}: refused ({refused}) but changed {changed}")
                before, last = after, outcome
            cells += 1
            text = "\n".join(said)
            got = sorted(REFUSALS & set(keys(last))) if last is not None else []
            if expected == IGNORED:
                if text or snapshot.take() != at_start:
                    failures.append(f"{actor} / {command}: expected nothing said or recorded, got {text!r}")
            elif expected == OK:
                if got:
                    failures.append(f"{actor} / {command}: expected allowed, got {got}: {text[:200]}")
                if command.startswith(("/logmeeting", "new:", "[channel message]")) and \
                        _interactions(world, ACTORS[actor][0]) != touches_before + 1:
                    failures.append(f"{actor} / {command}: allowed but nothing was recorded")
            else:
                refusals += 1
                if got != [expected]:
                    failures.append(f"{actor} / {command}: expected {expected}, got {got or 'allowed'}: {text[:200]}")
            if leaks := _visible_leak(actor, command, text, world):
                failures.append(f"{actor} / {command}: shows {leaks}: {text[:300]}")
            if ACTORS[actor][0] != WORKSPACE or actor in ("unknown", "admin who left"):
                # nothing an outsider does touches this workspace
                if snapshot.of(before, WORKSPACE) != snapshot.of(at_start, WORKSPACE):
                    failures.append(f"{actor} / {command}: changed workspace {WORKSPACE}")
    assert cells == len(MATRIX) * len(COLUMNS) and refusals > 80
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("actor, expected", [
    ("rep", {"Aster Foods", "Kobe Steelworks"}),
    ("manager", {"Aster Foods", "Kobe Steelworks"}),
    ("other manager", {"Boston Bay"}),
    ("admin", {"Aster Foods", "Kobe Steelworks", "Boston Bay"}),
    ("unknown", set()),
    ("other workspace", {"Gamma Mills"}),
    ("admin who left", set()),
])
def test_client_search_offers_only_the_clients_the_actor_may_see(world, actor, expected):
    engine = world.coach.engine
    offered = set()
    for query in ("", "a", "o", "Boston", "Aster", "Gamma", "Kobe"):
        offered |= {label for value, label in engine.suggest_clients(_inbound(actor, "", "search"), query)
                    if value.startswith("client:")}
    assert offered == expected


def _any_text(targets: dict[str, object]):
    """Whatever an outsider might type: any command word with any of this workspace's names or
    ids, or a button's value naming one of its rows."""
    ids = st.sampled_from([v for k, v in targets.items() if isinstance(v, int)]) | st.integers(0, 60)
    names = st.sampled_from([NAMES["own"], NAMES["mate"], NAMES["other"], "East", "West", "channel here", "off", ""])
    word = st.sampled_from(sorted({w for words in COMMANDS.values() for w in words}))
    buttons = st.sampled_from(["kept:{}", "broken:{}", "purpose:{}:give", "tap:{}", "client:{}",
                               "snooze:quiet:client:{}", "dismiss:promise_due:promise:{}", "kept {}"])
    return st.one_of(st.builds(lambda w, n: f"{w} {n}".strip(), word, names),
                     st.builds(lambda b, n: b.format(n), buttons, ids))


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_whatever_an_outsider_types_this_workspace_stays_untouched_and_unseen(world, snapshot, data):
    """The other workspace's admin, someone not on the roster and an admin who left, typing anything
    (one conversation each, carried over from one example to the next): nothing here changes,
    nothing here shows."""
    mine = snapshot.of(snapshot.take(), WORKSPACE)
    actor = data.draw(st.sampled_from(["other workspace", "unknown", "admin who left"]))
    text = data.draw(_any_text(world.targets))
    said = render(world.coach.engine.handle(_inbound(actor, text, "outsider")))
    assert snapshot.of(snapshot.take(), WORKSPACE) == mine, text
    hidden = [MARKERS[k] for k in ("own", "mate", "other")] + [NAMES[k] for k in ("own", "mate", "other")
                                                               if NAMES[k] not in text]
    assert not [w for w in hidden if w in said], (text, said)


# --- the CLI: the operator's exports, one workspace at a time ---------------------------------------

def _formats(command: str) -> list[str]:
    """Every --format the command offers (table and json today; any added later is checked too)."""
    option = next(p for p in main.commands[command].params if p.name == "fmt")
    return list(option.type.choices)


CLI_MATRIX = (
    # export                                workspace acme   workspace globex   a workspace nobody has
    (("ledger", "--client", "Boston Bay"), OK, "No client called “Boston Bay”", "No client called “Boston Bay”"),
    (("ledger", "--client", "Gamma Mills"), "No client called “Gamma Mills”", OK, "No client called “Gamma Mills”"),
    (("teamhealth", "--team", "West", "--as-of", "2026-11-20"), OK, OK, "no team called “West”"),
    (("deliveries", "--date", "2026-11-20"), OK, OK, OK),
)


@pytest.mark.parametrize("row", CLI_MATRIX, ids=lambda r: " ".join(r[0][:3]))
def test_cli_exports_act_on_the_selected_workspace_only(world, tmp_path, row):
    """The CLI is the operator's tool: it acts as the admin of the workspace COACH_WORKSPACE
    names, and of that workspace only."""
    args, *expected = row
    for workspace, outcome in zip((WORKSPACE, FOREIGN_WS, "nowhere"), expected):
        hidden = ("foreign",) if workspace == WORKSPACE else ("own", "mate", "other")
        env = {"DATABASE_URL": world.url, "COACH_WORKSPACE": workspace, "COACH_DATA_DIR": str(tmp_path),
               "COACH_LANGUAGE": "en", "COACH_RULES_FILE": ""}
        for fmt in _formats(args[0]):
            result = CliRunner().invoke(main, [*args, "--format", fmt], env=env)
            said = result.stdout + result.stderr
            assert "Traceback" not in said
            if outcome == OK:
                assert result.exit_code == 0, said
                if fmt == "json":
                    json.loads(result.stdout)
            else:
                assert result.exit_code == 2 and outcome in result.stderr, said
            leaked = [w for k in hidden for w in (MARKERS[k], NAMES[k]) if w in said and w not in args]
            assert not leaked, f"{workspace} {args} {fmt}: {leaked}\n{said}"


# --- the table in docs/security.md ---------------------------------------------------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def markdown_matrix() -> str:
    def cell(value: str) -> str:
        return value if value in (OK, IGNORED) else f"refused: `{value}`"

    lines = ["| command | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for command, *cells in MATRIX:
        lines.append(f"| `{command}` | " + " | ".join(cell(c) for c in cells) + " |")
    return "\n".join(lines)


def test_docs_show_the_same_matrix():
    assert markdown_matrix() in DOC.read_text(encoding="utf-8")
