"""Neutral replies as Adaptive Cards (version 1.5, the most Teams renders).

Lines become wrapped TextBlocks; choices become ``Action.Submit`` buttons carrying
``{"choice": value}`` (at most 5, else a ChoiceSet with one submit button; ``filtered``, so the
rep can type to narrow it, at most 100 choices). User text is escaped for the card's markdown
(a backslash before every mark, ``&`` and ``<`` included, and before the dot of any line's
leading ``1.``), so a note cannot render a link, emphasis, a list or a ``{{DATE()}}`` it didn't
ask for; control characters and bidi overrides are dropped, and each line is its own TextBlock
with no leading spaces (which would make it code).
A reply's chart comes after the lines as an ``Image`` whose url is the PNG itself (a ``data:``
URI: the coach has no public URL to serve files from, and the message stays self-contained),
as long as the card stays within Teams' message size.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from typing import Any

from bot.catalog import Catalog

from coaching.messages import Msg, language_of, msg
from coaching.replies import Chart, Choice, Reply, printable

log = logging.getLogger(__name__)

CARD_VERSION = "1.5"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
BUTTONS_MAX = 5
# Teams refuses a bot message over about 28 KB, measured as sent: JSON, non-ASCII as \uXXXX
# (6 bytes for each Japanese character). The chart gets the room the text leaves, or is left out.
TEAMS_MESSAGE_MAX = 28_000
ENVELOPE_BYTES = 2_000  # the activity's other fields: ids, from, recipient, conversation, service URL
MESSAGE_ROOM = TEAMS_MESSAGE_MAX - ENVELOPE_BYTES
IMAGE_BYTES_MIN = 4_000  # below this no chart is legible: not worth drawing
CHOICES_MAX = 100
TITLE_MAX = 80
_MARKDOWN = re.compile(r"([\\`*_\[\]()#+\-!>~|&<{}])")
# "1. x" or "1) x" would start a numbered list: checked on each whole line, since the digits may
# be a name's and the dot the catalogue's
_ORDERED = re.compile(r"^(\d{1,9})([.)])")


def escape(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", printable(text))


def _label(label: Msg | str, catalog: Catalog, locale: str | None) -> str:
    """A button or choice title: plain text (not markdown), nothing unshowable, never empty."""
    text = catalog.render(label, locale, printable) if isinstance(label, Msg) else printable(label)
    return " ".join(text.split())[:TITLE_MAX] or "-"


def _actions(choices: tuple[Choice, ...], catalog: Catalog, locale: str | None, group: int) -> tuple[list, list]:
    """(body elements, actions) for one group of choices."""
    if len(choices) <= BUTTONS_MAX:
        return [], [{"type": "Action.Submit", "title": _label(c.label, catalog, locale),
                     "data": {"choice": c.value}} for c in choices]
    input_id = f"choice{group}"
    chooser = {"type": "Input.ChoiceSet", "id": input_id, "style": "filtered", "value": choices[0].value,
               "choices": [{"title": _label(c.label, catalog, locale), "value": c.value}
                           for c in choices[:CHOICES_MAX]]}
    submit = {"type": "Action.Submit", "title": catalog.render(msg("teams.pick"), locale), "data": {"pick": input_id}}
    return [chooser], [submit]


def _text_blocks(text: str, bold: bool, first: bool) -> list[dict[str, Any]]:
    """One TextBlock per line of text: Teams does not break a TextBlock's text at a single "\n".
    ``bold``: the first line is a title; ``first``: nothing above it, so no spacing either."""
    parts = [_ORDERED.sub(r"\1\\\2", part.strip()) for part in text.split("\n") if part.strip()] or [""]
    blocks = []
    for n, part in enumerate(parts):
        spacing = {"spacing": "None"} if n else ({} if first else {"spacing": "Small"})
        blocks.append({"type": "TextBlock", "text": part, "wrap": True, **spacing,
                       **({"weight": "Bolder"} if bold and n == 0 else {})})
    return blocks


def json_size(value: Any) -> int:
    """Bytes as the SDK sends it (aiohttp's ``json.dumps``)."""
    return len(json.dumps(value))


def card(reply: Reply, catalog: Catalog, locale: str | None, room: int = MESSAGE_ROOM) -> dict[str, Any]:
    """The reply as a card of at most about ``room`` bytes: a chart is drawn smaller, or left
    out, to fit; text that alone would not fit (fifty long Japanese names, a page of long
    promises) loses its last lines, and an ellipsis says so, rather than Teams refusing it all."""
    body: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    for group, (line, choices) in enumerate(reply.groups()):
        body += _text_blocks(catalog.render(line, locale, escape), bold=group == 0 and len(reply.lines) > 2,
                             first=not body)
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
    _fit(result, room)
    if reply.chart is not None and (image := chart_image(reply.chart, catalog, locale, room - json_size(result) - 2)):
        body.append(image)  # after the lines (and their buttons); the card's actions stay last
    return result


ELLIPSIS = "…"


def _fit(result: dict[str, Any], room: int) -> None:
    """Within ``room`` bytes: drop the trailing lines (never an input or a button), else shorten
    the longest line, until the card fits with an ellipsis where the text stops."""
    if json_size(result) <= room:
        return
    body, room = result["body"], room - json_size({"type": "TextBlock", "text": ELLIPSIS, "wrap": True}) - 2
    dropped = False
    while (excess := json_size(result) - room) > 0:
        if len(body) > 1 and body[-1]["type"] == "TextBlock":
            body.pop()
            dropped = True
            continue
        longest = max((e for e in body if e["type"] == "TextBlock"), key=lambda e: len(e["text"]), default=None)
        if longest is None or not longest["text"]:
            return  # nothing left to cut: the inputs and buttons alone are this big
        # a character takes 1 to 12 bytes as sent: cut one per 7 bytes too many, again if need be
        text = longest["text"].removesuffix(ELLIPSIS)
        longest["text"] = text[: max(0, len(text) - max(1, excess // 7))].rstrip("\\") + ELLIPSIS
    if dropped:
        body.append({"type": "TextBlock", "text": ELLIPSIS, "wrap": True, "spacing": "None"})


def chart_image(chart: Chart, catalog: Catalog, locale: str | None, room: int = MESSAGE_ROOM) -> dict[str, Any] | None:
    """An ``Image`` element showing the chart, the PNG inline as a ``data:`` URI, in at most
    ``room`` bytes of JSON; None (logged) when no legible chart fits."""
    from bot import chartcache as charts  # drawn in the chart process, kept on disk

    lang = language_of(locale, catalog.default_language)
    prefix = "data:image/png;base64,"
    image = {"type": "Image", "url": prefix, "altText": charts.alt_text(catalog, lang), "size": "Stretch",
             "spacing": "Medium"}
    budget = (room - json_size(image)) * 3 // 4  # base64: 4 characters for every 3 bytes
    png = charts.render_png(chart, catalog, lang, max_bytes=budget) if budget >= IMAGE_BYTES_MIN else b""
    if not png or len(png) > budget:
        log.warning("no room for the chart in a Teams card (%d bytes free, %d needed); sent without it",
                    max(budget, 0), len(png))
        return None
    image["url"] = prefix + base64.b64encode(png).decode("ascii")
    return image


SUMMARY_BYTES = 2_000  # as sent; the card gets the rest of the message


def summary(reply: Reply, catalog: Catalog, locale: str | None) -> str:
    """The activity's summary (notifications, the chat list): the text, as much as fits in
    about 2 KB as sent; with a chart, only the first line, so the room goes to the picture (the
    card has every line anyway)."""
    if reply.chart is not None and reply.lines:
        text = catalog.render(reply.lines[0], locale, printable)
    else:
        text = plain_text(reply, catalog, locale)
    while json_size(text) > SUMMARY_BYTES:
        text = text.removesuffix(ELLIPSIS)
        text = text[: len(text) - max(1, (json_size(text) - SUMMARY_BYTES) // 6)] + ELLIPSIS
    return text


def plain_text(reply: Reply, catalog: Catalog, locale: str | None) -> str:
    """The text a notification or a screen reader shows."""
    return "\n".join(catalog.render(line, locale, printable) for line in reply.lines)


def chosen(value: dict[str, Any] | None) -> str | None:
    """What a card submit means: the chosen value, or None if it was no choice of ours."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("choice"), str):
        return value["choice"]
    picked = value.get(value.get("pick", ""))
    return picked if isinstance(picked, str) else None
