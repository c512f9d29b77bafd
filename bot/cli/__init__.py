"""``coach``: the command line. Bad input ends with one line saying what to do, and status 2.

``main`` (the ``coach`` entry point) is the group in ``bot.cli.common``; the modules imported
below add their commands to it: ``admin`` (setting up), ``reports`` (reading out),
``operations`` (running), ``privacy`` (data on request). ``bot.cli.output`` prints rows as a table, JSON or CSV."""

from __future__ import annotations

from bot.cli import admin, backup, crm, effect, operations, privacy, reports, summaries  # noqa: F401  (each adds its commands to ``main``)
from bot.cli.common import CoachGroup, Fail, main
from bot.cli.output import (
    DELIVERY_FIELDS,
    FORMULA_START,
    HEALTH_FIELDS,
    LEDGER_FIELDS,
    NUDGE_FIELDS,
    csv_cell,
    csv_text,
    health_rows,
    json_text,
)

__all__ = [
    "CoachGroup", "DELIVERY_FIELDS", "FORMULA_START", "Fail", "HEALTH_FIELDS", "LEDGER_FIELDS", "NUDGE_FIELDS",
    "csv_cell", "csv_text", "health_rows", "json_text", "main",
]
