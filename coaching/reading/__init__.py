"""Reading one free-text note into a proposed touch: what a rep typed after ``/logmeeting``.

A reader only *proposes*: the conversation pre-fills what was read, asks for the rest, and the
rep confirms or edits the summary before anything is stored. A field a reader is not sure of is
left empty (``None``), never guessed, so the conversation asks for it.

Two readers implement :class:`NoteReader`: the rule-based reader here (English and Japanese, no
dependencies, always available) and, when one is configured, an LLM reader in ``bot/llm.py``
that falls back to this one on any failure.

The rule-based reader is split by what it reads: :mod:`.names` (the client), :mod:`.clauses`
(the note cut into clauses, each marked as a promise, a plan or the client's words),
:mod:`.touch` (when, what kind, why), :mod:`.promises`, and :mod:`.signals` (the client's
problem, what they asked for, whether they demanded justification); :mod:`.rules` puts them
together.
"""

from coaching.reading.proposal import NoteReader, Proposal, ProposedPromise
from coaching.reading.rules import RuleReader

__all__ = ["NoteReader", "Proposal", "ProposedPromise", "RuleReader"]
