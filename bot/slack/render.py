"""Neutral replies as Block Kit, within Slack's limits; a reply's chart as a file to upload.

User text is escaped for mrkdwn (``&``, ``<``, ``>``), so a note can never ping ``<!channel>``
or smuggle a link; the catalogue's own words are trusted. mrkdwn has no escape for its
formatting marks, so in user text ``*``, ``_``, ``~`` and backticks (and their full-width forms)
become look-alike characters, and a leading ``>`` gets an invisible soft hyphen: a name cannot
turn the coach's words bold or into code. Control characters and bidi overrides are dropped.
Limits respected: 3,000 characters per section text (never cut inside an entity), 75 per button
or option label, 5 buttons then a static select (at most 100 options; a choice whose value is
longer than an option's 150 characters stays a button), 50 blocks per message and 100 per Home
tab.
"""

from __future__ import annotations

import re

from typing import Any

from bot.catalog import Catalog

from coaching.messages import Msg, language_of, msg
from coaching.replies import Chart, Choice, Reply, printable

SECTION_LIMIT = 3000
LABEL_LIMIT = 75
BUTTONS_MAX = 5
OPTIONS_MAX = 100
OPTION_VALUE_MAX = 150
BUTTON_VALUE_MAX = 2000
ACTIONS_MAX = 25  # elements in one actions block
MESSAGE_BLOCKS_MAX = 50
HOME_BLOCKS_MAX = 100

# Look-alikes for mrkdwn's formatting marks (the ones Slack's own clients accept, full-width too).
_MARKS = str.maketrans({"*": "\u2217", "\uff0a": "\ufe61", "_": "\u02cd", "\uff3f": "\u2e0f", "~": "\u223c",
                        "`": "\u02cb", "\uff40": "\u02cb"})
_QUOTE = re.compile(r"^([ \t]*)(&gt;|\uff1e)", re.MULTILINE)  # a line that would become a quote
_ENTITY_TAIL = re.compile(r"&[a-z]{0,3}$")


def escape(text: str) -> str:
    """User text for mrkdwn: as words, never markup (see above)."""
    text = printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _QUOTE.sub("\\1\u00ad\\2", text.translate(_MARKS))


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


def _safe_cut(mrkdwn: str, limit: int) -> str:
    """``_cut`` for escaped text: never leaves half an entity (``&am``) before the ellipsis."""
    if len(mrkdwn) <= limit:
        return mrkdwn
    head = mrkdwn[: limit - 1]
    return _ENTITY_TAIL.sub("", head) + "…"


def _label(choice_label: Msg | str, catalog: Catalog, locale: str | None) -> str:
    # plain_text: nothing to escape, but nothing unshowable either
    text = catalog.render(choice_label, locale, printable) if isinstance(choice_label, Msg) else choice_label
    return _cut(printable(text), LABEL_LIMIT).strip() or "-"


def lines_text(reply: Reply, catalog: Catalog, locale: str | None) -> list[str]:
    return [catalog.render(line, locale, escape) for line in reply.lines]


def _pieces(text: str) -> list[str]:
    """A line in pieces of at most 3,000 characters, cut at a line break when there is one in the
    last tenth, and never inside an entity."""
    pieces = []
    while len(text) > SECTION_LIMIT:
        head = text[:SECTION_LIMIT]
        cut = head.rfind("\n", SECTION_LIMIT * 9 // 10) + 1 or len(_ENTITY_TAIL.sub("", head)) or SECTION_LIMIT
        pieces.append(text[:cut].rstrip("\n"))
        text = _QUOTE.sub("\\1\u00ad\\2", text[cut:], count=1)  # a piece starting "&gt;" is no quote either
    return pieces + [text]


def _sections(texts: list[str]) -> list[dict[str, Any]]:
    """Pack lines into as few sections as fit in 3,000 characters each."""
    blocks, current = [], ""
    for text in texts:
        for piece in _pieces(text):
            if current and len(current) + 1 + len(piece) > SECTION_LIMIT:
                blocks.append(current)
                current = piece
            else:
                current = f"{current}\n{piece}" if current else piece
    if current:
        blocks.append(current)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": b}} for b in blocks]


def _button(n: int, choice: Choice, catalog: Catalog, locale: str | None) -> dict[str, Any]:
    return {"type": "button", "action_id": f"choice:{n}", "value": choice.value[:BUTTON_VALUE_MAX],
            "text": {"type": "plain_text", "text": _label(choice.label, catalog, locale), "emoji": True}}


def choice_elements(choices: tuple[Choice, ...], catalog: Catalog, locale: str | None) -> list[dict[str, Any]]:
    if len(choices) <= BUTTONS_MAX:
        return [_button(i, c, catalog, locale) for i, c in enumerate(choices)]
    # An option's value holds 150 characters: a longer one (a new client's long name) would come
    # back cut, so that choice stays a button, whose value holds 2,000.
    fits = [c for c in choices if len(c.value) <= OPTION_VALUE_MAX][:OPTIONS_MAX]
    long = [(i, c) for i, c in enumerate(choices) if len(c.value) > OPTION_VALUE_MAX][: ACTIONS_MAX - 1]
    options = [{"text": {"type": "plain_text", "text": _label(c.label, catalog, locale)}, "value": c.value}
               for c in fits]
    placeholder = catalog.render(msg("slack.pick"), locale)
    select = [{"type": "static_select", "action_id": "choice:select", "options": options,
               "placeholder": {"type": "plain_text", "text": _cut(placeholder, 150)}}] if options else []
    return select + [_button(i, c, catalog, locale) for i, c in long]


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
        result.append({"type": "actions", "elements": elements[:ACTIONS_MAX]})
    return result[:MESSAGE_BLOCKS_MAX]


def search_options(found: list[tuple[str, str]], query: str, catalog: Catalog,
                   locale: str | None) -> list[dict[str, Any]]:
    """The type-ahead's answer to what the rep typed: the engine's (value, label) pairs as
    options (an empty label is "add it as a new client"), at most 100, in the rep's language;
    none whose value Slack would cut at 150 characters (a new name that long is typed in the DM)."""
    new_label = catalog.render(msg("log.choice.new_client", name=query.strip()), locale)
    return [{"text": {"type": "plain_text", "text": _label(label or new_label, catalog, locale)}, "value": value}
            for value, label in found if len(value) <= OPTION_VALUE_MAX][:OPTIONS_MAX]


def _client_search(catalog: Catalog, locale: str | None) -> dict[str, Any]:
    return {"type": "external_select", "action_id": "client_search", "min_query_length": 1,
            "placeholder": {"type": "plain_text", "text": _cut(catalog.render(msg("slack.search_client"), locale), 150)}}


def fallback_text(reply: Reply, catalog: Catalog, locale: str | None) -> str:
    """The notification text: the first line, plain."""
    texts = lines_text(reply, catalog, locale)
    return _safe_cut(texts[0], SECTION_LIMIT) if texts and texts[0].strip() else " "


def home_view(reply: Reply, catalog: Catalog, locale: str | None) -> dict[str, Any]:
    return {"type": "home", "blocks": _sections(lines_text(reply, catalog, locale))[:HOME_BLOCKS_MAX]}


def chart_upload(chart: Chart, catalog: Catalog, locale: str | None) -> dict[str, Any]:
    """``files_upload_v2`` arguments for a chart (all but the channel): the PNG, its file name,
    its title and its alt text, in the reader's language. May wait for the chart process to draw
    it: call it off the event loop."""
    from bot import chartcache as charts

    lang = language_of(locale, catalog.default_language)
    return {"content": charts.render_png(chart, catalog, lang), "filename": charts.file_name(chart, lang),
            "title": charts.title(chart, catalog, lang), "alt_txt": charts.alt_text(catalog, lang)}
