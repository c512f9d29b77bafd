"""The words the coach says, in English and Japanese.

The domain never builds user-facing text: it returns :class:`Msg` values (a catalogue key and
its parameters). Each channel renders them with ``bot.catalog.Catalog`` (Babel's plural rules and
date formats), passing its own escape function, which is applied to user-supplied strings only
(client names, notes), never to the catalogue's own words. The catalogue lives in ``coaching/locales/<lang>/*.toml`` (one file per area); a test keeps the
languages' keys and placeholders identical.

A catalogue entry is either a string or a plural table ``{one = "...", other = "..."}`` chosen by
the language's CLDR plural rule for the ``count`` parameter, or for the parameter the table names
with ``by`` (``{one = "waited {days} day", other = "…", by = "days"}``).
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class PersonName:
    """A person in a sentence, by the name the roster has (``full``). The renderer says it the
    way the language does: Japanese by family name before さん (高橋さん), English by full
    name, or by given name in a greeting (``greeting=True``: "Good morning, Alice")."""
    full: str
    greeting: bool = False


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


def catalogue(lang: str) -> Mapping[str, Any]:
    """One language's catalogue, flattened and cached (read-only: do not modify)."""
    return _load(lang)


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


def label(message: Msg, lang: str) -> str:
    """A short label (a button, a choice) in ``lang``, for matching what a person types against
    it. Labels have no plural tables or dates; the channels render everything else with
    ``bot.catalog.Catalog``."""
    template = _load(lang).get(message.key) or _load(DEFAULT_LANGUAGE)[message.key]
    if isinstance(template, Mapping):
        template = template["other"]
    return template.format_map({k: label(v, lang) if isinstance(v, Msg) else v for k, v in message.params.items()})
