"""Microsoft's Teams app manifest JSON schemas, taken from the npm package that ships them.

``@microsoft/app-manifest`` (MIT, published by Microsoft) carries every schema version under
``build/json-schemas/teams/vX.Y/``. The first call runs ``npm pack`` for the pinned version (the
npm registry only, nothing is downloaded from elsewhere), keeps the package's ``json-schemas``
folder under ``.pytest_cache`` and reuses it afterwards. Without npm, or if the pack fails, the
functions return None and :func:`unavailable_reason` says why, so tests can skip with a reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

PACKAGE = "@microsoft/app-manifest"
PACKAGE_VERSION = "1.1.2"  # `npm view @microsoft/app-manifest version`; ships teams v1.0 to v1.30
ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".pytest_cache" / "d" / f"npm-app-manifest-{PACKAGE_VERSION}"
SCHEMAS_IN_PACKAGE = "package/build/json-schemas/"
NPM_TIMEOUT = 180

_problem: list[str] = []


def teams_manifest_schema(version: str) -> dict[str, Any] | None:
    """``teams/v<version>/MicrosoftTeams.schema.json``, or None if it can't be obtained."""
    return _schema(version, "MicrosoftTeams.schema.json")


def teams_localization_schema(version: str) -> dict[str, Any] | None:
    """``teams/v<version>/MicrosoftTeams.Localization.schema.json``, or None."""
    return _schema(version, "MicrosoftTeams.Localization.schema.json")


def teams_schema_versions() -> list[str]:
    """The Teams manifest versions the pinned package ships, e.g. ``["1.0", …, "devPreview"]``."""
    folder = schemas_folder()
    if folder is None:
        return []
    names = [p.name[1:] for p in (folder / "teams").iterdir() if p.is_dir() and p.name.startswith("v")]
    return sorted(names, key=lambda v: [int(n) for n in v.split(".")] if _numeric(v) else [10**9])


def stable_versions() -> list[str]:
    """The numbered (non-preview) versions, oldest first."""
    return [v for v in teams_schema_versions() if _numeric(v)]


def _numeric(version: str) -> bool:
    return all(part.isdigit() for part in version.split("."))


def unavailable_reason() -> str:
    return _problem[-1] if _problem else "the schema file is not in the package"


def _schema(version: str, name: str) -> dict[str, Any] | None:
    folder = schemas_folder()
    if folder is None:
        return None
    path = folder / "teams" / f"v{version}" / name
    if not path.is_file():
        _problem.append(f"{PACKAGE}@{PACKAGE_VERSION} has no teams/v{version}/{name}")
        return None
    return _python_patterns(json.loads(path.read_text("utf-8-sig")))


# ECMAScript patterns Python's re can't read, and their equivalents ([^\W\d_] is "a letter").
# A new one makes check_schema fail ("is not a 'regex'"): add its translation here.
ECMASCRIPT_PATTERNS = {
    r"^[\p{L}][\p{L}0-9._]*$": r"^[^\W\d_](?:[^\W\d_]|[0-9._])*$",
}


def _python_patterns(node: Any) -> Any:
    if isinstance(node, list):
        return [_python_patterns(item) for item in node]
    if not isinstance(node, dict):
        return node
    fixed = {key: _python_patterns(value) for key, value in node.items()}
    if isinstance(node.get("pattern"), str):
        fixed["pattern"] = ECMASCRIPT_PATTERNS.get(node["pattern"], node["pattern"])
    return fixed


@lru_cache(maxsize=1)
def schemas_folder() -> Path | None:
    """The package's extracted ``json-schemas`` folder (packed and extracted on first use)."""
    target = CACHE / "json-schemas"
    if (target / "teams").is_dir():
        return target
    npm = shutil.which("npm")
    if npm is None:
        _problem.append(f"npm is not installed, so {PACKAGE}@{PACKAGE_VERSION} can't be fetched")
        return None
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        try:
            run = subprocess.run(
                [npm, "pack", f"{PACKAGE}@{PACKAGE_VERSION}", "--pack-destination", tmp,
                 "--silent", "--no-fund", "--no-audit"],
                cwd=tmp, capture_output=True, text=True, timeout=NPM_TIMEOUT, check=False)
        except (OSError, subprocess.SubprocessError) as error:
            _problem.append(f"npm pack {PACKAGE}@{PACKAGE_VERSION} failed: {error}")
            return None
        tarballs = sorted(Path(tmp).glob("*.tgz"))
        if run.returncode != 0 or not tarballs:
            last = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no tarball"]
            _problem.append(f"npm pack {PACKAGE}@{PACKAGE_VERSION} failed: {last[0]}")
            return None
        staged = Path(tmp) / "json-schemas"
        if not _extract_schemas(tarballs[0], staged):
            _problem.append(f"{tarballs[0].name} has no {SCHEMAS_IN_PACKAGE}teams folder")
            return None
        try:
            os.replace(staged, target)  # atomic: a parallel run either wins or finds it done
        except OSError:
            if not (target / "teams").is_dir():
                raise
    return target


def _extract_schemas(tarball: Path, dest: Path) -> bool:
    """Copy the package's ``*.json`` files under build/json-schemas/ (never outside ``dest``)."""
    found = False
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive.getmembers():
            if not (member.isfile() and member.name.startswith(SCHEMAS_IN_PACKAGE)
                    and member.name.endswith(".json")):
                continue
            relative = PurePosixPath(member.name[len(SCHEMAS_IN_PACKAGE):])
            if relative.is_absolute() or ".." in relative.parts:
                continue
            source = archive.extractfile(member)
            if source is None:
                continue
            path = dest.joinpath(*relative.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(source.read())
            found = found or relative.parts[0] == "teams"
    return found
