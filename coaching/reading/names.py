"""Which client a note is about, where their name occurs (to mask it) and the note without it."""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date
from typing import Sequence

from coaching import vocabulary as vocab
from coaching.dates import parse_date
from coaching.reading.words import KINDS

_HEAD_MAX = 40

_LEGAL = re.compile(
    r"^(?:株式会社|有限会社|合同会社|\(株\)|\(有\))\s*|\s*(?:株式会社|有限会社|合同会社|\(株\)|\(有\))$"
    r"|[\s,]+(?:inc|incorporated|corp|corporation|co|company|ltd|limited|llc|plc|gmbh|kk|k\.k)\.?$",
    re.IGNORECASE,
)
_JA_NAME_END = re.compile(r"(?:商事|商店|工業|産業|製作所|電機|電気|食品|建設|物流|銀行|薬局|病院|化学|精機|製薬|"
                          r"ホールディングス|システム|ソリューションズ|株式会社|\(株\))$")
_HEAD = re.compile(r"[^:、。\n]{1,%d}?(?=\s*(?::|、|。|\n|\s[-–—|/]\s))" % _HEAD_MAX)
_HONORIFIC = re.compile(r"(?:様|さま|さん|御中|殿)$")
_HONORIFIC_START = re.compile(r"^(?:様|さま|さん|御中|殿)(?=[\s:、。])")
_PARTICLE_END = re.compile(r"(?:にて|へ|と|で|に|の|を|は|が)$")
_EN_NOT_NAME = frozenset(
    "i we they he she it my our their his her the a an re fyi note notes update quick todo memo summary client "
    "customer account follow up call meeting today yesterday long day met called sent had spent visited".split()
)
_JA_NOT_NAME = ("先方", "お客様", "客先", "顧客", "担当", "メモ", "報告", "件名", "本日", "今日", "昨日")
_CLIENT_FIELD = re.compile(r"^\s*(?:client|customer|account|顧客|客先)\s*:\s*", re.IGNORECASE)

Found = tuple[str | None, list[tuple[int, int]], str]  # the client, where named, the note without a leading name


def find_client(note: str, clients: Sequence[str], why: list[str]) -> Found:
    """The client's name, where it occurs (to mask), and the note without a leading name."""
    lead = len(note) - len(_CLIENT_FIELD.sub("", note, count=1))
    claimed = _claimed(_mentions(note, clients))
    if claimed:
        return _known_client(note, claimed, lead, why)
    return _leading_client(note, clients, lead, why)


# --- a known client named anywhere -------------------------------------------------------------

@functools.lru_cache(maxsize=8192)
def _variants(name: str) -> tuple[tuple[str, str], ...]:
    """The ways a note may name the client (its full name, and without a legal form such as
    "Inc." or "株式会社"), each with its :func:`_squash` form. Cached: a rep's client list is read
    on every note."""
    full = " ".join(unicodedata.normalize("NFKC", name).split())
    core = _LEGAL.sub("", full).strip(" ,.")
    enough = len(core) >= (2 if not core.isascii() else 3)
    return tuple((v, _squash(v)) for v in ([full, core] if core != full and enough else [full]))


def _squash(text: str) -> str:
    """Text without whitespace, case-folded: if a name's pattern matches a note, the name's
    squashed form occurs in the note's (the pattern ignores case and allows any whitespace
    between words), so this cheap test rules out the clients a note does not name."""
    return "".join(text.split()).casefold()


@functools.lru_cache(maxsize=8192)
def _name_pattern(variant: str) -> re.Pattern[str]:
    part = re.escape(variant).replace(r"\ ", r"\s*")
    if variant[0].isascii() and variant[0].isalnum():
        part = r"(?<![A-Za-z0-9])" + part
    if variant[-1].isascii() and variant[-1].isalnum():
        part += r"(?![A-Za-z0-9])"
    return re.compile(part, re.IGNORECASE)


def _mentions(note: str, clients: Sequence[str]) -> list[tuple[int, int, int, str]]:
    """Every place a known client is named, as (start, -length, end, client)."""
    found: list[tuple[int, int, int, str]] = []
    squashed = _squash(note)
    for client in filter(str.strip, clients):
        for variant, squashed_variant in _variants(client):
            if squashed_variant in squashed:  # else the pattern cannot match: no regex needed
                found += [(m.start(), m.start() - m.end(), m.end(), client)
                          for m in _name_pattern(variant).finditer(note)]
    return found


def _claimed(found: list[tuple[int, int, int, str]]) -> list[tuple[int, int, str]]:
    """The mentions that do not overlap, in order: the longest first claims its span (so
    "Acme Japan" is not also read as "Acme"), as (start, end, client)."""
    claimed: list[tuple[int, int, str]] = []
    for start, _, end, client in sorted(found, key=lambda f: (f[1], f[0])):
        if all(end <= s or start >= e for s, e, _ in claimed):
            claimed.append((start, end, client))
    return sorted(claimed)


def _known_client(note: str, claimed: list[tuple[int, int, str]], lead: int, why: list[str]) -> Found:
    """The earliest-mentioned client is the one logged."""
    chosen = claimed[0][2]
    if len({c for _, _, c in claimed}) > 1:
        why.append("client: several known clients named; the first is proposed")
    spans = [(s, e) for s, e, c in claimed if c == chosen]
    start, end = spans[0]
    return chosen, spans, _after_name(note, end) if start <= lead else note


# --- a name typed at the start ---------------------------------------------------------------

def _leading_client(note: str, clients: Sequence[str], lead: int, why: list[str]) -> Found:
    """The leading name: the one known client it is the first word of, else the name as typed."""
    head, end = _head(note, lead)
    if head is None:
        why.append("client: no known client named and no leading name")
        return None, [], note
    firsts = [c for c in clients if c.split() and len(head) >= 4 and vocab.norm(c.split()[0]) == vocab.norm(head)]
    if len(firsts) == 1:
        return firsts[0], [(lead, lead + len(head))], _after_name(note, end)
    name = _as_name(head)
    if name is None:
        why.append(f"client: {head!r} does not look like a name")
        return None, [], note
    at = note.find(name, lead)
    if at < 0:
        return name, [], note
    return name, [(at, at + len(name))], _after_name(note, at + len(name))


def _head(note: str, lead: int) -> tuple[str | None, int]:
    match = _HEAD.match(note, lead)
    if not match:
        return None, lead
    return match.group().strip(), match.end()


def _as_name(head: str) -> str | None:
    """The name in a leading phrase ("Hooli", "オリオン化学様 初回訪問" → "オリオン化学"), or None."""
    name = _HONORIFIC.sub("", " ".join(w for w in _name_words(head) if w)).strip()
    if not name or len(name) > _HEAD_MAX:
        return None
    looks_like_a_name = _looks_english(name) if name.isascii() else _looks_japanese(name)
    return name if looks_like_a_name else None


def _name_words(head: str) -> list[str]:
    """The words of ``head`` before the first kind, purpose or date word."""
    words: list[str] = []
    for word in head.split():
        bare = word.strip(".,()")
        if not _is_cue(bare):
            words.append(bare)
            continue
        if not words and not bare.isascii():  # "田中商事様と打ち合わせ", written without a space
            words += _before_kind(bare)
        break
    return words


def _before_kind(word: str) -> list[str]:
    """What precedes a kind word at the end of ``word`` ("田中商事様と打ち合わせ" → "田中商事様"),
    without the particle; nothing when it does not end in a kind word."""
    rest = word
    for kind_pattern in KINDS.values():
        rest = re.sub(f"(?:{kind_pattern.pattern})$", "", rest)
    return [_PARTICLE_END.sub("", rest)] if rest != word else []


def _looks_english(name: str) -> bool:
    """Capitalised, a few words, no pronoun, verb or note word ("Quick update" is no name)."""
    tokens = name.split()
    return len(tokens) <= 4 and not any(t.casefold() in _EN_NOT_NAME for t in tokens) and name[0].isupper()


def _looks_japanese(name: str) -> bool:
    """No word such as 先方 or 本日, and no kana unless it ends like a company (商事, 薬局, …)."""
    if any(stop in name for stop in _JA_NOT_NAME) or len(name) < 2:
        return False
    return not re.search(r"[\u3040-\u309f]", name) or bool(_JA_NAME_END.search(name))


def _is_cue(word: str) -> bool:
    """A kind, purpose or date word (or, in Japanese, a word containing a kind)."""
    low = vocab.norm(word)
    if vocab.kind_of(low) or vocab.purpose_of(low) or parse_date(low, date(2000, 1, 1)):
        return True
    if low.isascii():
        return any(p.fullmatch(low) for p in KINDS.values())
    return any(p.search(low) for p in KINDS.values())


def _after_name(note: str, end: int) -> str:
    rest = _HONORIFIC_START.sub("", note[end:])
    if rest and not re.match(r"[\s:、。,.|/\-–—]", rest):
        return note  # "Globex's GM…", "田中商事様へ…": the name is part of the sentence
    return re.sub(r"^[\s:、。,.|/\-–—]+", "", rest).strip() or note
