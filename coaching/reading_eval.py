"""How well a :class:`~coaching.reading.NoteReader` reads notes, against a labelled set.

Each case is one JSON line: ``{"id", "lang", "today", "clients", "text", "expected"}``.
``expected`` holds the fields a careful human would fill from the note alone; a field that is
absent is *unlabelled* and not scored. A field is scored as follows (``reader`` is the proposal):

``client_name``
    Equal after NFKC, case folding and collapsing spaces. ``null``: nobody can tell, so only a
    reader that proposes no client is right.
``occurred_on``
    ISO date or ``null``. ``null`` and a reader's ``None`` both mean *today* (the proposal's
    contract), so they are compared after that substitution.
``kind``, ``purpose``
    The enum value, or ``null`` when a careful human could not tell (then only ``None`` is right).
``proof_shown``
    ``true``/``false``; a reader's ``None`` (not sure: the conversation asks) is not right.
``promises``
    A list of ``{"text", "due_on"}``. Right when the reader proposes exactly as many promises and
    they pair up one to one such that in every pair the due dates are equal (``null`` = none) and
    the texts overlap: the Dice coefficient of their tokens is at least 0.5. Tokens are taken
    from NFKC, case-folded text: English words (runs of letters and digits, minus a few
    stop words such as "a", "the", "to"), and for Japanese the runs of kanji, katakana and Latin
    between kana, each cut into character bigrams (a one-character run is its own token), so
    particles and verb endings do not count. An empty list is right only when the reader
    proposes no promise.
``problem``
    Presence only: ``true``/``false`` against whether the reader proposed a problem at all.
``asked_for``
    The trust level 1-4, or ``null`` when the note shows no such signal; equality.
``demanded_justification``
    ``true``/``false``/``null``; equality (``null`` = no signal either way).

Per field and language the report counts *labelled* cases, *correct* ones and *wrong* ones: a
wrong answer is a value the reader proposed that is not right (a ``None``, an empty promise
list or no problem is a *miss* instead, which the conversation recovers from by asking).
Accuracy is correct / labelled; overall accuracy pools every scored field of every case.

Run ``python -m coaching.reading_eval tests/data/notes.jsonl`` for the rule reader's table;
``--misses`` lists what each case got wrong. Another reader is measured through :func:`main`'s
``reader`` argument or :func:`evaluate`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from itertools import permutations
from typing import Any, Callable, Iterable, Sequence

from coaching.reading import NoteReader, Proposal, RuleReader

FIELDS = ("client_name", "occurred_on", "kind", "purpose", "proof_shown", "promises", "problem",
          "asked_for", "demanded_justification")
LANGS = ("en", "ja")
MIN_OVERLAP = 0.5
_STOP = frozenset("a an the to of for and or with on in at by our their them they we i my me us it its "
                  "this that some".split())
_TOKEN = re.compile(r"[a-z0-9]+|[\u3400-\u9fff\u30a0-\u30ffー々]+")


@dataclass(frozen=True)
class Case:
    id: str
    lang: str
    today: date
    clients: tuple[str, ...]
    text: str
    expected: dict[str, Any]


@dataclass(frozen=True)
class Miss:
    case_id: str
    field: str
    expected: Any
    got: Any
    wrong: bool  # the reader proposed a value (not a mere omission)


@dataclass
class Report:
    """Counts per (language, field): labelled, correct, wrong."""

    counts: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    misses: list[Miss] = field(default_factory=list)
    cases: dict[str, int] = field(default_factory=dict)

    def _sum(self, index: int, fld: str | None, lang: str | None) -> int:
        return sum(c[index] for (lg, f), c in self.counts.items()
                   if (lang is None or lg == lang) and (fld is None or f == fld))

    def labelled(self, fld: str | None = None, lang: str | None = None) -> int:
        return self._sum(0, fld, lang)

    def accuracy(self, fld: str | None = None, lang: str | None = None) -> float | None:
        """Correct / labelled for one field (``None``: every field pooled), in one language or all."""
        n = self._sum(0, fld, lang)
        return self._sum(1, fld, lang) / n if n else None

    def wrong_rate(self, fld: str | None = None, lang: str | None = None) -> float | None:
        n = self._sum(0, fld, lang)
        return self._sum(2, fld, lang) / n if n else None

    def overall(self, lang: str | None = None) -> float | None:
        return self.accuracy(None, lang)

    def table(self) -> str:
        langs = [lg for lg in LANGS if self.cases.get(lg)] + sorted(set(self.cases) - set(LANGS))

        def pct(value: float | None) -> str:
            return "   -" if value is None else f"{value:4.2f}"

        head = f"{'field':<24}" + "".join(f"{lg:>6}" for lg in langs) + f"{'all':>6}   wrong" + \
            "".join(f"{lg:>6}" for lg in langs) + f"{'all':>6}"
        rows = [head, "-" * len(head)]
        for fld in (*FIELDS, None):
            name = fld or "overall"
            acc = "".join(f"  {pct(self.accuracy(fld, lg))}" for lg in [*langs, None])
            wrong = "".join(f"  {pct(self.wrong_rate(fld, lg))}" for lg in [*langs, None])
            rows.append(f"{name:<24}{acc}        {wrong}".rstrip())
        cases = ", ".join(f"{self.cases[lg]} {lg}" for lg in langs)
        rows.append(f"cases: {cases}; accuracy = correct / labelled, wrong = a proposed value that is not right")
        return "\n".join(rows)


# --- loading -------------------------------------------------------------------------------

def load_cases(lines: Iterable[str]) -> list[Case]:
    """Cases from JSON lines (blank lines and lines starting with ``#`` are skipped)."""
    cases = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        raw = json.loads(line)
        cases.append(Case(
            id=raw.get("id") or f"line-{number}", lang=raw["lang"], today=date.fromisoformat(raw["today"]),
            clients=tuple(raw.get("clients", ())), text=raw["text"], expected=dict(raw["expected"]),
        ))
    return cases


# --- scoring -------------------------------------------------------------------------------

def tokens(text: str) -> set[str]:
    """The tokens promise texts are compared by (see the module docstring)."""
    found: set[str] = set()
    for run in _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold()):
        if run.isascii():
            if run not in _STOP:
                found.add(run)
        elif len(run) == 1:
            found.add(run)
        else:
            found.update(run[i:i + 2] for i in range(len(run) - 1))
    return found


def overlap(a: str, b: str) -> float:
    """Dice coefficient of the two texts' tokens (1.0 for two texts with no tokens)."""
    ta, tb = tokens(a), tokens(b)
    if not ta and not tb:
        return 1.0
    return 2 * len(ta & tb) / (len(ta) + len(tb))


def _name(value: str | None) -> str | None:
    return None if value is None else " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def _promises_match(expected: list[dict[str, Any]], got: Sequence[Any]) -> bool:
    if len(expected) != len(got):
        return False
    if len(expected) > 6:  # never in practice; keeps the pairing search small
        return False
    wanted = [(e["text"], date.fromisoformat(e["due_on"]) if e.get("due_on") else None) for e in expected]
    return any(
        all(p.due_on == due and overlap(p.text, text) >= MIN_OVERLAP for p, (text, due) in zip(order, wanted))
        for order in permutations(got)
    )


def _same_name(expected: Any, got: Any, today: date) -> bool:
    return _name(got) == _name(expected)


def _same_day(expected: Any, got: Any, today: date) -> bool:
    """``None`` on either side means today."""
    return (got or today) == (date.fromisoformat(expected) if expected else today)


def _same_code(expected: Any, got: Any, today: date) -> bool:
    return (got.value if got is not None else None) == expected


def _same(expected: Any, got: Any, today: date) -> bool:
    return got == expected


def _same_level(expected: Any, got: Any, today: date) -> bool:
    return (int(got) if got is not None else None) == expected


def _same_promises(expected: Any, got: Any, today: date) -> bool:
    return _promises_match(expected, got)


def _same_presence(expected: Any, got: Any, today: date) -> bool:
    return bool(got) == bool(expected)


# How each field is judged right (see the module docstring), by the proposal's attribute.
_RIGHT: dict[str, Callable[[Any, Any, date], bool]] = {
    "client_name": _same_name,
    "occurred_on": _same_day,
    "kind": _same_code,
    "purpose": _same_code,
    "proof_shown": _same,
    "demanded_justification": _same,
    "asked_for": _same_level,
    "promises": _same_promises,
    "problem": _same_presence,
}
# Fields where an empty answer (no promise, an empty problem) is a miss, not a wrong value.
_BY_PRESENCE = ("promises", "problem")


def score(fld: str, expected: Any, proposal: Proposal, today: date) -> tuple[bool, bool, Any]:
    """``(correct, wrong, got)`` for one labelled field of one case."""
    if fld not in _RIGHT:
        raise ValueError(f"unknown field {fld!r}")
    value = getattr(proposal, fld)
    ok = _RIGHT[fld](expected, value, today)
    got = [(p.text, p.due_on.isoformat() if p.due_on else None) for p in value] if fld == "promises" else value
    proposed = bool(got) if fld in _BY_PRESENCE else got is not None
    return ok, not ok and proposed, got


def evaluate(reader: NoteReader, cases: Iterable[Case]) -> Report:
    """Read every case with ``reader`` and count, per language and field, what it got right."""
    report = Report()
    for case in cases:
        report.cases[case.lang] = report.cases.get(case.lang, 0) + 1
        proposal = reader.read(case.text, case.today, case.clients, case.lang)
        for fld in FIELDS:
            if fld not in case.expected:
                continue
            ok, wrong, got = score(fld, case.expected[fld], proposal, case.today)
            counts = report.counts.setdefault((case.lang, fld), [0, 0, 0])
            counts[0] += 1
            counts[1] += ok
            counts[2] += wrong
            if not ok:
                report.misses.append(Miss(case.id, fld, case.expected[fld], got, wrong))
    return report


# --- the runner ----------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None, reader: NoteReader | None = None,
         out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(prog="python -m coaching.reading_eval", description=__doc__.split("\n")[0])
    parser.add_argument("cases", help="a JSON-lines file of labelled notes (tests/data/notes.jsonl)")
    parser.add_argument("--misses", action="store_true", help="list every field a case got wrong")
    args = parser.parse_args(argv)
    with open(args.cases, encoding="utf-8") as lines:
        cases = load_cases(lines)
    report = evaluate(reader or RuleReader(), cases)
    if args.misses:
        for miss in report.misses:
            out(f"{miss.case_id:<8}{miss.field:<24}{'WRONG' if miss.wrong else 'miss ':<7}"
                f"expected {miss.expected!r}, got {miss.got!r}")
        out("")
    out(report.table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
