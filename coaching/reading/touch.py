"""When the touch happened, what kind it was and why: read from the clauses of a note."""

from __future__ import annotations

import re
from datetime import date, timedelta

from coaching import vocabulary as vocab
from coaching.dates import find_date
from coaching.model import Kind, Purpose
from coaching.reading.clauses import Clause
from coaching.reading.signals import TRUSTS
from coaching.reading.words import ASK, CONTACT, GIVE, KINDS, NO_PROOF, PROOF, RESPONSE, SERVICE, WEAK_ASK

_NO_WORD = "\u2060"  # a word joiner: keeps "sat", "sun", "wed" from reading as weekdays
_AMBIGUOUS_DAY = re.compile(r"(?i)(?<![a-z])(s)(at|un)(?![a-z])|(?<![a-z])(w)(ed)(?![a-z])")  # "sat down"
_RECENT_DAYS = 62  # a date further back than this is not when the touch happened

_FIELD = re.compile(r"(?<![a-z])(kind|type|purpose|種別|種類|目的)\s*:\s*([^\s|,;/]+)", re.IGNORECASE)
_FUTURE_KIND = re.compile(
    r"(?<![a-z])(?:for|book|booked|schedule|scheduled|arrange|arranged|set up|setting up|next|another)\s+"
    r"(?:a\s+|an\s+|the\s+)?(?:meeting|call|visit|demo|lunch|dinner)(?![a-z])"
)
_GIVE_DEED = re.compile(r"walked \w+ through|answered (?:his|her|their) questions|質問に回答")
_TRADED = re.compile(r"in exchange for|in return for|交換条件|代わりに")  # a case study the client will give
# Something handed over: with "no ask" beside it, a give (alone, "no ask" says only what it was not).
_HANDED = re.compile(r"(?<![a-z])(?:sent|send|shared|brought|gave|handed|forwarded|emailed)(?![a-z])|"
                     r"送付|送り|送っ|お渡し|手渡し|添付|共有")
_NEGATED_ASK = re.compile(r"no ask|no pitch|nothing to sell|not selling|without asking|nothing asked|営業色なし|営業なし|"
                          r"売り込み(?:なし|はせず|はしていない|はしなかった)|営業はせず|営業はしていない")
_INTRODUCTION = re.compile(r"(?:会社|自社|製品|商品|サービス)紹介")


def field(masked: str, name: str) -> Kind | Purpose | None:
    """A value written as a field: "Kind: email", "目的: give"."""
    for key, value in _FIELD.findall(masked):
        is_kind = vocab.norm(key) in ("kind", "type", "種別", "種類")
        if name == "kind" and is_kind:
            return vocab.kind_of(value)
        if name == "purpose" and not is_kind:
            return vocab.purpose_of(value)
    return None


def occurred_on(clauses: list[Clause], today: date) -> date | None:
    for clause in clauses:
        if clause.promise or clause.plan:
            continue
        text = _AMBIGUOUS_DAY.sub(rf"\1\3{_NO_WORD}\2\4", clause.text)
        found, _ = find_date(text, today, prefer="past")
        if found is not None and today - timedelta(days=_RECENT_DAYS) <= found <= today:
            return None if found == today else found
    return None


def kind(clauses: list[Clause], why: list[str]) -> Kind | None:
    for clause in clauses:
        if clause.promise or clause.plan:
            continue
        kinds = _kinds_in(clause.low)
        if len(kinds) == 1:
            return kinds.pop()
        if kinds:
            why.append("kind: " + ", ".join(sorted(k.value for k in kinds)) + " named together")
            return None
    return None


def _kinds_in(low: str) -> set[Kind]:
    """The kinds a clause names, a generic one giving way to a more specific one."""
    low = TRUSTS.sub(" ", _FUTURE_KIND.sub(" ", low))  # "your call" is no call
    kinds = {kind for kind, pattern in KINDS.items() if pattern.search(low)}
    if len(kinds) > 1:
        kinds.discard(Kind.MEETING)
    if len(kinds) > 1:  # "お礼メール" after an exhibition, "visited to thank them for the seminar"
        kinds.discard(Kind.EVENT)
    return kinds


def purpose(clauses: list[Clause], problem: bool, promised: bool) -> Purpose | None:
    cues: set[str] = set()
    for clause in clauses:
        cues |= _purpose_cues(clause, problem)
    if "service" in cues:
        return None if "ask" in cues else Purpose.SERVICE
    if "ask" in cues:
        return Purpose.ASK
    if "give" in cues or {"no_ask", "handed"} <= cues:
        return Purpose.GIVE
    if problem and ("responded" in cues or promised):
        return Purpose.SERVICE
    if "weak" in cues:
        return Purpose.ASK
    # Keeping in touch with nothing given: contact, not a give. "No ask" alone says what the
    # touch was not, not what the client got: left open, the log asks.
    return Purpose.CONTACT if "contact" in cues else None


def _purpose_cues(clause: Clause, problem: bool) -> set[str]:
    """What one clause says about the purpose: give, ask, weak (ask), service, responded."""
    low = clause.low
    cues: set[str] = set()
    if _NEGATED_ASK.search(low):
        cues.add("no_ask")
        low = _NEGATED_ASK.sub(" ", low)
    # Showing a track record or introducing oneself is part of selling, not a gift.
    proof = bool(PROOF.search(low))
    low = PROOF.sub(" ", _INTRODUCTION.sub(" ", low))
    found = {
        "give": not proof and (bool(GIVE.search(low)) or bool(_GIVE_DEED.search(low))),
        "ask": bool(ASK.search(low)),
        "weak": bool(WEAK_ASK.search(low)),
        "service": bool(SERVICE.search(low)) or (clause.promise and problem and bool(re.search(r"\bfix", low))),
        "responded": bool(RESPONSE.search(low)),
        "contact": bool(CONTACT.search(low)),
        "handed": bool(_HANDED.search(low)),
    }
    return cues | {cue for cue, present in found.items() if present}


def proof(clauses: list[Clause]) -> bool | None:
    for clause in clauses:
        if NO_PROOF.search(clause.low):
            return False
        if not (clause.promise or clause.client_said or _TRADED.search(clause.low)) and PROOF.search(clause.low):
            return True
    return None
