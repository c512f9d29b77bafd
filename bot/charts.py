"""Draws a :class:`coaching.replies.Chart` as a small PNG: each rep's credit balance over the
chart's dates (lines), and their gives / asks / services (stacked horizontal bars).

Thread safety: the server draws in a worker thread while the scheduler may draw in another, so
this module never touches pyplot or its global state: each call builds its own
:class:`matplotlib.figure.Figure` on an Agg canvas, and every font and colour is set on the text
and artists drawn, never in ``rcParams``.

Fonts: rep and team names can be Japanese even in an English chart, so every text gets a font
*family list* (matplotlib falls back glyph by glyph): DejaVu Sans (matplotlib's own) then
IPAexGothic for English, the other way round for Japanese. IPAexGothic ships in the
``matplotlib-fontja`` package. Importing that package is not an option: its ``__init__`` calls
``japanize()``, which sets ``rcParams["font.family"]`` for the whole process. So the font file is
found from the package's location without importing it, and registered once, here, with
``fontManager.addfont``: that only makes the family known by name (it changes no default), so
other figures in the process are unaffected.

Size: a Teams message (the card, with the image inline as a data URI) is limited to about
28 KB, so the drawing is quantized to a fixed palette with Pillow, and a chart that still comes
out too big is drawn again with crisp (unsmoothed) text, then with fewer pixels: a team of ten
comes to about 12-16 KB. The figure is built once and only drawn again at each of these
:data:`STEPS`, and the steps a team of its size cannot fit are not tried at all
(:func:`first_step`): a team of ten starts with crisp text, a team of fifty at the fewest pixels.
A step gives the same picture whether it is reached or started from.
"""

from __future__ import annotations

import io
from datetime import date
from importlib.util import find_spec
from pathlib import Path

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image, ImageColor, PngImagePlugin

from bot.catalog import Catalog
from bot.chartcache import SIZE_BUDGET, alt_text, file_name, file_stem, title, words, write_atomically  # noqa: F401
from coaching.messages import language_of
from coaching.replies import Chart

JAPANESE_FONT = "IPAexGothic"
LATIN_FONT = "DejaVu Sans"  # bundled with matplotlib
WIDTH_INCHES, TREND_INCHES = 7.2, 3.4
MARKERS_MAX = 6  # a dot on each date while the lines are few; past that, dots only add clutter (and bytes)
NAME_MAX = 24  # longer rep names are cut (with "…") so that they leave room for the plot
STEPS = ((True, 100), (False, 100), (False, 85), (False, 72))  # (smooth text, dots per inch)
# Bytes a step's PNG takes at the least (base + per rep): under every size measured on teams of
# 1 to 60 reps (varied names and balances, English and Japanese). A step predicted over the
# budget is not tried (first_step); the last one always is.
STEP_BYTES = ((7_500, 900), (6_500, 500), (6_500, 320), (0, 0))
# Rep lines: distinct, colour-blind-friendly hues (Okabe–Ito, then Tableau), repeated past 14.
REP_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
               "#8c564b", "#7f7f7f", "#bcbd22", "#17becf", "#9467bd", "#e377c2")
PURPOSE_COLOURS = {"gives": "#009E73", "asks": "#E69F00", "services": "#9AA5B1"}


def _register_japanese_font() -> None:
    spec = find_spec("matplotlib_fontja")  # locates the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("matplotlib-fontja is not installed (pip install -e .)")
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / "ipaexg.ttf"
    if not any(entry.name == JAPANESE_FONT for entry in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(str(path))


_register_japanese_font()


def _families(lang: str) -> list[str]:
    return [JAPANESE_FONT, LATIN_FONT] if lang == "ja" else [LATIN_FONT, JAPANESE_FONT]


def _short_dates(days: tuple[date, ...], lang: str) -> list[str]:
    """``9/25``… in Japanese; ``25 Sep``, ``2 Oct``, ``9``… in English (the month when it changes)."""
    if lang == "ja":
        return [f"{day.month}/{day.day}" for day in days]
    months = [None, *(day.month for day in days)]
    return [f"{day.day} {day.strftime('%b')}" if day.month != before else str(day.day)
            for day, before in zip(days, months)]


def _label(name: str) -> str:
    return name if len(name) <= NAME_MAX else name[: NAME_MAX - 1] + "…"


def render_png(chart: Chart, catalog: Catalog, lang: str, max_bytes: int = SIZE_BUDGET) -> bytes:
    """The chart drawn here, in this process (the channels go through ``bot.chartcache``)."""
    lang = language_of(lang, catalog.default_language)
    return draw_png(chart, words(chart, catalog, lang), lang, max_bytes)


def draw_png(chart: Chart, said: dict[str, str], lang: str, max_bytes: int = SIZE_BUDGET) -> bytes:
    """The chart as PNG bytes, with its title and description (the alt text) in the PNG's
    metadata; ``said`` holds every text it shows (``bot.chartcache.words``). The best-looking
    rendering within ``max_bytes`` wins (big teams get crisp, unsmoothed text, then fewer
    pixels); the last of :data:`STEPS` is returned even if it is bigger: the caller decides
    what to do with it. The figure is built once and drawn at each step tried, from the first
    step a chart of its size can fit (:func:`first_step`)."""
    figure = _figure(chart, said, lang)
    layout = [(axes, axes.get_position(original=True)) for axes in figure.axes]
    png = b""
    for n, (smooth_text, dpi) in enumerate(STEPS[first_step(len(chart.reps), max_bytes):]):
        if n:  # laid out from where a new figure starts, so a step draws the same picture either way
            for axes, position in layout:
                axes.set_position(position)
                axes.set_in_layout(True)  # set_position takes an axes out of the layout
        png = _render(figure, said, dpi, smooth_text)
        if len(png) <= max_bytes:
            break
    return png


def first_step(reps: int, max_bytes: int = SIZE_BUDGET) -> int:
    """Where :func:`draw_png` starts: the first of :data:`STEPS` at which a chart of ``reps``
    reps can come within ``max_bytes`` (:data:`STEP_BYTES`; a step before it would only be drawn
    to be thrown away). A function of the chart's size alone: the same chart, the same PNG."""
    for n, (base, per_rep) in enumerate(STEP_BYTES):
        if base + per_rep * reps <= max_bytes:
            return n
    return len(STEPS) - 1


def _render(figure: Figure, said: dict[str, str], dpi: int, smooth_text: bool) -> bytes:
    figure.set_dpi(dpi)
    if not smooth_text:
        # Every text there is now (finding them makes each axis's ticks), and each tick label
        # made while drawing (a copy of its axis's first tick), is drawn unsmoothed.
        for text in figure.findobj(Text):
            text.set_antialiased(False)
        figure.get_layout_engine().execute(figure)  # crisp charts have always had two layout passes
    figure.canvas.draw()  # a layout pass, then the drawing, in the figure's own buffer (no PNG yet)
    return _shrink(figure, {"Title": said["heading"], "Description": said["alt"]})


def _figure(chart: Chart, said: dict[str, str], lang: str) -> Figure:
    heading = said["heading"]
    font = {"family": _families(lang), "parse_math": False}  # names are user text: "$" is a dollar
    small = {**font, "fontsize": 8}
    legend_font = {"family": _families(lang), "size": 8}
    reps = chart.reps
    colours = [REP_COLOURS[n % len(REP_COLOURS)] for n in range(len(reps))]
    bars_height = 0.55 + 0.26 * max(len(reps), 1)
    figure = Figure(figsize=(WIDTH_INCHES, TREND_INCHES + bars_height + 0.7), layout="constrained",
                    facecolor="white")
    FigureCanvasAgg(figure)
    trend, mix = figure.subplots(2, 1, height_ratios=(TREND_INCHES, bars_height))
    figure.suptitle(heading, fontsize=11, wrap=True, **font)

    # (a) each rep's credit balance at each date
    positions = list(range(len(chart.dates)))
    lines = []
    for rep, colour in zip(reps, colours):
        values = list(rep.balances[: len(positions)])
        lines += trend.plot(positions[: len(values)], values, color=colour, linewidth=1.6,
                            marker="o" if len(reps) <= MARKERS_MAX else None, markersize=3)
    trend.axhline(0, color="#888888", linewidth=0.8, zorder=0)
    trend.set_title(said["trend"], loc="left", fontsize=9, **font)
    trend.set_xticks(positions, _short_dates(chart.dates, lang), **small)
    trend.tick_params(axis="y", labelsize=8)
    if reps:  # handles and labels given, so a name starting with "_" is still listed
        names = trend.legend(lines, [_label(rep.name) for rep in reps], loc="upper left", bbox_to_anchor=(1.01, 1.0),
                             frameon=False, prop=legend_font, handlelength=1.4)
        for text in names.get_texts():
            text.set_parse_math(False)

    # (b) gives / asks / services per rep, the first rep on top
    rows = list(range(len(reps)))
    left = [0] * len(reps)
    bars = []
    for key in ("gives", "asks", "services"):
        counts = [getattr(rep, key) for rep in reps]
        bars.append(mix.barh(rows, counts, left=left, height=0.62, color=PURPOSE_COLOURS[key]))
        left = [a + b for a, b in zip(left, counts)]
    # Placed, not measured: nothing can push this title up (no tick labels on top, no offset
    # text by the names), and the automatic placement would measure every name at every pass.
    mix.set_title(said["mix"], loc="left", fontsize=9, y=1.0, **font)
    mix.set_yticks(rows, [_label(rep.name) for rep in reps], **small)
    mix.set_ylim(max(len(reps), 1) - 0.5, -0.5)
    mix.tick_params(axis="x", labelsize=8)
    mix.xaxis.get_major_locator().set_params(integer=True)
    mix.set_xlim(left=0)  # touch counts: never a negative or fractional axis, even with none
    trend.yaxis.get_major_locator().set_params(integer=True)
    mix.legend(bars, [said["gives"], said["asks"], said["services"]], loc="upper left",
               bbox_to_anchor=(1.01, 1.0), frameon=False, prop=legend_font, handlelength=1.0)
    for axes, grid in ((trend, "y"), (mix, "x")):
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(axis=grid, color="#e5e5e5", linewidth=0.6)
        axes.set_axisbelow(True)

    return figure


def _palette() -> Image.Image:
    """Every colour the chart is drawn in, and a ramp of greys for smoothed edges and text."""
    greys = [(level, level, level) for level in (0, 40, 80, 120, 136, 160, 200, 229, 240, 255)]
    colours = greys + [ImageColor.getrgb(c) for c in (*REP_COLOURS, *PURPOSE_COLOURS.values())]
    palette = Image.new("P", (1, 1))
    palette.putpalette([value for rgb in colours for value in rgb])
    return palette


_PALETTE = _palette()


def _shrink(figure: Figure, texts: dict[str, str]) -> bytes:
    """The figure as drawn, in the chart's own palette (a fraction of the size of its full
    colour), with ``texts`` as the PNG's text chunks. A fixed palette, not a computed one: two
    reps' colours can never merge."""
    width, height = figure.canvas.get_width_height()
    drawn = Image.frombuffer("RGBA", (width, height), figure.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    small = drawn.convert("RGB").quantize(palette=_PALETTE, dither=Image.Dither.NONE)
    info = PngImagePlugin.PngInfo()
    for key, value in texts.items():
        info.add_text(key, value)  # Pillow writes non-Latin-1 text (Japanese) as iTXt
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True, pnginfo=info)
    return out.getvalue()


def save(chart: Chart, catalog: Catalog, lang: str, directory: Path) -> Path:
    """Writes ``<directory>/<chart.name>-<lang>.png`` (creating the directory) and returns its path.
    The file appears whole or not at all (written aside, then renamed into place)."""
    lang = language_of(lang, catalog.default_language)
    path = Path(directory) / file_name(chart, lang)
    write_atomically(path, render_png(chart, catalog, lang))
    return path
