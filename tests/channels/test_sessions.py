"""A scripted session per language, through the console channel on the demo organisation,
saved in ``docs/sessions/``: what a rep and a manager read, end to end (log, passbook,
nudges, promises, setback, win, team health, errors).

The test fails when what the coach says no longer matches the saved text, so the docs cannot
drift from the product. After changing words on purpose, rewrite the files with
``COACH_WRITE_SESSIONS=1 python -m pytest tests/channels/test_sessions.py`` and read the diff before committing it.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.bootstrap import bootstrap
from bot.console import ConsoleChannel
from bot.demo import seed_demo
from bot.settings import Settings
from storage import db

DOCS = Path(__file__).resolve().parents[2] / "docs" / "sessions"
NOW = datetime(2026, 12, 3, 8, 30, tzinfo=UTC)  # a Thursday morning
DEMO = "@demo.example"

SESSIONS = {
    "en": [
        ("Emily Carter, rep", "emily.carter", [
            "help", "today", "1", "promises",
            "log Contoso call give: sent the rollout checklist, no pitch. I'll send the training plan by Friday",
            "1", "1", "promises", "kept 1", "ledger Contoso",
            "setback Kestrel Health: told them the API had SSO; it does not yet", "1",
            "corrected Kestrel Health: emailed the real SSO roadmap",
            "won Polaris Telecom", "trust Nimbus Cloud 3",
            "log", "cancel",
            "ledger Nowhere Ltd", "kept 9", "teamhealth", "what now?",
        ]),
        ("James Whitaker, manager", "james.whitaker", ["teamhealth"]),
    ],
    "ja": [
        ("高橋 健二(担当者)", "kenji.takahashi", [
            "ヘルプ", "今日", "約束", "守った 2",
            "記録 朝日ソリューションズ 電話 情報提供: 導入事例を送付。来週金曜までに研修日程の候補を出すと約束",
            "1", "通帳 朝日ソリューションズ",
            "失点 緑川化学: 納期を2週間と説明したが実際は4週間だった", "2",
            "訂正済み 緑川化学: 正しい納期をメールで連絡",
            "受注 三つ葉システム", "信頼 田中商事 3",
            "記録", "やめる",
            "通帳 存在しない商事", "守った 9", "チーム", "なにができる?",
        ]),
        ("山本 恵子(マネージャー)", "keiko.yamamoto", ["チーム"]),
    ],
}


def transcript(lang: str) -> str:
    folder = tempfile.mkdtemp(prefix="coach-session-")
    url = f"sqlite:///{folder}/session.db"
    db.upgrade(url)
    settings = Settings(_env_file=None, DATABASE_URL=url, COACH_WORKSPACE="demo", COACH_DATA_DIR=folder)
    coach = bootstrap(settings, clock=lambda: NOW)
    seed_demo(coach, today=NOW.date())
    out = []
    for who, local, lines in SESSIONS[lang]:
        out.append(f"## {who}\n")
        channel = ConsoleChannel(coach, local + DEMO)
        for line in lines:
            answer, _ = channel.send(line)
            out.append(f"> {line}\n\n```\n{answer.replace(folder, '<data>')}\n```\n")
    return "\n".join(out)


@pytest.mark.parametrize("lang", sorted(SESSIONS))
def test_the_saved_session_is_what_the_coach_says(lang):
    said = transcript(lang)
    path = DOCS / f"{lang}.md"
    header = path.read_text("utf-8").split("<!-- session -->")[0] if path.exists() else ""
    if os.environ.get("COACH_WRITE_SESSIONS"):
        path.write_text(f"{header}<!-- session -->\n\n{said}", "utf-8")
    assert path.read_text("utf-8").split("<!-- session -->\n\n", 1)[1] == said
