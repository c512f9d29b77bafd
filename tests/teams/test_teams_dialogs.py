"""The shared dialog scripts through the real /api/messages (anonymous local mode), with the
Teams connector played by a local recorder: the same steps and expectations as the console and
Slack, so the three channels cannot drift apart."""

from __future__ import annotations

import asyncio
import re

import pytest
from aiohttp import ClientSession, web

from bot.server import create_web_app
from tests.dialogs import LOG_EN, LOG_JA, SETBACK_EN, SETBACK_JA, Pick, Script
from tests.support import make_coach, seed_roster
from tests.teams.connector import FakeConnector
from tests.teams.playground import LOCAL

AAD = {"alice@acme.example": "aad-alice", "ken@acme.example": "aad-ken"}


def card_text(activity: dict) -> str:
    """What a person reads: the TextBlocks and button titles, without the markdown escapes."""
    texts = []
    for attachment in activity.get("attachments", []):
        card = attachment["content"]
        for element in card.get("body", []):
            if element["type"] == "TextBlock":
                texts.append(re.sub(r"\\(.)", r"\1", element["text"]))
            for action in element.get("actions", []):
                texts.append(action["title"])
            texts += [c["title"] for c in element.get("choices", [])]
        texts += [a["title"] for a in card.get("actions", [])]
    return "\n".join(texts)


def choices_of(activity: dict) -> list[str]:
    card = activity["attachments"][0]["content"]
    sets = [c["value"] for e in card["body"] if e["type"] == "Input.ChoiceSet" for c in e["choices"]]
    return sets or [a["data"]["choice"] for a in card.get("actions", []) if "choice" in a.get("data", {})]


async def run_script(database_url: str, script: Script) -> tuple[int, int]:
    coach = make_coach(database_url)
    seed_roster(coach)
    with coach.uow_factory() as uow:
        person = uow.people.by_email("acme", script.email)
        uow.people.link_platform("acme", person.id, "teams", AAD[script.email])
        uow.commit()
    runner = web.AppRunner(create_web_app(coach, coach.settings, env=LOCAL))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/api/messages"  # type: ignore[union-attr]
    async with FakeConnector() as connector, ClientSession() as http:
        last: dict | None = None
        for number, step in enumerate(script.steps, 1):
            activity = {"type": "message", "id": f"m{number}", "channelId": "msteams", "serviceUrl": connector.url,
                        "from": {"id": "user-1", "aadObjectId": AAD[script.email]}, "recipient": {"id": "bot"},
                        "conversation": {"id": "conv-1", "conversationType": "personal"}, "locale": "en-US"}
            if isinstance(step, Pick):
                activity["value"] = {"choice": choices_of(last)[step.number - 1]}
            else:
                activity["text"] = step.text
            before = len(connector.posts())
            response = await http.post(url, json=activity)
            assert response.status == 202
            said = "\n".join(card_text(c.body) for c in connector.posts()[before:])
            for fragment in step.expect:
                assert fragment in said, f"step {number} lacks {fragment!r}:\n{said}"
            last = connector.posts()[-1].body
    await runner.cleanup()
    with coach.uow_factory() as uow:
        client = uow.clients.by_name("acme", script.client)
        assert uow.chats.for_user("acme", "teams", AAD[script.email]) is not None
        return uow.ledger.balance("acme", client.id), len(uow.interactions.for_client("acme", client.id))


@pytest.mark.parametrize("script", [LOG_EN, LOG_JA, SETBACK_EN, SETBACK_JA], ids=lambda s: s.name)
def test_shared_dialog_script_through_teams(database_url, script: Script):
    assert asyncio.run(run_script(database_url, script)) == (script.balance, script.interactions)
