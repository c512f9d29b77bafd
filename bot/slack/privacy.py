"""Who asked, and where the coach may answer them.

Every answer about a rep's clients (a balance, a tip, a trust level) goes to the rep alone: their
DM with the coach, or a message only they see (a slash command's ephemeral answer). Never a
channel: a shared (Slack Connect) channel holds the client's own people. Slack's DM channel ids
start with D, and the coach is only ever in DMs with one person; so a D channel a request names is
the requesting user's own DM with the coach.

With OAuth installs every Slack team is a workspace of its own, and the configured workspace is
nobody's: a request whose team cannot be told is refused, never filed there.
"""

from __future__ import annotations

from typing import Any


class NoTeam(LookupError):
    """A request that names no Slack team, with OAuth installs (many workspaces)."""


def is_dm(channel: str | None) -> bool:
    return bool(channel) and str(channel).startswith("D")


def ids(body: dict[str, Any]) -> tuple[str, str]:
    """(team id, user id) of an interactive payload; empty when Slack left them out."""
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    team = body.get("team") if isinstance(body.get("team"), dict) else {}
    return str(team.get("id") or user.get("team_id") or ""), str(user.get("id") or "")


def team_of(body: dict[str, Any]) -> str:
    """The team a listener files the request under: a command's or an event's ``team_id``, an
    interactive payload's team (or its user's); empty when the request names none."""
    return str(body.get("team_id") or "") or ids(body)[0]
