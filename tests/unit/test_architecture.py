"""The domain stays pure: coaching/ imports the standard library and itself only, and never
reads the clock. (import-linter checks the package boundaries too; this also catches
third-party imports and clock reads.)"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_FILES = sorted((ROOT / "coaching").rglob("*.py"))


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_domain_imports_only_the_standard_library(path: Path):
    tree = ast.parse(path.read_text("utf-8"))
    outside = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top != "coaching" and top not in sys.stdlib_module_names:
                outside.append(name)
    assert outside == []


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_domain_never_reads_the_clock(path: Path):
    tree = ast.parse(path.read_text("utf-8"))
    reads = [
        ast.unparse(node) for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in {"now", "today", "utcnow", "time"}
        and isinstance(node.value, (ast.Name, ast.Attribute))
        and ast.unparse(node.value).split(".")[-1] in {"datetime", "date", "time"}
    ]
    assert reads == []


def test_storage_never_imports_bot():
    for path in (ROOT / "storage").rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "bot":
                pytest.fail(f"{path.name} imports {node.module}")
