"""What docs/deploy.md ships: the systemd units in deploy/systemd pass `systemd-analyze verify`,
each runs a coach command that exists, the drop-in keeps `coach serve` from running the scheduler
twice, and the nginx site of docs/deploy-proxy.md passes `nginx -t` and forwards to the port the
unit serves on."""

from __future__ import annotations

import datetime
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
INSTALLED_COACH = "/opt/coach/.venv/bin/coach"
# CI unpacks Debian's nginx here when none is installed (.ci/run)
UNPACKED_NGINX = Path.home() / ".cache" / "coach-tests" / "nginx" / "usr" / "sbin" / "nginx"


def directives(path: Path) -> list[tuple[str, str]]:
    return [tuple(line.split("=", 1)) for line in path.read_text("utf-8").splitlines()
            if "=" in line and not line.startswith(("#", "["))]


def environment(path: Path) -> dict[str, str]:
    return dict(pair.split("=", 1) for key, value in directives(path) if key == "Environment"
                for pair in shlex.split(value))


def coach_commands() -> dict[str, list[list[str]]]:
    """Each unit's coach command lines, without the program."""
    found: dict[str, list[list[str]]] = {}
    for unit in sorted(UNITS.glob("*.service")):
        for key, value in directives(unit):
            if key.startswith("Exec") and value.startswith(INSTALLED_COACH):
                found.setdefault(unit.name, []).append(shlex.split(value)[1:])
    return found


def test_each_unit_runs_a_coach_command_that_exists() -> None:
    commands = coach_commands()
    assert commands == {"coach.service": [["db", "upgrade"], ["serve", "--host", "127.0.0.1", "--port", "3978"]],
                        "coach-scheduler.service": [["scheduler"]],
                        "coach-backup.service": [["backup", "/var/lib/coach-backups"]]}
    for unit, lines in commands.items():
        for args in lines:
            result = CliRunner().invoke(main, [*args, "--help"])  # every option before --help must parse
            assert result.exit_code == 0, (unit, result.output)


def test_the_drop_in_leaves_the_scheduler_to_its_own_unit() -> None:
    serve = environment(UNITS / "coach.service")
    assert Settings(**serve).scheduler_enabled  # coach.service alone: digests from `coach serve`
    apart = {**serve, **environment(UNITS / "coach.service.d" / "scheduler-apart.conf")}
    assert not Settings(**apart).scheduler_enabled
    assert Settings(**serve).data_dir == Path("/var/lib/coach")


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian: systemd)")
    installed = Path(sys.executable).with_name("coach")  # the coach this test runs, standing in for /opt/coach
    assert installed.exists()
    for source in UNITS.rglob("*"):
        if source.is_file():
            target = tmp_path / source.relative_to(UNITS)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source.read_text("utf-8").replace(INSTALLED_COACH, str(installed)))
    units = sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".service", ".timer"))
    assert len(units) == 4
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "SYSTEMD_UNIT_PATH": f"{tmp_path}:"})
    assert (done.returncode, done.stderr) == (0, "")


def nginx_site() -> str:
    text = (ROOT / "docs" / "deploy-proxy.md").read_text("utf-8")
    return re.search(r"```nginx\n(.*?)```", text, re.S).group(1)


def test_the_proxy_forwards_to_the_port_the_unit_serves_on() -> None:
    assert "proxy_pass            http://127.0.0.1:3978;" in nginx_site()


def certificate(folder: Path) -> None:
    """A self-signed certificate, standing in for the site's."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "coach.example.com")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (folder / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "privkey.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))


def test_the_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or (str(UNPACKED_NGINX) if UNPACKED_NGINX.exists() else None)
    if nginx is None or subprocess.run([nginx, "-v"], capture_output=True).returncode != 0:
        pytest.skip("nginx is not installed (CI unpacks Debian's when it can)")
    certificate(tmp_path)
    # the rest of an nginx.conf, every file it writes in the test's folder
    around = f"access_log {tmp_path / 'access.log'};\n" + "".join(
        f"{kind}_temp_path {tmp_path / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(f"pid nginx.pid;\nevents {{}}\nhttp {{\n{around}{nginx_site()}\n}}\n")
    done = subprocess.run([nginx, "-t", "-e", "stderr", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
