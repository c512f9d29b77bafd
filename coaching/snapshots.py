"""Team snapshots: what a team report computed for a past day, kept so that later reports read it
instead of recomputing a past period.

A report as of ``T`` compares with the four weeks ending ``T - 28`` and draws each rep's book
balance on ``T - 7k`` (k = 1..8). Those days are over, so their figures and balances are kept
per team set and day (``SnapshotRepository``): the first report that needs one computes it from
the records and saves it, the daily upkeep prepares the next ones, and every report after that
reads them. Storage removes a workspace's snapshots from a day on whenever a record dated that day
or earlier is written (a rep logging last month's meeting today), so a kept figure never hides a
later record; the rules are part of the key, so changing them starts afresh.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, fields
from datetime import date
from typing import Any, Mapping, Protocol, Sequence

from coaching.metrics import Figures
from coaching.model import Team
from coaching.rules import Rules


class SnapshotRepository(Protocol):
    def figures(self, workspace_id: str, key: str, day: date) -> Figures | None:
        """The figures kept for the four weeks ending ``day``, if any."""
    def owner_balances(self, workspace_id: str, key: str, days: Sequence[date]) -> dict[date, dict[int, int]]:
        """The book balance of each owner on each of ``days`` that has them kept."""
    def save(self, workspace_id: str, key: str, day: date, *, figures: Figures | None = None,
             owners: Mapping[int, int] | None = None) -> None:
        """Keep what is given for ``day`` (the other part, if kept, stays)."""


def key(teams: Sequence[Team], rules: Rules) -> str:
    """The teams (by id) and a digest of the rules the figures depend on."""
    digest = hashlib.blake2b(repr(rules.nudging).encode(), digest_size=6).hexdigest()
    return ",".join(str(i) for i in sorted(t.id for t in teams)) + "@" + digest


def figures_to_json(f: Figures) -> dict[str, Any]:
    data = asdict(f)
    data["trust_mix"] = {str(k): v for k, v in f.trust_mix.items()}
    return data


def figures_from_json(data: Mapping[str, Any]) -> Figures:
    known = {f.name for f in fields(Figures)}
    values = {k: v for k, v in data.items() if k in known}
    values["trust_mix"] = {int(k) if k.isdigit() else k: v for k, v in data["trust_mix"].items()}
    return Figures(**values)
