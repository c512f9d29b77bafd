"""What docs/deploy.md says about PostgreSQL's settings: each coach process holds at most 15
connections (the budget for `max_connections`), and the scheduler lease's connection is never
left idle in a transaction, so `idle_in_transaction_session_timeout` does not take the lease away."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from sqlalchemy import make_url, text

from bot.scheduler import SchedulerLease
from storage.db import make_engine
from tests.conftest import postgres_schema


def test_one_process_holds_at_most_15_connections() -> None:
    engine = make_engine("postgresql+psycopg://coach@db.example/coach")  # no connection is made
    try:
        assert engine.pool.size() + engine.pool._max_overflow == 15
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_the_scheduler_lease_outlives_idle_in_transaction_session_timeout() -> None:
    with postgres_schema() as url:
        options = make_url(url).query["options"] + " -cidle_in_transaction_session_timeout=1s"
        engine = make_engine(make_url(url).update_query_dict({"options": options}))
        observer = make_engine(url)
        lease = SchedulerLease(SimpleNamespace(scheduler=None), engine, "acme")

        def holder() -> int | None:
            with observer.connect() as connection:
                return connection.execute(text("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                                               "AND pid <> pg_backend_pid() AND pid IN (SELECT pid FROM "
                                               "pg_stat_activity WHERE application_name = :name)"),
                                          {"name": make_url(url).query["application_name"]}).scalar()
        try:
            assert lease._hold()
            first = holder()
            assert first is not None
            time.sleep(2.5)  # past the timeout, idle between two checks
            assert lease._hold()  # its connection answered the check: the lease is kept
            assert holder() == first
        finally:
            lease._release()
            engine.dispose()
            observer.dispose()
