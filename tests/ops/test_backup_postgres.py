"""PostgreSQL's backup and restore (docs/deploy.md): `coach backup` and `coach restore` refuse
with the pg_dump and pg_restore lines to run, and those lines, run as printed, carry the demo
organisation into a fresh database whole: the same rows in every table, and `coach summaries
check` passes there."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, make_url, text

from bot.cli import main
from tests.conftest import POSTGRES_ENV, postgres_schema


def coach(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def environment(url: str, tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": url, "COACH_WORKSPACE": "demo", "COACH_DATA_DIR": str(tmp_path),
            "COACH_LANGUAGE": "en", "COACH_RULES_FILE": ""}


def test_the_refusals_name_the_postgres_tools_without_the_password() -> None:
    env = environment("postgresql+psycopg://coach:s3cret@db.example:5433/coach", Path("."))
    code, out, err = coach(env, "backup", "nightly.dump")
    assert (code, out) == (2, "")
    assert err == ("error: coach backup copies SQLite databases. On PostgreSQL, run pg_dump instead (the password "
                   "from PGPASSWORD or ~/.pgpass): pg_dump --format=custom --file=nightly.dump "
                   "--dbname=postgresql://coach@db.example:5433/coach\n")
    code, _, err = coach(env, "restore", "nightly.dump")
    assert code == 2 and err.endswith(": pg_restore --clean --if-exists --no-owner --single-transaction "
                                      "--dbname=postgresql://coach@db.example:5433/coach nightly.dump\n")
    assert "s3cret" not in err


def printed_command(err: str, tool: str) -> list[str]:
    """The command at the end of a refusal's line."""
    return shlex.split(err.strip()[err.index(f"{tool} --"):])


def rows(url: str, schema: str) -> dict[str, list[tuple]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = connection.execute(text("SELECT table_name FROM information_schema.tables "
                                             "WHERE table_schema = :s ORDER BY 1"), {"s": schema}).scalars().all()
            return {t: sorted(map(tuple, connection.execute(text(f'SELECT * FROM "{schema}"."{t}"')).all()), key=repr)
                    for t in tables}
    finally:
        engine.dispose()


def run_tool(command: list[str], password: str | None) -> None:
    env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    if done.returncode and "version mismatch" in done.stderr:
        pytest.skip(f"{command[0]} does not match the server's version: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr


@pytest.mark.postgres
def test_pg_dump_and_pg_restore_as_the_coach_prints_them_round_trip(tmp_path: Path) -> None:
    missing = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (Debian: postgresql-client)")
    with postgres_schema() as url:
        schema = make_url(url).query["application_name"]
        env = environment(url, tmp_path)
        assert coach(env, "db", "upgrade")[0] == 0
        assert coach(env, "demo")[0] == 0
        dump = tmp_path / "coach.dump"
        code, _, err = coach(env, "backup", str(dump))
        assert code == 2 and f"--schema={schema}" in err
        password = make_url(os.environ[POSTGRES_ENV]).password
        run_tool(printed_command(err, "pg_dump"), password)

        fresh = f"coach_restore_{uuid.uuid4().hex[:12]}"
        admin = create_engine(os.environ[POSTGRES_ENV], isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{fresh}"'))
        restored = make_url(url).set(database=fresh).render_as_string(hide_password=False)
        try:
            code, _, err = coach(environment(restored, tmp_path), "restore", str(dump))
            assert code == 2
            run_tool(printed_command(err, "pg_restore"), password)
            before = rows(url, schema)
            assert sum(map(len, before.values())) > 1000
            assert rows(restored, schema) == before
            assert coach(environment(restored, tmp_path), "summaries", "check")[:2] == (
                0, "Every client's summary matches its records.\n")

            # and over the database it came from, which moved on meanwhile (the coach stopped)
            changed = create_engine(url)
            with changed.begin() as connection:
                connection.execute(text("UPDATE client_summaries SET balance = balance + 5"))
                connection.execute(text("UPDATE clients SET name = name || ' (renamed)'"))
            changed.dispose()
            assert coach(env, "summaries", "check")[0] == 1
            code, _, err = coach(env, "restore", str(dump))
            run_tool(printed_command(err, "pg_restore"), password)
            assert rows(url, schema) == before
            assert coach(env, "summaries", "check")[0] == 0
        finally:
            with admin.connect() as connection:
                connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                                   {"d": fresh})
                connection.execute(text(f'DROP DATABASE IF EXISTS "{fresh}"'))
            admin.dispose()
