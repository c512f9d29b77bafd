"""The channels' charts (``bot.chartcache``): drawn in a child process, so the server never
loads matplotlib; drawn once per picture, then read from disk; old pictures removed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from bot import chartcache
from bot.catalog import Catalog

ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

SERVER = textwrap.dedent("""
    import json, sys
    from datetime import date, timedelta
    from pathlib import Path
    from bot import chartcache
    from bot.catalog import Catalog
    from coaching.messages import msg
    from coaching.replies import Chart, RepSeries

    def chart(balance):
        end = date(2026, 11, 20)
        dates = tuple(end - timedelta(weeks=8 - week) for week in range(9))
        reps = (RepSeries("Alice Smith", (balance,) * 9, gives=3, asks=1, services=0),
                RepSeries("田中 健", tuple(range(9)), gives=1, asks=2, services=1))
        return Chart(msg("chart.title", teams=["East"], start=end - timedelta(days=27), end=end), dates, reps,
                     "teamhealth-east-2026-11-20")

    if __name__ == "__main__":
        chartcache.configure(Path(sys.argv[1]))
        catalog = Catalog()
        first = chartcache.render_png(chart(5), catalog, "ja")
        again = chartcache.render_png(chart(5), catalog, "ja")
        changed = chartcache.render_png(chart(6), catalog, "ja")
        print(json.dumps({"matplotlib": any(m.split(".")[0] == "matplotlib" for m in sys.modules),
                          "draws": chartcache.draws, "same": first == again, "differs": first != changed,
                          "png": first.startswith(b"\\x89PNG"), "bytes": len(first)}))
""")


def test_the_server_process_never_loads_matplotlib_and_draws_each_picture_once(tmp_path):
    script = tmp_path / "server.py"
    script.write_text(SERVER, "utf-8")
    cache = tmp_path / "cache"
    done = subprocess.run([sys.executable, str(script), str(cache)], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said["matplotlib"] is False  # drawn in the child process
    assert said["draws"] == 2 and said["same"] and said["differs"]  # the repeat came from disk
    assert said["png"] and 3_000 < said["bytes"] <= chartcache.SIZE_BUDGET
    assert len(list(cache.glob("teamhealth-east-2026-11-20-ja-*.png"))) == 2


def test_a_kept_picture_is_served_without_drawing_and_old_ones_are_removed(tmp_path):
    from tests.system.test_charts import team_chart

    chartcache.configure(tmp_path)
    try:
        old = tmp_path / "teamhealth-east-2026-11-01-en-0123.png"
        old.write_bytes(b"old")
        os.utime(old, (time.time() - 3 * 86400,) * 2)
        before = chartcache.draws
        png = chartcache.render_png(team_chart(3), Catalog(), "en")
        assert png.startswith(PNG_MAGIC) and chartcache.draws == before + 1
        assert not old.exists()  # older than two days: removed when a new picture was written
        [kept] = tmp_path.glob("*.png")
        kept.write_bytes(PNG_MAGIC + b"from disk")  # what is kept is what is served
        assert chartcache.render_png(team_chart(3), Catalog(), "en") == PNG_MAGIC + b"from disk"
        assert chartcache.draws == before + 1
    finally:
        chartcache.configure(None)


UNGUARDED = textwrap.dedent("""
    # No ``if __name__ == "__main__"``: a spawned child would run this again, so none can start.
    import sys
    from pathlib import Path
    from bot import chartcache
    from bot.catalog import Catalog
    from tests.system.test_charts import team_chart

    chartcache.configure(Path(sys.argv[1]))
    png = chartcache.render_png(team_chart(2), Catalog(), "en")
    print("PNG" if png.startswith(b"\\x89PNG") else "NONE", chartcache.draws)
""")


def test_a_chart_is_drawn_in_the_server_when_no_chart_process_can_start(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED, "utf-8")
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "cache")], cwd=ROOT, capture_output=True,
                          text=True, timeout=180, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "PNG 1"
    assert "no chart process could start; drawing in this process" in done.stderr
