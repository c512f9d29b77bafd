"""Rendering neutral replies as terminal text (the console channel and the CLI)."""

from __future__ import annotations

import logging
from pathlib import Path

from bot.catalog import Catalog

from coaching.messages import Msg, msg
from coaching.replies import Reply, printable

log = logging.getLogger(__name__)


def escape(text: str) -> str:
    """User text for the terminal: no control characters (an ANSI escape, a hyperlink, a carriage
    return that overwrites the line) and no bidi overrides reach it raw."""
    return printable(text)


def render(reply: Reply, catalog: Catalog, locale: str | None) -> str:
    out, number = [], 0
    for line, choices in reply.groups():
        out.append(catalog.render(line, locale, escape))
        for choice in choices:
            number += 1
            label = catalog.render(choice.label, locale, escape) if isinstance(choice.label, Msg) else escape(choice.label)
            out.append(f"  {number}) {label}")
    return "\n".join(out)


def save_chart(reply: Reply, catalog: Catalog, locale: str | None, directory: Path | None) -> Path | None:
    """When ``reply`` has a chart: draws it into ``directory`` and returns the file's absolute path.
    None without a chart or a directory, or when the file cannot be written (logged: the text
    still goes out). The chart is drawn in the chart process (``bot.chartcache``)."""
    if reply.chart is None or directory is None:
        return None
    from bot import chartcache as charts

    try:
        return charts.save(reply.chart, catalog, locale or catalog.default_language, directory).resolve()
    except OSError as error:
        log.warning("a chart could not be saved in %s: %s", directory, error)
        return None


def chart_caption(reply: Reply, catalog: Catalog, locale: str | None, directory: Path | None) -> str | None:
    """The line saying where the reply's chart was saved (``Chart: /…/teamhealth-east-….png``)."""
    path = save_chart(reply, catalog, locale, directory)
    return catalog.render(msg("chart.caption", path=str(path)), locale, escape) if path else None


def render_with_chart(reply: Reply, catalog: Catalog, locale: str | None, directory: Path | None) -> str:
    """The reply's text and, when it has a chart, the line saying where the chart was saved."""
    text = render(reply, catalog, locale)
    caption = chart_caption(reply, catalog, locale, directory)
    return f"{text}\n{caption}" if caption else text
