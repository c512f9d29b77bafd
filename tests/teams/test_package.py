"""`coach teams-package`'s zip: a manifest that Microsoft's Teams schema accepts, a Japanese
localization file, and icons of the sizes and kinds Teams requires (PNG parsed here by hand)."""

from __future__ import annotations

import copy
import json
import struct
import zipfile
import zlib
from typing import Any

import jsonschema
import pytest

from bot.teams import package
from bot.teams.package import TEAMS_COMMANDS, build_package, manifest
from coaching.commands import WORDS as COMMANDS
from tests.teams import schemas

BOT_ID = "6a1f2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"
DOMAINS = ["coach.example.com"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, bytes]:
    out = build_package(tmp_path_factory.mktemp("teams") / "coach-teams.zip", BOT_ID, DOMAINS)
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}


@pytest.fixture(scope="module")
def app_manifest(built) -> dict[str, Any]:
    return json.loads(built["manifest.json"].decode("utf-8"))


@pytest.fixture(scope="module")
def ja(built) -> dict[str, str]:
    return json.loads(built["ja-jp.json"].decode("utf-8"))


def validator_for(schema: dict[str, Any] | None) -> jsonschema.protocols.Validator:
    if schema is None:
        pytest.skip(f"no Teams schema to validate against: {schemas.unavailable_reason()}")
    declared = jsonschema.validators.validator_for(schema, default=None)
    assert declared is jsonschema.Draft4Validator, schema.get("$schema")  # the draft it declares
    declared.check_schema(schema)
    return declared(schema)


@pytest.fixture(scope="module")
def manifest_validator() -> jsonschema.protocols.Validator:
    return validator_for(schemas.teams_manifest_schema(package.SCHEMA_VERSION))


@pytest.fixture(scope="module")
def localization_validator() -> jsonschema.protocols.Validator:
    return validator_for(schemas.teams_localization_schema(package.SCHEMA_VERSION))


def errors(validator: jsonschema.protocols.Validator, document: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


# --- the zip and the manifest ------------------------------------------------------------------

def test_zip_holds_exactly_the_manifest_its_translation_and_two_icons(built):
    assert sorted(built) == ["color.png", "ja-jp.json", "manifest.json", "outline.png"]


def test_the_package_is_the_same_bytes_every_time(tmp_path):
    first = build_package(tmp_path / "a" / "one.zip", BOT_ID, DOMAINS).read_bytes()
    assert build_package(tmp_path / "two.zip", BOT_ID, DOMAINS).read_bytes() == first


def test_manifest_matches_microsofts_schema(manifest_validator, app_manifest):
    assert errors(manifest_validator, app_manifest) == []


@pytest.mark.parametrize("path, bad_value", [
    (("bots", 0, "botId"), "not-a-guid"),
    (("accentColor",), "blue"),
    (("bots", 0, "commandLists", 0, "scopes"), ["everywhere"]),
    (("permissions",), ["identity", "everything"]),
    (("bots", 0, "supportsSlashes"), True),
    (("name",), {"full": "Coach"}),
    (("composeExtensions", 0, "commands", 0, "context"), ["everywhere"]),
    (("composeExtensions", 0, "commands", 0, "title"), "Log this message as a touch with a client"),
    (("authorization", "permissions", "resourceSpecific", 0, "type"), "Tenant"),
    (("webApplicationInfo", "id"), "not-a-guid"),
], ids=["bot-id", "colour", "scope", "permission", "unknown-key", "no-short-name", "action-context",
        "action-title-too-long", "rsc-type", "web-app-id"])
def test_the_schema_rejects_broken_manifests(manifest_validator, app_manifest, path, bad_value):
    broken = copy.deepcopy(app_manifest)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = bad_value
    assert errors(manifest_validator, broken) != []


def test_manifest_uses_the_newest_stable_schema_the_pinned_package_ships(app_manifest):
    # Draft-04 ignores "const", so the schema alone would accept any manifestVersion.
    assert app_manifest["manifestVersion"] == package.SCHEMA_VERSION
    assert app_manifest["$schema"].endswith(f"/v{package.SCHEMA_VERSION}/MicrosoftTeams.schema.json")
    stable = schemas.stable_versions()
    if not stable:
        pytest.skip(f"can't list the package's schema versions: {schemas.unavailable_reason()}")
    assert package.SCHEMA_VERSION == stable[-1], f"{schemas.PACKAGE} now ships v{stable[-1]}"


def test_the_bot_is_the_sdks_client_id_in_every_scope(app_manifest):
    [bot] = app_manifest["bots"]
    assert bot["botId"] == BOT_ID
    assert bot["scopes"] == ["personal", "team", "groupChat"]
    assert bot["supportsFiles"] is False and bot["isNotificationOnly"] is False
    assert app_manifest["permissions"] == ["identity", "messageTeamMembers"]
    assert app_manifest["validDomains"] == DOMAINS
    assert app_manifest["version"] == "1.0.0"
    assert package.BOT_ID_ENV == "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID"


def test_the_command_list_is_the_engines_commands(app_manifest):
    [commands] = app_manifest["bots"][0]["commandLists"]
    assert commands["scopes"] == ["personal", "team", "groupChat"]
    assert [c["title"] for c in commands["commands"]] == list(TEAMS_COMMANDS)
    assert TEAMS_COMMANDS == ("logmeeting", "ledger", "promises", "setback", "won", "teamhealth", "away", "back",
                              "help")
    assert set(TEAMS_COMMANDS) <= set(COMMANDS)
    assert len(commands["commands"]) <= 10  # Teams' limit for one command list
    assert all(0 < len(c["description"].strip()) <= 128 for c in commands["commands"])


def test_the_message_action_is_one_bot_based_action_on_messages(app_manifest):
    [extension] = app_manifest["composeExtensions"]
    assert extension["botId"] == BOT_ID
    [command] = extension["commands"]
    assert command == {"id": package.MESSAGE_ACTION, "type": "action", "context": ["message"], "fetchTask": True,
                       "title": "Log as client touch", "description": command["description"]}
    assert 0 < len(command["description"]) <= 128


def test_the_only_resource_specific_permission_is_reading_channel_messages(app_manifest):
    """Channel capture needs the messages that don't mention the bot; nothing else is asked for
    (no chat, team settings or Graph permissions), and no tenant-wide permission at all."""
    assert app_manifest["authorization"] == {"permissions": {"resourceSpecific": [
        {"name": "ChannelMessage.Read.Group", "type": "Application"}]}}
    assert app_manifest["webApplicationInfo"] == {"id": BOT_ID, "resource": package.RSC_RESOURCE}


def test_app_id_is_a_stable_guid_of_its_own():
    first = manifest(BOT_ID)["id"]
    assert first == manifest(BOT_ID.upper(), ["other.example.com"], "2.0.1")["id"]
    assert first not in (BOT_ID, manifest("00000000-0000-0000-0000-000000000001")["id"])
    assert len(first) == 36 and first.count("-") == 4


def test_manifest_texts_fit_teams_limits(app_manifest, ja):
    # The localization schema $refs these strings, so draft-04 skips their maxLength: check here.
    for name, description in ((app_manifest["name"], app_manifest["description"]),
                              ({"short": ja["name.short"], "full": ja["name.full"]},
                               {"short": ja["description.short"], "full": ja["description.full"]})):
        assert 0 < len(name["short"]) <= 30 and 0 < len(name["full"]) <= 100
        assert 0 < len(description["short"]) <= 80 and 0 < len(description["full"]) <= 4000
        assert description["short"] != description["full"]
    assert app_manifest["name"]["short"] == "Coach"


@pytest.mark.parametrize("kwargs, problem", [
    ({"bot_id": ""}, "GUID"),
    ({"bot_id": "coach-bot"}, "GUID"),
    ({"bot_id": BOT_ID, "version": "1.0"}, "semver"),
    ({"bot_id": BOT_ID, "valid_domains": ["https://coach.example.com/"]}, "host name"),
])
def test_bad_settings_are_refused_with_a_clear_error(kwargs, problem):
    with pytest.raises(ValueError, match=problem):
        manifest(**kwargs)


def test_valid_domains_are_deduplicated_and_wildcards_allowed():
    domains = manifest(BOT_ID, ["coach.example.com", "*.example.org", "COACH.example.com"])["validDomains"]
    assert domains == ["coach.example.com", "*.example.org"]
    assert manifest(BOT_ID)["validDomains"] == []


# --- the Japanese localization -----------------------------------------------------------------

def test_japanese_is_declared_and_shipped(app_manifest, built):
    info = app_manifest["localizationInfo"]
    assert info["defaultLanguageTag"] == "en-us"
    assert info["additionalLanguages"] == [{"languageTag": "ja-jp", "file": "ja-jp.json"}]
    assert all(entry["file"] in built for entry in info["additionalLanguages"])


def test_japanese_matches_microsofts_localization_schema(localization_validator, ja):
    assert errors(localization_validator, ja) == []
    assert errors(localization_validator, {**ja, "name.nickname": "コーチ"}) != []
    assert errors(localization_validator, {k: v for k, v in ja.items() if k != "name.short"}) != []


def test_japanese_translates_everything_and_titles_are_words_the_engine_knows(ja):
    for i, name in enumerate(TEAMS_COMMANDS):
        title = ja[f"bots[0].commandLists[0].commands[{i}].title"]
        assert title in COMMANDS[name], (name, title)  # Teams sends the title as the message
        assert not ja[f"bots[0].commandLists[0].commands[{i}].description"].isascii()
    assert ja["composeExtensions[0].commands[0].title"] == "お客様との活動として記録"
    assert not ja["composeExtensions[0].commands[0].description"].isascii()
    texts = [v for k, v in ja.items() if k != "$schema"]
    assert len(texts) == 4 + 2 * len(TEAMS_COMMANDS) + 2  # + the message action's title and description
    assert not any(text.isascii() for text in texts)


# --- the icons ---------------------------------------------------------------------------------

def read_png(data: bytes) -> tuple[int, int, int, list[list[tuple[int, ...]]]]:
    """(width, height, colour type, rows of pixels) for an 8-bit, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    chunks, at = [], 8
    while at < len(data):
        length, tag = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
        assert zlib.crc32(tag + body) == crc, f"bad CRC in {tag!r}"
        chunks.append((tag, body))
        at += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, compression, filtering, interlace) == (8, 0, 0, 0)
    channels = {2: 3, 6: 4}[colour]
    raw = zlib.decompress(b"".join(body for tag, body in chunks if tag == b"IDAT"))
    stride = width * channels
    assert len(raw) == height * (stride + 1)
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            guess = left + up - corner
            paeth = min((abs(guess - left), 0, left), (abs(guess - up), 1, up), (abs(guess - corner), 2, corner))[2]
            line[i] = (line[i] + [0, left, up, (left + up) // 2, paeth][kind]) & 0xFF
        rows.append([tuple(line[x:x + channels]) for x in range(0, stride, channels)])
        previous = line
    return width, height, colour, rows


def test_colour_icon_is_192_square_accent_with_a_white_mark(built):
    width, height, colour, rows = read_png(built["color.png"])
    assert (width, height) == (192, 192)
    pixels = [p for row in rows for p in row]
    accent = tuple(int(package.ACCENT_COLOR[i:i + 2], 16) for i in (1, 3, 5)) + (255,)
    assert rows[96][8] == accent  # the background, inside the rounded square
    assert rows[96][96] == (255, 255, 255, 255)  # the mark's dot
    assert pixels.count(accent) > 192 * 192 // 2
    assert 192 * 192 // 20 < pixels.count((255, 255, 255, 255)) < 192 * 192 // 3


def test_outline_icon_is_32_square_white_on_transparent(built):
    width, height, colour, rows = read_png(built["outline.png"])
    assert (width, height, colour) == (32, 32, 6)  # RGBA: it has an alpha channel
    pixels = [p for row in rows for p in row]
    assert [p for p in pixels if p[3] and p[:3] != (255, 255, 255)] == []
    assert rows[0][0][3] == 0 and rows[31][31][3] == 0
    assert 100 < sum(p[3] == 255 for p in pixels) < 32 * 32 * 2 // 3
    assert sum(p[3] == 0 for p in pixels) > 32 * 32 // 4


def test_png_reader_catches_a_damaged_icon(built):
    data = bytearray(built["outline.png"])
    data[40] ^= 0xFF  # inside the image data
    with pytest.raises(AssertionError):
        read_png(bytes(data))


def test_cli_builds_the_package_and_explains_a_missing_bot_id(tmp_path):
    from click.testing import CliRunner

    from bot.cli import main

    out = tmp_path / "coach-teams.zip"
    env = {"CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID": "11111111-2222-3333-4444-555555555555",
           "COACH_RULES_FILE": ""}
    result = CliRunner().invoke(main, ["teams-package", "--out", str(out)], env=env)
    assert result.exit_code == 0 and out.is_file() and "Teams app package written to" in result.stdout
    result = CliRunner().invoke(main, ["teams-package", "--out", str(out)],
                                env={"CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID": "", "COACH_RULES_FILE": ""})
    assert result.exit_code == 2 and result.stderr.startswith("error: The bot id is missing")
    result = CliRunner().invoke(main, ["teams-package", "--bot-id", "not-a-guid", "--out", str(out)],
                                env={"COACH_RULES_FILE": ""})
    assert result.exit_code == 2 and "The package cannot be built" in result.stderr
