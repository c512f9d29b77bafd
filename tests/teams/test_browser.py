"""A short /logmeeting conversation in the M365 Agents Playground's own web page, driven with
Playwright and Debian's Chromium: typed into the compose box, answered by clicking the coach's
Adaptive Card buttons, down to a saved touch. A screenshot is kept as a test artifact (and copied
to build/teams-playground.png). Skipped, with the reason, without node, Chromium or Playwright."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from tests.teams.playground import USER_NAME, WAIT, CoachServer, Playground

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parents[2]
TIMEOUT_MS = WAIT * 1000
CARD = ".ac-adaptiveCard"


class Chat:
    """The Playground's personal chat, as a person uses it."""

    def __init__(self, page) -> None:
        self.page = page
        self.box = page.get_by_role("textbox")

    def cards(self):
        return self.page.locator(CARD)

    def _next_card(self, before: int, expect: str):
        from playwright.sync_api import expect as expect_that

        card = self.cards().nth(before)
        card.wait_for(timeout=TIMEOUT_MS)
        last = self.cards().last
        expect_that(last).to_contain_text(expect, timeout=TIMEOUT_MS)
        return last

    def type(self, text: str, expect: str):
        before = self.cards().count()
        self.box.click()
        self.page.keyboard.type(text)
        self.page.keyboard.press("Enter")
        return self._next_card(before, expect)

    def click(self, button: str, expect: str):
        before = self.cards().count()
        self.cards().last.get_by_role("button", name=button, exact=True).click()
        return self._next_card(before, expect)


@pytest.fixture(scope="module")
def chromium():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install playwright; never `playwright install`)")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        yield playwright.chromium


@pytest.fixture(scope="module")
def session(tmp_path_factory, node_tools, chromium) -> Iterator[tuple[CoachServer, Playground, Chat, Path]]:
    """The coach, the Playground and its page, after the quick /logmeeting conversation."""
    workdir = tmp_path_factory.mktemp("teams-browser")
    server = CoachServer(f"sqlite:///{workdir / 'coach.sqlite3'}")
    server.seed("alice@acme.example")
    with server.running(), Playground(server.messages_url, workdir, root=node_tools).running(feed=False) as playground:
        context = chromium.launch_persistent_context(
            str(workdir / "profile"), executable_path=str(CHROMIUM), headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 1000})
        try:
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(playground.url, wait_until="domcontentloaded", timeout=TIMEOUT_MS)
            chat = Chat(page)
            chat.box.wait_for(timeout=TIMEOUT_MS)
            # Opening the chat installs the app: the coach greets with its help card.
            chat.cards().first.wait_for(timeout=TIMEOUT_MS)
            chat.type("/logmeeting Globex call give: sent them the benchmark report", "I don't have a client called “Globex” yet")
            chat.click("Add “Globex” as a new client", "Save this?")  # the summary is the only question
            chat.click("+ Promise", "What did you promise, and by when?")
            chat.type("send the revised quote by Friday", "Save this?")
            chat.click("Save", "Saved your touch with Globex.")
            screenshot = workdir / "teams-playground.png"
            page.screenshot(path=str(screenshot), full_page=True)
            (REPO / "build").mkdir(exist_ok=True)
            shutil.copyfile(screenshot, REPO / "build" / "teams-playground.png")
            yield server, playground, chat, screenshot
        finally:
            context.close()


def test_a_quick_log_is_typed_clicked_and_saved(session):
    server, playground, chat, screenshot = session
    saved = chat.cards().last.inner_text()
    assert "+2  Gave value without asking (Call)".replace("  ", " ") in re.sub(r"\s+", " ", saved)
    assert "Credit balance with Globex: +2" in saved
    assert screenshot.stat().st_size > 10_000
    with server.coach.uow_factory() as uow:
        client = uow.clients.by_name(server.coach.workspace, "Globex")
        assert client is not None
        assert uow.ledger.balance(server.coach.workspace, client.id) == 2
        assert len(uow.interactions.for_client(server.coach.workspace, client.id, limit=10)) == 1
    # The clicks went to the coach as Action.Submit values, from the Playground's user.
    submits = [e.body for e in playground.exchanges() if e.body.get("value") is not None]
    assert [s["value"] for s in submits] == [{"choice": "new:Globex"}, {"choice": "promise"}, {"choice": "save"}]
    assert {s["from"]["name"] for s in submits} == {USER_NAME}


def test_each_reply_is_shown_once(session):
    """Teams shows a message's text and its card both: a reply that also carries its card's
    text as the message text appears twice. Each answer must be on the page once, in its card."""
    _, _, chat, _ = session
    for text in ("Saved your touch with Globex.", "What did you promise, and by when?"):
        shown = chat.page.evaluate(
            """text => [...document.querySelectorAll("p")].filter(p => p.innerText.includes(text))
                          .map(p => p.closest(".ac-adaptiveCard") ? "card" : "text message")""", text)
        assert shown == ["card"], f"{text!r} is shown as {shown}"


def test_lines_of_a_reply_stay_on_their_own_lines(session):
    """The help card's list: a single newline in a TextBlock is not a line break in Teams."""
    _, _, chat, _ = session
    help_card = chat.cards().first.inner_text()
    assert "Here's what I can do" in help_card
    lines = [line.strip() for line in help_card.splitlines()]
    assert any(line.startswith("• ledger CLIENT") for line in lines), help_card
