"""`coach backup` and `coach restore` on SQLite (docs/deploy.md): backups taken while another
process logs touches are each a snapshot at a commit, and restoring one over the live database
(a `-wal` file beside it still holding frames) gives back exactly its rows, which pass
`coach summaries check`."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from storage import db

HEAD = db.head_revision()

ROOT = Path(__file__).resolve().parents[2]

# Another process logging touches through the service layer, one commit each (a touch, its
# ledger entries, its client's summary), until told to stop; it prints how many it committed.
WRITER = """
import sys
from pathlib import Path
from bot.bootstrap import bootstrap
from bot.settings import Settings
from coaching import services
from coaching.model import InteractionDraft, Kind, PromiseDraft, Purpose

coach = bootstrap(Settings())
today = coach.clock().date()
with coach.uow_factory() as uow:
    clients = uow.clients.list("demo")
stop, n = Path(sys.argv[1]), 0
while not stop.exists():
    client = clients[n % len(clients)]
    with coach.uow_factory() as uow:
        rep = uow.people.get("demo", client.owner_id)
        promises = (PromiseDraft(f"call back {n}", today),) if n % 3 == 0 else ()
        draft = InteractionDraft(client.id, today, Kind.CALL, (Purpose.GIVE, Purpose.ASK)[n % 2],
                                 note=f"backup test {n}", promises=promises)
        services.record_touch(uow, rep, uow.clients.get("demo", client.id), draft, coach.rules, today)
        uow.commit()
    n += 1
    print(n, flush=True)
"""


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'live' / 'coach.db'}", "COACH_WORKSPACE": "demo",
            "COACH_DATA_DIR": str(tmp_path / "data"), "COACH_LANGUAGE": "en", "COACH_RULES_FILE": "", **extra}


def coach(env: dict[str, str], *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def notes(path: Path) -> list[int]:
    """The numbers of the writer's touches a database holds, in order."""
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT note FROM interactions WHERE note LIKE 'backup test %'").fetchall()
    return sorted(int(note.rsplit(" ", 1)[1]) for (note,) in rows)


def dump(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


@pytest.fixture
def demo(tmp_path: Path) -> dict[str, str]:
    env = environment(tmp_path)
    assert coach(env, "db", "upgrade")[0] == 0
    assert coach(env, "demo")[0] == 0
    return env


def wait_for(writer: subprocess.Popen, count: int) -> int:
    """Reads the writer's progress until it has committed at least ``count`` touches."""
    done = 0
    while done < count:
        line = writer.stdout.readline()
        assert line, writer.stderr.read()
        done = int(line)
    return done


def test_backups_taken_while_another_process_writes_restore_exactly(demo, tmp_path: Path) -> None:
    live = tmp_path / "live" / "coach.db"
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(stop)], cwd=ROOT, env={**os.environ, **demo},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        committed, backups = wait_for(writer, 5), []
        for n in range(3):
            target = tmp_path / "backups" / f"coach-{n}.db"
            code, out, err = coach(demo, "backup", str(target))
            assert code == 0, err
            assert out.startswith(f"Backed up the database to “{target}” (") and f"schema {HEAD}" in out
            backups.append(target)
            committed = wait_for(writer, committed + 5)  # the writer goes on between backups
    finally:
        stop.touch()
        assert writer.wait(timeout=60) == 0, writer.stderr.read()
    writer.stdout.close()
    writer.stderr.close()

    taken = [notes(b) for b in backups]
    for touches in taken:  # each a snapshot at a commit: the writer's first k touches, none torn
        assert touches == list(range(len(touches)))
    # each backup one self-contained file (no -wal or -shm beside it, no partial copy left)
    assert sorted(p.name for p in backups[0].parent.iterdir()) == [b.name for b in backups]
    assert 0 < len(taken[0]) < len(taken[1]) < len(taken[2]) < len(notes(live))

    # the writer's last connection is gone: leave frames in a -wal beside the live database, as a
    # server killed in the middle of its work would, and keep that connection open
    stale = sqlite3.connect(live, isolation_level=None)
    stale.execute("PRAGMA wal_autocheckpoint = 0")
    stale.execute("UPDATE interactions SET note = 'after the backup' WHERE note = 'backup test 0'")
    assert (live.parent / "coach.db-wal").stat().st_size > 0
    before_restore = notes(live)

    assert coach(demo, "restore", str(backups[1]))[::2] == (  # no terminal to ask
        2, "error: Restoring replaces the database: with no terminal to ask, confirm with --yes.\n")
    code, out, err = coach(demo, "restore", str(backups[1]), "--yes")
    assert code == 0, err
    kept = next(live.parent.glob("coach.db.before-restore-*"))
    assert out.splitlines() == [f"Restored “{backups[1]}” into “{live}” (schema {HEAD}).",
                                f"The database it replaced is kept at “{kept}”.",
                                "Next: coach summaries check, then start the coach again."]
    assert dump(live) == dump(backups[1])  # the same rows, every table
    assert stale.execute("SELECT count(*) FROM interactions WHERE note = 'after the backup'").fetchone() == (0,)
    stale.close()
    assert coach(demo, "summaries", "check")[:2] == (0, "Every client's summary matches its records.\n")
    assert notes(kept) == [n for n in before_restore if n != 0]  # what it replaced, the -wal's change in it


def test_backup_refuses_what_it_cannot_do(demo, tmp_path: Path) -> None:
    live = tmp_path / "live" / "coach.db"
    first = tmp_path / "first.db"
    assert coach(demo, "backup", str(first))[0] == 0
    for target, line in ((first, f"error: “{first}” already exists, and a backup never overwrites a file."),
                         (live, f"error: “{live}” is the database itself.")):
        code, out, err = coach(demo, "backup", str(target))
        assert (code, out) == (2, "") and err.startswith(line) and err.count("\n") == 1
    assert first.stat().st_mode & 0o777 == 0o600  # its owner's alone: it holds every note
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    code, _, err = coach(demo, "backup", str(blocked / "x.db"))
    assert code == 2 and err.startswith(f"error: The copy to “{blocked / 'x.db'}” failed (") and err.count("\n") == 1
    nothing = environment(tmp_path / "elsewhere")
    code, _, err = coach(nothing, "backup", str(tmp_path / "x.db"))
    assert code == 2 and err.startswith("error: There is no SQLite database at ")
    folder = tmp_path / "nightly"
    folder.mkdir()
    code, out, _ = coach(demo, "backup", str(folder))
    dated = next(folder.iterdir())
    assert code == 0 and re.fullmatch(r"coach-\d{8}T\d{6}Z\.db", dated.name) and f"“{dated}”" in out
    ja = {**demo, "COACH_LANGUAGE": "ja"}
    assert coach(ja, "backup", str(first))[2].startswith(f"エラー:「{first}」はすでにあります。")


def test_restore_refuses_a_file_that_is_not_a_backup_and_changes_nothing(demo, tmp_path: Path) -> None:
    live = tmp_path / "live" / "coach.db"
    before = dump(live)
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    newer = tmp_path / "newer.db"
    assert coach(demo, "backup", str(newer))[0] == 0
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    for file, line in ((text, f"error: “{text}” is not a coach database that can be restored"),
                       (newer, f"error: “{newer}” comes from a newer version of the coach (schema 9999)."),
                       (tmp_path / "missing.db", f"error: The backup “{tmp_path / 'missing.db'}” does not exist.")):
        code, _, err = coach(demo, "restore", str(file), "--yes")
        assert code == 2 and err.startswith(line) and err.count("\n") == 1, err
    assert dump(live) == before
    assert list(live.parent.glob("*.before-restore-*")) == []


def test_a_backup_from_an_older_schema_says_to_upgrade(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    env = environment(tmp_path)
    db.upgrade(env["DATABASE_URL"], ScriptDirectory.from_config(db.alembic_config()).get_revision(HEAD).down_revision)
    old = tmp_path / "old.db"
    assert coach(env, "backup", str(old))[0] == 0
    assert coach(env, "db", "upgrade")[0] == 0
    code, out, _ = coach(env, "restore", str(old), "--yes")
    assert code == 0 and out.splitlines()[-1].startswith("Next: coach db upgrade (the backup is from an older version)")
    assert coach(env, "db", "upgrade")[0] == 0


def test_at_a_terminal_restore_asks_first(demo, tmp_path: Path) -> None:
    """The real `coach restore` with a terminal for its input: "n" changes nothing, "y" restores."""
    import pty

    live = tmp_path / "live" / "coach.db"
    saved = tmp_path / "saved.db"
    assert coach(demo, "backup", str(saved))[0] == 0
    with sqlite3.connect(live) as connection:
        connection.execute("UPDATE clients SET name = name || ' (changed)'")
    changed = dump(live)

    def answer(reply: str) -> str:
        leader, follower = pty.openpty()
        process = subprocess.Popen([sys.executable, "-c", "from bot.cli import main; main()", "restore", str(saved)],
                                   stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   cwd=ROOT, env={**os.environ, **demo})
        os.close(follower)
        os.write(leader, reply.encode() + b"\n")
        out, err = process.communicate(timeout=120)
        os.close(leader)
        return out + err

    said = answer("n")
    assert f"Replace the database “{live}” with the backup “{saved}”?" in said and "error: Stopped." in said
    assert dump(live) == changed
    assert "Next: coach summaries check" in answer("y")
    assert dump(live) == dump(saved)
