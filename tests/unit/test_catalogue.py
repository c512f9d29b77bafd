"""Every message exists in English and Japanese with the same placeholders, and every key the
code uses is in the catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.catalog import Catalog

from coaching.messages import LANGUAGES, Msg, entries, label, language_of, placeholders

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


def test_a_choice_label_reads_the_same_to_the_matcher_as_on_the_button():
    """A typed answer is matched against ``messages.label``; the button shows the channel's
    rendering. They must agree, or typing what the button says would not choose it."""
    catalog = Catalog()
    for lang in LANGUAGES:
        for key, text in entries(lang).items():
            if ".choice." not in key or not isinstance(text, str):
                continue
            params = {name: f"x{i}" if name != "number" else i + 1 for i, name in enumerate(sorted(_params(text)))}
            assert label(Msg(key, params), lang) == catalog.render(Msg(key, params), lang), key


def test_plural_forms():
    catalog = Catalog()
    assert catalog.render(Msg("promise.header", {"count": 1}), "en") == "You have 1 open promise:"
    assert catalog.render(Msg("promise.header", {"count": 3}), "en") == "You have 3 open promises:"
    assert catalog.render(Msg("promise.header", {"count": 1}), "ja") == "未完了の約束が1件あります:"


# --- every line rendered, as a reader meets it ------------------------------------------------

NUMBERS = {"count", "days", "weeks", "cadence", "asks", "gives", "touches", "recent", "usual", "closed", "kept",
           "limit", "length", "level", "other", "agree", "of", "amount", "balance", "trend", "total", "change",
           "reps", "logging", "working", "tap", "command", "shortcut", "channel", "found", "expected", "line",
           "first", "added", "rows", "already", "updated", "skipped", "broken", "unanswered", "silence", "wins",
           "quiet", "setbacks", "open", "before", "sent_n", "held_n", "diff", "low", "high", "waiting", "number",
           "clients", "l1", "l2", "l3", "l4", "none", "share", "team", "before_gives", "before_asks", "delivered",
           "value", "median", "page", "shown", "size", "minutes", "seconds", "port", "hours"}
DATES = {"on", "due", "won", "since", "start", "end", "today", "touch", "until"}


def _sample(name: str, spec: str, number: int):
    from datetime import date

    if name in DATES:
        return date(2026, 11, 18)
    if name in NUMBERS or spec.endswith(("d", "g")):
        return number
    return "Acme"


def _params(template) -> dict[str, str]:
    import string as _string

    texts = template.values() if isinstance(template, dict) else [template]
    return {name.split(".")[0]: spec or "" for text in texts for _, name, spec, _ in _string.Formatter().parse(text)
            if name}


def _rendered(lang: str, number: int, one: str | None = None) -> dict[str, str]:
    """Every entry rendered with sample values: numbers ``number``, but ``one`` set to 1."""
    out = {}
    for key, template in entries(lang).items():
        params = {name: _sample(name, spec, 1 if name == one else number) for name, spec in _params(template).items()}
        out[key] = Catalog().render(Msg(key, params), lang)
    return out


def test_every_line_renders_in_both_languages():
    for lang in LANGUAGES:
        for number in (1, 2):
            assert all(isinstance(text, str) and text for text in _rendered(lang, number).values())


def test_no_space_beside_a_placeholder_in_japanese():
    """Japanese has no spaces between words: `{client}様に`, not `{client} に` (JAPANESE.md).
    A command to type, quoted in 「」, keeps the spaces the rep types (「通帳 {client}」)."""
    jp = r"[ぁ-んァ-ヶ一-龥々〜]"
    spaced = {k: v for k, v in entries("ja").items() for text in (v.values() if isinstance(v, dict) else [v])
              if re.search(rf"{jp} \{{|\}} {jp}", re.sub(r"「[^」]*」", "「」", text))}
    assert spaced == {}


def test_english_numbers_agree():
    """No "1 days", "1 clients": any number that can be one reads in the singular then (CLDR
    plural rules, through Babel, choose the table's form)."""
    nouns = r"days|weeks|clients|touches|promises|problems|reps|asks|gives|entries|nudges|items|rows|setbacks"
    wrong = {}
    for name in NUMBERS:
        for key, text in _rendered("en", 2, one=name).items():
            if name in _params(entries("en")[key]) and re.search(rf"(?<![\d.+-])1 ({nouns})\b", text):
                wrong[(key, name)] = text
    assert sorted(wrong) == []


def test_no_nudge_says_today():
    """A nudge can be read on a day the rep does not work (docs/scheduler.md): its reason and
    next step never say "today", in either language."""
    said = {k: v for lang in LANGUAGES for k, v in entries(lang).items()
            if k.startswith("nudge.") and (".next" in k or k.endswith(".reason") or k.startswith("nudge.header"))
            for text in (v.values() if isinstance(v, dict) else [v]) if re.search(r"\btoday\b|今日|本日", text)}
    assert said == {}
