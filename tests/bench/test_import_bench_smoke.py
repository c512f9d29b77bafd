"""``python -m bench.import_bench`` end to end at a tiny size: the files are written, each
import runs in its own process and reports what it did. Correctness only: no timing is
asserted (the figures at the real size are in docs/import.md)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from bench.import_bench import main
from tests.conftest import POSTGRES_ENV


def test_the_import_benchmark_at_a_tiny_size(tmp_path: Path) -> None:
    url = os.environ.get(POSTGRES_ENV)
    database = ["--postgres", url, "--schema-prefix", f"t_{uuid.uuid4().hex[:12]}_"] if url else ["--no-postgres"]
    out = tmp_path / "import.json"
    results = main(["--rows", "600", "--reps", "6", "--clients", "40", "--row-by-row-rows", "150",
                    "--data-dir", str(tmp_path / "data"), "--out", str(out), *database])
    kinds = ["sqlite", "postgres"] if url else ["sqlite"]
    assert [(r["database"], r["mode"]) for r in results] == [(k, m) for k in kinds for m in ("bulk", "row-by-row")]
    for result in results:
        bulk = result["mode"] == "bulk"
        assert result["rows"] == (600 if bulk else 150) and result["added"] + result["already"] == result["rows"]
        assert result["rss_peak_mb"] >= result["rss_baseline_mb"] > 0 and result["rows_per_second"] > 0
        if bulk:  # the same file again: everything is already there
            assert (result["again"]["added"], result["again"]["already"]) == (0, 600)
    assert json.loads(out.read_text(encoding="utf-8")) == results
