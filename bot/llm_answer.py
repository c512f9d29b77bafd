"""Validating the LLM note reader's answer, field by field, against the reading contract.

Malformed JSON or a shape other than :data:`bot.llm_schema.PROPOSAL_SCHEMA`'s fails the whole
exchange (:class:`_Failure`, and the fallback reader takes over); a single field whose value is
unusable becomes ``None`` (``()`` for promises) with a fixed reason in ``notes``, never a guess.
Placeholders put in by :mod:`bot.masking` are restored in the texts that come back.
"""

from __future__ import annotations

import enum
import json
import re
import types
import typing
import unicodedata
from datetime import date, timedelta
from typing import Any, Callable, Mapping, Sequence

from bot.llm_schema import PROPOSAL_SCHEMA
from bot.masking import unmask
from coaching.reading import Proposal, ProposedPromise

MAX_NOTE_CHARS = 4000  # longer notes go to the fallback reader whole rather than cut
MAX_CLIENTS_SENT = 200
MAX_PROMISES = 5
MAX_CHARS = {"client_name": 120, "summary": MAX_NOTE_CHARS + 500, "problem": 300, "text": 300}
OCCURRED_WITHIN = timedelta(days=366)  # a touch logged up to a year late
DUE_WITHIN = timedelta(days=3 * 366)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class _Failure(Exception):
    """The exchange failed; ``kind`` is all that gets logged."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class _Invalid(Exception):
    """One field's value is unusable; the reason is a fixed phrase, never the value."""


def _date_range(name: str, today: date) -> tuple[date, date]:
    if name == "occurred_on":
        return today - OCCURRED_WITHIN, today
    return today - timedelta(days=1), today + DUE_WITHIN  # due dates


# ---- one value as one type -----------------------------------------------------------------

def _to_enum(tp: type[enum.Enum], value: Any) -> enum.Enum:
    # bool is an int in Python, but true/false is never a trust level
    if isinstance(value, bool) or not isinstance(value, int if issubclass(tp, int) else str):
        raise _Invalid("wrong type")
    try:
        return tp(value)
    except ValueError:
        raise _Invalid("not an allowed value") from None


def _to_bool(name: str, value: Any, today: date) -> bool:
    if not isinstance(value, bool):
        raise _Invalid("wrong type")
    return value


def _to_text(name: str, value: Any, today: date) -> str:
    """Whitespace collapsed (the summary only trimmed, to keep the note's lines), never empty."""
    if not isinstance(value, str):
        raise _Invalid("wrong type")
    text = " ".join(value.split()) if name != "summary" else value.strip()
    if not text:
        raise _Invalid("empty")
    if len(text) > MAX_CHARS.get(name, 1000):
        raise _Invalid("too long")
    return text


def _to_date(name: str, value: Any, today: date) -> date:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise _Invalid("not an ISO date")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _Invalid("not an ISO date") from None
    earliest, latest = _date_range(name, today)
    if not earliest <= day <= latest:
        raise _Invalid("out of range")
    return day


_CONVERTERS: dict[type, Callable[[str, Any, date], Any]] = {bool: _to_bool, str: _to_text, date: _to_date}


def _convert(name: str, tp: Any, value: Any, today: date) -> Any:
    """``value`` as ``tp``, or :class:`_Invalid`. ``None`` passes for ``X | None``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        return _convert(name, next(a for a in args if a is not type(None)), value, today)
    if value is None:
        raise _Invalid("null")
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _to_enum(tp, value)
    converter = _CONVERTERS.get(tp) if isinstance(tp, type) else None
    if converter is None:
        raise TypeError(f"cannot convert to {tp!r}")  # the schema builder would have refused it too
    return converter(name, value, today)


# ---- the fields that need more than their type ---------------------------------------------

def _normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _client_name(value: str, note: str, clients: Sequence[str]) -> str:
    wanted = _normal(value)
    for client in clients:
        if _normal(client) == wanted:
            return client  # the known spelling
    if wanted not in _normal(note):
        raise _Invalid("neither a known client nor in the note")
    return value


def _promises(value: Any, today: date, originals: Mapping[str, str], notes: list[str]
              ) -> tuple[ProposedPromise, ...]:
    if not isinstance(value, list):
        raise _Invalid("wrong type")
    if len(value) > MAX_PROMISES:
        raise _Invalid("too many")
    hints = typing.get_type_hints(ProposedPromise)
    found = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != set(hints):
            notes.append(f"promises[{index}]: dropped (wrong shape)")
            continue
        try:
            text = _convert("text", hints["text"], item["text"], today)
        except _Invalid as why:
            notes.append(f"promises[{index}]: dropped (text {why})")
            continue
        try:
            due_on = _convert("due_on", hints["due_on"], item["due_on"], today)
        except _Invalid as why:
            notes.append(f"promises[{index}].due_on: {why}")
            due_on = None
        found.append(ProposedPromise(text=unmask(text, originals), due_on=due_on))
    return tuple(found)


def _refine(name: str, value: Any, note: str, clients: Sequence[str], originals: Mapping[str, str]) -> Any:
    """A converted value made final: the client's known spelling, the rep's own texts restored."""
    if value is None:
        return None
    if name == "client_name":
        return _client_name(value, note, clients)
    if name in ("summary", "problem"):
        return unmask(value, originals)
    return value


def parse_proposal(content: str, *, note: str, today: date, clients: Sequence[str],
                   originals: Mapping[str, str] | None = None) -> Proposal:
    """The model's answer as a :class:`Proposal` (source ``"llm"``). Malformed JSON or a shape
    other than the schema's raises :class:`_Failure`; a field whose value is unusable becomes
    ``None`` (``()`` for promises), with the reason in ``notes``."""
    originals = originals or {}
    try:
        data = json.loads(content)
    except (TypeError, ValueError):
        raise _Failure("malformed_json") from None
    properties = PROPOSAL_SCHEMA["properties"]
    if not isinstance(data, dict) or set(data) != set(properties):
        raise _Failure("schema_mismatch")
    hints = typing.get_type_hints(Proposal)
    fields: dict[str, Any] = {}
    notes: list[str] = []
    for name in properties:
        try:
            if name == "promises":
                fields[name] = _promises(data[name], today, originals, notes)
            else:
                value = _convert(name, hints[name], data[name], today)
                fields[name] = _refine(name, value, note, clients, originals)
        except _Invalid as why:
            notes.append(f"{name}: {why}")
            fields[name] = () if name == "promises" else None
    return Proposal(**fields, source="llm", notes=tuple(notes))
