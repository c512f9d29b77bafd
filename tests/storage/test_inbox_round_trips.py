"""What the request inbox sends PostgreSQL, read off the wire by a proxy in front of the server.

Settling runs once for every request the coach handles, so it is one statement in autocommit:
no BEGIN and no COMMIT around it (three round trips became one), and it is still durable."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.db import make_engine, upgrade
from storage.requests import DONE, PENDING, RequestInbox
from tests.tcp_proxy import proxied_database

NOW = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)


def test_settling_is_one_statement_outside_a_transaction_and_durable(database_url: str) -> None:
    with proxied_database(database_url) as (proxy, url):  # skipped on SQLite: no wire to read
        engine = make_engine(url)
        try:
            upgrade(engine)
            inbox = RequestInbox(engine)
            assert inbox.store("k1", "slack", "body", "application/json", NOW) is True
            assert inbox.status("k1") == PENDING

            proxy.recording = True
            inbox.settle("k1")
            proxy.recording = False
            sent = bytes(proxy.sent)
            assert b"UPDATE inbound_requests" in sent
            assert b"BEGIN" not in sent and b"COMMIT" not in sent
        finally:
            engine.dispose()
        fresh = make_engine(database_url)  # another connection, without the proxy: it was committed
        try:
            assert RequestInbox(fresh).status("k1") == DONE
        finally:
            fresh.dispose()
