"""What every logged touch asks of SQLAlchemy: statements on tables, not on the ORM's classes.

A statement naming a mapped class (even only in its WHERE clause) is compiled and executed
through the ORM's plugin; on the log's path the two that did cost about 70 microseconds of CPU
each (in one process, on PostgreSQL: medians of three runs of 1,500 logs, 1.68 against 1.54 ms a
log). The log's statements name tables (``storage.repositories``, ``storage.touches``,
``storage.ledger``, ``storage.summary_upkeep``, ``storage.conversations``)."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import event

from coaching.engine import Inbound
from coaching.logflow import LogRequest
from coaching.model import Kind, Purpose
from tests.support import START, make_coach, seed_quiet_clients, seed_roster


def test_a_logged_touch_runs_no_statement_through_the_orm(database_url: str) -> None:
    coach = make_coach(database_url)
    seed_quiet_clients(coach, seed_roster(coach), START.date())
    with coach.uow_factory() as uow:
        client = uow.clients.by_name(coach.workspace, "Acme")
    assert client is not None
    inbound = Inbound(coach.workspace, "dm", "", email="alice@acme.example", external_id="view:V1")
    request = LogRequest(client.id, client.name, START.date(), Kind.CALL, Purpose.GIVE, "sent the case study", False,
                         (), None, None, None)
    coach.engine.log_form(inbound, request)  # the first: the person's platform id is stored, and so on
    executed: list[Any] = []

    def keep(conn, clauseelement, multiparams, params, execution_options) -> None:
        executed.append(clauseelement)

    with coach.uow_factory() as uow:
        engine = uow.session.get_bind()
    event.listen(engine, "before_execute", keep)
    try:
        outcome = coach.engine.log_form(dataclasses.replace(inbound, external_id="view:V2"), request)
    finally:
        event.remove(engine, "before_execute", keep)
    assert outcome.logged is not None
    assert len(executed) >= 6, executed  # the person, the claim, the client, the touch, its entry, the summary
    assert [str(s)[:70] for s in executed if s._propagate_attrs.get("compile_state_plugin") == "orm"] == []
