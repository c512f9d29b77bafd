"""``coach serve`` as an operator starts it, for the tests of what it shows about itself: the real
command in its own process group, its standard output and its log stream (standard error) in
files of their own, and ``/metrics`` read over HTTP and parsed with prometheus-client's parser."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from prometheus_client.parser import text_string_to_metric_families

from tests.system.test_scheduler_processes import coach_command
from tests.system.test_serve_workers import ROOT, children, healthy, wait_until
from tests.teams.playground import free_port

METRICS_ALLOW = "127.0.0.1/32"
# everyone is due whatever the real time: every day a working day, no quiet hours, from 00:00
EVERYONE_DUE = {"COACH_WORKING_DAYS": "mon-sun", "COACH_QUIET_HOURS": "none", "COACH_DIGEST_TIME": "00:00",
                "COACH_REMINDER_TIME": "00:00", "COACH_CHECKIN_TIME": "off"}


@dataclass
class Serve:
    process: subprocess.Popen
    port: int
    log: Path  # standard error: the log stream
    out: Path  # standard output: what `coach serve` says to the operator

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    def workers(self) -> set[int]:
        return children(self.process.pid)

    def json_lines(self) -> list[dict[str, Any]]:
        """Every line of the log stream as JSON (a line that is not fails the test)."""
        lines = [line for line in self.output().split("\n") if line]
        return [json.loads(line) for line in lines]


@contextmanager
def coach_serve(env: Mapping[str, str], workers: int = 1, ready: Any = None) -> Iterator[Serve]:
    """``coach serve`` on a free loopback port, once ``/healthz`` answers (and ``ready(served)``)."""
    port = free_port()
    data = Path(env["COACH_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    log, out = data / f"serve-{port}.err", data / f"serve-{port}.out"
    with open(log, "wb") as err_file, open(out, "wb") as out_file:
        process = subprocess.Popen([*coach_command(), "serve", "--port", str(port), "--workers", str(workers)],
                                   env=dict(env), cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out_file,
                                   stderr=err_file, start_new_session=True)
    served = Serve(process, port, log, out)
    try:
        wait_until(lambda: healthy(port) and (ready is None or ready(served)), 60,
                   lambda: f"coach serve did not start:\n{served.output()[-4000:]}", process)
        yield served
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)


def get(port: int, path: str, source: str = "127.0.0.1", headers: Mapping[str, str] | None = None,
        connection: http.client.HTTPConnection | None = None) -> tuple[int, str]:
    """One GET to the coach on loopback, from ``source`` (any 127.x address is this machine's)."""
    mine = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        connection.request("GET", path, headers=dict(headers or {}))
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", errors="replace")
    finally:
        if mine:
            connection.close()


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition: (name, labels) -> value."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def scrape(port: int, connection: http.client.HTTPConnection | None = None) -> Samples:
    status, text = get(port, "/metrics", connection=connection)
    assert status == 200, (status, text)
    return parse(text)


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples that carry ``labels`` (and any others)."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)
