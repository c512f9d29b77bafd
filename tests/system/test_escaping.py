"""User text in every rendering: client, person and team names, notes, promises and the LLM's
words come out as the words they are, in Slack mrkdwn, in Teams card markdown, in the terminal
and in CSV; never as a mention, a link, formatting, a terminal escape or a spreadsheet formula.

Each renderer gets a table of hostile strings in every place user text goes (a catalogue
parameter, a raw line, a button, an option), then Hypothesis's own strings; then one client with
a hostile name, its passbook rendered end to end through Slack's endpoint, Teams' endpoint, the
console and ``coach ledger --format csv``, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
import re
import subprocess
from datetime import date

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st
from markdown_it import MarkdownIt
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot import cli, terminal
from bot.console import ConsoleChannel
from bot.slack import render
from bot.teams import cards
from coaching.logflow import LogRequest
from coaching.engine import Inbound
from bot.catalog import Catalog
from coaching.messages import msg
from coaching.model import Kind, PromiseDraft, Purpose, Role
from coaching.records import PersonDraft
from coaching.replies import Choice, Reply, printable
from tests.slack.fake_api import FakeSlackApi
from tests.slack.harness import SlackHarness
from tests.support import WORKSPACE, make_coach, seed_roster
from tests.teams.playground import USER_AAD_ID, CoachServer, http, install_node_packages

CATALOG = Catalog()

HOSTILE = {
    "slack mention": "<!channel> <!here> <@U123> <#C1|general> hi",
    "slack link": "<http://evil.example|Verify your account>",
    "markdown link": "[click](http://evil.example) ![img](http://evil.example/x.png) <http://evil.example>",
    "emphasis": "**bold** *b* _i_ ~s~ ~~s~~ `code` ```block```",
    "full-width marks": "＊太字＊ ＿斜体＿ ｀コード｀",
    "quote, list, heading": "> quoted\n＞引用\n- item\n+ item\n1. first\n2) second\n    indented code\n# heading",
    "entities and html": "AT&T &amp; &lt;b&gt; &#91;x&#93; <b>bold</b><script>alert(1)</script>",
    "formula": '=HYPERLINK("http://evil.example","x")',
    "formula signs": "+1+2 | -2+3+cmd|' /C calc'!A0 | @SUM(1+1)",
    "tab and carriage return": "\t=1+1\r=2+2",
    "ansi": "\x1b[2J\x1b[31mred\x1b[0m",
    "terminal hyperlink": "\x1b]8;;http://evil.example\x07click\x1b]8;;\x07",
    "carriage return": "all good\rOVERWRITTEN",
    "controls": "a\x00b\x07c\x08d\x7fe\x9b31mf",
    "bidi": "\u202eevil\u202c txt \u2066iso\u2069 \u200fשלום\u200e",
    "quotes, newlines, emoji": "\"double\" 'single' \\back\\ \nnext line 🎉👩‍👩‍👧 \u3000全角",
    "rich markup": "[link=http://evil.example]x[/link] [bold red]y[/] :smile:",
    "card date function": "{{DATE(2017-02-14T06:08:39Z, SHORT)}}",
    "lone surrogate": "a\ud800b",
    "long": "<&>" * 1200,  # 3,600 characters, 14,400 once escaped for Slack
}
CASES = list(HOSTILE.items())
IDS = list(HOSTILE)


def replies_with(text: str) -> dict[str, Reply]:
    """Every way user text reaches a reply: catalogue parameters (a name, a promise, team names,
    the LLM's tip), a raw line, button labels, select options, a digest-like item, the picker."""
    select = tuple(Choice(f"client:{i}", f"{text} {i}") for i in range(7)) + (
        Choice(f"new:{text}", msg("log.choice.new_client", name=text)),)
    return {
        "passbook": Reply.of(msg("ledger.header", client=text, balance=-3),
                             msg("promise.open_line", promise=text, due=date(2026, 12, 1))),
        "raw line": Reply.of(text, "second line"),
        "tip": Reply.of(msg("tip.prefix", tip=text)),
        "team names": Reply.of(msg("health.header", teams=[text, "East"], start=date(2026, 10, 24),
                                   end=date(2026, 11, 20))),
        "buttons": Reply.of(msg("checkin.title", name=text), choices=(
            Choice("tap:1", text), Choice(f"new:{text}", msg("log.choice.new_client", name=text)))),
        "select": Reply.of(msg("log.ask.client_pick", name=text), choices=select, picker="client"),
        "items": dataclasses.replace(Reply.of_items(
            (msg("checkin.title", name=text),), [(msg("checkin.captured", client=text), (Choice("tap:1", text),))]),
            picker="client"),
    }


# --- Slack mrkdwn ------------------------------------------------------------------------------

# The look-alikes Slack's formatting marks become (mrkdwn has no escape for them).
SLACK_LOOKALIKES = {"*": "\u2217", "＊": "\ufe61", "_": "\u02cd", "＿": "\u2e0f", "~": "\u223c", "`": "\u02cb",
                    "｀": "\u02cb"}
UNSHOWABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def slack_problems(blocks: list[dict]) -> list[str]:
    """Whatever in a message would make Slack ping, link, format or refuse it."""
    problems = []
    if len(blocks) > render.MESSAGE_BLOCKS_MAX:
        problems.append(f"{len(blocks)} blocks")
    for block in blocks:
        Block.parse(block).validate_json()  # Slack's limits, as slack_sdk knows them
        texts = [block["text"]["text"]] if block["type"] == "section" else []
        for element in block.get("elements", []):
            labels = [element.get("text", {}).get("text", "")] + [o["text"]["text"] for o in element.get("options", [])]
            problems += [f"label {label!r}" for label in labels
                         if len(label) > render.LABEL_LIMIT or UNSHOWABLE.search(label)]
            problems += [f"option value of {len(o['value'])}" for o in element.get("options", [])
                         if len(o["value"]) > render.OPTION_VALUE_MAX]
        for text in texts:
            if len(text) > render.SECTION_LIMIT:
                problems.append(f"section of {len(text)}")
            if "<" in text or ">" in text:  # the catalogue writes no Slack markup: any is user text
                problems.append(f"raw angle bracket in {text[:80]!r}")
            if re.search(r"&(?!amp;|lt;|gt;)", text):
                problems.append(f"bare & in {text[:80]!r}")
            if any(mark in text for mark in SLACK_LOOKALIKES):
                problems.append(f"formatting mark in {text[:80]!r}")
            if re.search(r"^[ \t]*(&gt;|＞)", text, re.MULTILINE):
                problems.append(f"quote in {text[:80]!r}")
            if UNSHOWABLE.search(text):
                problems.append(f"control character in {text[:80]!r}")
    return problems


def slack_reads(mrkdwn: str) -> str:
    """What a Slack reader sees of escaped user text (soft hyphens are invisible)."""
    return mrkdwn.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("\u00ad", "")


def slack_expects(text: str) -> str:
    """What the reader should see: the words as typed, the formatting marks as their look-alikes."""
    return printable(text).translate(str.maketrans(SLACK_LOOKALIKES)).replace("\u00ad", "")


@pytest.mark.parametrize("name, text", CASES, ids=IDS)
def test_slack_blocks_show_user_text_as_words(name, text):
    for place, reply in replies_with(text).items():
        for locale in ("en", "ja"):
            blocks = render.blocks(reply, CATALOG, locale)
            assert slack_problems(blocks) == [], (place, locale)
            assert "<" not in render.fallback_text(reply, CATALOG, locale)
    home = render.home_view(replies_with(text)["passbook"], CATALOG, "en")
    View(**home).validate_json()
    assert slack_problems(home["blocks"]) == []
    # nothing is lost: the reader sees the words, only the marks' look-alikes differ
    assert slack_reads(render.escape(text)) == slack_expects(text)


def test_slack_keeps_a_long_escaped_note_whole_and_never_splits_an_entity():
    text = "&" * 2999 + "<" * 2999
    blocks = render.blocks(Reply.of(text), CATALOG, "en")
    assert slack_problems(blocks) == []
    assert "".join(b["text"]["text"] for b in blocks) == render.escape(text)  # 29,990 characters, whole


def test_a_choice_too_long_for_an_option_stays_a_button_with_its_whole_value():
    name = "N" * 190  # a new client's name may have 200 characters; an option's value holds 150
    choices = tuple(Choice(f"client:{i}", f"Client {i}") for i in range(7)) + (
        Choice(f"new:{name}", msg("log.choice.new_client", name=name)),)
    [actions] = render.blocks(Reply.of("Pick", choices=choices), CATALOG, "en")[-1:]
    assert slack_problems([actions]) == []
    select, button = actions["elements"]
    assert [o["value"] for o in select["options"]] == [f"client:{i}" for i in range(7)]
    assert button["value"] == f"new:{name}"


@settings(deadline=None, max_examples=800)
@given(st.text(max_size=300))
def test_slack_escape_holds_for_any_text(text):
    blocks = render.blocks(Reply.of(msg("log.saved", client=text), choices=(Choice("x", text),)), CATALOG, "en")
    assert slack_problems(blocks) == []
    assert slack_reads(render.escape(text)) == slack_expects(text)


# --- Teams Adaptive Cards ----------------------------------------------------------------------

# CommonMark (what Teams' card markdown is a subset of), with the strikethrough and tables it adds.
MARKDOWN = MarkdownIt("commonmark").enable(["strikethrough", "table"])


def card_problems(card: dict) -> list[str]:
    """Whatever in a card would render as markup the user didn't write, or can't be sent."""
    problems = []
    sent = json.dumps(card)  # as the SDK sends it
    if json.loads(sent) != card:
        problems.append("JSON does not round-trip")
    for element in walk(card):
        if element.get("type") == "TextBlock":
            text = element["text"]
            rendered = MARKDOWN.render(text)
            tags = set(re.findall(r"<(\w+)", rendered)) - {"p"}
            if tags:
                problems.append(f"{sorted(tags)} from {text[:80]!r}")
            if "{{" in text:
                problems.append(f"a template function in {text[:80]!r}")
            if UNSHOWABLE.search(text):
                problems.append(f"control character in {text[:80]!r}")
        for title in [element.get("title")] if element.get("type", "").startswith("Action.") else []:
            if not title or len(title) > cards.TITLE_MAX or UNSHOWABLE.search(title):
                problems.append(f"title {title!r}")
        for choice in element.get("choices", []):
            if not choice["title"] or UNSHOWABLE.search(choice["title"]):
                problems.append(f"choice {choice['title']!r}")
    return problems


def walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def card_reads(card: dict) -> str:
    """The words a card's TextBlocks show, as CommonMark renders them."""
    shown = [html.unescape(re.sub(r"<[^>]+>", "", MARKDOWN.render(e["text"]))).strip()
             for e in walk(card) if e.get("type") == "TextBlock"]
    return "\n".join(shown)


@pytest.mark.parametrize("name, text", CASES, ids=IDS)
def test_teams_cards_show_user_text_as_words(name, text):
    for place, reply in replies_with(text).items():
        for locale in ("en", "ja"):
            card = cards.card(reply, CATALOG, locale)
            assert card_problems(card) == [], (place, locale)
            assert not UNSHOWABLE.search(cards.plain_text(reply, CATALOG, locale))
    # nothing is lost: each line of the raw text shows, as typed, in a TextBlock of its own
    shown = card_reads(cards.card(Reply.of(text), CATALOG, "en"))
    assert shown == "\n".join(line.strip() for line in printable(text).split("\n") if line.strip())


@settings(deadline=None, max_examples=800)
@given(st.text(max_size=200))
def test_teams_escape_holds_for_any_text(text):
    card = cards.card(Reply.of(text, msg("log.saved", client=text), choices=(Choice("x", text),)), CATALOG, "en")
    assert card_problems(card) == []
    lines = [line.strip() for line in printable(text).split("\n") if line.strip()]
    assert card_reads(cards.card(Reply.of(text), CATALOG, "en")) == "\n".join(lines)


VALIDATE = r"""
const AC = require(process.argv[1]);
const cards = JSON.parse(require("fs").readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(cards.map((card) => {
  const context = new AC.SerializationContext(AC.Versions.v1_5);
  const parsed = new AC.AdaptiveCard();
  parsed.parse(card, context);
  const problems = [];
  for (let i = 0; i < context.eventCount; i++) problems.push(context.getEventAt(i).message);
  for (const e of parsed.validateProperties().validationEvents) problems.push(e.message);
  return problems;
})));
"""


def adaptive_card_problems(documents: list[dict]) -> list[list[str]]:
    """Microsoft's ``adaptivecards`` package's verdict on each card (skips without node)."""
    try:
        root = install_node_packages()
    except RuntimeError as error:
        pytest.skip(str(error))
    library = root / "node_modules" / "adaptivecards" / "dist" / "adaptivecards.js"
    done = subprocess.run(["node", "-e", VALIDATE, str(library)], input=json.dumps(documents), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_hostile_card_is_valid_for_microsofts_adaptivecards():
    documents = [cards.card(reply, CATALOG, locale) for _, text in CASES
                 for reply in replies_with(text).values() for locale in ("en", "ja")]
    assert [p for p in adaptive_card_problems(documents) if p] == []


# --- the terminal ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, text", CASES, ids=IDS)
def test_the_terminal_gets_no_control_character_from_user_text(name, text):
    for place, reply in replies_with(text).items():
        shown = terminal.render(reply, CATALOG, "en")
        assert not UNSHOWABLE.search(shown), place
    assert printable(text) in terminal.render(Reply.of(text), CATALOG, "en")  # the words themselves stay


@settings(deadline=None, max_examples=800)
@given(st.text(max_size=300))
def test_terminal_escape_holds_for_any_text(text):
    shown = terminal.render(Reply.of(msg("log.saved", client=text), choices=(Choice("x", text),)), CATALOG, "en")
    assert not UNSHOWABLE.search(shown)


# --- CSV ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, cell", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("\r=1", "'\n=1"), ("＝1+1", "'＝1+1"), ("-3", "'-3"), ("\x00=1", "'=1"),
    ("Acme", "Acme"), ("a=b", "a=b"), ("", ""), ("'=1", "'=1"), ("3", "3"),
    (-3, -3), (0, 0), (2.5, 2.5), (-0.25, -0.25), (None, ""), (True, "true"), (["=x", "y"], "'=x; y"),
])
def test_a_csv_cell_never_starts_a_formula_and_numbers_stay_numbers(value, cell):
    assert cli.csv_cell(value) == cell


@pytest.mark.parametrize("name, text", CASES, ids=IDS)
def test_csv_text_reads_back_as_the_same_cells(name, text):
    out = cli.csv_text([{"client": text, "amount": -3, "balance": 12.5}], ("client", "amount", "balance"))
    header, row = list(csv.reader(io.StringIO(out), quoting=csv.QUOTE_NONNUMERIC))
    assert header == ["client", "amount", "balance"]
    assert row == [cli.csv_cell(text), -3.0, 12.5]  # bare numbers: a spreadsheet reads them as numbers
    assert not row[0].startswith(cli.FORMULA_START) or row[0].startswith("'")
    assert not UNSHOWABLE.search(out.replace("\t", ""))


@settings(deadline=None, max_examples=800)
@given(st.one_of(st.text(max_size=50), st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
def test_no_csv_cell_starts_a_formula(value):
    cell = cli.csv_cell(value)
    if isinstance(value, str):
        assert isinstance(cell, str) and not cell.startswith(cli.FORMULA_START)
    else:
        assert cell == value


def test_json_output_escapes_what_a_terminal_would_obey():
    text = cli.json_text({"client": "\x9b31m\u202eevil\u2028x\ud800 東京", "n": -3})
    assert not UNSHOWABLE.search(text) and "東京" in text
    assert json.loads(text)["client"] == "\x9b31m\u202eevil\u2028x\ud800 東京"


# --- end to end: a client with a hostile name, its passbook on every platform ------------------

NAME = ('=HYPERLINK("http://evil.example","*Acme*") @here _it_ ~s~ `x` [click](http://evil.example) **b** '
        '{{DATE(2026-11-20T09:00:00Z, SHORT)}} ＊全角＊')
PROMISE = ("send <!channel> the <http://evil.example|quote> & \x1b]8;;http://evil.example\x07terms\x1b]8;;\x07 "
           "\u202eevil\u202c\rOVERWRITE")
NOTE = "<@U123> > quoted\n- [link](http://evil.example) \x1b[2J"


def hostile_client(database_url: str) -> None:
    """A touch with the hostile client (new), its note and an open promise, as Alice logs it."""
    coach = make_coach(database_url)
    seed_roster(coach)
    request = LogRequest(client_id=None, client_name=NAME, occurred_on=date(2026, 11, 19), kind=Kind.CALL,
                         purpose=Purpose.GIVE, note=NOTE, proof_shown=True,
                         promises=(PromiseDraft(PROMISE, date(2026, 11, 27)),), problem=None, asked_for=None,
                         demanded_justification=None)
    outcome = coach.engine.log_form(Inbound(WORKSPACE, "console:alice", "", email="alice@acme.example"), request)
    assert outcome.logged is not None and not outcome.logged.duplicate


def test_a_hostile_client_passbook_end_to_end_on_every_platform(database_url, tmp_path):
    hostile_client(database_url)

    # Slack: a DM into the real endpoint; the passbook posted to the (fake) Web API
    with FakeSlackApi().started_in_thread() as api, SlackHarness(database_url, api).running() as slack:
        assert slack.dm(f"ledger {NAME}")[0] == 200
        [post] = slack.posts_after(0)
    blocks = post.params["blocks"]
    assert slack_problems(blocks) == []
    said = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert render.escape(NAME) in said and "&lt;!channel&gt;" in said and "&lt;http://evil.example|quote&gt;" in said
    assert "<" not in post.params["text"]

    # Teams: an activity into the real endpoint (anonymous local mode), the card in the response
    server = CoachServer(database_url)
    server.seed()
    with server.running():
        status, body = http("POST", server.messages_url, teams_activity(f"ledger {NAME}"))
    assert status == 200
    [card] = [a["content"] for r in body["activities"] for a in r.get("attachments", [])]
    assert card_problems(card) == []
    shown = card_reads(card)
    assert NAME in shown and "<!channel>" in shown and "<http://evil.example|quote>" in shown
    assert adaptive_card_problems([card]) == [[]]

    # the console
    coach = make_coach(database_url)
    text, _ = ConsoleChannel(coach, "alice@acme.example").send(f"ledger {NAME}")
    assert NAME in text and "quote" in text and not UNSHOWABLE.search(text)

    # the CLI: the passbook as a table, as JSON and as CSV
    env = {"DATABASE_URL": database_url, "COACH_WORKSPACE": WORKSPACE, "COACH_DATA_DIR": str(tmp_path),
           "COACH_LANGUAGE": "en", "COACH_RULES_FILE": ""}
    outputs = {fmt: CliRunner().invoke(cli.main, ["ledger", "--client", NAME, "--format", fmt], env=env)
               for fmt in ("table", "json", "csv")}
    assert {fmt: r.exit_code for fmt, r in outputs.items()} == {"table": 0, "json": 0, "csv": 0}
    assert not any(UNSHOWABLE.search(r.stdout) for r in outputs.values())
    assert json.loads(outputs["json"].stdout)["client"] == NAME
    rows = list(csv.reader(io.StringIO(outputs["csv"].stdout), quoting=csv.QUOTE_NONNUMERIC))
    assert rows[0] == list(cli.LEDGER_FIELDS)
    assert rows[1][0] == "'" + NAME and all(isinstance(r[2], float) and isinstance(r[5], float) for r in rows[1:])


TEAM = "=cmd|' /C calc'!A0"
REP = "@SUM(1+1) [link=http://evil.example]Eve[/link]"
CLIENT = "-2+3 [link=http://evil.example]Evil[/link] :smile:"


def hostile_team(database_url: str) -> None:
    """A team, its manager and rep, and a quiet client, all named to attack a spreadsheet or rich."""
    coach = make_coach(database_url)
    seed_roster(coach)
    with coach.uow_factory() as uow:
        team = uow.teams.add(WORKSPACE, TEAM)
        rep = uow.people.upsert(WORKSPACE, PersonDraft("eve@acme.example", REP, Role.REP, (team.id,), "UTC", "en"))
        uow.people.upsert(WORKSPACE, PersonDraft("max@acme.example", "+Max", Role.MANAGER, (team.id,), "UTC", "en"))
        uow.clients.add(WORKSPACE, CLIENT, team.id, rep.id, date(2026, 9, 1))
        uow.commit()


def test_every_csv_export_neutralises_formulas_and_tables_print_no_markup(database_url, tmp_path):
    """``--format csv`` of nudges, deliveries, ledger and team health: no text cell starts a formula,
    numbers stay numbers. The tables (rich) print "[link=…]" in a name as written, not as a link."""
    hostile_team(database_url)
    env = {"DATABASE_URL": database_url, "COACH_WORKSPACE": WORKSPACE, "COACH_DATA_DIR": str(tmp_path),
           "COACH_LANGUAGE": "en", "COACH_RULES_FILE": "", "COLUMNS": "400"}

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli.main, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.stdout

    day = ("--as-of", "2026-11-20")
    table = run("nudges", *day, "--rep", "eve@acme.example")
    assert CLIENT in table and "Evil" in table
    run("nudges", *day, "--send")  # records the day's digests, for `coach deliveries`
    run("daily", *day)  # silence costs the quiet client credit: a negative balance to export
    exports = {"nudges": run("nudges", *day, "--format", "csv"),
               "deliveries": run("deliveries", "--date", "2026-11-20", "--format", "csv"),
               "ledger": run("ledger", "--client", CLIENT, "--format", "csv"),
               "teamhealth": run("teamhealth", "--team", TEAM, *day, "--format", "csv")}
    cells = {}
    for name, out in exports.items():
        rows = list(csv.reader(io.StringIO(out), quoting=csv.QUOTE_NONNUMERIC))
        assert len(rows) > 1, name
        texts = [cell for row in rows for cell in row if isinstance(cell, str)]
        assert not [cell for cell in texts if cell.startswith(cli.FORMULA_START)], name
        cells[name] = texts
        assert any(isinstance(cell, float) for row in rows[1:] for cell in row), name  # numbers stay numbers
    assert "'" + CLIENT in cells["nudges"] and "'" + TEAM in cells["teamhealth"]
    assert "'" + REP in cells["teamhealth"] and "eve@acme.example" in cells["deliveries"]


def teams_activity(text: str) -> dict:
    """A personal-chat message from the linked Teams user, asking for the replies in the response."""
    return {
        "type": "message", "id": "1:escaping", "timestamp": "2026-11-20T09:00:00.000Z", "channelId": "msteams",
        "serviceUrl": "http://127.0.0.1:9/", "locale": "en-GB", "text": text, "textFormat": "plain",
        "deliveryMode": "expectReplies",
        "from": {"id": "29:1alice", "name": "Alice Smith", "aadObjectId": USER_AAD_ID},
        "recipient": {"id": "28:coach", "name": "Coach"},
        "conversation": {"id": "a:1personal-escaping", "conversationType": "personal",
                         "tenantId": "00000000-0000-0000-0000-0000000000001"},
        "channelData": {"tenant": {"id": "00000000-0000-0000-0000-0000000000001"}},
    }
