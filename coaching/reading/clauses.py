"""A note cut into clauses, each marked as the rep's promise, a plan, or the client's words."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from coaching.dates import find_date

MASK = "\ue000"  # stands for the client's name once found, so its words are not read as cues

_BULLET = re.compile(r"^\s*(?:[-*•・‐]|\d+[.)])\s*", re.MULTILINE)
_SPLIT = re.compile(
    r"[。\n;!?|→]+|(?<!\d)[.,、](?!\d)|\s+[-–—]+\s+|[–—]+|->"
    r"|(?<=ので)|(?<=けど)|(?<=けれど)|(?<=ところ)"
    r"|\s+(?:but|then|and then|also)\s+"
    r"|,?\s+and\s+(?=(?:they|we|i|he|she|promised|will|also|then|agreed|asked|complained|sent|showed|shared)\b)"
)
_EDGE = " :[]「」\"'"
_COLON = re.compile(r"\s*:\s*")  # a break after a phrase ("Call on Friday: …"), not after a label ("todo: …")

# A clause is said by the client when one of these names them as the speaker.
_CLIENT_SIDE = re.compile(
    MASK + r"(?:'s)?[\s:-]+(?:[a-z]+\s+){0,3}?(?:asked|wants|wanted|said|complained|mentioned|raised|flagged|needs)"
    r"|(?<![a-z])(?:they|they're|he|she|their|his|her|the client|the customer|cfo|ceo|cto|cio|coo|gm|vp|"
    r"director|manager|head of|lead|contact|admin|engineer|procurement|buyer|owner|president|"
    r"wants|needs|insists|insisted|demands|demanded|"
    r"keeps asking|kept asking|pushed for|pressed for|(?:asked|called|rang|phoned|emailed|messaged) (?:me|us))"
    r"(?![a-z])|先方|お客様|客先|部長|課長|社長|専務|常務|担当者|決裁者|さんから|様から|から(?:相談|電話|連絡|依頼)|"
    r"聞かれ|求められ|言われ|相談され|依頼され|質問され|突っ込まれ|ほしい|とのこと|(?:質問|問い合わせ)(?:\([^)]*\))?(?:に回答|を受け|があ)|"
    r"(?:電話|連絡|メール|問い合わせ)が?(?:あった|あり|来た|きた)|(?:電話|連絡)(?:して)?(?:きた|くれた)|(?:電話|連絡)をもらった"
)
_REP_SIDE = re.compile(r"^(?:i|we|i've|we've|i'll|we'll)(?![a-z])|当社|弊社|こちらから")

_PROMISE = re.compile(
    r"(?<![a-z])(?:promised|promise to|promise them|committed to|commit to|will|agreed to|owe them|"
    r"todo|to-do|to do:|next steps?:|action items?:|need to send|(?:told (?:them|him|her)|said) (?:that )?(?:we|i)"
    r"(?:'d|'ll| would| will))(?![a-z])"
    r"|(?<![a-z])(?:i|we)'(?:ll|d)(?![a-z])"
    r"|約束(?![をがはの])|宿題|持ち帰|と伝えた|とお伝え|ことになった|ことにした|までに"
)
_NOT_PROMISE = re.compile(r"as promised|promises? kept|won't|(?<![a-z])(?:it|there)(?:'ll| will)|約束を守|約束通り|約束どおり")
_BY_DATE = re.compile(r"(?<![a-z])(?:by|before|until|no later than)\s|中に|と(?:回答|返答)")  # with a date
_JA_DONE = re.compile(r"(?:た|だ|済み?|ました)$")
_PLAN = re.compile(
    r"(?<![a-z])(?:next (?:week|time|month|visit|meeting|call)|scheduled|planning to|plan to|upcoming|will|'ll|"
    r"(?:am|are|is|'re|'m) going to|agreed to)(?![a-z])|予定|次回|今度|来週|来月|後日|つもり"
)


@dataclass(frozen=True)
class Clause:
    text: str  # NFKC text, the client's name masked
    low: str  # the same in lower case
    promise: bool  # the rep commits to something
    plan: bool  # about the future (a planned visit, the client's own plans): not what happened
    client_said: bool  # the client is the one asking, wanting, complaining


def tidy(text: str) -> str:
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in unicodedata.normalize("NFKC", text).splitlines())
    return "\n".join(line for line in lines if line)


def clauses_of(masked: str, today: date) -> list[Clause]:
    return [_clause(piece, today) for piece in _pieces(_BULLET.sub("", masked))]


def _clause(piece: str, today: date) -> Clause:
    low = piece.lower()
    said = bool(_CLIENT_SIDE.search(low)) and not _REP_SIDE.search(low)
    promise = _is_promise(piece, low, said, today)
    plan = not promise and bool(_PLAN.search(low))
    return Clause(piece, low, promise, plan, said)


def _is_promise(piece: str, low: str, said: bool, today: date) -> bool:
    promise = bool(_PROMISE.search(low)) and not _NOT_PROMISE.search(low)
    if not promise and _BY_DATE.search(low) and due(piece, today)[0] is not None:
        promise = True  # "send slides by Friday"
    if promise and not re.search(r"約束|と伝え|とお伝え", low) and (
            said or re.search(r"までに", low) and _JA_DONE.search(low)):
        promise = False  # the client's own commitment, or something already done by a date
    return promise


def _pieces(text: str) -> list[str]:
    pieces = []
    for piece in _SPLIT.split(text):
        head, *rest = _COLON.split(piece or "", maxsplit=1)
        for part in ([head, *rest] if " " in head.strip() or head.strip() == MASK else [piece or ""]):
            if part.strip(_EDGE):
                pieces.append(part.strip(_EDGE))
    return pieces


def due(text: str, today: date) -> tuple[date | None, str]:
    """The first date phrase that is not in the past, and the text without it."""
    rest = text
    for _ in range(3):
        found, after = find_date(rest, today)
        if found is None:
            return None, rest
        if found >= today:
            return found, after
        rest = after  # "promised yesterday to send it by Friday": yesterday is not the due date
    return None, rest
