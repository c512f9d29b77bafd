"""The lock (docs/dependencies.md): every package pinned to one version with its hashes, within
pyproject.toml's ranges, and `make setup` installing from it alone, hash-checked."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from collections import defaultdict
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"


def pins() -> dict[str, list[tuple[Version, list[str]]]]:
    """Each package in the lock: its versions (one, or one per Python where the lock forks) and
    the hashes given for each."""
    return pins_in(LOCK.read_text("utf-8"))


def pins_in(lock: str) -> dict[str, list[tuple[Version, list[str]]]]:
    found: dict[str, list[tuple[Version, list[str]]]] = defaultdict(list)
    text = lock.replace("\\\n", " ")
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        requirement, *hashes = line.split("--hash=")
        name, version = re.match(r"([A-Za-z0-9._-]+)==(\S+)", requirement.strip()).groups()
        found[canonicalize_name(name)].append((Version(version), [h.strip() for h in hashes]))
    return found


def asked_for() -> list[Requirement]:
    """What pyproject.toml asks for: the dependencies, the dev extra, the build group and the
    build system's own requirement."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    listed = [*project["project"]["dependencies"], *project["project"]["optional-dependencies"]["dev"],
              *project["dependency-groups"]["build"], *project["build-system"]["requires"]]
    return [Requirement(r) for r in listed]


def test_every_package_in_the_lock_is_pinned_with_its_hashes() -> None:
    locked = pins()
    assert len(locked) > 50
    for name, versions in locked.items():
        for version, hashes in versions:
            assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), (name, version)


def test_the_lock_holds_everything_pyproject_asks_for_within_its_ranges() -> None:
    locked = pins()
    for requirement in asked_for():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock: run make lock"
        for version, _ in locked[name]:
            assert version in requirement.specifier, f"{name} {version} is outside {requirement.specifier}"


def test_pip_goes_first_with_its_own_lines_of_the_lock(tmp_path: Path) -> None:
    """`make setup` cuts pip's entry out of the lock (awk) to install it before the rest."""
    dry = subprocess.run(["make", "-n", "-B", "setup", f"VENV={tmp_path}"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    awk = next(line for line in dry.splitlines() if line.startswith("awk "))
    subprocess.run(awk, shell=True, cwd=ROOT, check=True)
    (version, hashes), = pins_in((tmp_path / "pip.lock").read_text("utf-8"))["pip"]
    assert (version, hashes) == pins()["pip"][0] and hashes


def test_the_lock_says_how_to_make_it_again() -> None:
    assert LOCK.read_text("utf-8").splitlines()[1].strip() == "#    make lock"


def test_make_setup_installs_only_from_the_lock_with_hashes(tmp_path: Path) -> None:
    """What `make setup` would run on a fresh machine (make's dry run): every package from the
    lock, hash-checked and as wheels, and the coach itself without fetching a build backend."""
    dry = subprocess.run(["make", "-n", "-B", "setup", f"VENV={tmp_path / 'venv'}"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    installs = [line for line in dry.splitlines() if "pip install" in line]
    assert len(installs) == 3, dry
    pip, packages, coach = installs
    for line in (pip, packages):
        assert "--require-hashes" in line and "--no-deps" in line and "--only-binary :all:" in line
    assert f"-r {tmp_path / 'venv' / 'pip.lock'}" in pip and "-r requirements.lock" in packages
    assert coach.endswith("pip install --quiet --no-deps --no-build-isolation -e .")
    assert "pip check" in dry


def test_a_changed_lock_is_installed_again_by_the_next_make(tmp_path: Path) -> None:
    for name in ("Makefile", "pyproject.toml", "requirements.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / ".venv").mkdir()
    stamp = tmp_path / ".venv" / ".installed-stamp"
    stamp.touch()

    def installs_after(changed: str | None) -> bool:
        """Whether `make setup` would install, with ``changed`` newer than the last install."""
        for name in ("pyproject.toml", "requirements.lock"):
            os.utime(tmp_path / name, (1_000_000, 1_000_000))
        os.utime(stamp, (2_000_000, 2_000_000))
        if changed:
            os.utime(tmp_path / changed, (3_000_000, 3_000_000))
        dry = subprocess.run(["make", "-n", "setup"], cwd=tmp_path, capture_output=True, text=True, check=True)
        return "-r requirements.lock" in dry.stdout

    assert not installs_after(None)
    assert installs_after("requirements.lock")  # make lock, or a pull that changed it
    assert installs_after("pyproject.toml")
