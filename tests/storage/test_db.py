"""Engines and migrations, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, Table, inspect, text

from storage.db import alembic_config, current_revision, head_revision, make_engine, upgrade
from storage.models import Base


def _diff(engine: Engine, metadata: MetaData) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, metadata)


def test_migrations_create_exactly_the_models_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) is None
        upgrade(database_url)  # from a URL; the fixtures use the engine form
        assert current_revision(engine) == head_revision() == "0015"
        assert _diff(engine, Base.metadata) == []

        # ...and the comparison does notice a difference.
        changed = MetaData()
        for table in Base.metadata.sorted_tables:
            table.to_metadata(changed)
        Table("extra", changed, Column("id", Integer, primary_key=True))
        assert [d[0] for d in _diff(engine, changed)] == ["add_table"]
    finally:
        engine.dispose()


def test_upgrade_twice_is_harmless(migrated_engine: Engine) -> None:
    upgrade(migrated_engine)
    assert current_revision(migrated_engine) == head_revision()


def test_downgrade_to_base_removes_every_table(migrated_engine: Engine) -> None:
    config = alembic_config()
    with migrated_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(migrated_engine).get_table_names()) <= {"alembic_version"}
    assert current_revision(migrated_engine) is None


def test_sqlite_engine_creates_its_directory_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "data" / "coach.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
        assert path.exists()
    finally:
        engine.dispose()


def test_in_memory_sqlite_needs_no_directory() -> None:
    engine = make_engine("sqlite://")
    try:
        upgrade(engine)
        assert "clients" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_alembic_config_escapes_percent_signs_in_urls() -> None:
    url = "postgresql+psycopg://u:p%40ss@h/db?options=-csearch_path%3Dt_1"
    config = alembic_config(url)
    assert config.get_main_option("sqlalchemy.url") == url
    assert Path(config.get_main_option("script_location"), "versions").is_dir()


def test_upgrading_a_database_with_data_keeps_it(migrated_engine: Engine) -> None:
    """Each migration runs against rows, not only an empty schema: down to 0005, add a
    workspace with a team (a foreign key to it), then up again."""
    config = alembic_config()
    with migrated_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    with migrated_engine.begin() as connection:
        connection.execute(text("INSERT INTO workspaces (id, name, platform) VALUES ('w1', 'W', 'slack')"))
        connection.execute(text("INSERT INTO teams (workspace_id, name) VALUES ('w1', 'East')"))
    upgrade(migrated_engine)
    assert current_revision(migrated_engine) == head_revision()
    with migrated_engine.connect() as connection:
        assert connection.execute(text("SELECT llm_enabled FROM workspaces WHERE id = 'w1'")).scalar() in (True, 1)
        assert connection.execute(text("SELECT count(*) FROM teams")).scalar() == 1
    with migrated_engine.begin() as connection:  # and down again, with the rows in place
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    upgrade(migrated_engine)
    assert current_revision(migrated_engine) == head_revision()


def test_a_rebuilt_index_keeps_its_statistics_on_sqlite(tmp_path: Path) -> None:
    """0013 rebuilds ix_interactions_rep; SQLite drops an index's statistics with it. Where the
    database keeps statistics, the migration gathers the new index's, so the planner does not
    take an index it knows nothing of for the most selective one."""
    engine = make_engine(f"sqlite:///{tmp_path / 'stats.sqlite3'}")
    config = alembic_config()

    def stats(connection) -> set[str]:
        return set(connection.execute(text("SELECT idx FROM sqlite_stat1 WHERE tbl = 'interactions'")).scalars())

    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0012")
            connection.execute(text("INSERT INTO workspaces (id, name, platform) VALUES ('w1', 'W', 'slack')"))
            connection.execute(text(
                "INSERT INTO people (workspace_id, email, name, role, timezone, on_leave)"
                " VALUES ('w1', 'a@x', 'A', 'rep', 'UTC', 0)"))
            connection.execute(text("INSERT INTO teams (workspace_id, name) VALUES ('w1', 'East')"))
            connection.execute(text(
                "INSERT INTO clients (workspace_id, name, name_key, team_id, owner_id, created_on)"
                " VALUES ('w1', 'Acme', 'acme', 1, 1, '2026-01-01')"))
            connection.execute(text(
                "INSERT INTO interactions (workspace_id, client_id, rep_id, kind, purpose, occurred_on, note,"
                " proof_shown, source, voided, logged_at)"
                " VALUES ('w1', 1, 1, 'meeting', 'give', '2026-06-01', '', 0, 'chat', 0, '2026-06-01 09:00:00')"))
            connection.execute(text("ANALYZE"))
            assert "ix_interactions_rep" in stats(connection)
        upgrade(engine)
        with engine.connect() as connection:
            assert "ix_interactions_rep" in stats(connection)
    finally:
        engine.dispose()
