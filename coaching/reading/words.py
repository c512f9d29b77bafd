"""The rule reader's word lists (from :mod:`coaching.vocabulary`) compiled into patterns."""

from __future__ import annotations

import re
from typing import Sequence

from coaching import vocabulary as vocab


def word_pattern(words: Sequence[str]) -> re.Pattern[str]:
    """One pattern for a word list: English words match whole, Japanese anywhere, "x*" any ending."""
    parts = []
    for word in sorted({vocab.norm(w) for w in words}, key=len, reverse=True):
        stem = word.rstrip("*")
        part = re.escape(stem).replace(r"\ ", r"\s+") + (r"[a-z]*" if word.endswith("*") else "")
        if stem[0].isascii() and stem[0].isalnum():
            part = r"(?<![a-z0-9])" + part
        if stem[-1].isascii() and stem[-1].isalnum():
            part += r"(?![a-z0-9])"
        parts.append(part)
    return re.compile("|".join(parts))


KINDS = {kind: word_pattern(words) for kind, words in vocab.NOTE_KIND_WORDS.items()}
GIVE, ASK, WEAK_ASK = (word_pattern(vocab.NOTE_GIVE_WORDS), word_pattern(vocab.NOTE_ASK_WORDS),
                       word_pattern(vocab.NOTE_WEAK_ASK_WORDS))
SERVICE, RESPONSE = word_pattern(vocab.NOTE_SERVICE_WORDS), word_pattern(vocab.NOTE_RESPONSE_WORDS)
PROOF, NO_PROOF = word_pattern(vocab.NOTE_PROOF_WORDS), word_pattern(vocab.NOTE_NO_PROOF_WORDS)
PROBLEM, NO_PROBLEM = word_pattern(vocab.NOTE_PROBLEM_WORDS), word_pattern(vocab.NOTE_NO_PROBLEM_WORDS)
SOLVED = word_pattern(vocab.NOTE_SOLVED_WORDS)
CONTACT = word_pattern(vocab.NOTE_CONTACT_WORDS)
