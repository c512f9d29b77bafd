"""The bulk import's in-memory store answers ``record_touch`` as the repositories do.

Any sequence of touches for a client (every field of a touch: purposes, promises settled or
not, problems answered or not, setbacks, corrections, proof, the trust signals an import never
carries, repeated external ids, any order of dates) gives, through ``services.record_touch`` over
:class:`coaching.imports.replay.ReplayStore`, exactly the result it gives over the fake
repositories (the reference the service tests use): the same touch, entries, keys, balance, tip
and client after every touch, and the same promises, problems and deals at the end.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from coaching import services
from coaching.imports.replay import ReplayStore
from coaching.model import (InteractionDraft, Kind, ProblemDraft, PromiseDraft, PromiseStatus, Purpose, Role, Setback,
                            TrustLevel, Workspace)
from coaching.records import PersonDraft
from coaching.rules import Rules
from tests.fakes import FakeStore, FakeUnitOfWork

WS = "acme"
START = date(2026, 9, 1)
RULES = Rules()
TABLES = {"interactions": "interactions", "promises": "promises", "problems": "problems", "ledger_entries": "ledger"}

days = st.integers(0, 40).map(lambda n: START + timedelta(days=n))


@st.composite
def drafts(draw: st.DrawFn) -> InteractionDraft:
    on = draw(days)
    promises = tuple(
        PromiseDraft(draw(st.sampled_from(["Send the quote", "Intro"])), on + timedelta(days=draw(st.integers(0, 9))),
                     status, on + timedelta(days=draw(st.integers(0, 12))) if status is not PromiseStatus.OPEN else None)
        for status in draw(st.lists(st.sampled_from(list(PromiseStatus)), max_size=2)))
    problem = draw(st.one_of(st.none(), st.builds(
        ProblemDraft, st.sampled_from(["Login fails", "Invoice"]),
        st.one_of(st.none(), st.integers(0, 6).map(lambda n: on + timedelta(days=n))))))
    return InteractionDraft(
        client_id=0, occurred_on=on, kind=draw(st.sampled_from(list(Kind))),
        purpose=draw(st.sampled_from(Purpose.stated())),
        note=draw(st.sampled_from(["", "Shared the report", "They want a discount", "値引きの相談"])),
        proof_shown=draw(st.booleans()), promises=promises, problem=problem,
        asked_for=draw(st.one_of(st.none(), st.sampled_from(list(TrustLevel)))),
        demanded_justification=draw(st.one_of(st.none(), st.booleans())),
        won_deal=draw(st.sampled_from([None, None, "", "Annual license"])),
        source=draw(st.sampled_from(["import", "command"])),
        external_id=draw(st.one_of(st.none(), st.sampled_from(["csv:a", "csv:b", "csv:c"]))),
        correction=draw(st.booleans()), setback=draw(st.one_of(st.none(), st.sampled_from(list(Setback)))),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(drafts(), max_size=20), st.booleans())
def test_a_replay_is_record_touch_over_the_repositories(touches: list[InteractionDraft], in_date_order: bool) -> None:
    with FakeUnitOfWork(FakeStore()) as uow:
        uow.workspaces.add(Workspace(WS, WS))
        team = uow.teams.add(WS, "East")
        rep = uow.people.upsert(WS, PersonDraft("ann@example.com", "Ann", Role.REP, (team.id,), "UTC"))
        client = uow.clients.add(WS, "Acme", team.id, rep.id, START)
        issued: Counter[str] = Counter()

        def ids(table: str) -> int:  # numbered as the fakes number them
            issued[table] += 1
            return issued[table]

        replay = ReplayStore(WS, ids)
        replay.begin(client)
        for draft in sorted(touches, key=lambda d: d.occurred_on) if in_date_order else touches:
            draft = replace(draft, client_id=client.id)
            expected = services.record_touch(uow, rep, uow.clients.get(WS, client.id), draft, RULES, draft.occurred_on)
            found = services.record_touch(replay, rep, replay.client(client.id), draft, RULES,  # type: ignore[arg-type]
                                          draft.occurred_on)
            assert found == expected
            for asked in ("interactions.for_client", "ledger.for_client", "problems.unanswered", "ledger.balance"):
                part, method = asked.split(".")  # what record_touch asks: answered alike
                answer = getattr(getattr(replay, part), method)(WS, client.id)
                assert answer == getattr(getattr(uow, part), method)(WS, client.id), asked
            assert replay.interactions.trust_signals(WS, client.id, None, 3) == uow.interactions.trust_signals(
                WS, client.id, None, 3)
        assert {t: issued[t] for t in TABLES} == {t: uow.data.last_ids.get(f, 0) for t, f in TABLES.items()}
        batch = replay.drain()
        assert [t for t, _ in batch.interactions] == sorted(uow.data.interactions.values(), key=lambda i: i.id)
        assert batch.promises == uow.data.promises and batch.problems == uow.data.problems
        assert batch.entries == sorted(uow.data.ledger.values(), key=lambda e: e.id)
        assert [(d.client_id, d.rep_id, d.interaction_id, d.won_on, d.note) for d in batch.deals] == [
            (d.client_id, d.rep_id, d.interaction_id, d.won_on, d.note) for d in uow.data.deals]
        assert list(batch.trust.values()) in ([], [uow.clients.get(WS, client.id)])
        assert replay.books == {}  # drained: the client is forgotten
