"""The JSON schema the LLM note reader asks for, built from the reading contract's dataclasses.

:data:`PROPOSAL_SCHEMA` is derived from ``Proposal`` / ``ProposedPromise`` and the ``Kind`` /
``Purpose`` / ``TrustLevel`` enums, so it cannot drift from the contract; :data:`RESPONSE_FORMAT`
wraps it for Structured Outputs (``strict``). Used by :mod:`bot.llm` and :mod:`bot.llm_answer`.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from datetime import date
from typing import Any

from coaching.reading import Proposal

SCHEMA_NAME = "note_proposal"
INTERNAL_FIELDS = frozenset({"source", "notes"})  # set by the reader, never by the model

FIELD_HINTS: dict[str, str] = {
    "client_name": "The client this touch was with: exactly one of known_clients when it is one of them, "
                   "else the name as written in the note; null if unsure.",
    "occurred_on": "When the touch happened if the note says (\"yesterday\", \"11/20\"), as YYYY-MM-DD "
                   "relative to today; null if the note does not say.",
    "kind": "How the rep and the client met; null if unsure.",
    "purpose": "give: the rep brought value without asking (information, an introduction, help); "
               "ask: the rep asked for business (an order, a meeting, a referral, a decision); "
               "service: the rep handled a problem or request of the client's; "
               "contact: the rep kept in touch with nothing given or asked (a greeting, a check-in, "
               "a courtesy call; not a give). Null if unsure.",
    "summary": "The note itself, lightly tidied (spelling, spacing), in the rep's own words and language; "
               "keep placeholders such as [EMAIL_1] or [PHONE_1] exactly as they are.",
    "proof_shown": "true if the rep showed evidence of results (a case study, data, references); "
                   "false if the note says not; null if not mentioned.",
    "promises": "Each commitment the rep made to the client (not the client's), at most 5; empty if none.",
    "text": "What the rep promised, in a few words, in the note's language.",
    "due_on": "When it is due, as YYYY-MM-DD relative to today; null if the note gives no date.",
    "problem": "A problem or complaint the client raised, in a few words; null if none.",
    "asked_for": "What the client asked of the rep (its trust level); null if the client asked nothing.",
    "demanded_justification": "true if the client demanded that the rep justify claims (price, figures, fit); "
                              "false if clearly not; null if not mentioned.",
}

# The plain types the contract uses; each lookup hands out a copy, as callers add to it.
_SCALAR_SCHEMAS: dict[type, dict[str, Any]] = {
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    str: {"type": "string"},
    date: {"type": "string", "description": "an ISO date, YYYY-MM-DD"},
}


def _enum_hint(cls: type[enum.Enum]) -> str:
    if issubclass(cls, int):
        return "; ".join(f"{m.value} = {m.name.lower().replace('_', ' ')}" for m in cls)
    return ""


def _enum_schema(cls: type[enum.Enum]) -> dict[str, Any]:
    """An enum as its values; integer enums (trust levels) also say what each number means."""
    integer = issubclass(cls, int)
    schema: dict[str, Any] = {"type": "integer" if integer else "string", "enum": [m.value for m in cls]}
    if hint := _enum_hint(cls):
        schema["description"] = hint
    return schema


def _nullable_schema(tp: Any, args: tuple[Any, ...]) -> dict[str, Any]:
    """``X | None`` as X's schema with ``null`` allowed (in the type and, for enums, the values)."""
    inner = [a for a in args if a is not type(None)]
    if len(inner) != 1 or len(args) != 2:
        raise TypeError(f"only 'X | None' unions are supported, not {tp!r}")
    schema = _type_schema(inner[0])
    schema["type"] = [schema["type"], "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


def _type_schema(tp: Any) -> dict[str, Any]:
    """The JSON schema of one annotated type (the few kinds the contract uses)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return _nullable_schema(tp, args)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return {"type": "array", "items": _type_schema(args[0])}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_schema(tp)
    if isinstance(tp, type) and tp in _SCALAR_SCHEMAS:
        return dict(_SCALAR_SCHEMAS[tp])
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return object_schema(tp)
    raise TypeError(f"no JSON schema for {tp!r}")


def object_schema(cls: type, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A strict Structured Outputs schema for a dataclass: every field a required property
    (``X | None`` as a nullable type), enums as their values, no other properties."""
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in exclude:
            continue
        schema = _type_schema(hints[f.name])
        if f.name in FIELD_HINTS:
            detail = schema.get("description")
            schema["description"] = FIELD_HINTS[f.name] + (f" ({detail})" if detail else "")
        properties[f.name] = schema
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


PROPOSAL_SCHEMA: dict[str, Any] = object_schema(Proposal, exclude=INTERNAL_FIELDS)
RESPONSE_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": PROPOSAL_SCHEMA},
}
