"""bot/charts.py: a team chart drawn as a small PNG, in English and Japanese, with its title and
alt text in the PNG's metadata, without missing glyphs, and without touching matplotlib's
global state (the server and the scheduler draw in threads of one process)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import warnings
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image

from bot import charts
from bot.catalog import Catalog
from coaching.messages import msg
from coaching.replies import Chart, RepSeries

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
END = date(2026, 11, 20)
NAMES = ("Alice Smith", "田中 健", "Bob Brown", "José Núñez", "佐藤 花子", "Eve O'Neil", "鈴木 一郎",
         "Frank Li", "Grace Hopper-Kowalczyk", "山田 太郎")


def team_chart(reps: int, teams: tuple[str, ...] = ("East",), name: str = "teamhealth-east-2026-11-20") -> Chart:
    """``reps`` reps with wandering balances over 9 weekly dates (the last 8 weeks)."""
    dates = tuple(END - timedelta(weeks=8 - week) for week in range(9))
    series = tuple(
        RepSeries(NAMES[n % len(NAMES)] + (f" {n}" if n >= len(NAMES) else ""),
                  tuple((n * 7 - 20) + ((week * (n + 3)) % 11) - 5 + (week % 3) * (n % 4 - 1) for week in range(9)),
                  gives=3 + n % 6, asks=1 + n % 4, services=n % 5)
        for n in range(reps))
    return Chart(msg("chart.title", teams=list(teams), start=END - timedelta(days=27), end=END), dates, series, name)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog()


def png_info(png: bytes) -> tuple[tuple[int, int], dict[str, str]]:
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        assert image.format == "PNG"
        return image.size, {key: str(value) for key, value in image.text.items()}


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("reps", [3, 10])
def test_the_chart_is_a_small_valid_png_with_its_title_and_alt_text(catalog, lang, reps):
    chart = team_chart(reps, ("East", "West") if reps == 10 else ("East",))
    png = charts.render_png(chart, catalog, lang)
    assert png.startswith(PNG_MAGIC)
    assert 5_000 <= len(png) <= 20_000, len(png)  # well under Teams' 28 KB once in base64 in a card
    (width, height), text = png_info(png)
    assert 600 <= width <= 1000 and 400 <= height <= 1400, (width, height)
    assert text["Title"] == catalog.render(chart.title, lang)
    assert text["Description"] == catalog.render(msg("chart.alt"), lang)


def test_the_titles_are_the_catalogues_words(catalog):
    chart = team_chart(3)
    _, english = png_info(charts.render_png(chart, catalog, "en"))
    _, japanese = png_info(charts.render_png(chart, catalog, "ja-JP"))  # a locale is fine too
    assert english["Title"] == "East: credit and give:ask, Sat, 24 Oct 2026 – Fri, 20 Nov 2026"
    assert japanese["Title"] == "East:信用残高と情報提供/商談・提案(2026年10月24日(土)〜2026年11月20日(金))"
    assert charts.title(chart, catalog, "ja-JP") == japanese["Title"]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_japanese_words_and_names_render_without_a_missing_glyph(catalog, lang):
    """Japanese names appear in English charts too; every glyph must be found (matplotlib warns
    "Glyph … missing from font(s)" otherwise, and draws a box)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        charts.render_png(team_chart(10, ("東日本", "West")), catalog, lang)


def test_the_glyph_check_can_fail(catalog):
    """The check above is not vacuous: a character neither font has is reported."""
    chart = team_chart(2)
    chart = replace(chart, reps=chart.reps + (RepSeries("Flamingo \U0001F9A9", (0,) * 9, 1, 1, 1),))
    with pytest.warns(UserWarning, match="missing from font"):
        charts.render_png(chart, catalog, "ja")


def test_names_are_text_never_mathtext_or_hidden(catalog):
    """"$" in a name is a dollar (parsed as mathtext this one would raise); a leading "_" does not
    drop the rep from the legend; a very long name is cut, not allowed to squash the plot."""
    chart = replace(team_chart(1), reps=(RepSeries("Bob $\\frac{$ Ltd", (1,) * 9, 1, 2, 3),
                                         RepSeries("_underscore", (2,) * 9, 0, 0, 0),
                                         RepSeries("A" * 200, (3,) * 9, 1, 1, 1)))
    assert charts.render_png(chart, catalog, "en").startswith(PNG_MAGIC)


def test_empty_and_short_charts_still_draw(catalog):
    nobody = team_chart(0)
    short = replace(team_chart(2), reps=(RepSeries("Alice Smith", (1, 2), 0, 0, 0),))  # fewer balances than dates
    for chart in (nobody, short):
        assert charts.render_png(chart, catalog, "en").startswith(PNG_MAGIC)


def test_a_big_team_still_fits_a_teams_card(catalog):
    from bot.teams.cards import MESSAGE_ROOM

    png = charts.render_png(team_chart(30, ("East", "West", "North")), catalog, "ja")
    assert len(png) <= charts.SIZE_BUDGET < MESSAGE_ROOM * 3 // 4 and png_info(png)[0][1] >= 400


def colours_left_of_the_plots(png: bytes) -> set[tuple[int, int, int]]:
    """The colours of the strip with the names and the balances' tick labels (below the title)."""
    with Image.open(io.BytesIO(png)) as image:
        width, height = image.size
        strip = image.convert("RGB").crop((0, int(height * 0.06), int(width * 0.19), height))
        return {colour for _, colour in strip.getcolors(4096)}


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_crisp_text_is_unsmoothed_everywhere(catalog, lang):
    """A team of ten gets crisp text: every text is drawn unsmoothed, tick labels made while
    drawing too (only black on white by the plots), where smoothed text has greys."""
    chart = team_chart(10, ("East", "West"))
    said = charts.words(chart, catalog, lang)
    assert charts.first_step(10) == 1 and charts.STEPS[1] == (False, 100)
    assert colours_left_of_the_plots(charts.draw_png(chart, said, lang)) == {(0, 0, 0), (255, 255, 255)}
    assert len(colours_left_of_the_plots(charts.draw_png(chart, said, lang, max_bytes=10**6))) > 4


def test_the_steps_not_tried_are_those_too_big_to_keep(catalog, monkeypatch):
    """Starting at the step predicted from the team's size gives the picture that trying every
    step from the first gives (the figure drawn again at each step, or built afresh)."""
    sizes = (0, 3, 9, 10, 19, 20, 29, 30, 50, 200)
    assert [charts.first_step(reps) for reps in sizes] == [0, 0, 0, 1, 1, 2, 2, 3, 3, 3]
    assert charts.first_step(50, max_bytes=10**6) == 0 and charts.first_step(3, max_bytes=1) == len(charts.STEPS) - 1
    budget = charts.SIZE_BUDGET
    jobs = [(team_chart(10, ("East", "West")), "en", budget), (team_chart(20), "ja", budget), (team_chart(3), "en", 1)]

    def draw_all() -> list[bytes]:
        return [charts.draw_png(chart, charts.words(chart, catalog, lang), lang, most) for chart, lang, most in jobs]

    predicted = draw_all()
    monkeypatch.setattr(charts, "first_step", lambda reps, max_bytes=charts.SIZE_BUDGET: 0)
    assert draw_all() == predicted


def test_save_writes_name_and_language_into_a_new_directory(catalog, tmp_path):
    directory = tmp_path / "data" / "charts"
    english = charts.save(team_chart(3), catalog, "en", directory)
    japanese = charts.save(team_chart(3), catalog, "ja-JP", directory)
    assert english == directory / "teamhealth-east-2026-11-20-en.png"
    assert japanese == directory / "teamhealth-east-2026-11-20-ja.png"
    assert english.read_bytes().startswith(PNG_MAGIC) and japanese.read_bytes().startswith(PNG_MAGIC)
    assert sorted(p.name for p in directory.iterdir()) == [english.name, japanese.name]  # no temporary left
    umask = os.umask(0)
    os.umask(umask)
    assert english.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, readable as others are


def test_a_name_cannot_leave_the_directory(catalog, tmp_path):
    path = charts.save(team_chart(1, name="../../etc/東 team"), catalog, "en", tmp_path / "charts")
    assert path.parent == tmp_path / "charts" and path.name == "etc-東-team-en.png"


def test_threads_draw_the_same_pictures_as_one_thread(catalog):
    """The server and the scheduler draw at once: no shared figure, no shared state."""
    jobs = [(team_chart(n), lang) for n in (2, 3) for lang in ("en", "ja")]
    alone = [charts.render_png(chart, catalog, lang) for chart, lang in jobs]
    together: list[bytes | None] = [None] * len(jobs)
    errors: list[BaseException] = []

    def draw(i: int) -> None:
        try:
            together[i] = charts.render_png(jobs[i][0], catalog, jobs[i][1])
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and together == alone


def test_drawing_leaves_matplotlib_global_state_alone(tmp_path):
    """In a fresh interpreter: no pyplot, no matplotlib-fontja import (whose import switches the
    whole process's font), rcParams as they were."""
    script = f"""
import sys
import matplotlib
def settings():  # the stored values: reading rcParams["backend"] would itself import pyplot
    return dict(dict.items(matplotlib.rcParams))
before = settings()
from bot import charts
from bot.catalog import Catalog
from tests.system.test_charts import team_chart
charts.save(team_chart(3), Catalog(), "ja", __import__("pathlib").Path({str(tmp_path)!r}))
changed = sorted(k for k, v in settings().items() if before.get(k) != v)
print(changed, "matplotlib.pyplot" in sys.modules, "matplotlib_fontja" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] False False"
