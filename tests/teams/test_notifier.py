"""Proactive digests into Teams: retried on 429 (honouring Retry-After), a 403 deactivates the chat."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from bot.teams.app import TeamsEndpoint
from bot.teams.notifier import TeamsNotifier
from coaching.errors import MaybeDelivered
from coaching.messages import Msg, PersonName
from coaching.records import ChatReference
from coaching.replies import Reply
from tests.support import make_coach, seed_roster
from tests.teams.connector import FakeConnector
from tests.teams.playground import LOCAL


def save_reference(coach, service_url: str) -> int:
    with coach.uow_factory() as uow:
        alice = uow.people.by_email("acme", "alice@acme.example")
        uow.people.link_platform("acme", alice.id, "teams", "aad-alice")
        reference = {"activityId": "m1", "user": {"id": "user-1", "aadObjectId": "aad-alice"},
                     "bot": {"id": "bot", "name": "coach"}, "conversation": {"id": "conv-1", "conversationType": "personal"},
                     "channelId": "msteams", "serviceUrl": service_url, "locale": "en-US"}
        uow.chats.save("acme", ChatReference("teams", "aad-alice", "conv-1", service_url, reference, alice.id),
                            datetime.now(timezone.utc))
        uow.commit()
        return alice.id


def digest_for(coach, person_id):
    with coach.uow_factory() as uow:
        return uow.people.get("acme", person_id), Reply.of(Msg("digest.title", {"name": PersonName("Alice Smith", greeting=True)}))


@pytest.mark.parametrize("script, delivered, sends, active", [
    ([], True, 1, True),
    ([(429, {"Retry-After": "0"}), (502, {})], True, 3, True),
    ([(403, {})], False, 1, False),
    # a 500 without Retry-After may have been taken: not resent, and the dispatcher told so
    ([(500, {})], MaybeDelivered, 1, True),
])
def test_digest_delivery(database_url, script, delivered, sends, active):
    coach = make_coach(database_url)
    seed_roster(coach)

    async def scenario():
        async with FakeConnector() as connector:
            connector.script = list(script)
            person_id = save_reference(coach, connector.url)
            person, reply = digest_for(coach, person_id)
            notifier = TeamsNotifier(coach, TeamsEndpoint(coach, env=LOCAL), attempts=4)
            try:
                ok = await notifier.send_async(person, reply)
            except MaybeDelivered as error:
                ok = error
            return ok, [call.body for call in connector.posts()]

    ok, received = asyncio.run(scenario())
    if delivered is MaybeDelivered:
        assert isinstance(ok, MaybeDelivered) and len(received) == sends
    else:
        assert (ok == "teams") is delivered and len(received) == sends
    assert received[-1]["attachments"][0]["content"]["body"][0]["text"] == "Good morning, Alice. These relationships need you today:"
    with coach.uow_factory() as uow:
        alice = uow.people.by_email("acme", "alice@acme.example")
        assert (uow.chats.for_person("acme", "teams", alice.id) is not None) is active


def test_no_saved_conversation_means_not_delivered(database_url):
    coach = make_coach(database_url)
    seed_roster(coach)
    with coach.uow_factory() as uow:
        alice = uow.people.by_email("acme", "alice@acme.example")
    notifier = TeamsNotifier(coach, TeamsEndpoint(coach, env=LOCAL))
    assert notifier.send(alice, Reply.of(Msg("digest.title", {"name": "Alice"}))) is None
