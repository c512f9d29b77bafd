"""How the CLI prints rows: a table for people, JSON and CSV for programs and spreadsheets, none
of them carrying anything a terminal would obey or a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from coaching.messages import Msg, msg
from coaching.replies import printable
from bot.bootstrap import Coach
from bot.cli.common import say
from bot.terminal import escape

FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
                      show_default=True)
NUDGE_FIELDS = ("rep", "client", "kind", "reason", "next_step", "stake", "subject")
DELIVERY_FIELDS = ("job", "to", "status", "channel", "reason", "attempts", "items")
LEDGER_FIELDS = ("client", "date", "amount", "reason", "reason_code", "balance")
HEALTH_FIELDS = ("section", "subject", "name", "metric", "value")


def rows_out(coach: Coach, fmt: str, rows: list[dict[str, Any]], none: Msg, title: Msg,
             columns: tuple[str, ...], cells, show_lines: bool = False, fields: tuple[str, ...] = ()) -> None:
    """Rows as JSON, as CSV (``fields``, a header row even with no rows), or as a table with the
    catalogue's column headers (``cli.col.*``)."""
    if fmt == "json":
        click.echo(json_text(rows))
        return
    if fmt == "csv":
        click.echo(csv_text(rows, fields or tuple(rows[0] if rows else ())), nl=False)
        return
    if not rows:
        click.echo(say(coach, none))
        return
    _print_table(coach, rows, title, columns, cells, show_lines)


def _print_table(coach: Coach, rows: list[dict[str, Any]], title: Msg, columns: tuple[str, ...], cells,
                 show_lines: bool) -> None:
    # Text, not str: rich reads "[link=…]" or ":emoji:" in a str as markup, and user text is no markup.
    table = Table(title=Text(say(coach, title)), show_lines=show_lines)
    for col in columns:
        table.add_column(Text(say(coach, msg(f"cli.col.{col}"))))
    for r in rows:
        table.add_row(*(Text(escape(str(v if v is not None else ""))) for v in cells(r)))
    Console(soft_wrap=False).print(table)


# C1 controls, bidi overrides and lone surrogates go out as \u escapes: the same JSON data, but
# nothing a terminal would obey (json.dumps already escapes C0 controls).
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def json_text(data: Any) -> str:
    """JSON as the CLI prints it: readable Japanese, nothing for the terminal to obey."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", json.dumps(data, ensure_ascii=False, indent=2))


# A spreadsheet reads a cell that starts with one of these as a formula (OWASP's CSV injection;
# also the full-width forms, should a spreadsheet fold them to ASCII): such a cell gets a "'" first.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\0", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: Any) -> Any:
    """One CSV cell: a number stays a number (a balance of -3 is -3), text never starts a formula
    and has no control characters but tab and newline; a list is joined with "; "."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    text = printable(str(value))
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_text(rows: list[dict[str, Any]], fields: tuple[str, ...]) -> str:
    """RFC 4180 CSV with a header row; every text cell quoted, numbers bare (so they stay numbers)."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerow(fields)
    writer.writerows([csv_cell(row.get(field)) for field in fields] for row in rows)
    return out.getvalue()


def _row(section: str, subject: str, name: str | None, metric: str, value: Any) -> dict[str, Any]:
    return {"section": section, "subject": subject, "name": name, "metric": metric, "value": value}


def _figures(section: str, subject: str, name: str | None, values: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per figure; a figure that is itself a mapping (counts by kind) gives one row per key."""
    rows: list[dict[str, Any]] = []
    for metric, value in values.items():
        if isinstance(value, dict):
            rows += [_row(section, subject, name, f"{metric}.{key}", count) for key, count in value.items()]
        else:
            rows.append(_row(section, subject, name, metric, value))
    return rows


def _logging_rows(logging: dict[str, Any], teams: str) -> list[dict[str, Any]]:
    rows = _figures("logging", "", teams, {k: v for k, v in logging.items() if k != "days_logged"})
    rows += [_row("logging", email, None, "days_logged", days) for email, days in logging["days_logged"].items()]
    return rows


def _trend_rows(trend: dict[str, Any]) -> list[dict[str, Any]]:
    return [_row("trend", series["rep"], series["name"], day, balance)
            for series in trend["reps"] for day, balance in zip(trend["dates"], series["balances"])]


def health_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """``coach teamhealth`` as CSV rows, one figure per row (section, subject, name, metric,
    value): the team now and before, each rep, logging, the clients at risk, the trend."""
    teams = ", ".join(data["teams"])
    rows = _figures("team", "now", teams, data["now"]) + _figures("team", "before", teams, data["before"])
    for rep in data["reps"]:
        rows += _figures("rep", rep["rep"], rep["name"], {k: v for k, v in rep.items() if k not in ("rep", "name")})
    if logging := data.get("logging"):
        rows += _logging_rows(logging, teams)
    for risk in data["at_risk"]:
        rows.append(_row("at_risk", risk["client"], risk["owner"], "score", risk["score"]))
        rows.append(_row("at_risk", risk["client"], risk["owner"], "reasons", risk["reasons"]))
    if trend := data.get("trend"):
        rows += _trend_rows(trend)
    return rows
