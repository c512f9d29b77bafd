"""The Microsoft Teams app package a Teams admin uploads: a zip holding ``manifest.json``, its
Japanese strings (``ja-jp.json``), a 192x192 colour icon and a 32x32 outline icon.

The manifest follows Microsoft's Teams app manifest schema v1.30 (the newest stable version that
the npm package ``@microsoft/app-manifest`` ships; tests/teams validates against it). The words
come from the catalogue (``coaching/locales/*/teams.toml``). The icons are drawn here with the
standard library only, so the package builds anywhere, byte for byte the same each time.

Besides the bot and its command menu the manifest declares one message action, "Log as client
touch" (a bot-based message extension: Teams sends the bot a ``composeExtension/fetchTask``
invoke with the message), and one resource-specific consent permission, ``ChannelMessage.Read.Group``:
without it Teams delivers a channel message to the bot only when it is @mentioned, and channel
capture needs the un-mentioned ones too (docs/teams.md says what is read and kept).
"""

from __future__ import annotations

import json
import math
import re
import struct
import uuid
import zipfile
import zlib
from pathlib import Path
from typing import Any, Callable, Iterable

from bot.catalog import Catalog

from coaching.messages import msg

SCHEMA_VERSION = "1.30"
SCHEMA_BASE = f"https://developer.microsoft.com/json-schemas/teams/v{SCHEMA_VERSION}"
MANIFEST_SCHEMA = f"{SCHEMA_BASE}/MicrosoftTeams.schema.json"
LOCALIZATION_SCHEMA = f"{SCHEMA_BASE}/MicrosoftTeams.Localization.schema.json"

# The Microsoft 365 Agents SDK reads the bot's app (client) id from this setting.
BOT_ID_ENV = "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID"

TEAMS_COMMANDS = ("logmeeting", "ledger", "promises", "setback", "won", "teamhealth", "away", "back", "help")
# The message action's command id: Teams sends it back as ``commandId`` (bot/teams/app.py).
MESSAGE_ACTION = "logClientTouch"
# Resource-specific consent, granted per team by whoever installs the app there: the bot gets
# every message of that team's channels, not only those that @mention it (channel capture).
RSC_PERMISSIONS = (("ChannelMessage.Read.Group", "Application"),)
# webApplicationInfo.resource has no use for RSC, but Teams wants a value there (any string).
RSC_RESOURCE = "https://RscPermission"
SCOPES = ("personal", "team", "groupChat")
ACCENT_COLOR = "#1f4e79"  # the Slack app's background colour
WEBSITE = "https://coach.example.com"  # placeholder host, as in manifest.yml
DEFAULT_LANGUAGE_TAG = "en-us"
ADDITIONAL_LANGUAGES = {"ja-jp": "ja"}  # Teams language tag -> catalogue language
MANIFEST_FILE, COLOR_FILE, OUTLINE_FILE = "manifest.json", "color.png", "outline.png"
COLOR_SIZE, OUTLINE_SIZE = 192, 32

# uuid5 namespace for the Teams app id, so one bot always gets the same app id (re-uploading a
# package updates the app instead of adding a second one).
_APP_ID_NAMESPACE = uuid.UUID("6f1d3c2e-8a47-5b0e-9c61-2d5e7a9b4c13")
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_SEMVER = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
_DOMAIN = re.compile(r"(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def app_id(bot_id: str) -> str:
    """The Teams app id: a GUID derived from the bot id (stable, and never the bot id itself)."""
    return str(uuid.uuid5(_APP_ID_NAMESPACE, f"coach-teams-app:{_check_bot_id(bot_id).lower()}"))


def manifest(bot_id: str, valid_domains: Iterable[str] = (), version: str = "1.0.0") -> dict[str, Any]:
    """manifest.json as a dict. ``bot_id`` is the Azure bot's app (client) id (``BOT_ID_ENV``)."""
    bot_id = _check_bot_id(bot_id)
    if not _SEMVER.fullmatch(version):
        raise ValueError(f"the app version must look like 1.0.0 (semver), not {version!r}")
    text = _words("en")
    return {
        "$schema": MANIFEST_SCHEMA,
        "manifestVersion": SCHEMA_VERSION,
        "version": version,
        "id": app_id(bot_id),
        "localizationInfo": {
            "defaultLanguageTag": DEFAULT_LANGUAGE_TAG,
            "additionalLanguages": [{"languageTag": tag, "file": localization_file(tag)}
                                    for tag in ADDITIONAL_LANGUAGES],
        },
        "developer": {
            "name": "Coach",
            "websiteUrl": f"{WEBSITE}/",
            "privacyUrl": f"{WEBSITE}/privacy",
            "termsOfUseUrl": f"{WEBSITE}/terms",
        },
        "name": {"short": text["app.short"], "full": text["app.full"]},
        "description": {"short": text["app.description_short"], "full": text["app.description_full"]},
        "icons": {"color": COLOR_FILE, "outline": OUTLINE_FILE},
        "accentColor": ACCENT_COLOR,
        "bots": [{
            "botId": bot_id,
            "scopes": list(SCOPES),
            "supportsFiles": False,
            "isNotificationOnly": False,
            "commandLists": [{
                "scopes": list(SCOPES),
                "commands": [{"title": text[f"command.{name}.title"],
                              "description": text[f"command.{name}.description"]}
                             for name in TEAMS_COMMANDS],
            }],
        }],
        "composeExtensions": [{
            "botId": bot_id,
            "commands": [{
                "id": MESSAGE_ACTION,
                "type": "action",
                "context": ["message"],
                "fetchTask": True,
                "title": text["action.title"],
                "description": text["action.description"],
            }],
        }],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": _check_domains(valid_domains),
        "webApplicationInfo": {"id": bot_id, "resource": RSC_RESOURCE},
        "authorization": {"permissions": {"resourceSpecific": [
            {"name": name, "type": kind} for name, kind in RSC_PERMISSIONS]}},
    }


def localization_file(language_tag: str) -> str:
    return f"{language_tag}.json"


def localization(language_tag: str) -> dict[str, str]:
    """The translated strings for one additional language (``ja-jp.json``)."""
    text = _words(ADDITIONAL_LANGUAGES[language_tag])
    strings = {
        "$schema": LOCALIZATION_SCHEMA,
        "name.short": text["app.short"],
        "name.full": text["app.full"],
        "description.short": text["app.description_short"],
        "description.full": text["app.description_full"],
    }
    for i, name in enumerate(TEAMS_COMMANDS):
        strings[f"bots[0].commandLists[0].commands[{i}].title"] = text[f"command.{name}.title"]
        strings[f"bots[0].commandLists[0].commands[{i}].description"] = text[f"command.{name}.description"]
    strings["composeExtensions[0].commands[0].title"] = text["action.title"]
    strings["composeExtensions[0].commands[0].description"] = text["action.description"]
    return strings


def build_package(out: Path, bot_id: str, valid_domains: Iterable[str] = (), version: str = "1.0.0") -> Path:
    """Write the app package zip to ``out`` (parent folders created) and return its path."""
    files: dict[str, bytes] = {MANIFEST_FILE: _json(manifest(bot_id, valid_domains, version))}
    files[COLOR_FILE] = color_icon()
    files[OUTLINE_FILE] = outline_icon()
    for tag in ADDITIONAL_LANGUAGES:
        files[localization_file(tag)] = _json(localization(tag))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():  # fixed dates: the same input gives the same bytes
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out


def _words(lang: str) -> dict[str, str]:
    catalog = Catalog()
    keys = ["app.short", "app.full", "app.description_short", "app.description_full"]
    keys += [f"command.{name}.{part}" for name in TEAMS_COMMANDS for part in ("title", "description")]
    keys += ["action.title", "action.description"]
    return {key: catalog.render(msg(f"teams.{key}"), lang) for key in keys}


def _json(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _check_bot_id(bot_id: str) -> str:
    bot_id = (bot_id or "").strip()
    if not _GUID.fullmatch(bot_id):
        raise ValueError(f"the Teams bot id must be the bot's Microsoft app (client) id, a GUID "
                         f"(set {BOT_ID_ENV}); got {bot_id!r}")
    return bot_id


def _check_domains(domains: Iterable[str]) -> list[str]:
    if isinstance(domains, str):
        domains = [domains]
    cleaned: list[str] = []
    for domain in domains:
        domain = domain.strip()
        if not _DOMAIN.fullmatch(domain):
            raise ValueError(f"a valid domain is a host name such as coach.example.com "
                             f"(no https:// and no path), not {domain!r}")
        if domain.lower() not in (d.lower() for d in cleaned):
            cleaned.append(domain)
    return cleaned


# --- icons ------------------------------------------------------------------------------------

Pixel = tuple[int, int, int, int]


def png(width: int, height: int, pixel: Callable[[int, int], Pixel]) -> bytes:
    """A minimal PNG encoder: 8-bit RGBA, no interlacing, filter 0 on every row."""
    raw = bytearray()
    for y in range(height):
        raw.append(0)
        for x in range(width):
            raw.extend(pixel(x, y))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b""))


def color_icon(size: int = COLOR_SIZE) -> bytes:
    """The accent colour as a rounded square, with the white mark in its middle 60 %."""
    accent = tuple(int(ACCENT_COLOR[i:i + 2], 16) for i in (1, 3, 5))

    def pixel(x: int, y: int) -> Pixel:
        cx, cy = x + 0.5, y + 0.5
        inside = _coverage(_rounded_square(cx, cy, size, radius=size * 0.22))
        mark = _coverage(_mark(cx, cy, size, scale=0.6))
        rgb = [round(c + (255 - c) * mark) for c in accent]
        return rgb[0], rgb[1], rgb[2], round(255 * inside)

    return png(size, size, pixel)


def outline_icon(size: int = OUTLINE_SIZE) -> bytes:
    """The same mark in white on a transparent background (what Teams requires of outline.png)."""
    def pixel(x: int, y: int) -> Pixel:
        return 255, 255, 255, round(255 * _coverage(_mark(x + 0.5, y + 0.5, size, scale=0.9)))

    return png(size, size, pixel)


def _coverage(distance: float) -> float:
    """Antialiasing: how much of a pixel a shape covers, from its signed distance in pixels."""
    return min(1.0, max(0.0, 0.5 - distance))


def _rounded_square(x: float, y: float, size: int, radius: float) -> float:
    half = size / 2
    qx, qy = abs(x - half) - (half - radius), abs(y - half) - (half - radius)
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    return outside + min(max(qx, qy), 0.0) - radius


def _mark(x: float, y: float, size: int, scale: float) -> float:
    """Signed distance to the mark: an open ring (a "C" for Coach, opening to the right, round
    ends) around a dot, fitting a square of ``scale * size`` in the middle."""
    extent = size * scale / 2
    ring, half_width, gap = extent * 0.78, extent * 0.22, math.radians(45)
    px, py = x - size / 2, y - size / 2
    if abs(math.atan2(py, px)) > gap:
        arc = abs(math.hypot(px, py) - ring) - half_width
    else:
        ends = [(ring * math.cos(gap), s * ring * math.sin(gap)) for s in (-1, 1)]
        arc = min(math.hypot(px - ex, py - ey) for ex, ey in ends) - half_width
    dot = math.hypot(px, py) - extent * 0.24
    return min(arc, dot)
