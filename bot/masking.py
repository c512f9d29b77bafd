"""What is taken out of a text before it leaves the service for an LLM, and how it is put back.

The text is NFKC-normalised first (full-width letters, digits, ``＠``, ``．``, ``－`` and spaces
become their ASCII forms), then, in this order:

* **E-mail addresses** -> ``[EMAIL_n]``: a local part of letters (any script), marks, digits and
  ``. _ % + - '``, an ``@``, and a domain of two or more dot-separated labels (letters of any
  script, marks, digits, ``-``) whose last label is two or more ASCII letters, a punycode
  ``xn--`` label, or non-ASCII letters (``tanaka@例え.jp``, ``user@bücher.de``,
  ``user@xn--bcher-kva.de``, ``иван@пример.рф``); or a dotted IPv4 address (``user@192.0.2.1``).
  Where a local part runs into the words before it with no space, it stops where a script
  written without spaces (Chinese, Japanese, Korean, Thai, Lao, Khmer, Burmese) meets another
  (``連絡はtanaka@…`` keeps ``連絡は``); a local part in such a script written straight after
  other words of that script takes them along (over-masking, never a leak). A non-ASCII last
  label stops before hiragana (``…@例え.日本に`` keeps ``に``).
* **Payment card numbers** -> ``[CARD_n]``: 13 to 19 digits that pass the Luhn check, written
  without separators or grouped 4-4-4-4(-1…3), 4-4-4-1…3, 4-4-5, 4-6-4 or 4-6-5; and any
  16 digits grouped 4-4-4-4, Luhn or not.
* **My Numbers (個人番号)** -> ``[MYNUMBER_n]``: any 12 digits written without separators or
  grouped 4-4-4, whatever their check digit.
* **Phone numbers** -> ``[PHONE_n]``: international (``+81 90 1234 5678``: 8 to 15 digits),
  trunk-prefixed (``03-1234-5678``, ``090‐1234‐5678``, ``03(1234)5678``: 10 to 15 digits) and
  North American (``(555) 123-4567``).

Separators inside numbers are one space or one hyphen of any kind (``-``, ``‐``, ``‑``, ``–``,
``—``, ``−``, full-width ``－``, the long-vowel mark ``ー``); phone numbers also take ``.`` and
tabs. A number only counts when no other digit (or, for cards and My Numbers, no ``+``) touches
it: a longer digit run is left whole.

Not masked: names (people's and clients'), postal addresses, dates (``2026-11-20``), amounts
(``¥1,200,000``), order and invoice numbers up to 11 digits (unless they start with 0 and have
10 or more: those read as phone numbers), 13-19 digit numbers that fail the Luhn check and are
not grouped 4-4-4-4, numbers grouped any other way or with two separators in a row, digit runs
longer than 19, e-mail addresses with a bracketed IP literal (``user@[192.0.2.1]``) or a
one-label domain (``user@localhost``) or dotted with ``。``, and anything else not listed above.
Masked although harmless: any 12-digit number (a long order id, a UUID's last group) and a 13-19
digit one that happens to pass Luhn (one in ten do).

The same original always gets the same placeholder; :func:`unmask` puts the originals (in their
NFKC form) back into what the LLM answered.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable, Mapping

__all__ = ["mask", "masking", "unmask", "PLACEHOLDER"]

PLACEHOLDER = re.compile(r"\[(?:EMAIL|CARD|MYNUMBER|PHONE)_\d+\]")

# ---- e-mail addresses ------------------------------------------------------------------------

_LOCAL_SYMBOLS = frozenset("._%+-'")
# scripts written without spaces between words: a local part does not cross into or out of them
_UNSPACED = (
    (0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1100, 0x11FF), (0x1780, 0x17FF), (0x2E80, 0x2FDF),
    (0x3005, 0x3007), (0x3021, 0x3029), (0x3031, 0x303C), (0x3040, 0x31FF), (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF), (0xA960, 0xA97F), (0xAC00, 0xD7FF), (0xF900, 0xFAFF), (0xFF66, 0xFF9F),
    (0x20000, 0x3FFFF),
)


def _unspaced(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in _UNSPACED)


def _hiragana(ch: str) -> bool:
    return "\u3041" <= ch <= "\u309f"


def _label_char(ch: str) -> bool:
    return ch == "-" or unicodedata.category(ch)[0] in "LMN"


def _local_start(text: str, at: int) -> int:
    """Where the local part of an address whose ``@`` is at ``at`` starts (``at``: none)."""
    start, script = at, None
    while start > 0 and (_label_char(ch := text[start - 1]) or ch in _LOCAL_SYMBOLS):
        if ch.isalpha():
            if script is None:
                script = _unspaced(ch)
            elif _unspaced(ch) != script:
                break
        start -= 1
    while start < at and text[start] in ".'":
        start += 1
    return start


def _run(label: str, start: int, keep: Callable[[str], bool]) -> int:
    end = start
    while end < len(label) and keep(label[end]):
        end += 1
    return end


def _tld_length(label: str) -> int:
    """How much of a domain's last label is a top-level domain (0: it is not one)."""
    if label[:4].lower() == "xn--":
        length = _run(label, 4, lambda ch: ch.isascii() and (ch.isalnum() or ch == "-"))
        return length if length > 4 else 0
    if label[0].isascii():
        length = _run(label, 0, lambda ch: ch.isascii() and ch.isalpha())
        return length if length >= 2 else 0
    if label[0].isalpha():  # an IDN TLD; in Japanese text, a particle after it (日本に) is not part of it
        kana = _hiragana(label[0])
        return _run(label, 0, lambda ch: not ch.isascii() and unicodedata.category(ch)[0] in "LM"
                    and _hiragana(ch) == kana)
    return 0


def _domain_end(text: str, start: int) -> int:
    """Where a domain starting at ``start`` ends (``start``: there is none)."""
    labels: list[tuple[int, int]] = []
    begin = start
    while (end := _run(text, begin, _label_char)) > begin:
        labels.append((begin, end))
        if text[end:end + 1] != ".":
            break
        begin = end + 1
    if len(labels) == 4 and all(text[b:e].isascii() and text[b:e].isdigit() for b, e in labels):
        return labels[-1][1]  # an IPv4 address
    while len(labels) >= 2:
        begin, end = labels.pop()
        if length := _tld_length(text[begin:end]):
            return begin + length
    return start


def _mask_emails(text: str, placeholder: Callable[[str, str], str]) -> str:
    parts: list[str] = []
    done = 0
    for at in (i for i, ch in enumerate(text) if ch == "@"):
        if at < done:
            continue
        start, end = max(_local_start(text, at), done), _domain_end(text, at + 1)
        if start < at and end > at + 1:
            parts += [text[done:start], placeholder("EMAIL", text[start:end])]
            done = end
    return "".join(parts) + text[done:]


# ---- numbers -----------------------------------------------------------------------------------

_DASH = r"\-‐‑‒–—−－ー"  # hyphens as typed, including full-width ones and the long-vowel mark
_SEP = rf"[ \t.．{_DASH}]"
_NUMBER_SEP = rf"[ {_DASH}]"
_CARD_OR_MY_NUMBER = re.compile(
    rf"(?<![\d+])(?:"
    rf"\d{{4}}(?:{_NUMBER_SEP}\d{{4}}){{3}}(?:{_NUMBER_SEP}\d{{1,3}})?"  # 4-4-4-4, 4-4-4-4-x
    rf"|\d{{4}}{_NUMBER_SEP}\d{{6}}{_NUMBER_SEP}\d{{4,5}}"  # 4-6-4 (Diners), 4-6-5 (Amex)
    # 4-4-4 (My Number), 4-4-4-x, 4-4-5
    rf"|\d{{4}}{_NUMBER_SEP}\d{{4}}{_NUMBER_SEP}(?:\d{{4}}(?:{_NUMBER_SEP}\d{{1,3}})?|\d{{5}})"
    rf"|\d{{12,19}}"
    rf")(?!\d)"
)
_PHONE = re.compile(
    rf"(?<![\d+＋])(?:"  # a letter may come first: "TEL03-1234-5678"
    # international: +81 90 1234 5678, +1 (555) 123-4567, +44 20 7946 0958, +819012345678
    rf"[+＋]\d{{1,3}}(?:{_SEP}?(?:[(（]\d{{1,4}}[)）]|\d{{1,4}})){{1,5}}"
    # Japanese and other trunk-prefixed numbers: 03-1234-5678, 090-1234-5678, 03(1234)5678
    rf"|[(（]?[0０]\d{{1,4}}(?:{_SEP}|[)）]{_SEP}?|{_SEP}?[(（])?\d{{1,4}}(?:{_SEP}|[)）]{_SEP}?)?\d{{3,4}}"
    # North American: (555) 123-4567, 555-123-4567, 555.123.4567
    rf"|(?:[(（]\d{{3}}[)）]{_SEP}?|\d{{3}}{_SEP})\d{{3}}{_SEP}\d{{4}}"
    rf")(?![\dA-Za-z])"
)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def luhn(digits: str) -> bool:
    """Whether ``digits`` end in a valid Luhn check digit (payment cards do)."""
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = int(ch) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _card_or_my_number(found: str, placeholder: Callable[[str, str], str]) -> str:
    groups = re.split(_NUMBER_SEP, found)
    digits, lengths = "".join(groups), [len(group) for group in groups]
    if 13 <= len(digits) <= 19 and luhn(digits):
        return placeholder("CARD", found)
    if lengths[:4] == [4, 4, 4, 4]:  # 4-4-4-4, Luhn or not (and whatever digits follow)
        return placeholder("CARD", found[:19]) + found[19:]
    if len(digits) == 12:
        return placeholder("MYNUMBER", found)
    if lengths[:3] == [4, 4, 4]:  # 4-4-4 with more digits after it
        return placeholder("MYNUMBER", found[:14]) + found[14:]
    return found  # 13-19 digits that fail the Luhn check: an order number


def _phone(found: str, placeholder: Callable[[str, str], str]) -> str:
    wanted = (8, 15) if found[0] in "+＋" else (10, 15)
    if not wanted[0] <= len(_digits(found)) <= wanted[1]:
        return found  # a date, an amount, an order number: not a phone number
    return placeholder("PHONE", found)


# ---- the whole text ------------------------------------------------------------------------------

def masking(text: str) -> tuple[str, dict[str, str]]:
    """``text`` (NFKC-normalised) with what the module docstring lists replaced by numbered
    placeholders, and the placeholders' originals. The same original always gets the same
    placeholder."""
    text = unicodedata.normalize("NFKC", text)
    originals: dict[str, str] = {}
    by_original: dict[tuple[str, str], str] = {}

    def placeholder(kind: str, original: str) -> str:
        key = (kind, original)
        if key not in by_original:
            count = sum(k == kind for k, _ in by_original) + 1
            by_original[key] = f"[{kind}_{count}]"
            originals[by_original[key]] = original
        return by_original[key]

    masked = _mask_emails(text, placeholder)
    masked = _CARD_OR_MY_NUMBER.sub(lambda m: _card_or_my_number(m.group(0), placeholder), masked)
    masked = _PHONE.sub(lambda m: _phone(m.group(0), placeholder), masked)
    return masked, originals


def mask(text: str) -> str:
    """``text`` with e-mail addresses, card numbers, My Numbers and phone numbers replaced by
    placeholders (``[EMAIL_1]``, ``[CARD_1]``, ``[MYNUMBER_1]``, ``[PHONE_1]``...): what may
    leave the service."""
    return masking(text)[0]


def unmask(text: str, originals: Mapping[str, str]) -> str:
    """``text`` with the placeholders of ``originals`` replaced by what they stand for."""
    return PLACEHOLDER.sub(lambda m: originals.get(m.group(0), m.group(0)), text) if originals else text
