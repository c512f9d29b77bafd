"""``coach serve`` runs on uvloop (bot/event_loop.py), with one process and in every worker of
``--workers N``: each process says so in its log once it has started, and answers."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from tests.slack.fake_api import FakeSlackApi
from tests.support import make_coach, seed_roster
from tests.system.serving import coach_serve
from tests.system.test_serve_workers import environment


def test_coach_serve_runs_on_uvloop_in_one_process_and_in_every_worker(database_url, tmp_path):
    postgres = make_url(database_url).get_backend_name() == "postgresql"
    seed_roster(make_coach(database_url))
    with FakeSlackApi().started_in_thread() as api:
        for workers in (1, 2) if postgres else (1,):  # several workers need PostgreSQL
            env = environment(database_url, api, tmp_path / f"data-{workers}")
            said = lambda served: [line for line in served.output().splitlines() if "event loop:" in line]  # noqa: E731
            with coach_serve(env, workers, ready=lambda served: len(said(served)) >= workers) as served:
                lines = said(served)
            assert len(lines) == workers and all(line.endswith("event loop: uvloop") for line in lines), lines
