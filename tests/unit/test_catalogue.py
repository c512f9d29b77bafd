"""Every message exists in English and Japanese with the same placeholders, and every key the
code uses is in the catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coaching.messages import LANGUAGES, Catalog, Msg, entries, language_of, placeholders

ROOT = Path(__file__).resolve().parents[2]


def test_languages_have_the_same_keys():
    en, ja = entries("en"), entries("ja")
    assert sorted(set(en) - set(ja)) == []
    assert sorted(set(ja) - set(en)) == []


@pytest.mark.parametrize("key", sorted(entries("en")))
def test_placeholders_match(key):
    assert placeholders(entries("ja")[key]) == placeholders(entries("en")[key]), key


def test_japanese_is_japanese():
    """A Japanese entry that is plain ASCII was probably never translated."""
    allowed_ascii = {"health.na", "health.percent", "health.number", "ledger.change", "ledger.line",
                     "nudge.line", "health.rep_focus", "digest.item", "digest.context.line"}
    untranslated = [k for k, v in entries("ja").items()
                    if k not in allowed_ascii and isinstance(v, str) and v.isascii()]
    assert untranslated == []


def _keys_in_code() -> set[str]:
    pattern = re.compile(r"""\b(?:msg|Msg)\(\s*f?["']([a-z_.]+(?:\{[^}]+\}[a-z_.]*)*)["']""")
    keys = set()
    for folder in ("coaching", "bot"):
        for path in (ROOT / folder).rglob("*.py"):
            keys |= set(pattern.findall(path.read_text("utf-8")))
    return keys


def test_every_key_used_in_code_exists():
    known = entries("en")
    missing = []
    for key in _keys_in_code():
        if "{" in key:  # f"nudge.{kind}.title": the fixed prefix must exist
            prefix = key.split("{")[0]
            if not any(k.startswith(prefix) for k in known):
                missing.append(key)
        elif key not in known:
            missing.append(key)
    assert sorted(missing) == []


def test_user_text_is_escaped_but_catalogue_text_is_not():
    catalog = Catalog()
    rendered = catalog.render(Msg("log.saved", {"client": "<b>Acme</b>"}), "en", lambda s: s.replace("<", "&lt;"))
    assert rendered == "Saved your touch with &lt;b>Acme&lt;/b>."


@pytest.mark.parametrize("locale, lang", [("ja-JP", "ja"), ("ja_JP", "ja"), ("EN-us", "en"), ("fr", "en"), (None, "en")])
def test_language_of(locale, lang):
    assert language_of(locale) == lang
    assert lang in LANGUAGES


def test_plural_forms():
    catalog = Catalog()
    assert catalog.render(Msg("promise.header", {"count": 1}), "en") == "You have 1 open promise:"
    assert catalog.render(Msg("promise.header", {"count": 3}), "en") == "You have 3 open promises:"
    assert catalog.render(Msg("promise.header", {"count": 1}), "ja") == "未完了の約束が1件あります:"
