"""Channel captures, a rep's touches of one day, stating a captured touch's purpose and the last
day each rep logged, on SQLite and PostgreSQL, scoped to their workspace."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from coaching.model import InteractionDraft, Kind, Purpose, Workspace
from coaching.records import ChannelCapture
from tests.support import WORKSPACE, make_coach, seed_roster

DAY = date(2026, 11, 20)


@pytest.fixture
def coach(database_url):
    coach = make_coach(database_url)
    ids = seed_roster(coach)
    seed_roster(coach, "other")
    with coach.uow_factory() as uow:
        east = uow.teams.by_name(WORKSPACE, "East")
        acme = uow.clients.add(WORKSPACE, "Acme", east.id, ids["alice"], date(2026, 1, 1))
        globex = uow.clients.add(WORKSPACE, "Globex", east.id, ids["alice"], date(2026, 1, 1))
        uow.commit()
    coach.ids, coach.acme, coach.globex = ids, acme.id, globex.id
    return coach


def test_a_channel_maps_to_one_client_per_workspace(coach):
    with coach.uow_factory() as uow:
        uow.captures.save(WORKSPACE, ChannelCapture("slack", "C1", coach.acme, coach.ids["ada"], DAY))
        uow.captures.save(WORKSPACE, ChannelCapture("teams", "C1", coach.acme, coach.ids["ada"], DAY))
        uow.commit()
    with coach.uow_factory() as uow:
        assert uow.captures.get(WORKSPACE, "slack", "C1").client_id == coach.acme
        uow.captures.save(WORKSPACE, ChannelCapture("slack", "C1", coach.globex, coach.ids["ada"], DAY))  # re-pointed
        assert uow.captures.get(WORKSPACE, "slack", "C1").client_id == coach.globex
        assert uow.captures.get("other", "slack", "C1") is None  # another workspace sees nothing
        assert [(c.platform, c.channel_id) for c in uow.captures.list(WORKSPACE)] == [("slack", "C1"), ("teams", "C1")]
        assert uow.captures.list("other") == []
        assert uow.captures.remove(WORKSPACE, "slack", "C1") is True
        assert uow.captures.remove(WORKSPACE, "slack", "C1") is False
        assert uow.captures.remove("other", "teams", "C1") is False
        uow.commit()
    with coach.uow_factory() as uow:
        assert [c.platform for c in uow.captures.list(WORKSPACE)] == ["teams"]


def test_touches_of_a_day_a_stated_purpose_and_the_last_day_logged(coach):
    alice, ken = coach.ids["alice"], coach.ids["ken"]
    with coach.uow_factory() as uow:
        add = uow.interactions.add
        pending = add(WORKSPACE, alice, InteractionDraft(coach.acme, DAY, Kind.MESSAGE, Purpose.PENDING, source="channel"))
        add(WORKSPACE, alice, InteractionDraft(coach.globex, DAY, Kind.CALL, Purpose.GIVE))
        voided = add(WORKSPACE, alice, InteractionDraft(coach.globex, DAY, Kind.CALL, Purpose.ASK))
        uow.interactions.void(WORKSPACE, voided.id)
        add(WORKSPACE, alice, InteractionDraft(coach.acme, date(2026, 11, 25), Kind.CALL, Purpose.GIVE))  # later
        add(WORKSPACE, ken, InteractionDraft(coach.acme, date(2026, 11, 18), Kind.CALL, Purpose.GIVE))
        uow.commit()
    with coach.uow_factory() as uow:
        day = uow.interactions.for_rep_on(WORKSPACE, alice, DAY)
        assert [(t.client_id, t.purpose, t.source) for t in day] == [
            (coach.acme, Purpose.PENDING, "channel"), (coach.globex, Purpose.GIVE, "command")]
        assert uow.interactions.for_rep_on("other", alice, DAY) == []
        stated = uow.interactions.set_purpose(WORKSPACE, pending.id, Purpose.SERVICE)
        assert stated.purpose is Purpose.SERVICE
        with pytest.raises(LookupError):
            uow.interactions.set_purpose("other", pending.id, Purpose.GIVE)
        uow.commit()
    with coach.uow_factory() as uow:
        assert uow.interactions.get(WORKSPACE, pending.id).purpose is Purpose.SERVICE
        assert uow.histories.last_logged(WORKSPACE, [alice, ken, coach.ids["bob"]], DAY) == {
            alice: DAY, ken: date(2026, 11, 18)}
        assert uow.histories.last_logged(WORKSPACE, [alice], date(2026, 11, 30)) == {alice: date(2026, 11, 25)}
        assert uow.histories.last_logged("other", [alice, ken], DAY) == {}
        rows = uow.histories.touches_between(WORKSPACE, [uow.teams.by_name(WORKSPACE, "East").id], DAY, DAY)
        assert sorted(r.source for r in rows) == ["channel", "command"]
