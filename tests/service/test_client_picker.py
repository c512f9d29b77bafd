"""A workspace of 5,000 clients: every place a rep picks a client stays within its platform's
limits and still finds any client from part of its name.

Slack: the type-ahead (an external select answered by the real endpoint, at most 100 options),
the client prompt of /logmeeting (at most 50 blocks, a select of at most 100 options), the
check-in's buttons. Teams: the same prompts as cards (about 28 KB a message, a filtered choice
set of at most 100). The console: a page a person can read. On SQLite and PostgreSQL. The
figures (options returned, a search's time, the largest card) are printed, not asserted: a
benchmark is no unit test."""

from __future__ import annotations

import json
import re
import time
from datetime import date

import pytest
from sqlalchemy import insert

from bot.console import ConsoleChannel
from bot.slack import render
from bot.teams import cards
from coaching import checkin
from bot.catalog import Catalog
from coaching.messages import msg
from coaching.replies import Choice, Reply
from storage.models import ClientRow
from storage.repositories import name_key
from tests.slack.fake_api import FakeSlackApi
from tests.slack.harness import SlackHarness
from tests.slack.signing import block_suggestion_body
from tests.support import WORKSPACE, make_coach, seed_roster
from tests.teams.playground import CoachServer, choices_of, http
from tests.system.test_escaping import adaptive_card_problems, card_problems, slack_problems, teams_activity

CLIENTS = 5000
LONG_NAME = ("Very Long Name Trading Company of the Northern Territories " * 4)[:200]
CATALOG = Catalog()


def name_of(i: int) -> str:
    """Every fifth client is West's; a fifth of East's have Japanese names; one has 200 characters."""
    if i == 7:
        return LONG_NAME
    if i % 5 == 4:
        return f"West Client {i:04d}"
    return f"株式会社サンプル{i:04d}" if i % 5 == 0 else f"Client {i:04d} Holdings"


def seed_clients(database_url: str) -> dict[str, int]:
    """The roster and 5,000 clients (4,000 East, Alice's and Ken's; 1,000 West, Bob's), inserted in
    one statement: one repository call per client takes seconds on PostgreSQL."""
    coach = make_coach(database_url)
    ids = seed_roster(coach)
    with coach.uow_factory() as uow:
        east, west = uow.teams.by_name(WORKSPACE, "East"), uow.teams.by_name(WORKSPACE, "West")
        rows = []
        for i in range(CLIENTS):
            team, owner = (west.id, ids["bob"]) if i % 5 == 4 else (east.id, ids["alice"] if i % 2 else ids["ken"])
            rows.append({"workspace_id": WORKSPACE, "name": name_of(i), "name_key": name_key(name_of(i)),
                         "team_id": team, "owner_id": owner, "created_on": date(2026, 1, 5)})
        uow.session.execute(insert(ClientRow), rows)
        uow.commit()
        assert len(uow.clients.list(WORKSPACE)) == CLIENTS
    return ids


def client_id(database_url: str, name: str) -> int:
    coach = make_coach(database_url)
    with coach.uow_factory() as uow:
        return uow.clients.by_name(WORKSPACE, name).id


def figure(label: str, value: object) -> None:
    print(f"[5,000 clients] {label}: {value}")


# --- Slack -------------------------------------------------------------------------------------

def test_slack_pickers_stay_within_limits_and_find_any_client(database_url):
    seed_clients(database_url)
    wanted = {("UALICE", "4321"): "Client 4321 Holdings", ("UALICE", "0043 hold"): "Client 0043 Holdings",
              ("UKEN", "サンプル0040"): "株式会社サンプル0040", ("UALICE", "long name trading"): LONG_NAME}
    ids = {name: client_id(database_url, name) for name in [*wanted.values(), "West Client 0004"]}
    with FakeSlackApi().started_in_thread() as api, SlackHarness(database_url, api).running() as slack:
        # the type-ahead: Slack asks the endpoint for options as the rep types
        others = {("UALICE", "Client"): None, ("UALICE", "west client 0004"): None}  # many matches; another team's
        answered = {}
        for (user, typed), name in {**wanted, **others}.items():
            started = time.perf_counter()
            status, body = slack.post(block_suggestion_body(user, "client_search", typed))
            took = time.perf_counter() - started
            options = json.loads(body)["options"]
            assert status == 200 and 1 <= len(options) <= render.OPTIONS_MAX
            assert all(len(o["text"]["text"]) <= render.LABEL_LIMIT and len(o["value"]) <= render.OPTION_VALUE_MAX
                       for o in options)
            answered[typed] = [o["value"] for o in options]
            if name is not None:
                assert f"client:{ids[name]}" in answered[typed], (typed, answered[typed])
            figure(f"Slack type-ahead {typed!r}", f"{len(options)} options in {took * 1000:.0f} ms")
        assert answered["west client 0004"] == ["new:west client 0004"]  # another team's client stays hidden

        # /logmeeting asks for the client: a few of the rep's own, the type-ahead, the form
        assert slack.command("/logmeeting", "")[0] == 200
        [prompt] = slack.posts_after(0)
        assert slack_problems(prompt.params["blocks"]) == []
        elements = prompt.params["blocks"][-1]["elements"]
        assert [e["type"] for e in elements] == ["static_select", "external_select", "button"]
        assert len(elements[0]["options"]) <= 8

        # typing part of a name in the conversation offers the matching clients
        before = len(api.calls_to("chat.postMessage"))
        assert slack.dm("4321")[0] == 200
        [pick] = slack.posts_after(before)
        assert slack_problems(pick.params["blocks"]) == []
        assert f"client:{ids['Client 4321 Holdings']}" in slack_values(pick.params["blocks"])

        # the list of clients: the first 50 of 4,000, within a message's limits
        before = len(api.calls_to("chat.postMessage"))
        assert slack.dm("cancel")[0] == 200
        slack.posts_after(before)
        before = len(api.calls_to("chat.postMessage"))
        assert slack.dm("clients team")[0] == 200
        [listing] = slack.posts_after(before)
        assert slack_problems(listing.params["blocks"]) == []
        assert "(4000)" in listing.params["blocks"][0]["text"]["text"]
        figure("Slack client list", f"{len(listing.params['blocks'])} blocks, "
                                    f"{len(json.dumps(listing.params['blocks']))} bytes of blocks")


def slack_values(blocks: list[dict]) -> list[str]:
    """What the rep can pick in a message: its buttons' and options' values."""
    elements = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    return [e["value"] for e in elements if "value" in e] + [o["value"] for e in elements for o in e.get("options", [])]


def busy_checkin(database_url: str, ids: dict[str, int]):
    """Alice's check-in on a day 40 of her clients have a promise due: it names a handful."""
    coach = make_coach(database_url)
    day = date(2026, 11, 20)
    with coach.uow_factory() as uow:
        alice = uow.people.by_email(WORKSPACE, "alice@acme.example")
        mine = [c for c in uow.clients.list(WORKSPACE) if c.owner_id == ids["alice"]][:40]
        for client in mine:
            uow.promises.add(WORKSPACE, client.id, alice.id, None, "send the deck", day, day)
        uow.commit()
        return checkin.reply(alice, checkin.gather(uow, alice, day))


def test_the_checkin_offers_a_few_clients_and_the_search(database_url):
    ids = seed_clients(database_url)
    reply = busy_checkin(database_url, ids)
    taps = [c for c in reply.choices if c.value.startswith("tap:") and c.value != "tap:other"]
    assert len(taps) == checkin.CHOICES
    blocks = render.blocks(reply, CATALOG, "en")
    assert slack_problems(blocks) == []
    assert blocks[-1]["elements"][0]["type"] == "external_select"  # "someone else": any client, by typing
    card = cards.card(reply, CATALOG, "en")
    assert card_problems(card) == [] and cards.json_size(card) <= cards.MESSAGE_ROOM
    figure("check-in", f"{len(blocks)} Slack blocks; Teams card {cards.json_size(card)} bytes")


# --- Teams -------------------------------------------------------------------------------------

def test_teams_pickers_stay_within_limits_and_find_any_client(database_url):
    seed_clients(database_url)
    wanted = {"4321": client_id(database_url, "Client 4321 Holdings"),
              "long name trading": client_id(database_url, LONG_NAME)}
    server = CoachServer(database_url)
    server.seed()
    sizes: dict[str, int] = {}
    documents = []
    with server.running():
        for n, text in enumerate(["/logmeeting", "4321", "cancel", "clients team", "/logmeeting", "long name trading"]):
            status, body = http("POST", server.messages_url, {**teams_activity(text), "id": f"1:picker-{n}"})
            assert status == 200
            activities = body["activities"]
            for activity in activities:
                sizes[text] = max(sizes.get(text, 0), cards.json_size(activity))
                documents += [a["content"] for a in activity.get("attachments", [])]
            picks = [d.get("choice") or d.get(d.get("pick", "")) for a in activities for d in choices_of(a)]
            if text == "/logmeeting":  # a few of Alice's own clients, to pick or to narrow by typing
                assert 1 <= sum(p.startswith("client:") for p in picks) <= 8
            if text in wanted:  # typing part of a name in the chat offers that client
                assert f"client:{wanted[text]}" in picks
    assert all(size <= cards.TEAMS_MESSAGE_MAX for size in sizes.values()), sizes
    for document in documents:
        assert card_problems(document) == []
        for chooser in (e for e in document["body"] if e["type"] == "Input.ChoiceSet"):
            assert chooser["style"] == "filtered" and len(chooser["choices"]) <= cards.CHOICES_MAX
    assert all(p == [] for p in adaptive_card_problems(documents))
    figure("largest Teams message", f"{max(sizes.values())} bytes ({max(sizes, key=sizes.get)!r}); all: {sizes}")


# --- the console -------------------------------------------------------------------------------

def test_the_console_picker_is_a_readable_page_and_finds_any_client(database_url):
    seed_clients(database_url)
    coach = make_coach(database_url)
    console = ConsoleChannel(coach, "alice@acme.example")
    prompt, _ = console.send("/logmeeting")
    assert len(prompt.splitlines()) <= 12 and "Which client did you meet?" in prompt
    started = time.perf_counter()
    found, _ = console.send("4321")
    took = time.perf_counter() - started
    [number] = re.findall(r"^\s+(\d+)\) Client 4321 Holdings$", found, re.MULTILINE)
    assert len(found.splitlines()) <= 12
    after, _ = console.send(number)
    assert "What happened?" in after
    console.send("cancel")
    listing, _ = console.send("clients team")
    assert len(listing.splitlines()) <= 51 and "(4000)" in listing
    figure("console search '4321'", f"{took * 1000:.0f} ms, {len(found.splitlines())} lines")


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_a_teams_message_of_long_names_fits_and_says_it_was_cut(locale):
    """Fifty 200-character Japanese names (6 bytes each as sent) would make a 64 KB message, which
    Teams refuses whole: the card keeps the lines that fit, then an ellipsis."""
    names = [f"株式会社{i:02d}" + "東京海上日動火災保険" * 20 for i in range(50)]
    reply = Reply.of(msg("clients.header", count=4000), *[msg("clients.line", client=n[:200], balance=-3)
                                                          for n in names])
    summary = cards.summary(reply, CATALOG, locale)  # the activity carries both, as the Teams app sends them
    card = cards.card(reply, CATALOG, locale, room=cards.MESSAGE_ROOM - cards.json_size(summary))
    assert cards.json_size({"summary": summary, "card": card}) <= cards.MESSAGE_ROOM
    assert cards.json_size(summary) <= cards.SUMMARY_BYTES and summary.endswith(cards.ELLIPSIS)
    texts = [e["text"] for e in card["body"]]
    assert texts[-1] == cards.ELLIPSIS and 10 < len(texts) < 51
    assert all(name[:200] in text.replace("\\", "") for name, text in zip(names, texts[1:-1]))
    assert card_problems(card) == []
    one_line = cards.card(Reply.of("あ" * 5000, choices=(Choice("x", "X"),)), CATALOG, locale)
    assert cards.json_size(one_line) <= cards.MESSAGE_ROOM and one_line["body"][0]["text"].endswith(cards.ELLIPSIS)
    assert one_line["actions"][0]["data"] == {"choice": "x"}  # the buttons stay
    figure(f"Teams card of 50 long names ({locale})", f"{cards.json_size(card)} bytes, {len(texts) - 2} names shown")


def test_the_type_ahead_answer_stays_within_slacks_limits():
    """What the options handler answers: labels of at most 75 characters, in the rep's language,
    nothing unshowable, at most 100 options, and no value Slack would cut (a new name of 190
    characters is left to the conversation rather than coming back as a shorter, wrong name)."""
    found = [(f"client:{i}", f"\x1b[31mClient {i} " + "z" * 90) for i in range(150)]
    options = render.search_options(found + [("new:ｱｸﾒ", "")], "ｱｸﾒ", CATALOG, "ja")
    assert len(options) == render.OPTIONS_MAX
    assert slack_problems([{"type": "actions", "elements": [
        {"type": "static_select", "action_id": "a", "options": options,
         "placeholder": {"type": "plain_text", "text": "p"}}]}]) == []
    assert options[0]["text"]["text"].startswith("[31mClient 0 ")
    [new] = render.search_options([("new:ｱｸﾒ", "")], " ｱｸﾒ ", CATALOG, "ja")
    in_japanese = CATALOG.render(msg("log.choice.new_client", name="ｱｸﾒ"), "ja")
    assert new == {"text": {"type": "plain_text", "text": in_japanese}, "value": "new:ｱｸﾒ"} and "「ｱｸﾒ」" in in_japanese
    assert render.search_options([("new:" + "N" * 190, "")], "N" * 190, CATALOG, "en") == []
