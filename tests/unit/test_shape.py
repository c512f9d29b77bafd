"""Code a reader takes in at once: every function's cyclomatic complexity (radon's count) is at
most 15, and every module under about 300 lines. A function that grows past it is split before
it lands; the limits are the project's, in docs/architecture.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from radon.complexity import cc_visit

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for package in ("coaching", "storage", "bot") for p in (ROOT / package).rglob("*.py")
                 if "migrations" not in p.parts)
MAX_COMPLEXITY = 15
MAX_LINES = 320  # "about 300": a module a little over it is left whole rather than cut mid-thought


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_function_is_simple_enough(path: Path) -> None:
    blocks = cc_visit(path.read_text("utf-8"))
    complex_ = [(b.fullname, b.complexity) for b in blocks if b.complexity > MAX_COMPLEXITY]
    assert complex_ == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_is_short_enough(path: Path) -> None:
    lines = path.read_text("utf-8").count("\n")
    assert lines <= MAX_LINES, f"{lines} lines"
