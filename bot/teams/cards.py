"""Neutral replies as Adaptive Cards (version 1.5, the most Teams renders).

Lines become wrapped TextBlocks; choices become ``Action.Submit`` buttons carrying
``{"choice": value}`` (at most 5, else a compact ChoiceSet with one submit button). User text is
escaped for the card's markdown, so a note cannot render a link or emphasis it didn't ask for.
"""

from __future__ import annotations

import re
from typing import Any

from coaching.messages import Catalog, Msg, msg
from coaching.replies import Choice, Reply

CARD_VERSION = "1.5"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
BUTTONS_MAX = 5
_MARKDOWN = re.compile(r"([\\`*_\[\]()#+\-!>~|])")


def escape(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", text)


def _label(label: Msg | str, catalog: Catalog, locale: str | None) -> str:
    return catalog.render(label, locale) if isinstance(label, Msg) else label


def _actions(choices: tuple[Choice, ...], catalog: Catalog, locale: str | None, group: int) -> tuple[list, list]:
    """(body elements, actions) for one group of choices."""
    if len(choices) <= BUTTONS_MAX:
        return [], [{"type": "Action.Submit", "title": _label(c.label, catalog, locale)[:80],
                     "data": {"choice": c.value}} for c in choices]
    input_id = f"choice{group}"
    chooser = {"type": "Input.ChoiceSet", "id": input_id, "style": "compact", "value": choices[0].value,
               "choices": [{"title": _label(c.label, catalog, locale)[:80], "value": c.value} for c in choices[:100]]}
    submit = {"type": "Action.Submit", "title": catalog.render(msg("teams.pick"), locale), "data": {"pick": input_id}}
    return [chooser], [submit]


def card(reply: Reply, catalog: Catalog, locale: str | None) -> dict[str, Any]:
    body: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    for group, (line, choices) in enumerate(reply.groups()):
        # One TextBlock per line of text: Teams does not break a TextBlock's text at a single "\n".
        parts = [part for part in catalog.render(line, locale, escape).split("\n") if part.strip()] or [""]
        for n, part in enumerate(parts):
            spacing = {"spacing": "None"} if n else ({"spacing": "Small"} if body else {})
            body.append({"type": "TextBlock", "text": part, "wrap": True, **spacing,
                         **({"weight": "Bolder"} if group == 0 and n == 0 and len(reply.lines) > 2 else {})})
        if not choices:
            continue
        elements, buttons = _actions(choices, catalog, locale, group)
        if reply.line_choices:  # a digest item: its buttons right under it
            body += elements + [{"type": "ActionSet", "actions": buttons}]
        else:
            body += elements
            actions += buttons
    result: dict[str, Any] = {"type": "AdaptiveCard", "version": CARD_VERSION,
                              "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "body": body}
    if actions:
        result["actions"] = actions
    return result


def plain_text(reply: Reply, catalog: Catalog, locale: str | None) -> str:
    """The text a notification or a screen reader shows."""
    return "\n".join(catalog.render(line, locale) for line in reply.lines)


def chosen(value: dict[str, Any] | None) -> str | None:
    """What a card submit means: the chosen value, or None if it was no choice of ours."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("choice"), str):
        return value["choice"]
    picked = value.get(value.get("pick", ""))
    return picked if isinstance(picked, str) else None
