"""The words the coach says, in English and Japanese.

The domain never builds user-facing text: it returns :class:`Msg` values (a catalogue key and
its parameters). Each channel renders them with :meth:`Catalog.render`, passing its own escape
function, which is applied to user-supplied strings only (client names, notes), never to the
catalogue's own words. The catalogue lives in ``coaching/locales/<lang>/*.toml`` (one file per area); a test keeps the
languages' keys and placeholders identical.

A catalogue entry is either a string or a plural table ``{one = "...", other = "..."}`` chosen by
the language's plural rule for the ``count`` parameter, or for the parameter the table names
with ``by`` (``{one = "waited {days} day", other = "…", by = "days"}``). The rules are Unicode
CLDR's for the two languages: English "one" is a whole 1, Japanese has only "other".
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any, Callable, Mapping

LANGUAGES = ("en", "ja")
PLURAL_KEYS = frozenset({"zero", "one", "two", "few", "many", "other", "by"})
DEFAULT_LANGUAGE = "en"

Escape = Callable[[str], str]


@dataclass(frozen=True)
class Msg:
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


def msg(key: str, **params: Any) -> Msg:
    return Msg(key, params)


def language_of(locale: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """``ja-JP``, ``ja_JP``, ``JA`` -> ``ja``; anything unknown -> ``default``."""
    if not locale:
        return default
    lang = locale.replace("_", "-").split("-")[0].lower()
    return lang if lang in LANGUAGES else default


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and not (PLURAL_KEYS >= value.keys() and "other" in value):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


@lru_cache(maxsize=None)
def _load(lang: str) -> dict[str, Any]:
    """Every ``locales/<lang>/*.toml`` file, merged; a key defined twice is an error."""
    merged: dict[str, Any] = {}
    folder = resources.files("coaching.locales").joinpath(lang)
    for item in sorted(folder.iterdir(), key=lambda f: f.name):
        if not item.name.endswith(".toml"):
            continue
        table = _flatten(tomllib.loads(item.read_text("utf-8")))
        if clash := merged.keys() & table.keys():
            raise ValueError(f"{lang}/{item.name} redefines {sorted(clash)[:3]}")
        merged.update(table)
    return merged


def entries(lang: str) -> dict[str, Any]:
    """The whole catalogue of one language, flattened (for tests and tooling)."""
    return dict(_load(lang))


def placeholders(template: str | Mapping[str, str]) -> set[str]:
    texts = template.values() if isinstance(template, Mapping) else [template]
    return {
        name.split(".")[0].split("[")[0]
        for text in texts
        for _, name, _, _ in string.Formatter().parse(text)
        if name
    }


def _format_date(value: date, lang: str) -> str:
    if lang == "ja":
        weekday = "月火水木金土日"[value.weekday()]
        return f"{value.year}年{value.month}月{value.day}日({weekday})"
    return value.strftime("%a %d %b %Y")


def _plural(table: Mapping[str, str], params: Mapping[str, Any], lang: str) -> str:
    """The form of a plural table the language's CLDR rules pick for its number (``count``, or
    the parameter named by ``by``)."""
    number = params.get(table.get("by", "count"))
    if not isinstance(number, (int, float)) or isinstance(number, bool):
        return table["other"]
    return table.get(_plural_form(lang, number), table["other"])


# CLDR plural rules (plurals.xml): en one = "i = 1 and v = 0"; ja has no category but other.
_PLURAL_RULES: dict[str, Callable[[float], str]] = {
    "en": lambda n: "one" if n == 1 and float(n).is_integer() else "other",
    "ja": lambda n: "other",
}


def _plural_form(lang: str, number: float) -> str:
    return _PLURAL_RULES.get(lang, _PLURAL_RULES["en"])(abs(number))


def _no_escape(text: str) -> str:
    return text


class Catalog:
    """Renders messages in one of the supported languages."""

    def __init__(self, default_language: str = DEFAULT_LANGUAGE) -> None:
        self.default_language = language_of(default_language)

    def has(self, key: str) -> bool:
        return key in _load(DEFAULT_LANGUAGE)

    def render(self, message: Msg | str, locale: str | None = None, escape: Escape = _no_escape) -> str:
        lang = language_of(locale, self.default_language)
        if isinstance(message, str):  # already-rendered user text
            return escape(message)
        template = _load(lang).get(message.key)
        if template is None:
            template = _load(DEFAULT_LANGUAGE).get(message.key)
        if template is None:
            raise KeyError(f"message {message.key!r} is not in the catalogue")
        if isinstance(template, Mapping):
            template = _plural(template, message.params, lang)
        values = {name: self._value(v, lang, escape) for name, v in message.params.items()}
        return template.format_map(values)

    def _value(self, value: Any, lang: str, escape: Escape) -> Any:
        if isinstance(value, Msg):
            return self.render(value, lang, escape)
        if isinstance(value, bool):
            return self.render(Msg("word.yes" if value else "word.no"), lang)
        if isinstance(value, date):
            return _format_date(value, lang)
        if isinstance(value, str):
            return escape(value)
        if isinstance(value, (list, tuple)):
            sep = "、" if lang == "ja" else ", "
            return sep.join(str(self._value(v, lang, escape)) for v in value)
        return value

    def words(self, key_prefix: str, lang: str) -> dict[str, str]:
        """All entries under a prefix, e.g. the labels of every kind: ``{"meeting": ...}``."""
        prefix = f"{key_prefix}."
        return {
            k[len(prefix):]: v
            for k, v in _load(language_of(lang)).items()
            if k.startswith(prefix) and isinstance(v, str)
        }
