"""Summaries of repeated measurements: what BENCHMARKS.md prints for each."""

from __future__ import annotations

import math
import statistics
from typing import Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0-100): a value that was really measured, never an
    interpolation between two. The p99 of fewer than 100 values is their maximum."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values), "min": min(values), "median": statistics.median(values),
        "p95": percentile(values, 95), "p99": percentile(values, 99), "max": max(values),
    }
