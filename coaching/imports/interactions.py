"""Checking an interactions file: one touch a row, with at most one promise and one problem.

A promise marked ``kept`` or ``kept_late`` is scored by its dates (see :mod:`coaching.imports`).
"""

from __future__ import annotations

import enum
import hashlib
import json
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Callable, Iterable, Sequence, TypeVar

from coaching.imports import cells
from coaching.imports.shape import MAX_NAME_CHARS, Problem, Row, shown
from coaching.ledger import promise_outcome
from coaching.messages import Msg, msg
from coaching.model import InteractionDraft, Kind, ProblemDraft, PromiseDraft, PromiseStatus, Purpose, Setback
from coaching.vocabulary import kind_of, name_key, norm, purpose_of

T = TypeVar("T")
# The same few words fill a file's columns: each is looked up once (a large file has 200,000 rows).
_kind_of = lru_cache(maxsize=1024)(kind_of)
_purpose_of = lru_cache(maxsize=1024)(purpose_of)
_name_key = lru_cache(maxsize=8192)(name_key)
_norm = lru_cache(maxsize=8192)(norm)

OUTCOME_WORDS: dict[PromiseStatus, tuple[str, ...]] = {
    PromiseStatus.OPEN: ("open", "未完了"),
    PromiseStatus.KEPT: ("kept", "守った"),
    PromiseStatus.KEPT_LATE: ("kept_late", "kept late", "kept-late", "遅れて守った"),
    PromiseStatus.BROKEN: ("broken", "守れなかった"),
}
WON_WORDS = ("yes", "y", "true", "1", "won", "はい", "受注")
NOT_WON_WORDS = ("no", "n", "false", "0", "-", "いいえ", "なし")
SETBACK_WORDS: dict[Setback, tuple[str, ...]] = {
    Setback.FALSE_CLAIM: ("false_claim", "false claim", "事実と異なる説明", "虚偽"),
    Setback.MISUNDERSTANDING: ("misunderstanding", "誤解", "行き違い"),
}


@dataclass(frozen=True, slots=True)
class TouchLine:
    """One valid row of an interactions file (slots: a large file holds hundreds of thousands)."""

    line: int
    rep_email: str  # lower case
    client: str
    occurred_on: date
    kind: Kind
    purpose: Purpose
    note: str
    promise: PromiseDraft | None
    problem: ProblemDraft | None
    won_deal: str | None  # None: no deal; "": won, with nothing more said
    external_id: str
    setback: Setback | None = None  # what went wrong in this touch (the note says what)
    correction: bool = False  # the touch put the open setback right

    def draft(self, client_id: int) -> InteractionDraft:
        """The touch for :func:`coaching.services.record_touch`."""
        return InteractionDraft(
            client_id=client_id, occurred_on=self.occurred_on, kind=self.kind, purpose=self.purpose,
            note=self.note, promises=(self.promise,) if self.promise else (), problem=self.problem,
            won_deal=self.won_deal, source="import", external_id=self.external_id,
            setback=self.setback, correction=self.correction,
        )


def parse_interaction_row(line: int, row: Row, today: date) -> tuple[TouchLine | None, list[Msg]]:
    problems: list[Msg] = []
    on = cells.day(row, "date", problems, today, required=True)
    rep = cells.email(row, "rep", problems)
    client = _client(row, problems)
    kind = _word(row, "kind", _kind_of, Kind, problems)
    purpose = _word(row, "purpose", _purpose_of, Purpose.stated(), problems)
    note = row.get("note", "")
    promise = _promise(row, on, today, problems)
    problem = _problem(row, on, today, problems)
    won = _won(row.get("won_deal", ""))
    setback, correction = _setback(row, problems), _yes(row, "correction", problems)
    if problems:
        return None, problems
    assert on is not None and kind is not None and purpose is not None
    key = external_id([
        on.isoformat(), rep, _norm(client), kind.value, purpose.value, note.strip(),
        *_promise_values(promise), *_problem_values(problem), won,
        # only when set, so a row from before these columns keeps its identity
        *([setback.value] if setback else []), *(["correction"] if correction else []),
    ])
    return TouchLine(line, rep, client, on, kind, purpose, note, promise, problem, won, key, setback, correction), []


def check_interactions(rows: Iterable[tuple[int, Row]], today: date) -> tuple[list[TouchLine], list[Problem]]:
    parsed = [(line, parse_interaction_row(line, row, today)) for line, row in rows]
    return ([t for _, (t, _) in parsed if t is not None],
            [(line, m) for line, (_, found) in parsed for m in found])


def external_id(values: Sequence[object]) -> str:
    """``csv:`` and the SHA-256 of the row's normalised values: the same row imported twice
    is the same touch, whatever the spelling of its dates, codes or e-mail."""
    text = json.dumps([v if v is None else unicodedata.normalize("NFKC", str(v)) for v in values], ensure_ascii=False)
    return "csv:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _promise_values(promise: PromiseDraft | None) -> list[str | None]:
    """The promise's part of :func:`external_id` (its four columns, ``None`` when absent)."""
    if promise is None:
        return [None, None, None, None]
    closed_on = promise.closed_on and promise.closed_on.isoformat()
    return [promise.text, promise.due_on.isoformat(), promise.status.value, closed_on]


def _problem_values(problem: ProblemDraft | None) -> list[str | None]:
    """The problem's part of :func:`external_id` (its two columns, ``None`` when absent)."""
    if problem is None:
        return [None, None]
    return [problem.text, problem.first_response_on and problem.first_response_on.isoformat()]


def _client(row: Row, problems: list[Msg]) -> str:
    client = cells.text(row, "client", problems, required=True, limit=MAX_NAME_CHARS)
    if client and len(client) <= MAX_NAME_CHARS < len(_name_key(client)):  # "㍿" is stored as "株式会社"
        problems.append(msg("import.too_long", column="client", limit=MAX_NAME_CHARS))
    return client


def _word(row: Row, column: str, read: Callable[[str], T | None], allowed: Iterable[enum.Enum],
          problems: list[Msg]) -> T | None:
    """A kind or purpose: its code, or an English or Japanese word for it."""
    text = cells.text(row, column, problems, required=True)
    found = read(text) if text else None
    if text and found is None:
        problems.append(msg(f"import.bad_{column}", value=shown(text), allowed=[a.value for a in allowed]))
    return found


def _requires(row: Row, columns: Sequence[str], needed: str, problems: list[Msg]) -> None:
    for column in columns:
        if row.get(column) and not row.get(needed):
            problems.append(msg("import.needs", column=column, needed=needed))


def _promise(row: Row, on: date | None, today: date, problems: list[Msg]) -> PromiseDraft | None:
    if not (text := row.get("promise", "")):
        _requires(row, ("promise_due", "promise_outcome", "promise_closed_on"), "promise", problems)
        return None
    before = len(problems)
    due = cells.day(row, "promise_due", problems, None, on, required=True)
    status = _status(row, problems)
    closed = cells.day(row, "promise_closed_on", problems, today, on)
    _check_closing(row, status, problems)
    if len(problems) > before or due is None or status is None:
        return None
    if status in (PromiseStatus.KEPT, PromiseStatus.KEPT_LATE) and closed is not None:
        status = promise_outcome(due, closed)
    return PromiseDraft(text, due, status, closed)


def _outcome(text: str) -> PromiseStatus | None:
    return next((s for s, words in OUTCOME_WORDS.items() if _norm(text) in words), None)


def _status(row: Row, problems: list[Msg]) -> PromiseStatus | None:
    """The promise's outcome as written; empty means open."""
    status = _outcome(row.get("promise_outcome", "") or "open")
    if status is None:
        problems.append(msg("import.bad_outcome", value=shown(row["promise_outcome"]),
                            allowed=[s.value for s in PromiseStatus]))
    return status


def _check_closing(row: Row, status: PromiseStatus | None, problems: list[Msg]) -> None:
    """An open promise has no closing date; a kept or broken one needs it."""
    if status is PromiseStatus.OPEN and row.get("promise_closed_on"):
        problems.append(msg("import.open_but_closed"))
    elif status not in (None, PromiseStatus.OPEN) and not row.get("promise_closed_on"):
        problems.append(msg("import.needs_closed_on", outcome=status.value))


def _problem(row: Row, on: date | None, today: date, problems: list[Msg]) -> ProblemDraft | None:
    if problem_text := row.get("problem", ""):
        return ProblemDraft(problem_text, cells.day(row, "problem_answered_on", problems, today, on))
    _requires(row, ("problem_answered_on",), "problem", problems)
    return None


def _setback(row: Row, problems: list[Msg]) -> Setback | None:
    """``false_claim`` or ``misunderstanding`` (or a Japanese word for it); empty: none."""
    text = _norm(row.get("setback", ""))
    if not text:
        return None
    found = next((s for s, words in SETBACK_WORDS.items() if text in words), None)
    if found is None:
        problems.append(msg("import.bad_setback", value=shown(row["setback"]), allowed=[s.value for s in Setback]))
    return found


def _yes(row: Row, column: str, problems: list[Msg]) -> bool:
    text = _norm(row.get(column, ""))
    if not text or text in NOT_WON_WORDS:
        return False
    if text in ("yes", "y", "true", "1", "はい"):
        return True
    problems.append(msg("import.bad_yes_no", column=column, value=shown(row[column])))
    return False


def _won(text: str) -> str | None:
    if not text or _norm(text) in NOT_WON_WORDS:
        return None
    return "" if _norm(text) in WON_WORDS else text
