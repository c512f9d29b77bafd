"""The memory soak (``bench.soak``) for a few seconds on the tiny organisation, through
``python -m bench --soak``: the real server in a process of its own, a steady signed mix with
``/teamhealth`` in it. Only what the soak must always show is asserted (every request answered
200, samples taken, charts drawn in the chart process and matplotlib never in the server), no
memory figure: those are the 15-minute soak's to report."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.__main__ import main
from bench.soak import command_of, memory

SECONDS, RATE = 20.4, 5.0  # 102 requests, 3 of them /teamhealth


@pytest.fixture(scope="module")
def soaked(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """One short soak for every test here: what ``main`` returned, and the JSON it wrote."""
    tmp = tmp_path_factory.mktemp("soak")
    returned = main(["--soak", str(SECONDS / 60), "--soak-size", "tiny", "--soak-rate", str(RATE),
                     "--data-dir", str(tmp / "data"), "--out", str(tmp)])["soak"]
    return returned, json.loads((tmp / "docs" / "bench" / "soak.json").read_text("utf-8"))


def test_every_request_of_the_mix_is_sent_and_answered_200(soaked) -> None:
    returned, result = soaked
    assert result["requests_sent"] == returned["requests_sent"] == int(SECONDS * RATE)
    assert result["database"] == "sqlite" and result["size"] == "tiny"
    for key in ("rss_at_baseline_mb", "rss_end_mb", "rss_peak_mb", "growth_after_baseline_pct", "server_hwm_mb",
                "children_peak_mb", "matplotlib_in_server", "non_200", "delivered", "ack_summary", "late_summary"):
        assert key in result, key
    assert result["sent_by_command"]["teamhealth"] == 3
    assert set(result["sent_by_command"]) == {"logmeeting", "ledger", "promises", "teamhealth"}
    assert result["non_200"] == 0 and result["errors"] == {}
    assert sum(result["statuses"].values()) == result["requests_sent"]
    assert not [line for line in result["server_problems"] if " ERROR " in line or "Traceback" in line]


def test_memory_is_sampled_through_the_run(soaked) -> None:
    samples = soaked[1]["samples"]
    assert len(samples) >= 2
    assert all(s["server_mb"] > 0 and s["children_mb"] >= 0 for s in samples)
    assert [s["t"] for s in samples] == sorted(s["t"] for s in samples)
    assert soaked[1]["rss_end_mb"] == samples[-1]["server_mb"] <= soaked[1]["rss_peak_mb"]


def test_charts_are_drawn_in_the_chart_process_and_matplotlib_stays_out_of_the_server(soaked) -> None:
    result = soaked[1]
    # the coach answered: a DM question per /logmeeting, the charts uploaded
    assert result["delivered"]["chat.postMessage"] == result["sent_by_command"]["logmeeting"]
    assert result["delivered"]["files.completeUploadExternal"] == 3
    assert result["charts_kept"] >= 1
    assert any(child["matplotlib"] for child in result["children_detail"])  # the chart process loaded it
    assert result["matplotlib_in_server"] is False


def test_growth_is_measured_from_the_first_minute() -> None:
    samples = [{"t": t, "server_mb": mb, "children_mb": 0.0} for t, mb in ((0, 100), (60, 200), (120, 210), (180, 220))]
    figures = memory(samples, 60)
    assert figures["rss_at_baseline_mb"] == 200 and figures["rss_end_mb"] == 220 and figures["rss_peak_mb"] == 220
    assert figures["growth_after_baseline_pct"] == 10.0
    assert figures["slope_after_baseline_mb_per_min"] == 10.0
    assert figures["met"] == {"growth": True, "peak": True}
    assert memory(samples[:1], 60)["growth_after_baseline_pct"] is None  # shorter than a minute: no growth


def test_teamhealth_is_its_share_of_the_requests_spread_evenly() -> None:
    kinds = [command_of(k, 0.03) for k in range(1000)]
    assert kinds.count("teamhealth") == 30
    assert [k for k, kind in enumerate(kinds) if kind == "teamhealth"][:3] == [33, 66, 99]
    assert all(320 <= kinds.count(c) <= 325 for c in ("logmeeting", "ledger", "promises"))  # the rest, evenly
