"""What the coach reads off a Teams activity: who sent it, where (the personal chat or a
channel), when, in which time zone, and what a message says as plain text."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Any, Mapping

from microsoft_agents.activity import Activity

_THREAD_SUFFIX = re.compile(r";messageid=.*$", re.IGNORECASE | re.DOTALL)


def user_id(activity: Activity) -> str:
    sender = activity.from_property
    return (getattr(sender, "aad_object_id", None) or sender.id) if sender else ""


def channel_id(conversation_id: str) -> str:
    """A channel's own id: a channel message's conversation id names its thread too
    (``19:…@thread.tacv2;messageid=…``); capture and the team digest key on the channel."""
    return _THREAD_SUFFIX.sub("", conversation_id or "")


def shared(activity: Activity) -> bool:
    """A channel or a group chat (anything but the personal chat with the coach)."""
    return (activity.conversation.conversation_type or "personal") != "personal"


def where(activity: Activity) -> str:
    """The conversation the engine hears a message in: the personal chat, else the channel."""
    return channel_id(activity.conversation.id) if shared(activity) else activity.conversation.id


def mentions_coach(activity: Activity) -> bool:
    recipient = activity.recipient.id if activity.recipient else None
    return bool(recipient) and any(m.mentioned is not None and m.mentioned.id == recipient
                                   for m in activity.get_mentions())


def moment(value: Any) -> datetime | None:
    """An aware time from an ISO 8601 string or a datetime (UTC when it names no zone)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def client_timezone(activity: Activity) -> str | None:
    for entity in activity.entities or []:
        data = entity.model_dump() if hasattr(entity, "model_dump") else dict(entity)
        if data.get("type") == "clientInfo" and data.get("timezone"):
            return str(data["timezone"])
    return None


class _PlainText(HTMLParser):
    """A Teams message body (HTML) as plain text: tags dropped, entities decoded, one line per block."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(content: str, content_type: str | None = "html") -> str:
    """A message body as plain text (HTML unless ``content_type`` says "text"), blank lines dropped."""
    if (content_type or "html").lower() == "html":
        parser = _PlainText()
        parser.feed(content)
        parser.close()
        content = "".join(parser.parts)
    lines = (" ".join(line.replace("\xa0", " ").split()) for line in content.splitlines())
    return "\n".join(line for line in lines if line)


def message_text(payload: Mapping[str, Any]) -> str:
    """What a message action's ``messagePayload`` says: its subject (a channel post's title) and
    its body, as plain text."""
    body = payload.get("body")
    body = body if isinstance(body, Mapping) else {}
    content = body.get("content")
    parts = [payload.get("subject"), html_text(content, body.get("contentType")) if isinstance(content, str) else ""]
    return "\n".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
