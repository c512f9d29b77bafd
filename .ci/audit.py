"""The lock's packages against the published vulnerabilities: ``python .ci/audit.py LOCK``.

Runs pip-audit on the lock (no resolution: the lock's pins and hashes as they are) and judges
its report (docs/dependencies.md):

- a vulnerability not acknowledged in ``.ci/audit-acknowledged.toml`` fails (exit 1), named
  with the versions that fix it;
- an acknowledgement holds until its ``until`` day; after it, the vulnerability fails again;
- when the vulnerability service cannot be reached (a network error, or it answers for none of
  the packages) the audit says so plainly and passes (exit 0): an outage is not a finding;
- anything else pip-audit refuses (a lock it cannot read) fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

# pip-audit's two sources of advisories, tried in turn; PIP_AUDIT_VULNERABILITY_SERVICE picks one
# (and PIP_AUDIT_OSV_URL points OSV's at a mirror)
SERVICES = ("pypi", "osv")
TIMEOUT_S = 300  # the whole audit: about 10 s when the service answers
ACKNOWLEDGED = Path(__file__).with_name("audit-acknowledged.toml")
# what requests and pip-audit raise when the service cannot be reached
NETWORK_ERRORS = ("ConnectionError", "ProxyError", "ConnectTimeout", "ReadTimeout", "NameResolutionError",
                  "Max retries exceeded", "Could not connect")


@dataclass(frozen=True)
class Acknowledgement:
    id: str
    reason: str
    until: date


@dataclass(frozen=True)
class Verdict:
    status: int
    lines: tuple[str, ...]
    unreachable: bool = False  # nothing was audited: the service could not be reached


def acknowledgements(path: Path = ACKNOWLEDGED) -> list[Acknowledgement]:
    """The ``[[acknowledged]]`` entries: ``id``, ``reason`` and ``until`` (a date), each required."""
    if not path.exists():
        return []
    entries = tomllib.loads(path.read_text("utf-8")).get("acknowledged", [])
    result = []
    for entry in entries:
        missing = [key for key in ("id", "reason", "until") if key not in entry]
        if missing or not isinstance(entry["until"], date):
            raise ValueError(f"{path.name}: {entry.get('id', 'an entry')} needs id, reason and until (a date)")
        result.append(Acknowledgement(str(entry["id"]), str(entry["reason"]), entry["until"]))
    return result


def judge(returncode: int, report: dict | None, stderr: str, acknowledged: list[Acknowledgement],
          today: date, service: str = "pypi") -> Verdict:
    """What the audit found, from pip-audit's exit status, JSON report and error output."""
    if report is None:
        if any(marker in stderr for marker in NETWORK_ERRORS):
            return Verdict(0, (f"audit: the vulnerability service ({service}) could not be reached (a network "
                               "error): nothing was audited; not a failure.",), unreachable=True)
        last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit status {returncode}"
        return Verdict(1, (f"audit: pip-audit failed: {last}",))
    dependencies = report.get("dependencies", [])
    audited = [d for d in dependencies if "skip_reason" not in d]
    if dependencies and not audited:
        return Verdict(0, (f"audit: the vulnerability service ({service}) answered for none of the lock's "
                           f"{len(dependencies)} packages: nothing was audited; not a failure.",), unreachable=True)
    live = {a.id: a for a in acknowledged if a.until >= today}
    expired = {a.id: a for a in acknowledged if a.until < today}
    lines, failing, held = [], 0, 0
    for dependency in audited:
        for vuln in dependency.get("vulns", []):
            ids = [vuln["id"], *vuln.get("aliases", [])]
            fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
            where = f"{dependency['name']} {dependency['version']}: {vuln['id']}"
            if (ack := next((live[i] for i in ids if i in live), None)) is not None:
                held += 1
                lines.append(f"audit: {where} acknowledged until {ack.until} ({ack.reason})")
                continue
            failing += 1
            late = next((expired[i] for i in ids if i in expired), None)
            note = f"; its acknowledgement ended on {late.until}" if late else ""
            lines.append(f"audit: {where} (fixed in: {fixes}){note}")
    skipped = len(dependencies) - len(audited)
    tail = f", {skipped} not audited" if skipped else ""
    if failing:
        lines.append(f"audit: {failing} known vulnerabilities in the lock: upgrade (make lock UPGRADE=1) or "
                     "acknowledge each in .ci/audit-acknowledged.toml.")
        return Verdict(1, tuple(lines))
    lines.append(f"audit: {len(audited)} packages, no known vulnerability"
                 f"{f' ({held} acknowledged)' if held else ''}{tail}.")
    return Verdict(0, tuple(lines))


def run_pip_audit(lock: Path, service: str = "pypi") -> tuple[int, dict | None, str]:
    """pip-audit on the lock: its exit status, its JSON report (None when it wrote none), its errors."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "pip_audit", "--disable-pip", "--requirement", str(lock),
                   "--vulnerability-service", service,
                   "--progress-spinner", "off", "--format", "json", "--aliases", "on", "--timeout", "15", "--output", str(output)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, env=os.environ)
        except subprocess.TimeoutExpired:
            return 1, None, f"Could not connect: no answer in {TIMEOUT_S} s"
        report = json.loads(output.read_text("utf-8")) if output.exists() and output.stat().st_size else None
        return done.returncode, report, done.stderr


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_file():
        print("usage: python .ci/audit.py LOCK (a requirements file with hashes)", file=sys.stderr)
        return 2
    try:
        acknowledged = acknowledgements()
    except (ValueError, tomllib.TOMLDecodeError) as error:
        print(f"audit: {error}", file=sys.stderr)
        return 2
    chosen = os.environ.get("PIP_AUDIT_VULNERABILITY_SERVICE")
    for service in (chosen,) if chosen else SERVICES:  # the next only when one cannot be reached
        verdict = judge(*run_pip_audit(Path(argv[0]), service), acknowledged, date.today(), service)
        for line in verdict.lines:
            print(line)
        if not verdict.unreachable:
            return verdict.status
    print("audit: no vulnerability service could be reached: the lock was not audited this time.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
