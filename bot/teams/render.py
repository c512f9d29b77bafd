"""The coach's answers as Teams activities: a reply as a message with its Adaptive Card, and the
small dialog that answers an invoke."""

from __future__ import annotations

from typing import Any

from microsoft_agents.activity import Activity, Attachment

from bot.bootstrap import Coach
from bot.teams import cards
from coaching.replies import Reply


def reply_activity(reply: Reply, coach: Coach, locale: str | None) -> Activity:
    # The text goes in ``summary`` (notifications, the chat list), not ``text``: Teams shows a
    # message's text above its card, so every answer would appear twice.
    summary = cards.summary(reply, coach.catalog, locale)
    card = cards.card(reply, coach.catalog, locale, room=cards.MESSAGE_ROOM - cards.json_size(summary))
    return Activity(type="message", summary=summary,
                    attachments=[Attachment(content_type=cards.CONTENT_TYPE, content=card)])


def task_message(text: str) -> dict[str, Any]:
    """An invoke answer that Teams shows as a small dialog with ``text``."""
    return {"task": {"type": "message", "value": text}}
