"""The /logmeeting form: the same fields as the conversation, collected in one Slack modal."""

from __future__ import annotations

from datetime import date
from typing import Any

from coaching.logflow import MAX_NAME, LogRequest
from bot.catalog import Catalog
from coaching.messages import Msg, msg
from coaching.model import Kind, PromiseDraft, Purpose, TrustLevel
from coaching.rules import Conversations
from bot.slack.render import LABEL_LIMIT, _cut

CALLBACK_ID = "log_form"


def _text(catalog: Catalog, key: str, locale: str | None, limit: int = 150) -> dict[str, str]:
    return {"type": "plain_text", "text": _cut(catalog.render(msg(key), locale), limit)}


def _options(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"text": {"type": "plain_text", "text": _cut(label, LABEL_LIMIT)}, "value": value} for value, label in pairs]


def modal(catalog: Catalog, locale: str | None, channel: str) -> dict[str, Any]:
    def label(key: str) -> str:
        return catalog.render(msg(key), locale)

    def block(block_id: str, title: str, element: dict[str, Any], optional: bool = False) -> dict[str, Any]:
        return {"type": "input", "block_id": block_id, "optional": optional, "label": _text(catalog, title, locale),
                "element": {"action_id": "value", **element}}

    kinds = _options([(k.value, label(f"kind.{k.value}")) for k in Kind])
    purposes = _options([(p.value, label(f"purpose.{p.value}.choice")) for p in Purpose.stated()])
    levels = _options([(str(lv.value), label(f"trust.asked.{lv.value}")) for lv in TrustLevel])
    yes_no = _options([("yes", label("word.yes")), ("no", label("word.no"))])
    return {
        "type": "modal", "callback_id": CALLBACK_ID, "private_metadata": channel,
        "title": _text(catalog, "slack.form.title", locale, 24), "submit": _text(catalog, "log.choice.save", locale, 24),
        "close": _text(catalog, "log.choice.cancel", locale, 24),
        "blocks": [
            block("client", "log.field.client",
                  {"type": "external_select", "action_id": "client_search", "min_query_length": 1}),
            block("date", "log.field.date", {"type": "datepicker"}, optional=True),
            block("kind", "log.field.kind", {"type": "static_select", "options": kinds}),
            block("purpose", "log.field.purpose", {"type": "static_select", "options": purposes}),
            block("note", "log.field.note", {"type": "plain_text_input", "multiline": True, "max_length": 2000}, True),
            block("proof", "log.ask.proof", {"type": "radio_buttons", "options": yes_no}, optional=True),
            block("promise", "log.field.promise", {"type": "plain_text_input", "max_length": 500}, optional=True),
            block("promise_due", "slack.form.promise_due", {"type": "datepicker"}, optional=True),
            block("problem", "log.field.problem", {"type": "plain_text_input", "max_length": 2000}, optional=True),
            block("asked_for", "log.field.asked_for", {"type": "static_select", "options": levels}, optional=True),
            block("justification", "log.ask.justification", {"type": "radio_buttons", "options": yes_no}, True),
        ],
    }


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _value(view: dict[str, Any], block_id: str) -> str | None:
    """What one field holds, as text (None if empty), whatever shape the state arrives in."""
    elements = _dict(_dict(_dict(view.get("state")).get("values")).get(block_id))
    element = _dict(next(iter(elements.values()), {}))
    if "selected_option" in element:
        value = _dict(element.get("selected_option")).get("value")
    elif "selected_date" in element:
        value = element.get("selected_date")
    else:
        value = element.get("value")
    return value.strip() or None if isinstance(value, str) else None


def _day(value: str | None) -> date | None:
    """A datepicker's ``YYYY-MM-DD``; None for anything else (a forged or garbled submission)."""
    try:
        return date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None


def _client(value: str | None, errors: dict[str, Msg]) -> tuple[int | None, str]:
    """The picked client's id (``client:<id>``) or a new client's name (``new:<name>``)."""
    client = value or ""
    picked, named = client[7:], client[4:].strip()
    if client.startswith("client:") and picked.isascii() and picked.isdigit() and len(client) < 20:
        return int(picked), ""
    if client.startswith("new:") and named:
        return None, named[:MAX_NAME]
    errors["client"] = msg("log.retry.client")
    return None, ""


def _occurred_on(value: str | None, today: date, errors: dict[str, Msg]) -> date:
    """The day of the meeting: today when left empty; never in the future."""
    on = _day(value or today.isoformat())
    if on is None:
        errors["date"] = msg("log.retry.date")
        return today
    if on > today:
        errors["date"] = msg("log.retry.date_past")
    return on


_KINDS, _PURPOSES = frozenset(k.value for k in Kind), frozenset(p.value for p in Purpose.stated())


def _kind_and_purpose(view: dict[str, Any], errors: dict[str, Msg]) -> tuple[str | None, str | None]:
    kind, purpose = _value(view, "kind"), _value(view, "purpose")
    if kind not in _KINDS:
        errors["kind"] = msg("log.retry.kind")
    if purpose not in _PURPOSES:
        errors["purpose"] = msg("log.retry.purpose")
    return kind, purpose


def _promises(view: dict[str, Any], on: date, errors: dict[str, Msg]) -> tuple[PromiseDraft, ...]:
    """A promise needs a valid due date, not before the meeting; a due date alone is no promise."""
    promise, due_text = _value(view, "promise"), _value(view, "promise_due")
    due = _day(due_text)
    if (promise and not due_text) or (due_text and due is None):
        errors["promise_due"] = msg("log.retry.date")
        return ()
    if not (promise and due):
        return ()
    if due < on:
        errors["promise_due"] = msg("log.retry.due_past", due=due)
    return (PromiseDraft(promise, due),)


def _asked_for(view: dict[str, Any], errors: dict[str, Msg]) -> str | None:
    asked = _value(view, "asked_for")
    if asked is not None and asked not in {str(level.value) for level in TrustLevel}:
        errors["asked_for"] = msg("log.retry.asked_for")
    return asked


def _yes_no(value: str | None) -> bool | None:
    """An optional yes/no radio: None when left unanswered."""
    return None if value is None else value == "yes"


def parse(view: dict[str, Any], today: date, rules: Conversations) -> tuple[LogRequest | None, dict[str, Msg]]:
    """The submitted form as a LogRequest, or Slack's per-field errors (block id -> message).
    Whatever the submission holds, the answer is one of the two, never an exception."""
    errors: dict[str, Msg] = {}
    client_id, client_name = _client(_value(view, "client"), errors)
    on = _occurred_on(_value(view, "date"), today, errors)
    kind, purpose = _kind_and_purpose(view, errors)
    promises = _promises(view, on, errors)
    asked = _asked_for(view, errors)
    if errors:
        return None, errors
    return LogRequest(
        client_id=client_id, client_name=client_name, occurred_on=on, kind=Kind(kind), purpose=Purpose(purpose),
        note=(_value(view, "note") or "")[: rules.max_note_chars], proof_shown=_value(view, "proof") == "yes",
        promises=promises, problem=_value(view, "problem"), asked_for=TrustLevel(int(asked)) if asked else None,
        demanded_justification=_yes_no(_value(view, "justification")),
    ), {}
