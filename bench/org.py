"""A synthetic sales organisation for the benchmarks, written in bulk.

``build(url, SIZES["L"])`` fills a migrated database (SQLite file or PostgreSQL schema) with one
workspace: teams of reps with a manager each, an admin, clients with their own cadence, and
years of touches, promises, problems, won deals and the ledger entries they earned. Everything
comes from ``random.Random`` seeded per client, so the same seed and ``today`` always give the
same rows, and a client's rows are generated (and forgotten) one client at a time: memory does
not grow with the organisation.

Reps play the archetypes of ``coach demo`` (``bot.demo.PROFILES``): the giver, the seller, the
rep who goes quiet after a win, the busy one whose touches lapse, and so on, so the nudge run
meets every nudge kind in realistic proportions. Ledger entries follow the default point rules
with the keys the service layer would use, so a benchmark that logs on top of this data sees
the same uniqueness rules as production.

Rows go in through PostgreSQL's ``COPY`` (psycopg) or SQLite's ``executemany`` in one
transaction, then the id sequences are moved past the generated ids and the tables analysed.
A ``bench_org`` table records what was built (size, seed, today, generator version) so a
later run reuses an organisation that is already there instead of generating it again.
"""

from __future__ import annotations

import json
import random
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, time as dtime, timedelta, timezone
from typing import Any, Callable, Iterator, Sequence

from sqlalchemy import Engine, bindparam, text
from sqlalchemy.orm import Session

from bot.demo import CLIENTS, DEALS, KINDS, PROFILES, WORDS, Profile
from coaching.model import Purpose, Reason, Role
from coaching.rules import Points
from storage import summaries
from storage.db import make_engine, upgrade
from storage.repositories import name_key

GENERATOR_VERSION = 2
WORKSPACE = "bench"
DOMAIN = "bench.example"
ARCHETYPE_ORDER = ("steady", "giver", "seller", "after_win", "busy", "promiser", "responder", "ignorer")
ZONES = {"ja": ("Asia/Tokyo",), "en": ("Europe/London", "America/New_York", "America/Los_Angeles")}


@dataclass(frozen=True)
class Size:
    name: str
    reps: int
    clients: int
    interactions: int
    team_size: int = 10  # reps per team (each team also has a manager)


SIZES = {
    "tiny": Size("tiny", 4, 40, 1_200, team_size=2),
    "S": Size("S", 10, 1_000, 50_000),
    "M": Size("M", 200, 20_000, 1_000_000),
    "L": Size("L", 2_000, 200_000, 10_000_000),
    # The /teamhealth benchmark's team: one manager's 50 reps.
    "team": Size("team", 50, 5_000, 500_000, team_size=50),
}


@dataclass(frozen=True)
class Rep:
    person_id: int
    email: str
    slack_user_id: str
    teams_user_id: str
    team_id: int
    archetype: str
    locale: str
    timezone: str
    clients: tuple[str, ...]  # the names of the rep's first few clients


@dataclass(frozen=True)
class Org:
    workspace: str
    size: Size
    seed: int
    today: date
    reps: tuple[Rep, ...]
    managers: tuple[tuple[int, str, int], ...]  # (person id, e-mail, team id)
    admin: tuple[int, str]  # (person id, e-mail)
    rows: dict[str, int]  # table -> rows generated
    seconds: float  # how long generating took (when reused: when it was built)
    reused: bool = False


# --- what each client's history looks like ------------------------------------------------

@dataclass(frozen=True)
class _Person:
    id: int
    email: str
    name: str
    role: str
    team: int | None
    zone: str
    locale: str
    archetype: str | None
    slack: str
    teams: str


def _people(size: Size) -> tuple[list[tuple[int, str]], list[_Person]]:
    teams = [(t + 1, f"Team {t + 1:03d}") for t in range(-(-size.reps // size.team_size))]
    people = [_Person(1, f"admin@{DOMAIN}", "Avery Admin", Role.ADMIN.value, None, "UTC", "en", None,
                      "UBADMIN", "teams-admin")]
    pid = 2
    for team_id, _ in teams:
        locale = "ja" if team_id % 2 else "en"
        people.append(_Person(pid, f"manager{team_id:04d}@{DOMAIN}", f"Manager {team_id}", Role.MANAGER.value,
                              team_id, ZONES[locale][0], locale, None, f"UBM{team_id:07d}", f"teams-m{team_id}"))
        pid += 1
    for r in range(size.reps):
        team_id = r // size.team_size + 1
        locale = "ja" if r % 3 == 0 else "en"
        zones = ZONES[locale]
        people.append(_Person(pid, f"rep{r:05d}@{DOMAIN}", f"Rep {r:05d}", Role.REP.value, team_id,
                              zones[r % len(zones)], locale, ARCHETYPE_ORDER[r % len(ARCHETYPE_ORDER)],
                              f"UBR{r:07d}", f"teams-r{r}"))
        pid += 1
    return teams, people


def _client_name(i: int) -> str:
    return f"{CLIENTS[i % len(CLIENTS)]} {i // len(CLIENTS) + 1:05d}"


def _touch_counts(size: Size, reps: Sequence[_Person], seed: int) -> list[int]:
    """Touches per client, adding up to exactly ``size.interactions``: clients of reps with a
    short usual gap get more, and each client varies around its rep's mean."""
    rng = random.Random(seed)
    weights = []
    for c in range(size.clients):
        profile = PROFILES[reps[c % len(reps)].archetype or "steady"]
        weights.append(rng.uniform(0.4, 1.6) / profile.gap)
    total = sum(weights)
    counts = [int(size.interactions * w / total) for w in weights]
    for c in range(size.interactions - sum(counts)):
        counts[c % size.clients] += 1
    return counts


@dataclass
class _Ids:
    interaction: int = 0
    entry: int = 0
    promise: int = 0
    problem: int = 0
    deal: int = 0


class _Rows:
    """One client's rows, table by table, in the column order of ``COLUMNS``."""

    def __init__(self) -> None:
        self.clients: list[tuple[Any, ...]] = []
        self.interactions: list[tuple[Any, ...]] = []
        self.promises: list[tuple[Any, ...]] = []
        self.problems: list[tuple[Any, ...]] = []
        self.deals: list[tuple[Any, ...]] = []
        self.ledger_entries: list[tuple[Any, ...]] = []


COLUMNS: dict[str, tuple[str, ...]] = {
    "clients": ("id", "workspace_id", "name", "name_key", "team_id", "owner_id", "created_on", "trust_level",
                "trust_assessed_on", "trust_asked_for", "trust_demanded_justification"),
    "interactions": ("id", "workspace_id", "client_id", "rep_id", "occurred_on", "kind", "purpose", "note",
                     "proof_shown", "source", "external_id", "voided", "logged_at"),
    "promises": ("id", "workspace_id", "client_id", "rep_id", "interaction_id", "text", "made_on", "due_on",
                 "status", "closed_on"),
    "problems": ("id", "workspace_id", "client_id", "rep_id", "interaction_id", "text", "raised_on",
                 "first_response_on", "resolved_on"),
    "deals": ("id", "workspace_id", "client_id", "rep_id", "interaction_id", "won_on", "note"),
    "ledger_entries": ("id", "workspace_id", "client_id", "rep_id", "amount", "reason", "occurred_on", "key",
                       "cause", "detail", "reverses_id"),
}
BIG_TABLES = tuple(COLUMNS)  # in foreign-key order


def _schedule(c: int, rep: _Person, touches: int, seed: int) -> list[int]:
    """When client ``c`` was touched, in days before ``today``, newest first. A generator of its
    own, so the days can be computed again (to number touches in time order) without the rest."""
    rng = random.Random(seed * 1_000_003 + c)
    profile: Profile = PROFILES[rep.archetype or "steady"]
    gap = max(2, round(profile.gap * rng.uniform(0.6, 1.8)))
    # How long ago the last touch was: most clients are in rhythm, some have gone quiet (the
    # "busy" and "after_win" reps more than most), a few long forgotten.
    roll = rng.random()
    quiet_share = {"busy": 0.5, "after_win": 0.35}.get(rep.archetype or "", 0.15)
    if roll < quiet_share:
        last_ago = rng.randint(gap * 2, gap * 5)
    elif roll < quiet_share + 0.03:
        last_ago = rng.randint(120, 400)
    else:
        last_ago = rng.randint(0, gap)
    days: list[int] = []
    ago = last_ago
    for _ in range(touches):
        days.append(ago)
        ago += max(1, round(gap * rng.uniform(0.5, 1.5)))
    return days or [last_ago]


class _TimeOrderedIds:
    """Interaction ids in the order production would have given them: by day, oldest first.
    A first pass counts the touches of each day; each day's ids then start where the previous
    day's end, and a client's touch takes the next free id of its day. Two small arrays, however
    many touches."""

    def __init__(self, schedules: Iterator[list[int]]) -> None:
        per_day: list[int] = []
        for days in schedules:
            for ago in days:
                if ago >= len(per_day):
                    per_day.extend([0] * (ago + 1 - len(per_day)))
                per_day[ago] += 1
        self.next = [0] * len(per_day)
        first = 1
        for ago in range(len(per_day) - 1, -1, -1):  # the oldest day first
            self.next[ago] = first
            first += per_day[ago]
        self.last = first - 1

    def take(self, ago: int) -> int:
        value = self.next[ago]
        self.next[ago] += 1
        return value


def _client_rows(c: int, rep: _Person, touches: int, today: date, seed: int, ids: _Ids, points: Points,
                 json_detail: Callable[[dict[str, str]], Any], numbering: _TimeOrderedIds) -> _Rows:
    schedule = _schedule(c, rep, touches, seed)
    days = schedule[:touches]
    rng = random.Random(seed * 2_000_003 + c)
    profile: Profile = PROFILES[rep.archetype or "steady"]
    words = WORDS[rep.locale]
    out = _Rows()
    ws, cid, rid = WORKSPACE, c + 1, rep.id
    created_ago = schedule[-1] + rng.randint(1, 30)
    trust = profile.trust[c % len(profile.trust)] if profile.trust else None
    level = (1 + c % 3) if trust is not None or c % 4 == 0 else None
    name = _client_name(c)
    out.clients.append((
        cid, ws, name, name_key(name), rep.team, rid, today - timedelta(days=created_ago), level,
        today - timedelta(days=created_ago) if level else None,
        trust[0] if trust else None, trust[1] if trust else None,
    ))
    purposes = (Purpose.GIVE, Purpose.ASK, Purpose.SERVICE)
    for ago in reversed(days):  # oldest first, so ids grow with time as in production
        on = today - timedelta(days=ago)
        purpose = rng.choices(purposes, weights=profile.weights)[0] if sum(profile.weights) else Purpose.ASK
        kind = rng.choice(KINDS[purpose])
        proof = purpose is not Purpose.GIVE and rng.random() < profile.proof
        iid = numbering.take(ago)
        ids.interaction += 1
        out.interactions.append((
            iid, ws, cid, rid, on, kind.value, purpose.value, rng.choice(words[purpose]), proof, "command", None,
            False, datetime.combine(on, dtime(9, 30), timezone.utc),
        ))
        base = f"interaction:{iid}"
        earned = {Purpose.GIVE: (points.give_touch, Reason.GIVE_TOUCH), Purpose.ASK: (points.ask_touch, Reason.ASK_TOUCH)}
        amount, reason = earned.get(purpose, (0, None))
        if amount and reason is not None:
            ids.entry += 1
            out.ledger_entries.append((ids.entry, ws, cid, rid, amount, reason.value, on, f"{base}:{purpose.value}",
                                       base, json_detail({"kind": kind.value}), None))
        if proof and points.proof_shown:
            ids.entry += 1
            out.ledger_entries.append((ids.entry, ws, cid, rid, points.proof_shown, Reason.PROOF_SHOWN.value, on,
                                       f"{base}:proof", base, json_detail({}), None))
        if rng.random() < profile.promises:
            ids.promise += 1
            due = on + timedelta(days=rng.randint(2, 14))
            what = rng.choice(words["promise"])
            status, closed = "open", None
            if due < today - timedelta(days=points.promise_broken_after_days) or (due <= today and rng.random() < 0.6):
                outcome = rng.random()
                if outcome < profile.late:
                    status, closed = "kept_late", due + timedelta(days=rng.randint(1, 5))
                elif outcome < profile.late + 0.04:
                    status, closed = "broken", due + timedelta(days=points.promise_broken_after_days)
                else:
                    status, closed = "kept", due - timedelta(days=rng.randint(0, 2))
                closed = min(max(closed, on), today)
            out.promises.append((ids.promise, ws, cid, rid, iid, what, on, due, status, closed))
            if closed is not None:
                amount = {"kept": points.promise_kept, "kept_late": points.promise_kept_late,
                          "broken": points.promise_broken}[status]
                ids.entry += 1
                out.ledger_entries.append((
                    ids.entry, ws, cid, rid, amount, f"promise_{status}", closed, f"promise:{ids.promise}:closed",
                    f"promise:{ids.promise}", json_detail({"promise": what, "due": due.isoformat()}), None,
                ))
        if rng.random() < profile.problems:
            ids.problem += 1
            what = rng.choice(words["problem"])
            answered = on + timedelta(days=rng.randint(*profile.answer))
            first = answered if answered <= today else None
            out.problems.append((ids.problem, ws, cid, rid, iid, what, on, first, first))
            waited = ((first or today) - on).days
            if first is not None and waited <= points.problem_answered_within_days:
                entry = (points.problem_answered_fast, Reason.PROBLEM_ANSWERED_FAST, first, "fast")
            elif waited >= points.problem_unanswered_after_days:
                entry = (points.problem_unanswered, Reason.PROBLEM_UNANSWERED,
                         on + timedelta(days=points.problem_unanswered_after_days), "unanswered")
            else:
                entry = None
            if entry is not None:
                ids.entry += 1
                out.ledger_entries.append((
                    ids.entry, ws, cid, rid, entry[0], entry[1].value, entry[2], f"problem:{ids.problem}:{entry[3]}",
                    f"problem:{ids.problem}", json_detail({"problem": what}), None,
                ))
        if purpose is Purpose.ASK and rng.random() < (0.08 if rep.archetype == "after_win" else 0.02):
            ids.deal += 1
            out.deals.append((ids.deal, ws, cid, rid, iid, on, rng.choice(DEALS)))
    return out


# --- writing --------------------------------------------------------------------------------

class _Writer:
    """Buffers rows table by table and moves a table's batch into the database (``_flush``)
    once it is full, every table it depends on first, so foreign keys always find their rows."""

    BATCH = 50_000

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.buffers: dict[str, list[tuple[Any, ...]]] = {t: [] for t in BIG_TABLES}

    def begin(self) -> None:
        self.connection = self.engine.raw_connection()
        self.cursor = self.connection.cursor()

    def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        buffer = self.buffers[table]
        buffer.extend(rows)
        if len(buffer) >= self.BATCH:
            for parent_first in BIG_TABLES[: BIG_TABLES.index(table) + 1]:
                self._flush(parent_first)

    def flush_all(self) -> None:
        for table in BIG_TABLES:
            self._flush(table)

    def _flush(self, table: str) -> None:
        raise NotImplementedError

    def finish(self, ids: dict[str, int]) -> None:
        raise NotImplementedError

    def json(self, value: dict[str, str]) -> Any:
        return json.dumps(value, ensure_ascii=False)


class _PostgresWriter(_Writer):
    """``COPY ... FROM STDIN`` per table, in one transaction. Rows are buffered per table and
    copied parents first. The big tables' secondary indexes, unique and foreign-key constraints
    are dropped for the load and rebuilt after it (in the same transaction): building an index
    once over sorted data and validating a foreign key in one pass cost a fraction of doing it
    row by row."""

    rebuild: list[str]  # what begin() dropped, to build again after the load

    def begin(self) -> None:
        super().begin()
        # Not synchronous_commit = off: the load is one transaction, so it would save one flush,
        # and a VACUUM right after an unflushed commit cannot set the rows' hint bits, so it
        # marked no page all-visible ("tables not all-visible after VACUUM" on every fresh
        # build, with no other session open).
        self.cursor.execute("SET maintenance_work_mem = '512MB'")
        tables = list(BIG_TABLES)
        # Constraints that point at the big tables too (a promise's interaction, say), so
        # every foreign key is validated once, after the load.
        self.cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype FROM pg_constraint"
            " WHERE contype IN ('u', 'f') AND connamespace = current_schema()::regnamespace"
            " AND (conrelid::regclass::text = ANY(%s) OR confrelid::regclass::text = ANY(%s))"
            " ORDER BY contype DESC",  # unique first: foreign keys need their target's index
            (tables, tables))
        constraints = self.cursor.fetchall()
        self.cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            " AND tablename = ANY(%s) AND indexname NOT LIKE 'pk_%%'"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE connamespace = current_schema()::regnamespace)",
            (tables,))
        indexes = self.cursor.fetchall()
        for table, name, _, _ in reversed(constraints):  # foreign keys first
            self.cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            self.cursor.execute(f'DROP INDEX "{name}"')
        self.rebuild = [definition for _, definition in indexes] + [
            f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for table, name, definition, _ in constraints]

    def _flush(self, table: str) -> None:
        rows = self.buffers[table]
        if not rows:
            return
        with self.cursor.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        rows.clear()

    def finish(self, ids: dict[str, int]) -> None:
        self.flush_all()
        for statement in self.rebuild:
            self.cursor.execute(statement)
        # Production appends touches as they happen, so its heap is in time order, many clients
        # interleaved; rows were copied client by client. Rewrite the heap in id (= time) order
        # so reading one client's touches costs what it would in production.
        self.cursor.execute("CLUSTER interactions USING pk_interactions")
        for table, last in ids.items():
            self.cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s, true)", (max(last, 1),))
        self.connection.commit()
        raw = self.connection.driver_connection
        raw.autocommit = True
        with raw.cursor() as cursor:
            for table in BIG_TABLES:
                cursor.execute(f"VACUUM ANALYZE {table}")
        raw.autocommit = False
        self.connection.close()


class _SqliteWriter(_Writer):
    """``executemany`` per batch, all in one transaction."""

    def begin(self) -> None:
        super().begin()
        self.cursor.execute("PRAGMA synchronous = OFF")

    def _flush(self, table: str) -> None:
        rows = self.buffers[table]
        if rows:
            columns = COLUMNS[table]
            self.cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                [tuple(_sqlite(v) for v in row) for row in rows])
            rows.clear()

    def finish(self, ids: dict[str, int]) -> None:
        self.flush_all()
        self.connection.commit()
        self.cursor.execute("ANALYZE")
        self.connection.commit()
        self.connection.close()


def _sqlite(value: Any) -> Any:
    # The stored forms SQLAlchemy's SQLite dialect reads back: ISO dates and datetimes.
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- the public face ---------------------------------------------------------------------

def _recorded(engine: Engine) -> dict[str, Any] | None:
    with engine.connect() as connection:
        try:
            row = connection.execute(text("SELECT info FROM bench_org")).first()
        except Exception:  # no such table: nothing was built here yet
            return None
    return json.loads(row[0]) if row else None


def build(url: str, size: Size, *, seed: int = 7, today: date | None = None, reuse: bool = True,
          progress: Callable[[int, int], None] | None = None) -> Org:
    """The organisation of ``size`` in the empty (or previously built) database at ``url``.

    With ``reuse`` an organisation already built there with the same size, seed and generator
    version is returned as it is (its ``today`` is the one it was built for); a database holding
    anything else is refused rather than overwritten. ``progress(done, total)`` is called as
    clients are written.
    """
    engine = make_engine(url)
    try:
        recorded = _recorded(engine)
        wanted = {"size": asdict(size), "seed": seed, "version": GENERATOR_VERSION}
        if recorded is not None:
            if reuse and {k: recorded[k] for k in wanted} == wanted:
                upgrade(engine)  # built before a later migration: bring the schema to head
                _analyzed(engine)
                return _org(size, seed, date.fromisoformat(recorded["today"]), recorded["rows"],
                            recorded.get("seconds", 0.0), reused=True)
            raise RuntimeError(f"{url} already holds a different benchmark organisation; drop it first")
        today = today or date.today()
        started = time.perf_counter()
        upgrade(engine)
        rows = _generate(engine, size, seed, today, progress)
        _analyzed(engine)
        seconds = time.perf_counter() - started
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE bench_org (info TEXT NOT NULL)"))
            info = {**wanted, "today": today.isoformat(), "rows": rows, "seconds": seconds}
            connection.execute(text("INSERT INTO bench_org (info) VALUES (:info)"), {"info": json.dumps(info)})
        return _org(size, seed, today, rows, seconds)
    finally:
        engine.dispose()


def _analyzed(engine: Engine) -> None:
    """PostgreSQL: every table of the organisation's schema that holds rows and was never
    analysed (the summaries, built after the big tables; a table a later migration added), and
    every big table a VACUUM could not settle (:func:`_not_all_visible`), is vacuumed and
    analysed, as autovacuum would have done in production (it may be off on a test server): the
    planner then knows the summaries' size instead of guessing it. Then a checkpoint. Both are
    cheap for an organisation already settled."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as connection:
        tables = connection.execute(text(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema()"
            " AND last_analyze IS NULL AND last_autoanalyze IS NULL AND n_live_tup > 0")).scalars().all()
    tables += [t for t in _not_all_visible(engine) if t not in tables]
    raw = engine.raw_connection()
    try:
        raw.driver_connection.autocommit = True
        with raw.driver_connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f'VACUUM ANALYZE "{table}"')
            unsettled = _not_all_visible(engine) if tables else []
            if unsettled:  # another session's open transaction kept VACUUM from marking them
                print(f"tables not all-visible after VACUUM: {', '.join(unsettled)}; index-only scans will"
                      " read the table (close other sessions and run again); sessions holding rows back:"
                      f" {'; '.join(_holding_back(engine)) or 'none now'}", file=sys.stderr)
            # and what the load left in shared buffers written out now, not by a checkpoint in
            # the middle of the first measurement's commits (a role without the right skips it)
            try:
                cursor.execute("CHECKPOINT")
            except Exception as error:  # the driver's InsufficientPrivilege
                print(f"no checkpoint before measuring: {type(error).__name__}", file=sys.stderr)
    finally:
        raw.close()


def _holding_back(engine: Engine) -> list[str]:
    """The other sessions whose snapshot keeps VACUUM from marking rows all-visible: what they
    are and what they last ran, so a warning names its cause."""
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT pid, coalesce(application_name, ''), state, now() - xact_start, left(query, 80)"
            " FROM pg_stat_activity WHERE (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL)"
            " AND pid <> pg_backend_pid() AND datname = current_database()"
            " ORDER BY xact_start")).all()
    return [f"pid {pid} {app} {state} for {age}: {query!r}" for pid, app, state, age, query in rows]


def _not_all_visible(engine: Engine) -> list[str]:
    """The organisation's big tables whose pages are not (nearly) all marked all-visible. A
    VACUUM cannot mark rows that a transaction open elsewhere might not see; then an index-only
    scan (the floor's aggregate, the ranking of touches) visits the table for every row, as it
    never does on a database autovacuum keeps. The nudge run's floor at M: 0.14 s settled,
    0.54-1.06 s unsettled."""
    with engine.connect() as connection:
        return list(connection.execute(text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname IN :tables"
            " AND c.relpages > 0 AND c.relallvisible < 0.9 * c.relpages").bindparams(
            bindparam("tables", expanding=True)), {"tables": list(BIG_TABLES)}).scalars())


def _org(size: Size, seed: int, today: date, rows: dict[str, int], seconds: float, reused: bool = False) -> Org:
    teams, people = _people(size)
    reps = [p for p in people if p.role == Role.REP.value]
    names: dict[int, list[str]] = {}
    for c in range(min(size.clients, len(reps) * 5)):
        names.setdefault(reps[c % len(reps)].id, []).append(_client_name(c))
    return Org(
        WORKSPACE, size, seed, today,
        tuple(Rep(p.id, p.email, p.slack, p.teams, p.team or 0, p.archetype or "", p.locale, p.zone,
                  tuple(names.get(p.id, ()))) for p in reps),
        tuple((p.id, p.email, p.team or 0) for p in people if p.role == Role.MANAGER.value),
        (people[0].id, people[0].email), rows, seconds, reused,
    )


def _generate(engine: Engine, size: Size, seed: int, today: date,
              progress: Callable[[int, int], None] | None) -> dict[str, int]:
    teams, people = _people(size)
    reps = [p for p in people if p.role == Role.REP.value]
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO workspaces (id, name, platform, llm_enabled) VALUES (:id, :name, 'slack', :llm)"),
                           {"id": WORKSPACE, "name": "Benchmark Org", "llm": False})
        connection.execute(text("INSERT INTO teams (id, workspace_id, name) VALUES (:id, :ws, :name)"),
                           [{"id": t, "ws": WORKSPACE, "name": n} for t, n in teams])
        connection.execute(text(
            "INSERT INTO people (id, workspace_id, email, name, role, timezone, locale, slack_user_id, teams_user_id, on_leave)"
            " VALUES (:id, :ws, :email, :name, :role, :zone, :locale, :slack, :teams, :leave)"),
            [{"id": p.id, "ws": WORKSPACE, "email": p.email, "name": p.name, "role": p.role, "zone": p.zone,
              "locale": p.locale, "slack": p.slack, "teams": p.teams, "leave": False} for p in people])
        members = [p for p in people if p.team is not None]
        connection.execute(text("INSERT INTO team_members (person_id, team_id, workspace_id, position) VALUES (:p, :t, :ws, :pos)"),
                           [{"p": p.id, "t": p.team, "ws": WORKSPACE, "pos": i} for i, p in enumerate(members)])
        if engine.dialect.name == "postgresql":
            for table in ("teams", "people"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :n, true)"),
                                   {"n": len(teams) if table == "teams" else len(people)})
    writer: _Writer = _PostgresWriter(engine) if engine.dialect.name == "postgresql" else _SqliteWriter(engine)
    counts = _touch_counts(size, reps, seed)
    numbering = _TimeOrderedIds(_schedule(c, reps[c % len(reps)], counts[c], seed)[:counts[c]]
                                for c in range(size.clients))
    ids, points, written = _Ids(), Points(), dict.fromkeys(BIG_TABLES, 0)
    writer.begin()
    for c in range(size.clients):
        rows = _client_rows(c, reps[c % len(reps)], counts[c], today, seed, ids, points, writer.json, numbering)
        for table in BIG_TABLES:
            batch = getattr(rows, table)
            if batch:
                writer.write(table, batch)
                written[table] += len(batch)
        if progress is not None and (c + 1) % 1000 == 0:
            progress(c + 1, size.clients)
    writer.finish({"clients": size.clients, "interactions": ids.interaction, "promises": ids.promise,
                   "problems": ids.problem, "deals": ids.deal, "ledger_entries": ids.entry})
    with Session(engine) as session:  # loaded around the write path: its summaries built once, as the migration does
        summaries.rebuild(session, WORKSPACE)
        session.commit()
    return {"people": len(people), "teams": len(teams), **written}


def iter_sizes(names: str) -> Iterator[Size]:
    for name in names.split(","):
        if name.strip() not in SIZES:
            raise ValueError(f"unknown size {name!r}: choose from {', '.join(SIZES)}")
        yield SIZES[name.strip()]
