"""BENCHMARKS.md, the growth chart and the raw results, from one ``python -m bench`` run.

Only the part of BENCHMARKS.md between the ``generated`` markers is rewritten: the analysis
around it (why a target is missed, what would fix it) is written by people and kept.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Iterable

from bench.stats import summary

RESULTS = Path("docs/bench/results.json")
GROWTH = Path("docs/bench/growth.png")
START, END = "<!-- generated:start -->", "<!-- generated:end -->"

# The benchmark issue's targets.
NUDGE_SECONDS_L = 60.0
NUDGE_RATIO = 3.0
PEAK_MB = 300.0
TEAMHEALTH_P95_MS = 300.0
CHART_DRAW_MS = 1_000.0  # the chart drawn in at most a second, and once a day per team
ACK_P99_MS = 150.0
THROUGHPUT_PER_S = 300.0
TEAMS_P99_MS = 150.0


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def _s(seconds: float) -> str:
    return f"{seconds:,.2f}"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _nudge_section(results: dict[str, Any]) -> list[str]:
    out = ["## 1. Daily nudge run (dry, every rep)", ""]
    rows = []
    for entry in results["nudge_run"]:
        if "skipped" in entry:
            rows.append([entry["size"], entry["database"], "skipped: " + entry["skipped"]] + [""] * 9)
            continue
        runs, org = entry["runs"], entry["org"]
        run = summary([r["run_seconds"] for r in runs])
        floor = summary([r["floor_seconds"] for r in runs])
        ratio = summary([r["ratio"] for r in runs])
        later = summary([r["later"]["run_seconds"] for r in runs])
        later_ratio = summary([r["later"]["ratio"] for r in runs])
        peak = max(r["rss_peak_mb"] for r in runs)
        size = org["size"]
        rows.append([
            entry["size"], entry["database"],
            f"{size['reps']:,} / {size['clients']:,} / {size['interactions']:,}",
            f"{_s(run['min'])} / {_s(run['median'])} / {_s(run['max'])}",
            f"{_s(floor['min'])} / {_s(floor['median'])} / {_s(floor['max'])}",
            f"{ratio['min']:.1f} / {ratio['median']:.1f} / {ratio['max']:.1f}",
            f"{_s(later['min'])} / {_s(later['median'])} / {_s(later['max'])}",
            f"{later_ratio['min']:.1f} / {later_ratio['median']:.1f} / {later_ratio['max']:.1f}",
            f"{peak:.0f}", f"{runs[0]['nudges']:,}", f"{runs[0]['digest_items']:,}",
            f"{org['build_seconds']:.0f}",
        ])
    out += _table(["size", "database", "reps / clients / touches", "first run s (min / median / max)",
                   "GROUP BY floor s", "ratio run:floor", "later run s", "later ratio", "peak MB", "nudges",
                   "digest items", "built in s"], rows)
    out += ["", f"Runs per row: {len(results['nudge_run'][0].get('runs', [])) if results['nudge_run'] else 0},"
                " each in a fresh process: its first run, then the floor and the run again (a later run, as"
                " every morning of a running scheduler). Peak MB is the process's peak resident set (ru_maxrss).",
            ""]
    out += _upkeep_table(results)
    targets = []
    for entry in results["nudge_run"]:
        if "skipped" in entry:
            continue
        runs = entry["runs"]
        peak = max(r["rss_peak_mb"] for r in runs)
        targets.append(f"- {entry['size']} on {entry['database']}: peak memory {peak:.0f} MB under {PEAK_MB:.0f} MB:"
                       f" {_verdict(peak < PEAK_MB)}.")
        for which, ratios in (("a process's first run", [r["ratio"] for r in runs]),
                              ("a later run", [r["later"]["ratio"] for r in runs])):
            ratio = summary(ratios)["median"]
            targets.append(f"- {entry['size']} on {entry['database']}: median ratio run:floor of {which} {ratio:.1f}"
                           f" within {NUDGE_RATIO:.0f}x: {_verdict(ratio <= NUDGE_RATIO)}.")
        if entry["size"] == "L":
            median = summary([r["run_seconds"] for r in runs])["median"]
            targets.append(f"- L on {entry['database']}: median {_s(median)} s within {NUDGE_SECONDS_L:.0f} s:"
                           f" {_verdict(median <= NUDGE_SECONDS_L)}.")
    return out + ["", *targets, ""]


def _upkeep_table(results: dict[str, Any]) -> list[str]:
    """The daily upkeep's quiet days, kept before the runs (``bench.upkeep``)."""
    rows = [[e["size"], e["database"], _s(e["upkeep"]["first"]["seconds"]), f"{e['upkeep']['first']['kept']:,}",
             _s(e["upkeep"]["next"]["seconds"]), f"{e['upkeep']['next']['kept']:,}",
             f"{e['upkeep']['quiet_today']:,} of {e['upkeep']['summaries']:,}", f"{e['upkeep']['rss_peak_mb']:.0f}"]
            for e in results["nudge_run"] if "upkeep" in e]
    if not rows:
        return []
    return ["Before the runs, the daily upkeep's quiet days (`bench.upkeep`): kept from nothing for the day"
            " before (the first night, or after an upgrade or a change of the rules), then for the day (a usual"
            " night); the runs leave the clients quiet on the day unread.", "",
            *_table(["size", "database", "first night s", "clients given days", "next night s",
                     "clients given days", "quiet on the day (unread)", "peak MB"], rows)]


def _teamhealth_section(results: dict[str, Any]) -> list[str]:
    out = ["## 2. /teamhealth, one team", ""]
    rows = []
    verdicts = []
    for entry in results["teamhealth"]:
        size = entry["org"]["size"]
        report = summary(entry["report_seconds"])
        chart = summary(entry["chart_seconds"])
        kept = summary(entry.get("kept_seconds") or entry["chart_seconds"])
        both = summary([a + b for a, b in zip(entry["report_seconds"], entry.get("kept_seconds") or entry["chart_seconds"])])
        rows.append([
            entry["database"], f"{size['reps']:,} / {size['clients']:,} / {size['interactions']:,}",
            report["n"], f"{_ms(report['min'])} / {_ms(report['median'])} / {_ms(report['p95'])} / {_ms(report['max'])}",
            f"{_ms(chart['median'])} / {_ms(chart['p95'])}", f"{_ms(kept['median'])}", f"{_ms(both['p95'])}",
            f"{entry['chart_bytes']:,}",
        ])
        verdicts.append(f"- {entry['database']}: report p95 {_ms(report['p95'])} ms under {TEAMHEALTH_P95_MS:.0f} ms:"
                        f" {_verdict(report['p95'] * 1000 < TEAMHEALTH_P95_MS)}; chart drawn p95 {_ms(chart['p95'])} ms"
                        f" within {CHART_DRAW_MS:,.0f} ms: {_verdict(chart['p95'] * 1000 <= CHART_DRAW_MS)};"
                        f" with the kept chart, p95 {_ms(both['p95'])} ms: {_verdict(both['p95'] * 1000 < TEAMHEALTH_P95_MS)}.")
    out += _table(["database", "reps / clients / touches", "runs", "report ms (min / median / p95 / max)",
                   "chart drawn ms (median / p95)", "kept chart ms", "report + kept chart p95 ms", "PNG bytes"], rows)
    return out + ["", *verdicts, ""]


def _endpoint_section(results: dict[str, Any]) -> list[str]:
    out = ["## 3-5. Slack and Teams endpoints", ""]
    rows, verdicts = [], []
    for entry in results["endpoints"]:
        ack = entry.get("slack_ack")
        if ack:
            s = summary(ack["latencies"])
            rows.append([entry["database"], f"3. /logmeeting ack, {ack['concurrency']} concurrent", s["n"],
                         f"{_ms(s['min'])} / {_ms(s['median'])} / {_ms(s['p95'])} / {_ms(s['p99'])} / {_ms(s['max'])}"])
            floor = entry.get("slack_ack_floor")
            f = summary(floor["latencies"]) if floor else None
            if f:
                rows.append([entry["database"], f"3. the floor: a bare Bolt app that only acks, {floor['concurrency']} concurrent",
                             f["n"], f"{_ms(f['min'])} / {_ms(f['median'])} / {_ms(f['p95'])} / {_ms(f['p99'])} / {_ms(f['max'])}"])
            within = f" and within 2x the floor's {_ms(f['p99'])} ms: {_verdict(s['p99'] <= 2 * f['p99'])}" if f else ""
            verdicts.append(f"- {entry['database']}: ack p99 {_ms(s['p99'])} ms under {ACK_P99_MS:.0f} ms:"
                            f" {_verdict(s['p99'] * 1000 < ACK_P99_MS)}{within}.")
        teams = entry.get("teams_round_trip")
        if teams:
            s = summary(teams["latencies"])
            rows.append([entry["database"], "5. Teams /api/messages, one step", s["n"],
                         f"{_ms(s['min'])} / {_ms(s['median'])} / {_ms(s['p95'])} / {_ms(s['p99'])} / {_ms(s['max'])}"])
            verdicts.append(f"- {entry['database']}: Teams p99 {_ms(s['p99'])} ms under {TEAMS_P99_MS:.0f} ms:"
                            f" {_verdict(s['p99'] * 1000 < TEAMS_P99_MS)}.")
    out += _table(["database", "what", "requests", "ms (min / median / p95 / p99 / max)"], rows)
    out += [""]
    rows = []
    for entry in results["endpoints"]:
        for workflow in ("form", "conversation"):
            t = entry.get(f"slack_throughput_{workflow}")
            if not t:
                continue
            workers = entry.get("workers", 1)
            served = f"{entry['database']}, --workers {workers}" if workers > 1 else entry["database"]
            runs = entry.get(f"slack_throughput_{workflow}_runs") or [t]
            each = [f"{r['per_second']:,.0f}" for r in runs]
            speeds = f" (runs: {' / '.join(each)})" if len(runs) > 1 else ""  # the median's row is the table's
            rows.append([served, f"{workflow} ({t['requests_per_log']} request{'s' if t['requests_per_log'] > 1 else ''} a log)",
                         f"{t['per_second']:,.0f}{speeds}", f"{t['requests_per_second']:,.0f}", f"{t['logs']:,}",
                         f"{t['sent']:,} ({t['retries']:,} retries)", f"{t['interactions_added']:,}",
                         f"{t['ledger_added']:,} of {t['ledger_expected']:,}",
                         f"{t['duplicates_found']:,} / {t['missing']:,}"])
            if workflow == "form" and entry["database"] == "postgres":
                once = all(r["duplicates_found"] == 0 and r["missing"] == 0 and r["unexpected"] == 0 for r in runs)
                median = "the median run's " if len(runs) > 1 else ""
                verdicts.append(f"- {served}: {median}{t['per_second']:,.0f} logged touches/s at least {THROUGHPUT_PER_S:.0f}/s:"
                                f" {_verdict(t['per_second'] >= THROUGHPUT_PER_S)}; exactly once: {_verdict(once)}.")
    out += ["4. Logging throughput through `/slack/events`, 10% of requests sent twice as Slack retries"
            " (form: the modal's one submission a log, run several times in a row on one server, the run of"
            " median speed shown with every run's speed; conversation: `/logmeeting` and its answers):", ""]
    out += _table(["database", "workflow", "logs/s", "requests/s", "logs", "requests sent", "interactions added",
                   "ledger entries", "duplicates / missing"], rows)
    return out + ["", *verdicts, ""]


def _digest_section(results: dict[str, Any]) -> list[str]:
    entries = results.get("digest_job") or []
    if not entries:
        return []
    out = ["## 6. The real morning digest job (recorded, rendered, sent to the log)", ""]
    rows = []
    for entry in entries:
        size, run = entry["org"]["size"], entry["run"]
        rows.append([entry["size"], entry["database"], f"{size['reps']:,}", f"{_s(run['seconds'])}",
                     f"{run['sent']:,}", f"{run['items']:,}", f"{run['seconds'] / max(run['sent'], 1) * 1000:,.0f}",
                     f"{run['rss_peak_mb']:.0f}"])
    out += _table(["size", "database", "reps", "seconds, all zones", "digests sent", "items", "ms a digest",
                   "peak MB"], rows)
    return out + [""]


def _speeds(results: dict[str, Any]) -> str:
    """The same loop (run once) before each section: a figure that misses its target on a slow
    stretch of the run says so here."""
    samples = results.get("speed") or []
    if not samples:
        return ""
    said = "; ".join(f"{s['reference_s']:.2f} s {s['when']}" for s in samples)
    return f" The same loop, once, as the run went on: {said}."


def generated(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        START,
        f"_Generated by `make bench` on {m['when']}{' (smoke sizes: not the real figures)' if results.get('smoke') else ''}._",
        "",
        f"Machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['system']}; Python {m['python']},"
        f" SQLite {m['sqlite']}, PostgreSQL {m['postgres'] or 'not available'} (on the same machine, loopback)."
        + (f" Its speed: {m['reference_s']:.2f} s for a fixed pure-Python loop (`bench.__main__.reference_seconds`;"
           " lower is faster), to compare runs on different days." if m.get("reference_s") else "")
        + _speeds(results),
        "",
        *_nudge_section(results),
        *_teamhealth_section(results),
        *_endpoint_section(results),
        *_digest_section(results),
        f"![Nudge-run time and peak memory against organisation size]({GROWTH.as_posix()})",
        "",
        f"Every raw measurement: [`{RESULTS.as_posix()}`]({RESULTS.as_posix()}).",
        END,
    ]
    return "\n".join(lines)


def growth_png(results: dict[str, Any]) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3.4), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    seconds, memory = figure.subplots(1, 2)
    for database, colour in (("sqlite", "#1f77b4"), ("postgres", "#d62728")):
        points = sorted(
            (e["org"]["size"]["interactions"], summary([r["run_seconds"] for r in e["runs"]])["median"],
             max(r["rss_peak_mb"] for r in e["runs"]), e["size"])
            for e in results["nudge_run"] if e.get("database") == database and "runs" in e)
        if not points:
            continue
        xs = [p[0] for p in points]
        seconds.plot(xs, [p[1] for p in points], marker="o", color=colour, label=database)
        memory.plot(xs, [p[2] for p in points], marker="o", color=colour, label=database)
        for x, y, _, name in points:
            seconds.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        # Linear growth from the smallest size: a straight line of slope 1 on these log-log axes.
        x0, y0 = points[0][0], points[0][1]
        seconds.plot([x0, xs[-1]], [y0, y0 * xs[-1] / x0], color=colour, linestyle=":", linewidth=0.9)
    if any(e.get("size") == "L" for e in results["nudge_run"]):
        seconds.axhline(NUDGE_SECONDS_L, color="#888888", linestyle="--", linewidth=0.8)
    seconds.set_yscale("log")
    memory.axhline(PEAK_MB, color="#888888", linestyle="--", linewidth=0.8)
    for axes, title, unit in ((seconds, "Nudge run (median; dotted: linear growth)", "seconds (log scale)"), (memory, "Peak memory", "MB")):
        axes.set_xscale("log")
        axes.set_title(title, fontsize=10, loc="left")
        axes.set_xlabel("touches in the organisation (log scale)", fontsize=8)
        axes.set_ylabel(unit, fontsize=8)
        axes.tick_params(labelsize=8)
        axes.grid(color="#e5e5e5", linewidth=0.6)
        axes.legend(fontsize=8, frameon=False)
    memory.set_ylim(bottom=0)
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def write(results: dict[str, Any], out: Path) -> None:
    (out / RESULTS).parent.mkdir(parents=True, exist_ok=True)
    (out / RESULTS).write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / GROWTH).write_bytes(growth_png(results))
    path = out / "BENCHMARKS.md"
    body = generated(results)
    if path.exists() and START in (current := path.read_text(encoding="utf-8")) and END in current:
        head, rest = current.split(START, 1)
        _, tail = rest.split(END, 1)
        text = head + body + tail
    else:
        text = "# Benchmarks\n\n" + body + "\n"
    path.write_text(text, encoding="utf-8")
