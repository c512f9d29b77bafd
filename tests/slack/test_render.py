"""Block Kit rendering stays within Slack's limits, checked by slack_sdk's own models."""

from __future__ import annotations


import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.slack import render
from coaching.digest import digest
from bot.catalog import Catalog
from coaching.messages import Msg
from coaching.model import Person, Role
from coaching.nudges import Nudge, NudgeKind
from coaching.replies import Choice, Reply

CATALOG = Catalog()


def valid(blocks: list[dict]) -> list[dict]:
    for block in blocks:
        Block.parse(block).validate_json()  # raises SlackObjectFormationError past a limit
    return blocks


def test_long_text_is_split_into_sections_of_3000():
    reply = Reply.of(*["x" * 1200 for _ in range(10)], "y" * 7000)
    blocks = valid(render.blocks(reply, CATALOG, "en"))
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks)
    assert sum(len(b["text"]["text"]) for b in blocks) >= 12000 + 7000


@pytest.mark.parametrize("count, kind", [(3, "button"), (5, "button"), (6, "static_select"), (250, "static_select")])
def test_choices_are_buttons_then_a_menu(count, kind):
    choices = tuple(Choice(f"client:{i}", f"Client number {i} " + "z" * 90) for i in range(count))
    blocks = valid(render.blocks(Reply.of("Pick", choices=choices), CATALOG, "en"))
    elements = blocks[-1]["elements"]
    assert {e["type"] for e in elements} == {kind}
    if kind == "static_select":
        assert len(elements[0]["options"]) == min(count, 100)
        assert all(len(o["text"]["text"]) <= 75 for o in elements[0]["options"])


def test_the_client_prompt_offers_type_ahead_and_the_form():
    reply = Reply.of(Msg("log.ask.client", {}), choices=(Choice("client:1", "Acme"),), picker="client")
    elements = valid(render.blocks(reply, CATALOG, "ja"))[-1]["elements"]
    assert [e["type"] for e in elements] == ["button", "external_select", "button"]
    assert elements[2]["text"]["text"] == "フォームで入力する"


def test_a_digest_gives_each_item_its_own_buttons():
    rep = Person(1, "acme", "a@x", "Alice", Role.REP, (1,))
    waiting = [Nudge(NudgeKind.PROBLEM_WAITING, 1, i, f"Client {i}",
                     Msg("nudge.problem_waiting.reason", {"client": f"Client {i}", "problem": "login", "days": 2}),
                     Msg("nudge.problem_waiting.next", {"client": f"Client {i}"}), f"problem:{i}", stake=80 - i)
               for i in range(6)]
    quiet = [Nudge(NudgeKind.QUIET, 1, 10 + i, f"Quiet {i}", Msg("nudge.quiet.reason", {"client": "x", "days": 40, "cadence": 14}),
                   Msg("nudge.quiet.next.0", {"client": "x"}), f"client:{10 + i}:quiet", stake=40) for i in range(3)]
    blocks = valid(render.blocks(digest(rep, waiting + quiet), CATALOG, "en"))
    actions = [b for b in blocks if b["type"] == "actions"]
    assert len(actions) == 6  # the five items most at stake (what is due first), then "useful"
    assert [e["value"] for e in actions[0]["elements"]] == ["/logmeeting Client 0", "dismiss:problem_waiting:problem:0"]
    assert [e["value"] for e in actions[-1]["elements"]][0].startswith("useful:digest:problem_waiting=problem:0|")


def test_home_tab_is_a_valid_view_within_100_blocks():
    reply = Reply.of(*[f"line {i} " + "w" * 2990 for i in range(150)])
    view = render.home_view(reply, CATALOG, "en")
    View(**view).validate_json()
    assert len(view["blocks"]) <= 100


def test_user_text_cannot_mention_or_link():
    reply = Reply.of(Msg("log.saved", {"client": "<!here> <@U123> <http://x|y> & co"}))
    [section] = valid(render.blocks(reply, CATALOG, "en"))
    assert section["text"]["text"] == "Saved your touch with &lt;!here&gt; &lt;@U123&gt; &lt;http://x|y&gt; &amp; co."
