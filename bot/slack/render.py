"""Neutral replies as Block Kit, within Slack's limits; a reply's chart as a file to upload.

User text is escaped for mrkdwn (``&``, ``<``, ``>``), so a note can never ping ``<!channel>``
or smuggle a link; the catalogue's own words are trusted. Limits respected: 3,000 characters
per section text, 75 per button or option label, 5 buttons then a static select (at most 100
options), 50 blocks per message and 100 per Home tab.
"""

from __future__ import annotations

import re

from typing import Any

from coaching.messages import Catalog, Msg, language_of, msg
from coaching.replies import Chart, Choice, Reply

SECTION_LIMIT = 3000
LABEL_LIMIT = 75
BUTTONS_MAX = 5
OPTIONS_MAX = 100
MESSAGE_BLOCKS_MAX = 50
HOME_BLOCKS_MAX = 100


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


def plain(mrkdwn: str) -> str:
    """Slack message text as plain words: links and mentions by their labels (``<url|label>``
    -> label, ``<@U1>`` -> @U1, ``<!here>`` -> @here), entities unescaped."""
    def label(m: re.Match[str]) -> str:
        target, shown = m[1], m[2]
        if shown:
            return shown
        if target.startswith(("@", "#")):
            return target
        return "@" + target[1:] if target.startswith("!") else target
    return _LINK.sub(label, mrkdwn).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label(choice_label: Msg | str, catalog: Catalog, locale: str | None) -> str:
    text = catalog.render(choice_label, locale) if isinstance(choice_label, Msg) else choice_label
    return _cut(text, LABEL_LIMIT) or "-"


def lines_text(reply: Reply, catalog: Catalog, locale: str | None) -> list[str]:
    return [catalog.render(line, locale, escape) for line in reply.lines]


def _sections(texts: list[str]) -> list[dict[str, Any]]:
    """Pack lines into as few sections as fit in 3,000 characters each."""
    blocks, current = [], ""
    for text in texts:
        for piece in [text[i:i + SECTION_LIMIT] for i in range(0, len(text), SECTION_LIMIT)] or [""]:
            if current and len(current) + 1 + len(piece) > SECTION_LIMIT:
                blocks.append(current)
                current = piece
            else:
                current = f"{current}\n{piece}" if current else piece
    if current:
        blocks.append(current)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": b}} for b in blocks]


def choice_elements(choices: tuple[Choice, ...], catalog: Catalog, locale: str | None) -> list[dict[str, Any]]:
    if len(choices) <= BUTTONS_MAX:
        return [{"type": "button", "action_id": f"choice:{i}", "value": c.value[:2000],
                 "text": {"type": "plain_text", "text": _label(c.label, catalog, locale), "emoji": True}}
                for i, c in enumerate(choices)]
    options = [{"text": {"type": "plain_text", "text": _label(c.label, catalog, locale)}, "value": c.value[:150]}
               for c in choices[:OPTIONS_MAX]]
    placeholder = catalog.render(msg("slack.pick"), locale)
    return [{"type": "static_select", "action_id": "choice:select", "options": options,
             "placeholder": {"type": "plain_text", "text": _cut(placeholder, 150)}}]


def blocks(reply: Reply, catalog: Catalog, locale: str | None) -> list[dict[str, Any]]:
    if reply.line_choices:  # items with their own buttons (a digest)
        result: list[dict[str, Any]] = []
        for line, choices in reply.groups():
            result += _sections([catalog.render(line, locale, escape)])
            if choices:
                result.append({"type": "actions", "elements": choice_elements(choices, catalog, locale)})
        if reply.picker == "client":  # "someone else": type-ahead over every client (the check-in)
            result = result[: MESSAGE_BLOCKS_MAX - 1]
            result.append({"type": "actions", "elements": [_client_search(catalog, locale)]})
        return result[:MESSAGE_BLOCKS_MAX]
    result = _sections(lines_text(reply, catalog, locale))
    elements = choice_elements(reply.choices, catalog, locale) if reply.choices else []
    if reply.picker == "client":
        elements.append(_client_search(catalog, locale))
        elements.append({"type": "button", "action_id": "open_form", "value": "form",
                         "text": {"type": "plain_text", "text": _cut(catalog.render(msg("slack.form.open"), locale), LABEL_LIMIT)}})
    if elements:
        result = result[: MESSAGE_BLOCKS_MAX - 1]
        result.append({"type": "actions", "elements": elements[:25]})
    return result[:MESSAGE_BLOCKS_MAX]


def _client_search(catalog: Catalog, locale: str | None) -> dict[str, Any]:
    return {"type": "external_select", "action_id": "client_search", "min_query_length": 1,
            "placeholder": {"type": "plain_text", "text": _cut(catalog.render(msg("slack.search_client"), locale), 150)}}


def fallback_text(reply: Reply, catalog: Catalog, locale: str | None) -> str:
    """The notification text: the first line, plain."""
    texts = lines_text(reply, catalog, locale)
    return _cut(texts[0], 3000) if texts else " "


def home_view(reply: Reply, catalog: Catalog, locale: str | None) -> dict[str, Any]:
    return {"type": "home", "blocks": _sections(lines_text(reply, catalog, locale))[:HOME_BLOCKS_MAX]}


def chart_upload(chart: Chart, catalog: Catalog, locale: str | None) -> dict[str, Any]:
    """``files_upload_v2`` arguments for a chart (all but the channel): the PNG, its file name,
    its title and its alt text, in the reader's language. Draws the chart: call it off the event
    loop. (matplotlib is loaded on the first chart, not with this module.)"""
    from bot import charts

    lang = language_of(locale, catalog.default_language)
    return {"content": charts.render_png(chart, catalog, lang), "filename": charts.file_name(chart, lang),
            "title": charts.title(chart, catalog, lang), "alt_txt": charts.alt_text(catalog, lang)}
