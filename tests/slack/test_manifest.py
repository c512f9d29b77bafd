"""manifest.yml is a valid Slack app manifest (Slack's published JSON schema, MIT-licensed, kept
beside this file in manifest_schema/ from slackapi/manifest-schema), asks for the smallest set of
scopes, and says why for each."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "manifest.yml"
SCHEMA_DIR = Path(__file__).resolve().parent / "manifest_schema"
COMMANDS = {"/logmeeting", "/teamhealth", "/ledger", "/promises", "/coach"}
SCOPES = {"commands", "chat:write", "im:history", "im:write", "users:read", "users:read.email",
          "files:write", "channels:history", "groups:history"}


def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text("utf-8"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    def from_folder(uri: str) -> Resource:
        # The root schema $refs the per-version files by their GitHub URLs: serve the local copies.
        path = SCHEMA_DIR / uri.rstrip("/").rsplit("/", 1)[-1]
        if not path.is_file():
            raise NoSuchResource(ref=uri)
        return Resource.from_contents(load_schema(path))

    schema = load_schema(SCHEMA_DIR / "manifest.schema.json")
    declared = jsonschema.validators.validator_for(schema, default=None)
    assert declared is jsonschema.Draft7Validator, schema.get("$schema")
    declared.check_schema(schema)
    return declared(schema, registry=Registry(retrieve=from_folder))


def load_schema(path: Path) -> Any:
    """Slack's schema writes some string patterns (background_color) under a non-standard
    "regex" keyword that draft-07 ignores; read them as "pattern", as the authors meant."""
    def fix(node: Any) -> Any:
        if isinstance(node, list):
            return [fix(item) for item in node]
        if not isinstance(node, dict):
            return node
        fixed = {key: fix(value) for key, value in node.items()}
        if node.get("type") == "string" and isinstance(node.get("regex"), str):
            fixed.setdefault("pattern", fixed.pop("regex"))
        return fixed
    return fix(json.loads(path.read_text("utf-8")))


def errors(validator: jsonschema.protocols.Validator, document: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(document)]


def test_manifest_matches_slacks_schema(validator):
    assert errors(validator, manifest()) == []


@pytest.mark.parametrize("path, bad_value", [
    (("display_information", "background_color"), "blue"),
    (("features", "slash_commands", 0, "command"), "logmeeting"),
    (("settings", "interactivity", "request_url"), "coach.example.com/slack/events"),
    (("features", "bot_user", "nickname"), "coach"),
], ids=["colour", "command-without-slash", "url-without-scheme", "unknown-key"])
def test_schema_rejects_broken_manifests(validator, path, bad_value):
    broken = copy.deepcopy(manifest())
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = bad_value
    assert errors(validator, broken) != []


def test_slash_commands_are_exactly_the_declared_ones():
    commands = [c["command"] for c in manifest()["features"]["slash_commands"]]
    assert sorted(commands) == sorted(COMMANDS)
    assert len(commands) == len(set(commands))


def test_every_request_url_is_the_same_events_endpoint():
    m = manifest()
    urls = {c["url"] for c in m["features"]["slash_commands"]}
    urls |= {m["settings"]["event_subscriptions"]["request_url"],
             m["settings"]["interactivity"]["request_url"],
             m["settings"]["interactivity"]["message_menu_options_url"]}
    assert urls == {"https://coach.example.com/slack/events"}


def test_bot_scopes_are_the_smallest_set():
    assert set(manifest()["oauth_config"]["scopes"]["bot"]) == SCOPES


def bot_scope_lines(text: str) -> list[str]:
    """The raw list items under ``oauth_config.scopes.bot`` (comment lines skipped)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.fullmatch(r"\s+bot:\s*", line))
    indent = len(lines[start]) - len(lines[start].lstrip())
    items = []
    for line in lines[start + 1:]:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(line) - len(line.lstrip()) <= indent and not stripped.startswith("- "):
            break
        items.append(line)
    return items


def test_every_scope_says_why():
    lines = bot_scope_lines(MANIFEST.read_text("utf-8"))
    explained = [re.fullmatch(r"\s*- ([a-z:._]+) +# +\S.*", line) for line in lines]
    assert [line for line, match in zip(lines, explained) if match is None] == []
    assert [m.group(1) for m in explained] == manifest()["oauth_config"]["scopes"]["bot"]


def test_scope_comment_check_catches_a_bare_scope():
    text = MANIFEST.read_text("utf-8").replace("- commands #", "- commands\n      # moved:", 1)
    lines = bot_scope_lines(text)
    assert any(re.fullmatch(r"\s*- ([a-z:._]+) +# +\S.*", line) is None for line in lines)


def test_the_message_shortcut_and_the_capture_events_are_declared():
    from bot.slack.app import SHORTCUT

    m = manifest()
    assert [(s["type"], s["callback_id"]) for s in m["features"]["shortcuts"]] == [("message", SHORTCUT)]
    # channel capture needs the channel message events; nothing else beyond the DM and Home tab
    assert set(m["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_home_opened", "message.im", "message.channels", "message.groups"}
