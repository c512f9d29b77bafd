"""Team charts for the channels: drawn in a process of their own, once per picture, and kept.

Drawing a chart loads matplotlib (about 100 MB of memory) and takes the better part of a
second. The server does neither: :func:`render_png` hands the chart, with its words already in
the reader's language, to one child process (started on first use, replaced after
:data:`DRAWS_PER_CHILD` charts so whatever the drawing library keeps cannot pile up) and keeps
the PNG on disk under a name made of the chart's stem, the language and a digest of everything
drawn: the same team's chart with the same figures is drawn once, whichever worker or request
asks for it, and a chart whose figures changed is drawn again. Pictures older than
:data:`KEEP` are removed when a new one is written.

This module imports no drawing library: ``bot.charts`` is loaded in the child only.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import re
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from pathlib import Path

from bot.catalog import Catalog
from coaching.messages import language_of, msg
from coaching.replies import Chart

log = logging.getLogger(__name__)

# What a chart aims at: 16 KB of PNG is 21.4 KB as base64 in a Teams card, which must stay under
# about 28 KB with the text (a Teams card asks for less when its text leaves less room).
SIZE_BUDGET = 16_000
WORDS = ("trend", "mix", "gives", "asks", "services", "alt")
DRAWS_PER_CHILD = 200
DRAW_TIMEOUT = 120  # seconds; the first chart also starts the child
KEEP = timedelta(days=2)
_SAFE_NAME = re.compile(r"[^\w.-]+")

_lock = threading.Lock()
_executor: ProcessPoolExecutor | None = None
_cache_dir: Path | None = None
draws = 0  # charts drawn by this process's child (a cache hit draws none)


def configure(cache_dir: Path | None) -> None:
    """Where the pictures are kept (``None``: nowhere, every chart is drawn)."""
    global _cache_dir
    _cache_dir = Path(cache_dir) if cache_dir is not None else None


def file_stem(chart: Chart) -> str:
    """The chart's name made safe for a file name (no separators, no leading dots)."""
    return _SAFE_NAME.sub("-", chart.name).strip(".-") or "chart"


def file_name(chart: Chart, lang: str) -> str:
    return f"{file_stem(chart)}-{lang}.png"


def title(chart: Chart, catalog: Catalog, lang: str) -> str:
    """The chart's title in ``lang`` (a locale such as ``ja-JP`` is fine too)."""
    return catalog.render(chart.title, language_of(lang, catalog.default_language))


def alt_text(catalog: Catalog, lang: str) -> str:
    """What the chart shows, in words (screen readers, Slack's alt text, the PNG's Description)."""
    return catalog.render(msg("chart.alt"), language_of(lang, catalog.default_language))


def words(chart: Chart, catalog: Catalog, lang: str) -> dict[str, str]:
    """Every text the picture shows, rendered here so the drawing process needs no catalogue."""
    said = {key: catalog.render(msg(f"chart.{key}"), lang) for key in WORDS}
    said["heading"] = catalog.render(chart.title, lang)
    return said


def render_png(chart: Chart, catalog: Catalog, lang: str, max_bytes: int = SIZE_BUDGET) -> bytes:
    """The chart as PNG bytes (see ``bot.charts.draw_png``), from the kept pictures when this
    one was drawn before."""
    lang = language_of(lang, catalog.default_language)
    said = words(chart, catalog, lang)
    digest = hashlib.sha256(repr((chart, sorted(said.items()), lang, max_bytes)).encode()).hexdigest()[:24]
    kept = _cache_dir / f"{file_stem(chart)}-{lang}-{digest}.png" if _cache_dir is not None else None
    if kept is not None and kept.exists():
        return kept.read_bytes()
    png = _draw(chart, said, lang, max_bytes)
    if kept is not None:
        write_atomically(kept, png)
        _prune(kept.parent)
    return png


def save(chart: Chart, catalog: Catalog, lang: str, directory: Path) -> Path:
    """Writes ``<directory>/<chart.name>-<lang>.png`` (creating the directory) and returns its path."""
    lang = language_of(lang, catalog.default_language)
    path = Path(directory) / file_name(chart, lang)
    write_atomically(path, render_png(chart, catalog, lang))
    return path


def write_atomically(path: Path, data: bytes) -> None:
    """The file appears whole or not at all (written aside, then renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"  # open() keeps the umask's mode
    try:
        with open(temporary, "xb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _prune(directory: Path) -> None:
    cutoff = time.time() - KEEP.total_seconds()
    for old in directory.glob("*.png"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except FileNotFoundError:  # another worker pruned it first
            continue


def _draw(chart: Chart, said: dict[str, str], lang: str, max_bytes: int) -> bytes:
    """Draws in the child process. A child that died (out of memory, killed) is replaced once;
    when none can run (a program that starts processes unguarded by ``__main__``), the chart is
    drawn here rather than not at all."""
    global draws
    draws += 1
    for attempt in (1, 2):
        try:
            return _child().submit(_draw_in_child, chart, said, lang, max_bytes).result(timeout=DRAW_TIMEOUT)
        except BrokenProcessPool:
            log.warning("the chart process stopped; starting a new one (attempt %d)", attempt)
            _reset()
    log.error("no chart process could start; drawing in this process")
    return _draw_in_child(chart, said, lang, max_bytes)


def _draw_in_child(chart: Chart, said: dict[str, str], lang: str, max_bytes: int) -> bytes:
    from bot.charts import draw_png  # in the child: matplotlib is loaded there, never here

    return draw_png(chart, said, lang, max_bytes)


def _child() -> ProcessPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                            max_tasks_per_child=DRAWS_PER_CHILD)
        return _executor


def _reset() -> None:
    global _executor
    with _lock:
        if _executor is not None:
            _executor.shutdown(wait=False, cancel_futures=True)
        _executor = None
