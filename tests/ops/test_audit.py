"""The audit CI runs (`.ci/audit.py`, docs/dependencies.md): a vulnerability fails, an
acknowledgement lets it pass until its day, and an unreachable vulnerability service is said
plainly and does not fail."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "audit.py"
TODAY = date(2026, 12, 1)

spec = importlib.util.spec_from_file_location("ci_audit", SCRIPT)
audit = importlib.util.module_from_spec(spec)
sys.modules["ci_audit"] = audit
spec.loader.exec_module(audit)


def report(*dependencies: dict) -> dict:
    """pip-audit's JSON report (its `--format json --aliases on`)."""
    return {"dependencies": list(dependencies), "fixes": []}


AIOHTTP = {"name": "aiohttp", "version": "3.9.0",
           "vulns": [{"id": "GHSA-aaaa-bbbb-cccc", "fix_versions": ["3.9.2"], "aliases": ["CVE-2024-0001"]}]}
CLEAN = {"name": "click", "version": "8.1.7", "vulns": []}
SKIPPED = {"name": "coach-internal", "skip_reason": "Dependency not found on PyPI and could not be audited"}


def test_a_vulnerability_fails_with_its_fix() -> None:
    verdict = audit.judge(1, report(AIOHTTP, CLEAN), "", [], TODAY)
    assert verdict.status == 1
    assert verdict.lines[0] == "audit: aiohttp 3.9.0: GHSA-aaaa-bbbb-cccc (fixed in: 3.9.2)"
    assert "1 known vulnerabilities" in verdict.lines[-1]


@pytest.mark.parametrize("acknowledged_as", ["GHSA-aaaa-bbbb-cccc", "CVE-2024-0001"])
def test_an_acknowledged_vulnerability_passes_until_its_day(acknowledged_as: str) -> None:
    ack = audit.Acknowledgement(acknowledged_as, "the affected parser is not used", date(2026, 12, 31))
    verdict = audit.judge(1, report(AIOHTTP, CLEAN), "", [ack], TODAY)
    assert verdict.status == 0
    assert verdict.lines == ("audit: aiohttp 3.9.0: GHSA-aaaa-bbbb-cccc acknowledged until 2026-12-31 "
                             "(the affected parser is not used)",
                             "audit: 2 packages, no known vulnerability (1 acknowledged).")
    late = audit.judge(1, report(AIOHTTP), "", [ack], date(2027, 1, 1))
    assert late.status == 1
    assert late.lines[0].endswith("; its acknowledgement ended on 2026-12-31")


def test_a_clean_lock_passes_and_counts_what_was_not_audited() -> None:
    verdict = audit.judge(0, report(CLEAN, SKIPPED), "", [], TODAY)
    assert (verdict.status, verdict.unreachable) == (0, False)
    assert verdict.lines == ("audit: 1 packages, no known vulnerability, 1 not audited.",)


def test_an_unreachable_service_is_said_plainly_and_passes() -> None:
    network = audit.judge(1, None, "requests.exceptions.ConnectionError: Max retries exceeded", [], TODAY, "osv")
    assert (network.status, network.unreachable) == (0, True)
    assert network.lines[0].startswith("audit: the vulnerability service (osv) could not be reached")
    silent = audit.judge(0, report(SKIPPED, SKIPPED), "", [], TODAY)
    assert (silent.status, silent.unreachable) == (0, True)
    assert "answered for none of the lock's 2 packages" in silent.lines[0]


def test_any_other_failure_of_pip_audit_fails() -> None:
    verdict = audit.judge(1, None, "Traceback …\nInvalidRequirement: bad line", [], TODAY)
    assert verdict.status == 1 and verdict.lines == ("audit: pip-audit failed: InvalidRequirement: bad line",)


def test_acknowledgements_need_an_id_a_reason_and_a_day(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[[acknowledged]]\nid = "PYSEC-1"\nreason = "r"\nuntil = 2027-01-31\n')
    assert audit.acknowledgements(good) == [audit.Acknowledgement("PYSEC-1", "r", date(2027, 1, 31))]
    bad = tmp_path / "bad.toml"
    bad.write_text('[[acknowledged]]\nid = "PYSEC-1"\nreason = "forever"\n')
    with pytest.raises(ValueError, match="needs id, reason and until"):
        audit.acknowledgements(bad)
    assert audit.acknowledgements(audit.ACKNOWLEDGED) is not None  # the shipped file reads


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_real_audit_with_the_network_cut_passes_and_says_so(tmp_path: Path) -> None:
    """pip-audit itself, every request sent to a loopback port nobody listens on."""
    lock = tmp_path / "one.lock"
    lock.write_text("click==8.1.7 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    proxy = f"http://127.0.0.1:{closed_port()}"
    env = {**os.environ, "HTTPS_PROXY": proxy, "https_proxy": proxy, "NO_PROXY": "", "no_proxy": ""}
    done = subprocess.run([sys.executable, str(SCRIPT), str(lock)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "audit: no vulnerability service could be reached: the lock was not audited this time."


class FakeOsv(BaseHTTPRequestHandler):
    """OSV's query API (what pip-audit posts for each package): requests 2.19.0 has an advisory."""

    def do_POST(self) -> None:  # noqa: N802
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        found = {}
        if query["package"]["name"] == "requests" and query["version"] == "2.19.0":
            found = {"vulns": [{"id": "PYSEC-2018-28", "aliases": ["CVE-2018-18074"], "summary": "credentials",
                                "affected": [{"package": {"name": "requests", "ecosystem": "PyPI"},
                                              "ranges": [{"type": "ECOSYSTEM",
                                                          "events": [{"introduced": "0"}, {"fixed": "2.20.0"}]}]}]}]}
        body = json.dumps(found).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_a_known_vulnerable_pin_fails_the_real_audit(tmp_path: Path) -> None:
    """pip-audit itself against a local stand-in for OSV's API (PIP_AUDIT_OSV_URL, as for a mirror)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOsv)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lock = tmp_path / "old.lock"
    lock.write_text("".join(f"{pin} \\\n    --hash=sha256:{'0' * 64}\n" for pin in ("requests==2.19.0", "click==8.1.7")))
    env = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1", "PIP_AUDIT_VULNERABILITY_SERVICE": "osv",
           "PIP_AUDIT_OSV_URL": f"http://127.0.0.1:{server.server_port}/v1/query"}
    try:
        done = subprocess.run([sys.executable, str(SCRIPT), str(lock)], capture_output=True, text=True, env=env,
                              timeout=300)
    finally:
        server.shutdown()
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "audit: requests 2.19.0: PYSEC-2018-28 (fixed in: 2.20.0)",
        "audit: 1 known vulnerabilities in the lock: upgrade (make lock UPGRADE=1) or acknowledge each in "
        ".ci/audit-acknowledged.toml."]
