"""The engine with an LLM configured: the real ``openai`` client, bootstrapped from settings,
talks to the local OpenAI-compatible fake. The LLM only proposes (the rep confirms the same
summary as ever), phrases the tip after a save, falls back to the rules when it fails, and an
admin can switch it off for the workspace."""

from __future__ import annotations

import pytest

from bot.bootstrap import bootstrap
from bot.settings import Settings
from coaching.engine import Inbound
from bot.catalog import Catalog
from storage import db
from tests.llm.fake_openai import FakeOpenAI, Reply
from tests.support import WORKSPACE, MovableClock, seed_roster


@pytest.fixture
def llm():
    with FakeOpenAI().started_in_thread() as fake:
        yield fake


def coach_with(database_url: str, fake: FakeOpenAI):
    db.upgrade(database_url)
    settings = Settings(_env_file=None, DATABASE_URL=database_url, COACH_WORKSPACE=WORKSPACE,
                        OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=fake.url, OPENAI_MODEL="test-model",
                        COACH_LLM_TIMEOUT_SECONDS=3)
    coach = bootstrap(settings, clock=MovableClock())
    seed_roster(coach)
    return coach


def say(coach, email: str, text: str, lang: str = "en") -> str:
    out = coach.engine.handle(Inbound(WORKSPACE, "dm", text, email=email))
    return "\n".join(Catalog(lang).render(line, lang) for reply in out.replies for line in reply.lines)


NOTE = "Acme Corp: met Tanaka-san (tanaka@acme.example, 090-1234-5678), showed our case study, will send the SLA by Wednesday"
ANSWER = {"client_name": "Acme Corp", "occurred_on": None, "kind": "meeting", "purpose": "give",
          "summary": "Met Tanaka-san, showed our case study.", "proof_shown": True,
          "promises": [{"text": "send the SLA", "due_on": "2026-11-25"}], "problem": None,
          "asked_for": 2, "demanded_justification": False}


def test_the_llm_proposes_the_rep_confirms_and_the_tip_is_the_llms(database_url, llm):
    coach = coach_with(database_url, llm)
    llm.script(Reply.structured(ANSWER), Reply.content("Send Acme Corp the SLA a day early: small promises kept build credit."))
    first = say(coach, "alice@acme.example", f"/logmeeting {NOTE}")
    [request] = llm.wait_for_sync(1)
    sent = str(request.body)
    assert "tanaka@acme.example" not in sent and "090-1234-5678" not in sent  # masked before leaving
    assert request.body["model"] == "test-model"
    assert "I don't have a client called “Acme Corp” yet" in first
    summary = say(coach, "alice@acme.example", "1")  # nothing left open: the summary
    assert "Here's what I read from your note" in summary and "Problem raised" not in summary
    assert "• Promise: send the SLA (by Wed, 25 Nov 2026)" in summary and "• They asked for: Solutions" in summary
    saved = say(coach, "alice@acme.example", "save")
    assert "Saved your touch with Acme Corp." in saved
    assert "Coach's tip: Send Acme Corp the SLA a day early" in saved
    tip_request = llm.wait_for_sync(2)[1]
    assert "Acme Corp" in str(tip_request.body) and "tanaka@acme.example" not in str(tip_request.body)


def test_when_the_llm_fails_the_rules_read_the_note_and_the_template_tip_stays(database_url, llm):
    coach = coach_with(database_url, llm)
    llm.script(Reply.content("this is not JSON"), Reply.error(500), Reply.error(500), Reply.error(500))
    text = say(coach, "alice@acme.example", f"/logmeeting {NOTE}")
    for _ in range(10):  # answer whatever the rules could not read with the first choice
        if "Save this?" in text:
            break
        text = say(coach, "alice@acme.example", "1")
    assert "Here's what I read from your note" in text
    assert "• Promise: send the SLA (by Wed, 25 Nov 2026)" in text  # read by the rules instead
    saved = say(coach, "alice@acme.example", "save")
    assert "Saved your touch with Acme Corp." in saved and "Coach's tip:" in saved and "Traceback" not in saved
    assert len(llm.requests) >= 2  # the LLM was asked for both, and failed both times


def test_an_admin_switches_the_llm_off_for_the_workspace(database_url, llm):
    coach = coach_with(database_url, llm)
    assert "Only an admin" in say(coach, "alice@acme.example", "llm off")
    status = say(coach, "ada@acme.example", "llm off")
    assert "switched off in this workspace" in status and "configured by your operator" in status
    say(coach, "alice@acme.example", f"/logmeeting {NOTE}")
    assert llm.requests == []  # nothing left the service
    assert "allowed in this workspace" in say(coach, "ada@acme.example", "llm on")
    japanese = say(coach, "ken@acme.example", "llm", "ja")
    assert "運用担当者の設定は設定済み" in japanese and "管理者だけ" in japanese


def test_notes_accuracy_measures_the_rules_and_the_configured_llm(llm, tmp_path):
    import json

    from click.testing import CliRunner

    from bot.cli import main

    cases = tmp_path / "notes.jsonl"
    case = {"lang": "en", "today": "2026-11-20", "clients": ["Acme Corp"], "text": NOTE,
            "expected": {"client_name": "Acme Corp", "kind": "meeting", "purpose": "give", "proof_shown": True,
                         "promises": [{"text": "send the SLA", "due_on": "2026-11-25"}]}}
    cases.write_text(json.dumps(case) + "\n", encoding="utf-8")
    rules = CliRunner().invoke(main, ["notes-accuracy", str(cases)], env={"OPENAI_API_KEY": ""})
    assert rules.exit_code == 0 and "overall" in rules.stdout
    llm.script(Reply.structured(ANSWER))
    env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": llm.url, "OPENAI_MODEL": "test-model"}
    measured = CliRunner().invoke(main, ["notes-accuracy", str(cases), "--llm"], env=env)
    assert measured.exit_code == 0, measured.stderr
    assert len(llm.requests) == 1
    overall = [line for line in measured.stdout.splitlines() if line.startswith("overall")][0]
    assert overall.split()[1] == "1.00"  # English: the scripted answer is right on every labelled field
    missing = CliRunner().invoke(main, ["notes-accuracy", str(cases), "--llm"], env={"OPENAI_API_KEY": ""})
    assert missing.exit_code == 2 and "No LLM is configured" in missing.stderr


def test_a_slow_llm_holds_no_database_lock(database_url, llm):
    """While one rep's tip is being phrased (slowly), another rep's save goes through at once:
    the LLM is called only after the first touch was committed."""
    import threading
    import time

    coach = coach_with(database_url, llm)
    for email, client in (("alice@acme.example", "Acme Corp"), ("bob@acme.example", "Boston Bay")):
        text = say(coach, email, f"/logmeeting {client} call give: sent the report")
        while "Save this?" not in text:  # the first choice each time: new client, yes, no, ...
            text = say(coach, email, "1")
    with llm._changed:
        llm.requests.clear()
    llm.script(Reply.slow(2.5, then=Reply.content("A tip, slowly.")))
    first = threading.Thread(target=say, args=(coach, "alice@acme.example", "save"))
    first.start()
    llm.wait_for_sync(1, timeout=10)  # Alice's touch is saved and her tip request is in flight
    started = time.monotonic()
    saved = say(coach, "bob@acme.example", "save")
    elapsed = time.monotonic() - started
    first.join(10)
    assert "Saved your touch with Boston Bay." in saved
    assert elapsed < 2.0, f"Bob waited {elapsed:.1f} s behind Alice's LLM call"
