"""`coach demo` speaks each rep's language: seeded into a real database, every client a Japanese
("ja") rep owns or touches has a Japanese name and every text written for them (touch notes,
promises, problems, won deals, the honesty breach) is Japanese; an English ("en") rep's clients and
texts hold no Japanese at all."""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from bot.bootstrap import Coach, bootstrap
from bot.demo import CLIENTS_BY_LANG, DOMAIN, PEOPLE, _plan, seed_demo
from bot.settings import Settings
from storage import db
from storage.db import make_engine

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")  # kana and kanji
LATIN = re.compile(r"[A-Za-z]")

# (rep's e-mail, rep's locale, what the text is, the text), for every text the demo stored
ROWS = {
    "client owned": "SELECT p.email, p.locale, c.name FROM clients c JOIN people p ON p.id = c.owner_id "
                    "WHERE c.workspace_id = :ws",
    "client touched": "SELECT DISTINCT p.email, p.locale, c.name FROM interactions i "
                      "JOIN people p ON p.id = i.rep_id JOIN clients c ON c.id = i.client_id WHERE i.workspace_id = :ws",
    "note": "SELECT p.email, p.locale, i.note FROM interactions i JOIN people p ON p.id = i.rep_id "
            "WHERE i.workspace_id = :ws",
    "promise": "SELECT p.email, p.locale, x.text FROM promises x JOIN people p ON p.id = x.rep_id "
               "WHERE x.workspace_id = :ws",
    "problem": "SELECT p.email, p.locale, x.text FROM problems x JOIN people p ON p.id = x.rep_id "
               "WHERE x.workspace_id = :ws",
    "deal": "SELECT p.email, p.locale, x.note FROM deals x JOIN people p ON p.id = x.rep_id WHERE x.workspace_id = :ws",
    "ledger text": "SELECT p.email, p.locale, x.detail FROM ledger_entries x JOIN people p ON p.id = x.rep_id "
                   "WHERE x.workspace_id = :ws",
}
LEDGER_TEXTS = ("promise", "problem", "what")  # the rep's own words a ledger entry quotes


@pytest.fixture(params=[7, 8], ids=lambda seed: f"seed{seed}")
def seeded(request: pytest.FixtureRequest, database_url: str) -> tuple[Coach, str]:
    db.upgrade(database_url)
    coach = bootstrap(Settings(DATABASE_URL=database_url, COACH_WORKSPACE="demo"), clock=lambda: NOW)
    assert seed_demo(coach, seed=request.param).created
    return coach, database_url


def stored_texts(url: str) -> dict[str, list[tuple[str, str, str]]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            found = {what: list(conn.execute(text(sql), {"ws": "demo"})) for what, sql in ROWS.items()}
    finally:
        engine.dispose()
    details = [(email, locale, json.loads(d) if isinstance(d, str) else d) for email, locale, d in found["ledger text"]]
    found["ledger text"] = [(email, locale, d[k]) for email, locale, d in details for k in LEDGER_TEXTS if k in d]
    return {what: [(email, locale, str(value)) for email, locale, value in rows] for what, rows in found.items()}


def test_every_rep_reads_their_own_language(seeded: tuple[Coach, str]) -> None:
    _, url = seeded
    found = stored_texts(url)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    wrong = []
    for what, rows in found.items():
        for email, locale, value in rows:
            counts[locale, what] += 1
            japanese = bool(JAPANESE.search(value))
            fits = japanese and not LATIN.search(value) if locale == "ja" else not japanese
            if not fits:
                wrong.append((locale, what, email, value))
    assert wrong == []
    # the Japanese reps did write every kind of text the check covers
    for what in ("client owned", "client touched", "note", "promise", "problem", "ledger text"):
        assert counts["ja", what] > 0 and counts["en", what] > 0, what
    assert counts["en", "deal"] == 3  # the after-win rep's three wins


def test_the_japanese_reps_own_only_japanese_clients(seeded: tuple[Coach, str]) -> None:
    coach, _ = seeded
    with coach.uow_factory() as uow:
        locale = {p.id: p.locale for p in uow.people.list("demo")}
        clients = uow.clients.list("demo")
    by_locale: dict[str, set[str]] = defaultdict(set)
    for c in clients:
        by_locale[locale[c.owner_id]].add(c.name)
    assert by_locale["ja"] and all(JAPANESE.search(n) and not LATIN.search(n) for n in by_locale["ja"])
    assert by_locale["en"] and not any(JAPANESE.search(n) for n in by_locale["en"])
    assert len(by_locale["ja"]) == 23 and len(by_locale["en"]) == 37


@pytest.mark.parametrize("seed", range(1, 13))
def test_the_plan_deals_each_rep_clients_in_their_language(seed: int) -> None:
    """The plan alone, for many seeds: each language's names cover its reps' books exactly (none
    left over, none shared), and the same seed deals the same books and events."""
    book, events = _plan(random.Random(seed))
    locale = {f"{p[0]}@{DOMAIN}": p[5] for p in PEOPLE}
    for lang, names in CLIENTS_BY_LANG.items():
        dealt = [n for email, mine in book.items() if locale[email] == lang for n in mine]
        assert sorted(dealt) == sorted(names)
    assert _plan(random.Random(seed)) == (book, events)
    assert {p[5] for p in PEOPLE if p[6]} == set(CLIENTS_BY_LANG) == {"ja", "en"}
