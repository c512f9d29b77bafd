"""What the rep promised in a note, and by when."""

from __future__ import annotations

import re
from datetime import date

from coaching.reading.clauses import MASK, Clause, due
from coaching.reading.proposal import ProposedPromise

_PROMISE_LEAD = re.compile(
    r"^(?:(?:and|also|then|plus)\s+)?(?:todo|to-do|to do|next steps?|next|action items?|ai|宿題|当社)\s*:\s*"
    r"|^(?:(?:and|also|then|plus)\s+)?(?:(?:i|we)\s+)?(?:(?:told (?:them|him|her)|said) (?:that )?(?:we|i)\s*"
    r"(?:'d|would|will|'ll)\s+|"
    r"(?:i|we)'(?:ll|d)\s+|(?:have\s+)?(?:promised|promise|committed|commit|agreed|will|would)\s+"
    r"(?:them\s+|to\s+)*)|^(?:and|also|then|plus|to)\s+",
    re.IGNORECASE,
)
_PROMISE_TAIL = re.compile(
    r"(?:する|します|しました|した)?(?:こと)?(?:を|と)?(?:お)?約束(?:した|しました|済み?|する|します)?$"
    r"|(?:する|します)?と(?:お)?伝え(?:た|ました)$|(?:する|します)?ことに(?:なった|した)$"
    r"|\((?:[^)]*(?:期限|未定|tbd|no date)[^)]*)\)|\s*(?:→|->)$|\s+(?:early|late|mid|around|sometime)$"
    r"|(?:する|します)?と(?:回答|返答)(?:した|しました)?$|(?<=[\u3400-\u9fff])(?:いた)?(?:します|する)$",
    re.IGNORECASE,
)


def promises_in(clauses: list[Clause], today: date) -> tuple[ProposedPromise, ...]:
    found: list[ProposedPromise] = []
    previous = ""
    for clause in clauses:
        if not clause.promise:
            previous = clause.text
            continue
        for part in _commitments(clause.text, today):
            due_on, rest = due(part, today)
            what = _promise_text(rest) or _promise_text(previous)  # "→ 月末までに" under its item
            if what:
                found.append(ProposedPromise(what, due_on))
        previous = clause.text
    return tuple(found)


def _commitments(text: str, today: date) -> list[str]:
    """Two dated commitments joined by "and" are two promises; else the clause is one."""
    parts = re.split(r",?\s+and\s+", text)
    if len(parts) < 2 or not due(parts[0], today)[0] or not all(
            due(p, today)[0] or re.match(r"to\s", p) for p in parts[1:]):
        return [text]
    return parts


def _promise_text(text: str) -> str:
    what = re.sub(r"\s{2,}", " ", text.replace(MASK, " ")).strip(" ,、。.:")
    for _ in range(3):
        what = _PROMISE_LEAD.sub("", what).strip(" ,、。.:")
        what = _PROMISE_TAIL.sub("", what).strip(" ,、。.:")
    return what
