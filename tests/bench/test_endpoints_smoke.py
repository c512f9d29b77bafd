"""The endpoint benchmarks at their smoke size, on the tiny organisation: the real server in a
process of its own, Slack and Teams played locally. Only correctness is asserted (every request
answered, exactly once in the database, every Teams step replied to), never a timing."""

from __future__ import annotations

import pytest

from bench.endpoints import SMOKE, run
from bench.org import SIZES, build


@pytest.fixture
def results(database_url: str) -> dict:
    org = build(database_url, SIZES["tiny"])
    return run(database_url, org, smoke=True)


def test_the_endpoint_benchmarks_run_and_log_exactly_once(results):
    ack = results["slack_ack"]
    assert ack["statuses"] == {"200": SMOKE["ack"]["concurrency"] * SMOKE["ack"]["rounds"]}
    assert len(ack["latencies"]) == SMOKE["ack"]["concurrency"] * SMOKE["ack"]["rounds"]
    assert ack["replies"] == ack["replies_expected"]  # the coach answered every command in the DM
    floor = results["slack_ack_floor"]  # the bare Bolt app: every signed command acknowledged
    assert floor["statuses"] == {"200": SMOKE["ack"]["concurrency"] * SMOKE["ack"]["rounds"]}

    for workflow in ("form", "conversation"):
        run_ = results[f"slack_throughput_{workflow}"]
        logs = SMOKE[workflow]["requests"]
        assert run_["complete"], workflow
        assert run_["logs"] == logs and run_["unique"] == logs * run_["requests_per_log"]
        assert run_["retries"] == round(run_["unique"] * 0.1) > 0  # Slack's retries were sent
        assert run_["sent"] == run_["unique"] + run_["retries"]
        assert run_["statuses"] == {"200": run_["sent"]}
        assert run_["interactions_added"] == logs  # one interaction per unique log...
        assert run_["ledger_added"] == run_["ledger_expected"] == logs  # ...one give_touch each
        assert run_["duplicates_found"] == run_["missing"] == run_["unexpected"] == 0
        assert run_["ledger_mismatched"] == 0
        assert run_["replies"] == run_["replies_expected"]  # a retry is answered by silence
        assert run_["seconds"] > 0 and run_["per_second"] > 0

    teams = results["teams_round_trip"]
    assert teams["steps"] == len(teams["latencies"]) == SMOKE["teams"]["steps"]
    assert teams["statuses"] == {"202": SMOKE["teams"]["steps"]}
    assert teams["replies_missing"] == 0
    assert set(teams["by_step"]) >= {"promises", "ledger", "logmeeting", "answer", "save"}

    assert not [line for line in results["server_problems"] if " ERROR " in line or "Traceback" in line]
