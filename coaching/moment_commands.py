"""The commands about one client's turning points: a setback, its correction, a deal won, a
problem solved, a trust level stated. Typed as ``WORD CLIENT [more]: what``, in English or
Japanese (``setback Acme misunderstanding: …``, ``失点 田中商事 誤解: …``, ``受注 田中商事``).
Part of :mod:`coaching.commands`, which re-exports them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from coaching.model import Setback as SetbackKind
from coaching.vocabulary import norm


@dataclass(frozen=True)
class Setback:
    """Something went wrong with a client: a claim that proved false, or a misunderstanding
    (``kind`` ``None``: not said yet, the coach asks); ``what`` happened."""
    client: str
    kind: SetbackKind | None = None
    what: str = ""
    client_id: int | None = None  # a button names the client by id


@dataclass(frozen=True)
class PutRight:
    """The rep put the latest setback with ``client`` right; ``what`` they sent."""
    client: str
    what: str = ""


@dataclass(frozen=True)
class Won:
    """A deal won with ``client`` (today)."""
    client: str
    what: str = ""


@dataclass(frozen=True)
class Solved:
    """The client's problems are solved (those answered or still waiting)."""
    client: str


@dataclass(frozen=True)
class SetTrust:
    """The rep states the client's trust level (1-4); ``level`` ``None``: not understood."""
    client: str
    level: int | None


# What kind of setback a word after the client says ("setback Acme misunderstanding: …").
SETBACK_WORDS: dict[SetbackKind, tuple[str, ...]] = {
    SetbackKind.FALSE_CLAIM: ("false claim", "false", "wrong claim", "untrue", "事実と異なる説明", "事実と異なる",
                              "誤った説明", "虚偽"),
    SetbackKind.MISUNDERSTANDING: ("misunderstanding", "misunderstood", "mix-up", "誤解", "行き違い", "勘違い"),
}


def _setback(rest: str, kind: SetbackKind | None = None) -> Setback:
    """``CLIENT [kind words]: what happened`` (the kind words may also come first)."""
    head, _, what = rest.replace("：", ":").partition(":")
    words = head.split()
    for k, known in SETBACK_WORDS.items():
        for size in (3, 2, 1):
            for at in (0, len(words) - size):
                if 0 <= at and len(words) > size and norm(" ".join(words[at:at + size])) in known:
                    return Setback(" ".join(words[:at] + words[at + size:]), k, what.strip())
    return Setback(head.strip(), kind, what.strip())


def _set_trust(rest: str) -> SetTrust:
    head, _, level = rest.strip().rpartition(" ")
    if level.isdecimal() and len(level) == 1 and 1 <= int(level) <= 4:
        return SetTrust(head.strip(), int(level))
    return SetTrust(rest.strip(), None)


def _named(kind: type, rest: str):
    head, _, what = rest.replace("：", ":").partition(":")
    return kind(head.strip(), what.strip()) if kind is not Solved else Solved(head.strip())


ABOUT_A_CLIENT: dict[str, Callable[[str], object]] = {
    "setback": _setback,
    "misunderstanding": lambda rest: _setback(rest, SetbackKind.MISUNDERSTANDING),
    "corrected": lambda rest: _named(PutRight, rest),
    "won": lambda rest: _named(Won, rest),
    "solved": lambda rest: _named(Solved, rest),
    "trust": _set_trust,
}

