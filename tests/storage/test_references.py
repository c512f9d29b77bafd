"""Conversation references: where the coach reaches a user proactively (Teams daily digests).

Each check runs against the real schema (SQLite, and PostgreSQL with TEST_DATABASE_URL) and
against the in-memory fakes of tests/fakes.py, so the fakes keep the same semantics.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Callable


from coaching.records import ChatReference
from storage.uow import SqlAlchemyUnitOfWork
from tests.storage.world import build_world
from tests.storage.checks import storage_and_fake_tests

Factory = Callable[[], Any]  # a SqlAlchemyUnitOfWork or a FakeUnitOfWork factory
NOW = datetime(2024, 6, 10, 7, 30, tzinfo=UTC)
SERVICE = "https://smba.trafficmanager.net/emea/"


def ref(user_id: str, person_id: int | None = None, conversation_id: str = "a:1Xyz",
        platform: str = "teams", **extra: Any) -> ChatReference:
    """A reference as the Bot Framework serialises it (nested, with nulls and a bool)."""
    reference = {
        "activityId": None,
        "bot": {"id": "28:bot-app-id", "name": "Coach"},
        "channelId": "msteams",
        "conversation": {"conversationType": "personal", "id": conversation_id, "isGroup": False,
                         "tenantId": "tenant-1"},
        "locale": "de-DE",
        "serviceUrl": SERVICE,
        "user": {"aadObjectId": user_id, "id": f"29:{user_id}", "name": "Ann Ärger"},
        **extra,
    }
    return ChatReference(platform, user_id, conversation_id, SERVICE, reference, person_id)


def save_and_for_user_round_trip(factory: Factory) -> None:
    with factory() as uow:
        ann = build_world(uow).ann
        saved = ref("aad-ann", ann.id, entities=[{"type": "clientInfo", "timezone": "Europe/Berlin"}])
        uow.chats.save("w1", saved, NOW)
        assert uow.chats.for_user("w1", "teams", "aad-ann") == saved  # in its own transaction
        uow.commit()
    with factory() as uow:
        got = uow.chats.for_user("w1", "teams", "aad-ann")
        assert got == saved and got.active and got.person_id == ann.id
        assert got.reference["conversation"] == {
            "conversationType": "personal", "id": "a:1Xyz", "isGroup": False, "tenantId": "tenant-1"}
        assert got.reference["activityId"] is None and got.reference["user"]["name"] == "Ann Ärger"
        assert got.reference["entities"] == [{"type": "clientInfo", "timezone": "Europe/Berlin"}]
        got.reference["bot"]["id"] = "changed"  # the caller's copy, not the store
        assert uow.chats.for_user("w1", "teams", "aad-ann") == saved
        assert uow.chats.for_user("w1", "teams", "aad-bob") is None
        assert uow.chats.for_user("w1", "slack", "aad-ann") is None  # platform is in the key
        # Without a person (not yet linked to the roster), and a naive time taken as UTC.
        uow.chats.save("w1", ref("29:stranger"), NOW.replace(tzinfo=None))
        assert uow.chats.for_user("w1", "teams", "29:stranger") == ref("29:stranger")


def saving_again_replaces_and_reactivates(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        uow.chats.save("w1", ref("aad-ann", None, "a:old"), NOW)
        uow.commit()
    with factory() as uow:
        assert uow.chats.for_user("w1", "teams", "aad-ann") == ref("aad-ann", None, "a:old")
        uow.chats.deactivate("w1", "teams", "aad-ann")
        assert uow.chats.for_user("w1", "teams", "aad-ann").active is False
        newer = ref("aad-ann", world.ann.id, "a:new", locale="en-GB", entities=[{"type": "mention"}])
        uow.chats.save("w1", replace(newer, active=False), NOW + timedelta(days=1))  # saved active anyway
        assert uow.chats.for_user("w1", "teams", "aad-ann") == newer
        uow.commit()
    with factory() as uow:
        got = uow.chats.for_user("w1", "teams", "aad-ann")
        assert got == newer and got.active and got.reference["locale"] == "en-GB"
        assert got.conversation_id == "a:new" and got.person_id == world.ann.id
        assert uow.chats.for_person("w1", "teams", world.ann.id) == newer
        # Replacing drops keys the new reference no longer has, and may unlink the person.
        uow.chats.save("w1", ref("aad-ann", None, "a:new"), NOW + timedelta(days=2))
        replaced = uow.chats.for_user("w1", "teams", "aad-ann").reference
        assert replaced == ref("aad-ann", None, "a:new").reference and replaced["locale"] == "de-DE"
        assert "entities" not in replaced
        assert uow.chats.for_person("w1", "teams", world.ann.id) is None
        assert uow.chats.for_user("w1", "teams", "aad-ann").person_id is None


def for_person_sees_only_active_references(factory: Factory) -> None:
    with factory() as uow:
        world = build_world(uow)
        ann, bob = world.ann, world.bob
        uow.chats.save("w1", ref("aad-ann", ann.id, "a:ann"), NOW)
        uow.chats.save("w1", ref("aad-bob", bob.id, "a:bob"), NOW)
        uow.chats.save("w1", ref("U-ann", ann.id, "D-ann", platform="slack"), NOW)
        uow.commit()
    with factory() as uow:
        assert uow.chats.for_person("w1", "teams", ann.id) == ref("aad-ann", ann.id, "a:ann")
        assert uow.chats.for_person("w1", "teams", bob.id) == ref("aad-bob", bob.id, "a:bob")
        assert uow.chats.for_person("w1", "teams", world.meg.id) is None
        assert uow.chats.for_person("w1", "slack", ann.id) == ref("U-ann", ann.id, "D-ann", platform="slack")
        uow.chats.deactivate("w1", "teams", "aad-ann")
        assert uow.chats.for_person("w1", "teams", ann.id) is None
        assert uow.chats.for_person("w1", "slack", ann.id) is not None  # the other platform stays
        assert uow.chats.for_person("w1", "teams", bob.id) is not None
        # A second account of Ann's: the latest saved active one wins.
        uow.chats.save("w1", ref("aad-ann-2", ann.id, "a:ann2"), NOW + timedelta(hours=1))
        assert uow.chats.for_person("w1", "teams", ann.id) == ref("aad-ann-2", ann.id, "a:ann2")
        uow.chats.save("w1", ref("aad-ann", ann.id, "a:ann"), NOW + timedelta(hours=2))
        assert uow.chats.for_person("w1", "teams", ann.id) == ref("aad-ann", ann.id, "a:ann")
        uow.chats.deactivate("w1", "teams", "aad-ann")
        assert uow.chats.for_person("w1", "teams", ann.id) == ref("aad-ann-2", ann.id, "a:ann2")


def deactivate_keeps_the_row_until_saved_again(factory: Factory) -> None:
    with factory() as uow:
        ann = build_world(uow).ann
        uow.chats.save("w1", ref("aad-ann", ann.id), NOW)
        uow.commit()
    with factory() as uow:
        uow.chats.deactivate("w1", "teams", "aad-ann")
        uow.chats.deactivate("w1", "teams", "aad-ann")  # twice is harmless
        uow.chats.deactivate("w1", "teams", "nobody")  # so is an unknown user
        uow.commit()
    with factory() as uow:
        assert uow.chats.for_user("w1", "teams", "aad-ann") == replace(ref("aad-ann", ann.id), active=False)
        assert uow.chats.for_person("w1", "teams", ann.id) is None
        assert uow.chats.for_user("w1", "teams", "nobody") is None
        uow.chats.save("w1", ref("aad-ann", ann.id), NOW + timedelta(days=3))  # they came back
        uow.commit()
    with factory() as uow:
        assert uow.chats.for_person("w1", "teams", ann.id) == ref("aad-ann", ann.id)


def workspaces_are_sealed_off(factory: Factory) -> None:
    with factory() as uow:
        one, two = build_world(uow, "w1"), build_world(uow, "w2")
        uow.chats.save("w1", ref("aad-same", one.ann.id, "a:one"), NOW)
        uow.chats.save("w2", ref("aad-same", two.ann.id, "a:two"), NOW)  # same user id, no clash
        uow.chats.save("w2", ref("aad-bob", two.bob.id, "a:bob2"), NOW)
        uow.commit()
    with factory() as uow:
        assert uow.chats.for_user("w1", "teams", "aad-same") == ref("aad-same", one.ann.id, "a:one")
        assert uow.chats.for_user("w2", "teams", "aad-same") == ref("aad-same", two.ann.id, "a:two")
        assert uow.chats.for_user("w1", "teams", "aad-bob") is None
        assert uow.chats.for_person("w1", "teams", two.bob.id) is None
        assert uow.chats.for_person("w1", "teams", two.ann.id) is None
        assert uow.chats.for_person("w2", "teams", two.bob.id) == ref("aad-bob", two.bob.id, "a:bob2")
        uow.chats.deactivate("w1", "teams", "aad-same")
        uow.commit()
    with factory() as uow:
        assert uow.chats.for_user("w1", "teams", "aad-same").active is False
        assert uow.chats.for_user("w2", "teams", "aad-same").active is True
        assert uow.chats.for_person("w2", "teams", two.ann.id) == ref("aad-same", two.ann.id, "a:two")


def writes_are_undone_by_rollback(factory: Factory) -> None:
    with factory() as uow:
        ann = build_world(uow).ann
        uow.chats.save("w1", ref("aad-ann", ann.id, "a:kept"), NOW)
        uow.commit()
        uow.chats.save("w1", ref("aad-ann", ann.id, "a:lost"), NOW + timedelta(hours=1))
        uow.chats.save("w1", ref("aad-new", ann.id), NOW)
        assert uow.chats.for_user("w1", "teams", "aad-ann").conversation_id == "a:lost"
        uow.rollback()
        assert uow.chats.for_user("w1", "teams", "aad-ann") == ref("aad-ann", ann.id, "a:kept")
        assert uow.chats.for_user("w1", "teams", "aad-new") is None
        uow.chats.deactivate("w1", "teams", "aad-ann")
        # Leaving without commit discards it too.
    with factory() as uow:
        assert uow.chats.for_person("w1", "teams", ann.id) == ref("aad-ann", ann.id, "a:kept")


CHECKS = [
    save_and_for_user_round_trip,
    saving_again_replaces_and_reactivates,
    for_person_sees_only_active_references,
    deactivate_keeps_the_row_until_saved_again,
    workspaces_are_sealed_off,
    writes_are_undone_by_rollback,
]


test_storage, test_fakes = storage_and_fake_tests(CHECKS)


def test_save_is_one_upsert_statement(uow_factory: Callable[[], SqlAlchemyUnitOfWork]) -> None:
    """ON CONFLICT DO UPDATE, not read-then-write: two concurrent first saves cannot both insert."""
    from sqlalchemy import event

    statements: list[str] = []
    with uow_factory() as uow:
        build_world(uow)
        uow.session.flush()
        engine = uow.session.get_bind()
        listener = lambda *args: statements.append(args[2])  # noqa: E731 (conn, cursor, statement, ...)
        event.listen(engine, "before_cursor_execute", listener)
        try:
            uow.chats.save("w1", ref("aad-ann"), NOW)
            uow.chats.save("w1", ref("aad-ann", conversation_id="a:2"), NOW)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert len(statements) == 2 and all("ON CONFLICT" in s and "DO UPDATE" in s for s in statements)
        assert uow.chats.for_user("w1", "teams", "aad-ann").conversation_id == "a:2"
