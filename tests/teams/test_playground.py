"""The shared dialog scripts through Microsoft's M365 Agents Playground, a local Teams client:
typed steps go in as chat messages through its HTTP API, picks as Adaptive Card Action.Submit
clicks (the request its page sends), and the coach's answers are read from what its client was
shown, the cards' TextBlocks and buttons. Needs node (skipped with the reason otherwise)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dialogs import SCRIPTS, Pick, Script
from tests.support import WORKSPACE, client_state
from tests.teams.playground import USER_AAD_ID, CoachServer, Playground, card_text, cards_of, choices_of


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.name)
def test_shared_dialog_script(database_url, tmp_path: Path, node_tools: Path, script: Script):
    server = CoachServer(database_url)
    ids = server.seed(script.email)  # the Playground's user is this rep
    with server.running(), Playground(server.messages_url, tmp_path, root=node_tools).running() as playground:
        answer: list[dict] = []
        picks = []
        for number, step in enumerate(script.steps, 1):
            if isinstance(step, Pick):
                card = next((c for c in reversed(answer) if choices_of(c)), None)
                assert card is not None, f"step {number}: nothing to pick from in\n{[card_text(c) for c in answer]}"
                offered = choices_of(card)
                assert len(offered) >= step.number, f"step {number}: only {len(offered)} choices: {offered}"
                picks.append(offered[step.number - 1])
                answer = playground.submit(card, picks[-1])
            else:
                answer = playground.say(step.text)
            said = "\n".join(card_text(c) for c in answer)
            assert answer, f"step {number}: the coach showed no card"
            for fragment in step.expect:
                assert fragment in said, f"step {number} ({step}) lacks {fragment!r}:\n{said}"

        # The picks reached the coach as card submits (a value, no typed text) ...
        submitted = [turn.body for turn in playground.user_turns() if turn.body.get("value") is not None]
        assert [s["value"] for s in submitted] == picks
        assert all(not s.get("text") for s in submitted)
        # ... and the client showed exactly the cards the coach sent, every one answered 2xx.
        assert [cards_of(a) for a in playground.recorded_replies()] == [cards_of(m) for m in playground.shown()]
        assert all(200 <= (e.raw.get("response") or {}).get("statusCode", 0) < 300 for e in playground.exchanges())
        service_url = f"http://localhost:{playground.port}/_connector"

    assert client_state(server.coach, script.client) == (script.balance, script.interactions)
    with server.coach.uow_factory() as uow:
        reference = uow.chats.for_user(WORKSPACE, "teams", USER_AAD_ID)
    assert reference is not None, "the conversation reference was not saved"
    assert reference.person_id == ids[script.email.split("@")[0]]
    assert (reference.conversation_id, reference.service_url, reference.active) == (
        playground.conversation_id, service_url, True)
