"""Memory soak: ``coach serve`` under a steady mix of signed Slack slash commands.

The real server runs in a process of its own (``bench.endpoints._Stack``). This one sends it
``rate`` signed requests a second **on a schedule** (request ``k`` at ``k / rate`` s, whatever
the earlier ones are doing): ``/logmeeting <client> call give: <note>`` (the quick form), ``/ledger
<client>`` and ``/promises`` from the reps in turn, and ``/teamhealth`` from a manager for
``share`` of the requests (3 %), spread evenly. Every ``every`` seconds, and at the end, it
reads the server's ``VmRSS`` (``/proc/<pid>/status``) and, apart, its descendants' (the chart
process of ``bot.chartcache``, multiprocessing's resource tracker). The result: the samples, RSS
at ``baseline`` s (the first minute), at the end and at its peak (and ``VmHWM``), growth after the
first minute (% and MB a minute), requests sent, non-200 answers (timeouts and refusals among
them), how late requests went out, what the coach delivered to Slack, and whether matplotlib is
mapped into the server (``/proc/<pid>/maps``).

``python -m bench.soak --url sqlite:///data/bench/soak_S.sqlite3 --size S --minutes 15 --out soak.json``
or ``python -m bench --soak 15`` (which writes ``docs/bench/soak.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import aiohttp
from sqlalchemy import bindparam, text

from bench.endpoints import NOTE, SECRET, _on_stack, _process_cpu, _Stack, summary
from bench.org import SIZES, Org, build
from tests.slack.signing import signed_headers, slash_command_body

RATE = 15.0  # requests a second
TEAMHEALTH_SHARE = 0.03
EVERY = 10.0  # seconds between memory samples
BASELINE = 60.0  # growth is measured from the sample at this time ("after the first minute")
TIMEOUT = 30.0  # a request not answered by then counts as an error
TARGET = {"growth_pct": 10.0, "peak_mb": 300.0}
MIX = ("logmeeting", "ledger", "promises")


# --- /proc ----------------------------------------------------------------------------------

def _status_mb(pid: int, key: str) -> float | None:
    """``VmRSS`` / ``VmHWM`` of a process in MB (1 MB = 1024 kB here, as the kernel counts), or None."""
    try:
        line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith(key))
        return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_bytes().decode(errors="replace")
    except OSError:  # the process has gone
        return ""


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, grandchildren ...), from ``/proc/<pid>/task/*/children``."""
    found = [int(child) for task in Path(f"/proc/{pid}/task").glob("*") for child in _read(task / "children").split()]
    return found + [grandchild for child in found for grandchild in descendants(child)]


def maps_matplotlib(pid: int) -> bool | None:
    """Whether any of matplotlib's files (its C extensions: ``ft2font``, ``_path`` ...) is mapped."""
    maps = _read(f"/proc/{pid}/maps")
    return ("matplotlib" in maps or "ft2font" in maps) if maps else None


def children_detail(pid: int) -> list[dict[str, Any]]:
    return [{"pid": child, "rss_mb": _status_mb(child, "VmRSS"), "hwm_mb": _status_mb(child, "VmHWM"),
             "matplotlib": maps_matplotlib(child), "cmdline": _read(f"/proc/{child}/cmdline").replace("\0", " ")[:160]}
            for child in descendants(pid)]


# --- the load --------------------------------------------------------------------------------

@dataclass
class _Load:
    sent: Counter[str] = field(default_factory=Counter)  # command -> requests sent
    statuses: Counter[str] = field(default_factory=Counter)  # "command status" -> answers
    errors: Counter[str] = field(default_factory=Counter)  # "command error" -> timeouts, refusals
    acks: dict[str, list[float]] = field(default_factory=dict)  # command -> seconds until the HTTP answer
    late: list[float] = field(default_factory=list)  # seconds a request was sent after it was due
    in_flight: int = 0
    most_in_flight: int = 0


def command_of(k: int, share: float) -> str:
    if math.floor((k + 1) * share) > math.floor(k * share):
        return "teamhealth"
    return MIX[k % len(MIX)]


def _body(stack: _Stack, k: int, command: str, managers: Sequence[str]) -> str:
    trigger = stack.next_id("soak-")
    if command == "teamhealth":
        user, said = managers[k % len(managers)], ""
    else:
        rep = stack.org.reps[(k // len(MIX)) % len(stack.org.reps)]
        client = rep.clients[(k // len(MIX)) % len(rep.clients)] if rep.clients else "Bench Client"
        user = rep.slack_user_id
        said = {"logmeeting": f"{client} call give: {NOTE}", "ledger": client, "promises": ""}[command]
    return slash_command_body(f"/{command}", said, user, channel_id=f"D{user}",
                              response_url=stack.api.response_url(trigger), trigger_id=trigger)


async def _fire(stack: _Stack, command: str, body: str, load: _Load) -> None:
    load.sent[command] += 1
    load.in_flight += 1
    load.most_in_flight = max(load.most_in_flight, load.in_flight)
    started = time.perf_counter()
    try:
        status, seconds = await asyncio.wait_for(stack.post(stack.slack_url, body, signed_headers(SECRET, body)),
                                                 TIMEOUT)
        load.statuses[f"{command} {status}"] += 1
        load.acks.setdefault(command, []).append(seconds)
    except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as error:
        load.errors[f"{command} {type(error).__name__}"] += 1
        load.acks.setdefault(command, []).append(time.perf_counter() - started)
    finally:
        load.in_flight -= 1


async def _generate(stack: _Stack, seconds: float, rate: float, share: float, managers: Sequence[str],
                    load: _Load) -> None:
    """Request ``k`` at ``k / rate`` seconds, not waiting for any answer; then the stragglers."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()
    start = loop.time()
    for k in range(int(seconds * rate)):
        due = start + k / rate
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        load.late.append(max(0.0, loop.time() - due))
        command = command_of(k, share)
        task = asyncio.create_task(_fire(stack, command, _body(stack, k, command, managers), load))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(set(tasks), timeout=TIMEOUT + 5)


# --- memory ----------------------------------------------------------------------------------

def _sample(pid: int, t: float, load: _Load) -> dict[str, Any]:
    """Memory, and (so far) the server's CPU seconds, requests sent, answered, failed; in flight now."""
    kids = descendants(pid)
    return {"t": round(t, 1), "server_mb": _status_mb(pid, "VmRSS"), "children": len(kids),
            "children_mb": round(sum(_status_mb(child, "VmRSS") or 0.0 for child in kids), 1),
            "server_cpu_s": _process_cpu(pid), "sent": sum(load.sent.values()), "in_flight": load.in_flight,
            "answered": sum(load.statuses.values()), "errors": sum(load.errors.values())}


def _tidy(stack: _Stack, delivered: Counter[str]) -> None:
    """Counts what the coach sent to Slack and forgets it, so this process stays small too."""
    api = stack.api
    with api._changed:
        delivered.update(call.method for call in api.calls)
        api.calls.clear()
        for messages in api.conversations.values():
            del messages[:-5]
        api.uploads.clear()


async def _sampler(stack: _Stack, every: float, load: _Load, samples: list[dict[str, Any]],
                   delivered: Counter[str], stop: asyncio.Event) -> None:
    """A sample at 0, ``every``, 2 x ``every`` ... seconds, and one more once ``stop`` is set."""
    pid, start = stack.server.process.pid, time.monotonic()
    for n in itertools.count(1):
        samples.append(_sample(pid, time.monotonic() - start, load))
        _tidy(stack, delivered)
        if stop.is_set():
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, start + n * every - time.monotonic()))


def _slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares MB per minute."""
    return round(60 * statistics.linear_regression(*zip(*points)).slope, 3) if len({t for t, _ in points}) > 1 else None


def _pct(value: float | None, base: float | None) -> float | None:
    return None if value is None or not base else round(100 * (value - base) / base, 2)


def memory(samples: list[dict[str, Any]], baseline: float) -> dict[str, Any]:
    """RSS at ``baseline`` seconds and at the end, the peak, growth after ``baseline`` in %."""
    server = [(s["t"], s["server_mb"]) for s in samples if s["server_mb"] is not None]
    after = [(t, mb) for t, mb in server if t >= baseline - 1]
    at_baseline = after[0][1] if after else None
    end = server[-1][1] if server else None
    growth = _pct(end, at_baseline)
    peak = max((mb for _, mb in server), default=None)
    children = [s["children_mb"] for s in samples]
    return {"rss_at_baseline_mb": at_baseline, "baseline_s": baseline, "rss_end_mb": end, "rss_peak_mb": peak,
            "growth_after_baseline_pct": growth,
            "max_growth_after_baseline_pct": _pct(max((mb for _, mb in after), default=None), at_baseline),
            "slope_after_baseline_mb_per_min": _slope(after),
            "children_peak_mb": max(children, default=None), "children_end_mb": children[-1] if children else None,
            "met": {"growth": None if growth is None else growth <= TARGET["growth_pct"],
                    "peak": None if peak is None else peak <= TARGET["peak_mb"]}}


# --- the run ---------------------------------------------------------------------------------

def _managers(stack: _Stack) -> list[str]:
    """The managers' Slack ids, made known to the fake Slack (``_Stack`` only adds the reps)."""
    ids = [person_id for person_id, _, _ in stack.org.managers]
    with stack.engine.connect() as connection:
        rows = connection.execute(text("SELECT slack_user_id, email, timezone, locale FROM people WHERE id IN :ids")
                                  .bindparams(bindparam("ids", expanding=True)), {"ids": ids}).all()
    for slack, email, zone, locale in rows:
        stack.api.add_user(slack, email, tz=zone, locale="ja-JP" if locale == "ja" else "en-GB")
    return sorted(slack for slack, *_ in rows)


async def _soak(stack: _Stack, seconds: float, rate: float, share: float, every: float,
                baseline: float) -> dict[str, Any]:
    managers = await asyncio.to_thread(_managers, stack)
    if share and not managers:
        raise RuntimeError("/teamhealth needs a manager: the organisation has none")
    load, samples, delivered, stop = _Load(), [], Counter[str](), asyncio.Event()
    pid = stack.server.process.pid
    cpu = stack.cpu()
    sampling = asyncio.create_task(_sampler(stack, every, load, samples, delivered, stop))
    started = time.perf_counter()
    await _generate(stack, seconds, rate, share, managers, load)
    wall = time.perf_counter() - started
    await asyncio.sleep(1.0)  # the last answers' deliveries
    stop.set()
    await sampling
    non_200 = sum(n for key, n in load.statuses.items() if not key.endswith(" 200")) + sum(load.errors.values())
    return {
        "duration_s": seconds, "rate_per_s": rate, "teamhealth_share": share, "sample_every_s": every,
        "wall_s": wall, "server_pid": pid, "samples": samples, **memory(samples, baseline),
        "server_hwm_mb": _status_mb(pid, "VmHWM"), "children_detail": children_detail(pid),
        "matplotlib_in_server": maps_matplotlib(pid), "requests_sent": sum(load.sent.values()),
        "sent_by_command": dict(load.sent), "statuses": dict(load.statuses), "errors": dict(load.errors),
        "non_200": non_200, "ack_summary": {c: summary(v) for c, v in load.acks.items()},
        "late_summary": summary(load.late), "most_in_flight": load.most_in_flight,
        "delivered": dict(delivered), "cpu": stack.cpu_since(cpu), "target": TARGET,
        "charts_kept": len(list(Path(stack.server.data_dir).rglob("*.png"))),  # pictures the chart process drew
    }


def run(database_url: str, org: Org, *, seconds: float, rate: float = RATE, share: float = TEAMHEALTH_SHARE,
        every: float = EVERY, baseline: float = BASELINE) -> dict[str, Any]:
    """The soak on one fresh server; a JSON-able dict (see the module's docstring)."""
    holder: list[_Stack] = []

    async def work(stack: _Stack) -> dict[str, Any]:
        holder.append(stack)
        return await _soak(stack, seconds, rate, share, every, baseline)

    out = _on_stack(database_url, org, work)
    out.update(database=holder[0].engine.dialect.name, size=org.size.name, server_problems=holder[0].server.problems)
    return out


def headline(r: dict[str, Any]) -> str:
    mb = {k: "-" if r[k] is None else f"{r[k]:.0f} MB" for k in ("rss_at_baseline_mb", "rss_end_mb", "rss_peak_mb")}
    return (f"soak {r['duration_s'] / 60:.1f} min at {r['rate_per_s']:g}/s on {r['database']}: RSS"
            f" {mb['rss_at_baseline_mb']} at {r['baseline_s']:g} s, {mb['rss_end_mb']} at the end, peak"
            f" {mb['rss_peak_mb']}, growth {r['growth_after_baseline_pct']} %; children peak"
            f" {r['children_peak_mb']} MB; matplotlib in server: {r['matplotlib_in_server']};"
            f" {r['requests_sent']} requests, {r['non_200']} not 200")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="a database URL (an empty one, or one built for this size)")
    parser.add_argument("--size", default="S")
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--rate", type=float, default=RATE)
    parser.add_argument("--teamhealth-share", type=float, default=TEAMHEALTH_SHARE)
    parser.add_argument("--out", type=Path, help="write the JSON here (default: standard output)")
    args = parser.parse_args(argv)
    result = run(args.url, build(args.url, SIZES[args.size]), seconds=args.minutes * 60, rate=args.rate,
                 share=args.teamhealth_share)
    print(headline(result), file=sys.stderr)
    data = json.dumps(result, ensure_ascii=False, indent=1)
    args.out.write_text(data + "\n", "utf-8") if args.out else print(data)


if __name__ == "__main__":
    main()
