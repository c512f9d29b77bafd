"""The saved conversation of one person in one place: the logging flow under way, or the
numbered choices of the last answer (a number typed next picks one). Read and written inside
the turn's unit of work, so the state and what the turn recorded commit together."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from coaching.messages import Msg, msg
from coaching.ports import UnitOfWork


class Dialog:
    def __init__(self, uow: UnitOfWork, key: tuple[str, str, str], now: datetime) -> None:
        self.uow, self.key, self.now = uow, key, now  # key: workspace, conversation, user

    def load(self, expire_minutes: int) -> tuple[dict[str, Any] | None, list[Msg]]:
        """The state, and what to say first (an expired conversation was dropped)."""
        record = self.uow.dialogs.get(*self.key)
        if record is None:
            return None, []
        if self.now - record.updated_at > timedelta(minutes=expire_minutes):
            self.end()
            return None, [msg("log.expired")]
        return record.state, []

    def save(self, state: dict[str, Any]) -> None:
        self.uow.dialogs.save(*self.key, state, self.now)

    def end(self) -> None:
        self.uow.dialogs.delete(*self.key)


def picked(state: dict[str, Any], text: str) -> str:
    """A number typed after a command's answer picks its numbered choice (the promises list)."""
    choices = state.get("choices") or []
    if text.isdecimal() and len(text) <= 3 and 1 <= int(text) <= len(choices):
        return choices[int(text) - 1]
    return text
