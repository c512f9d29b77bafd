"""Erasure and export follow the schema: a table added later whose foreign key points at a client
is exported and erased with it by itself; one pointing at a person is exported, and an erasure of
a person refuses to run until storage.erasure.PERSON_POLICY says what to do with it."""

from __future__ import annotations

from typing import Iterator

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table, select

from storage import erasure, export, redaction
from storage.models import Base
from tests.storage.world import build_world


@pytest.fixture
def badges(migrated_engine) -> Iterator[Table]:
    """A table of the future: badges a rep earned with a client."""
    table = Table("badges", Base.metadata, Column("id", Integer, primary_key=True),
                  Column("workspace_id", String(64), ForeignKey("workspaces.id"), nullable=False),
                  Column("client_id", ForeignKey("clients.id"), nullable=False),
                  Column("holder_id", ForeignKey("people.id"), nullable=False), Column("label", String(100)))
    table.create(migrated_engine)
    try:
        yield table
    finally:
        Base.metadata.remove(table)


def test_a_new_table_is_exported_and_erased_with_its_client(uow_factory, badges):
    with uow_factory() as uow:
        world = build_world(uow)
        uow.session.execute(badges.insert(), [
            {"workspace_id": "w1", "client_id": world.acme.id, "holder_id": world.ann.id, "label": "first to call"},
            {"workspace_id": "w1", "client_id": world.corp.id, "holder_id": world.bob.id, "label": "kept"}])
        uow.commit()
    with uow_factory() as uow:
        assert [r["label"] for r in export.export_client(uow.session, "w1", world.acme.id)["badges"]] == [
            "first to call"]
        assert [r["label"] for r in export.export_person(uow.session, "w1", world.ann.id)["badges"]] == [
            "first to call"]
        with pytest.raises(RuntimeError, match="badges.holder_id"):
            erasure.erase_person(uow.session, "w1", world.ann.id, "erased person")
        counts = erasure.erase_client(uow.session, "w1", world.acme.id)
        uow.commit()
    assert counts["badges"] == 1
    with uow_factory() as uow:
        assert [r.label for r in uow.session.execute(select(badges))] == ["kept"]


@pytest.mark.parametrize("needle, text, found", [
    ("Ken", "met Ken and KEN's boss", ["Ken", "KEN"]),
    ("Ken", "flew to Kentucky, then Token City", []),  # a whole word where the name's edge is a letter
    ("田中 健", "田中 健さんに相談", ["田中 健"]),  # Japanese has no spaces between words
    ("ken@acme.example", "cc ken@acme.example, Ken@Acme.example", ["ken@acme.example", "Ken@Acme.example"]),
])
def test_a_name_is_found_as_a_whole_word_whatever_its_case(needle, text, found):
    assert redaction.pattern(redaction.needles([needle])).findall(text) == found


def test_a_name_shorter_than_three_characters_is_not_looked_for():
    assert redaction.needles(["Al", " Bo ", "", None, "Ada"]) == ["Ada"]
