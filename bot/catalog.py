"""Renders the catalogue's messages for a reader, with Babel's plural rules and date formats.

The domain returns :class:`~coaching.messages.Msg` values (a key and its parameters); the
channels render them here. A plural table ``{one = "...", other = "...", by = "days"}`` is chosen
by the language's CLDR plural rule (Babel's ``Locale.plural_form``) for ``count`` or the
parameter ``by`` names. A date reads the way the language writes it: ``11月18日(水)`` and
``Wed 18 Nov`` when it lies within half a year of the reader's today, ``2027年1月8日(金)`` and
``Fri, 8 Jan 2027`` otherwise (or whenever the renderer is not told today, as in reports
meant to be kept).

User-supplied strings (client names, notes) go through the channel's ``escape`` function; the
catalogue's own words never do.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Callable, Mapping

from babel import Locale
from babel.dates import format_skeleton

from coaching.messages import DEFAULT_LANGUAGE, Escape, Msg, PersonName, catalogue, language_of

# The locale Babel formats each catalogue language in: English dates the way the product's
# British copy writes them ("Wed 18 Nov").
BABEL_LOCALE = {"en": "en_GB", "ja": "ja"}
NEAR = timedelta(days=182)  # closer than this to today, a date goes without its year


def _no_escape(text: str) -> str:
    return text


@lru_cache(maxsize=None)
def _locale(lang: str) -> Locale:
    return Locale.parse(BABEL_LOCALE.get(lang, BABEL_LOCALE[DEFAULT_LANGUAGE]))


def plural_form(lang: str, number: float) -> str:
    """The CLDR plural category of ``number`` in ``lang`` ("one", "other", ...)."""
    return _locale(lang).plural_form(abs(number))


def format_day(value: date, lang: str, today: date | None = None) -> str:
    """A day with its weekday; the year is left out when the day is near ``today``."""
    if isinstance(value, datetime):
        value = value.date()
    near = today is not None and abs(value - today) < NEAR
    return format_skeleton("MMMEd" if near else "yMMMEd", value, locale=_locale(lang))


_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def spoken_name(name: PersonName, lang: str) -> str:
    """The part of a person's name a sentence uses: a Japanese name is written family name
    first (高橋 健二), a Western one last (Sophie Turner)."""
    parts = name.full.split()
    if len(parts) < 2:
        return name.full
    japanese = bool(_JAPANESE.search(name.full))
    if lang == "ja":
        return parts[0] if japanese else parts[-1]
    return parts[0] if name.greeting and not japanese else name.full


def _plural(table: Mapping[str, str], params: Mapping[str, Any], lang: str) -> str:
    number = params.get(table.get("by", "count"))
    if not isinstance(number, (int, float)) or isinstance(number, bool):
        return table["other"]
    return table.get(plural_form(lang, number), table["other"])


class Catalog:
    """Renders messages in one of the supported languages.

    ``today`` (a callable, read at each render) lets dates near the reader's today drop their
    year; without it every date carries its year.
    """

    def __init__(self, default_language: str = DEFAULT_LANGUAGE,
                 today: Callable[[], date] | None = None) -> None:
        self.default_language = language_of(default_language)
        self._today = today

    def has(self, key: str) -> bool:
        return key in catalogue(DEFAULT_LANGUAGE)

    def render(self, message: Msg | str, locale: str | None = None, escape: Escape = _no_escape) -> str:
        lang = language_of(locale, self.default_language)
        if isinstance(message, str):  # already-rendered user text
            return escape(message)
        template = catalogue(lang).get(message.key)
        if template is None:
            template = catalogue(DEFAULT_LANGUAGE).get(message.key)
        if template is None:
            raise KeyError(f"message {message.key!r} is not in the catalogue")
        if isinstance(template, Mapping):
            template = _plural(template, message.params, lang)
        today = self._today() if self._today else None
        values = {name: self._value(v, lang, escape, today) for name, v in message.params.items()}
        return template.format_map(values)

    def _value(self, value: Any, lang: str, escape: Escape, today: date | None) -> Any:
        if isinstance(value, Msg):
            return self.render(value, lang, escape)
        if isinstance(value, bool):
            return self.render(Msg("word.yes" if value else "word.no"), lang)
        if isinstance(value, date):
            return format_day(value, lang, today)
        if isinstance(value, str):
            return escape(value)
        if isinstance(value, PersonName):
            return escape(spoken_name(value, lang))
        if isinstance(value, (list, tuple)):
            sep = "、" if lang == "ja" else ", "
            return sep.join(str(self._value(v, lang, escape, today)) for v in value)
        return value

    def words(self, key_prefix: str, lang: str) -> dict[str, str]:
        """All entries under a prefix, e.g. the labels of every kind: ``{"meeting": ...}``."""
        prefix = f"{key_prefix}."
        return {
            k[len(prefix):]: v
            for k, v in catalogue(language_of(lang)).items()
            if k.startswith(prefix) and isinstance(v, str)
        }
