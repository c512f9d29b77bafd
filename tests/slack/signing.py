"""Build Slack requests the way Slack sends them, signed with the real algorithm.

Each ``*_body`` function returns the raw body as a ``str`` (what is signed and sent);
``signed_headers(secret, body)`` gives the headers to send with it::

    body = slash_command_body("/ledger", "Acme", "U1", response_url=api.response_url())
    await http.post("/slack/events", data=body, headers=signed_headers(SECRET, body))
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

TEAM_ID = "T0TEST"
APP_ID = "A0TEST"
VERIFICATION_TOKEN = "verification-token"  # the deprecated token Slack still sends; unused
DEFAULT_RESPONSE_URL = "https://hooks.slack.com/commands/T0TEST/1/response"
DEFAULT_TRIGGER_ID = "1111.2222.trigger"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def signature(secret: str, body: str | bytes, timestamp: int | str) -> str:
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    base = f"v0:{timestamp}:{text}".encode("utf-8")
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: str | bytes, timestamp: int | None = None,
                   content_type: str | None = None) -> dict[str, str]:
    """X-Slack-Signature and X-Slack-Request-Timestamp (now, unless given) and Content-Type
    (JSON when the body starts with ``{``, form-encoded otherwise, unless given)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    return {
        "Content-Type": content_type or (JSON if text.lstrip().startswith("{") else FORM),
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": signature(secret, text, stamp),
    }


def _user(user_id: str, team_id: str) -> dict[str, Any]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(),
            "team_id": team_id}


def _team(team_id: str) -> dict[str, Any]:
    return {"id": team_id, "domain": team_id.lower()}


def _interactive(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def slash_command_body(command: str, text: str, user_id: str, team_id: str = TEAM_ID,
                       channel_id: str = "C1", response_url: str = DEFAULT_RESPONSE_URL,
                       trigger_id: str = DEFAULT_TRIGGER_ID) -> str:
    return urlencode({
        "token": VERIFICATION_TOKEN, "team_id": team_id, "team_domain": team_id.lower(),
        "channel_id": channel_id, "channel_name": "directmessage" if channel_id.startswith("D")
        else "general", "user_id": user_id, "user_name": user_id.lower(), "command": command,
        "text": text, "api_app_id": APP_ID, "is_enterprise_install": "false",
        "response_url": response_url, "trigger_id": trigger_id,
    })


def event_body(event: dict[str, Any], event_id: str = "Ev0TEST0001", team_id: str = TEAM_ID,
               event_time: int | None = None) -> str:
    return json.dumps({
        "token": VERIFICATION_TOKEN, "team_id": team_id, "api_app_id": APP_ID, "event": event,
        "type": "event_callback", "event_id": event_id,
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [{"enterprise_id": None, "team_id": team_id, "user_id": "UBOT",
                            "is_bot": True, "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
    })


def block_actions_body(user_id: str, actions: list[dict[str, Any]], channel_id: str | None = "C1",
                       message_ts: str = "1700000000.000100", team_id: str = TEAM_ID,
                       response_url: str | None = None, trigger_id: str = DEFAULT_TRIGGER_ID,
                       view: dict[str, Any] | None = None, ephemeral: bool = False) -> str:
    """A button/select press in a message (``channel_id``; ``ephemeral``: a message only the
    user sees, such as a slash command's answer) or, with ``channel_id=None``, in a view such as
    the Home tab (``view`` gives its fields; id, type and state are filled in)."""
    stamped = [{"block_id": "b1", "action_ts": "1700000001.000001", **action} for action in actions]
    payload: dict[str, Any] = {
        "type": "block_actions", "user": _user(user_id, team_id), "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN, "trigger_id": trigger_id, "team": _team(team_id),
        "enterprise": None, "is_enterprise_install": False, "actions": stamped,
    }
    if channel_id is not None:
        payload["container"] = {"type": "message", "message_ts": message_ts,
                                "channel_id": channel_id, "is_ephemeral": ephemeral}
        payload["channel"] = {"id": channel_id, "name": "directmessage"}
        payload["message"] = {"type": "message", "ts": message_ts, "user": "UBOT",
                              "bot_id": "BBOT", "text": "", "blocks": []}
    else:
        full_view = {"id": "V0TEST", "type": "home", "team_id": team_id, "blocks": [],
                     "state": {"values": {}}, "hash": "h1", **(view or {})}
        payload["container"] = {"type": "view", "view_id": full_view["id"]}
        payload["view"] = full_view
    if response_url is not None:
        payload["response_url"] = response_url
    return _interactive(payload)


def view_submission_body(user_id: str, callback_id: str,
                         values: dict[str, dict[str, dict[str, Any]]],
                         team_id: str = TEAM_ID, private_metadata: str = "",
                         view_id: str = "V0MODAL", trigger_id: str = DEFAULT_TRIGGER_ID) -> str:
    """``values`` is the modal's ``state.values``: {block_id: {action_id: {"type": ..., "value"
    or "selected_option": ...}}}."""
    return _interactive({
        "type": "view_submission", "team": _team(team_id), "user": _user(user_id, team_id),
        "api_app_id": APP_ID, "token": VERIFICATION_TOKEN, "trigger_id": trigger_id,
        "enterprise": None, "is_enterprise_install": False,
        "view": {"id": view_id, "team_id": team_id, "type": "modal", "callback_id": callback_id,
                 "private_metadata": private_metadata, "blocks": [],
                 "title": {"type": "plain_text", "text": "Coach"},
                 "state": {"values": values}, "hash": "h1", "app_id": APP_ID},
        "response_urls": [],
    })


def block_suggestion_body(user_id: str, action_id: str, value: str, team_id: str = TEAM_ID,
                          block_id: str = "b1", view_id: str = "V0MODAL") -> str:
    """An external_select asking for options (``value`` is what the user typed so far)."""
    return _interactive({
        "type": "block_suggestion", "user": _user(user_id, team_id),
        "container": {"type": "view", "view_id": view_id}, "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN, "action_id": action_id, "block_id": block_id,
        "value": value, "team": _team(team_id), "enterprise": None,
        "is_enterprise_install": False,
        "view": {"id": view_id, "team_id": team_id, "type": "modal", "blocks": [],
                 "private_metadata": "", "state": {"values": {}}, "hash": "h1"},
    })


def message_shortcut_body(user_id: str, callback_id: str, message: dict[str, Any], channel_id: str = "C1",
                          team_id: str = TEAM_ID, trigger_id: str = DEFAULT_TRIGGER_ID,
                          response_url: str = DEFAULT_RESPONSE_URL) -> str:
    """A message shortcut ("message_action") chosen on ``message`` in ``channel_id``."""
    payload = {
        "type": "message_action", "callback_id": callback_id, "trigger_id": trigger_id,
        "user": _user(user_id, team_id), "team": _team(team_id), "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN, "action_ts": "1700000002.000002", "message_ts": message.get("ts"),
        "channel": {"id": channel_id, "name": "acme-shared"}, "message": {"type": "message", **message},
        "response_url": response_url, "enterprise": None, "is_enterprise_install": False,
    }
    return _interactive(payload)
