"""The rule-based reader: word lists and a few patterns, English and Japanese, no dependencies."""

from __future__ import annotations

from datetime import date
from typing import Sequence

from coaching.reading import signals, touch
from coaching.reading.clauses import MASK, clauses_of, tidy
from coaching.reading.names import find_client
from coaching.reading.promises import promises_in
from coaching.reading.proposal import Proposal


class RuleReader:
    """Reads a note with word lists and a few patterns; English and Japanese, no dependencies.

    How each field is read (every rule prefers ``None`` to a guess):

    - *client*: a known client's name anywhere in the note (NFKC, any case, also without a legal
      form such as 株式会社 or Inc; the longest name wins, then the earliest); else the first word
      of the leading name when it starts exactly one known client's name ("Northwind" for
      "Northwind Traders"); else the leading name typed before ``:``, ``、``, ``。``, `` - `` or
      the first line break, without kind, date and purpose words or an honorific, when it looks
      like a name (English: capitalised, no pronoun or verb; Japanese: no kana unless it ends like
      a company, 薬局, 商事, …).
    - *occurred_on*: the first date phrase, read as a past date, in a clause that is neither a
      promise nor about the future, within the last two months; ``None`` for today.
    - *kind*: a ``kind:`` field; else the first clause (promises and plans aside) naming a kind.
      In it a generic meeting gives way to a more specific kind, and an event to the medium
      ("お礼メール" after an exhibition is an email); two kinds left means ``None``.
    - *purpose*: a ``purpose:`` field; else, in this order: the rep acted on a problem (fixed,
      apologised, お詫び) → service, unless an explicit ask is there too (then ``None``); an
      explicit ask (proposal, quote, price, contract, 提案, 見積) → ask, even next to give words;
      give words (shared, no pitch, 共有) → give; a problem the client raised that the rep
      answered or made a promise about → service; a weak ask (demo, trial) → ask; else ``None``.
      "No pitch" and 営業色なし count as give, never as ask.
    - *proof_shown*: track-record words (case study, ROI, 事例, 実績) outside promises and outside
      the client's requests → True; an explicit "no case study" → False; else ``None``.
    - *promises*: clauses where the rep commits (promised, will, I'll, todo:, by <date>, 約束,
      までに, と伝えた), not the client's own commitments and not "as promised"; two dated
      commitments joined by "and" are two promises. The text is the clause without the date
      phrase and the promise verb; the due date is the first future date phrase, else ``None``.
    - *problem*: a clause with a complaint or problem word, not negated ("no issues", 問題なし)
      and not already solved in the same clause; its object in a few words.
    - *asked_for*: a trust-level phrase in a clause where the client is the one asking; exactly
      one level found, else ``None``.
    - *demanded_justification*: the client asked for evidence, details, a breakdown (根拠,
      エビデンス) → True; "do what you think is best" (お任せ) → False; both or neither → ``None``.

    ``language`` is only a hint: both vocabularies are always read, since reps mix them.
    """

    def read(self, text: str, today: date, clients: Sequence[str], language: str) -> Proposal:
        note = tidy(text)
        if not note:
            return Proposal(notes=("empty note",))
        why: list[str] = []
        client, spans, summary = find_client(note, clients, why)
        masked = _masked(note, spans)
        clauses = clauses_of(masked, today)
        problem = signals.problem(clauses)
        promises = promises_in(clauses, today)
        return Proposal(
            client_name=client,
            occurred_on=touch.occurred_on(clauses, today),
            kind=touch.field(masked, "kind") or touch.kind(clauses, why),
            purpose=touch.field(masked, "purpose") or touch.purpose(clauses, problem is not None, bool(promises)),
            summary=summary or None,
            proof_shown=touch.proof(clauses),
            promises=promises,
            problem=problem,
            asked_for=signals.asked_for(clauses, why),
            demanded_justification=signals.justification(clauses),
            notes=tuple(why),
        )


def _masked(note: str, spans: list[tuple[int, int]]) -> str:
    """The note with the client's name replaced by :data:`MASK` wherever it occurs."""
    for start, end in sorted(spans, reverse=True):
        note = note[:start] + MASK + note[end:]
    return note
