"""The coach CLI: the happy paths' output formats and every bad-input path (one line, status 2)."""

from __future__ import annotations

import gc
import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.bootstrap import FULL_PASS_EVERY
from bot.cli import main
from bot.notifiers import LogNotifier
from bot.terminal import render_with_chart
from coaching.engine import Inbound
from bot.catalog import Catalog
from coaching.model import Person, Role
from coaching.replies import Reply
from tests.support import make_coach, seed_roster
from tests.system.test_charts import PNG_MAGIC, png_info, team_chart


@pytest.fixture
def env(database_url, tmp_path):
    return {"DATABASE_URL": database_url, "COACH_WORKSPACE": "acme", "COACH_DATA_DIR": str(tmp_path),
            "COACH_LANGUAGE": "en", "COACH_RULES_FILE": ""}


def run(env, *args, input=None):
    result = CliRunner().invoke(main, list(args), env=env, input=input)
    return result.exit_code, result.stdout, result.stderr


def assert_one_line_error(code, err, fragment):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and fragment in lines[0], lines[0]
    assert "Traceback" not in err


@pytest.fixture
def seeded(env, database_url):
    coach = make_coach(database_url)
    seed_roster(coach)
    say = lambda text: coach.engine.handle(Inbound("acme", "dm", text, email="alice@acme.example"))
    for text in ("/logmeeting Acme call give: shared a report", "1", "+ Track record shown", "+ Promise",
                 "send the quote tomorrow", "+ Problem", "their invoices are late", "save"):
        say(text)
    return coach


def test_db_upgrade_is_idempotent(env):
    assert run(env, "db", "upgrade")[0] == 0
    code, out, _ = run(env, "db", "upgrade")
    assert code == 0 and "Database is up to date" in out


def test_not_migrated(env):
    assert_one_line_error(*run(env, "nudges")[::2], "Run “coach db upgrade” first")


def test_database_unreachable(tmp_path):
    env = {"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2", "COACH_RULES_FILE": ""}
    assert_one_line_error(*run(env, "nudges")[::2], "The database cannot be reached")


def test_bad_rules_file(env, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text("[points]\ngive_touch = 'lots'\n")
    assert_one_line_error(*run({**env, "COACH_RULES_FILE": str(rules)}, "nudges")[::2], "rules file is not valid")


@pytest.mark.parametrize("args, fragment", [
    (("nudges", "--as-of", "2026-13-01"), "is not a date"),
    (("nudges", "--as-of", "someday"), "is not a date"),
    (("nudges", "--format", "xml"), "Run “coach nudges --help”"),
    (("nudges", "--rep", "nobody@acme.example"), "Nobody with the e-mail nobody@acme.example"),
    (("ledger", "--client", "Nowhere Ltd"), "No client called “Nowhere Ltd”"),
    (("ledger",), "Missing option '--client'"),
    (("teamhealth", "--team", "North"), "There's no team called “North”. Teams you can see: East, West"),
    (("import", "roster", "missing.csv"), "does not exist"),
    (("import", "interactions", "missing.csv"), "does not exist"),
    (("chat", "--as", "nobody@acme.example"), "Nobody with the e-mail"),
    (("frobnicate",), "No such command"),
])
def test_bad_input(env, seeded, args, fragment):
    assert_one_line_error(*run(env, *args)[::2], fragment)


def test_empty_workspace_says_what_to_do(env):
    run(env, "db", "upgrade")
    assert_one_line_error(*run(env, "chat", "--as", "alice@acme.example")[::2], "coach import roster")


def test_nudges_json(env, seeded):
    code, out, _ = run(env, "nudges", "--as-of", "2026-11-21", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    due = [r for r in rows if r["kind"] == "promise_due"]
    assert len(due) == 1
    assert due[0]["rep"] == "alice@acme.example" and due[0]["client"] == "Acme"
    assert "send the quote" in due[0]["reason"] and due[0]["next_step"]
    waiting = [r for r in rows if r["kind"] == "problem_waiting"]
    assert [w["client"] for w in waiting] == ["Acme"]


def test_nudges_table(env, seeded):
    code, out, _ = run(env, "nudges", "--as-of", "2026-11-21")
    assert code == 0 and "Nudges for Sat, 21 Nov 2026: 2" in out


def test_ledger_json(env, seeded):
    code, out, _ = run(env, "ledger", "--client", "acme", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["client"] == "Acme" and data["balance"] == 4
    assert [(e["amount"], e["date"]) for e in data["entries"]] == [(2, "2026-11-20"), (2, "2026-11-20")]
    assert all(e["reason"] for e in data["entries"])


def test_daily_then_ledger_shows_the_waiting_problem(env, seeded):
    code, out, _ = run(env, "daily", "--as-of", "2026-11-24")
    assert code == 0 and "problems left waiting: 1" in out
    code, out, _ = run(env, "daily", "--as-of", "2026-11-24")
    assert "problems left waiting: 0" in out  # idempotent
    data = json.loads(run(env, "ledger", "--client", "Acme", "--format", "json")[1])
    assert data["balance"] == -1
    assert data["entries"][0]["reason"].startswith("Left their problem unanswered")


def test_teamhealth_json_and_table(env, seeded):
    code, out, _ = run(env, "teamhealth", "--team", "East", "--as-of", "2026-11-20", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["teams"] == ["East"] and data["now"]["gives"] == 1
    assert {r["rep"] for r in data["reps"]} == {"alice@acme.example", "ken@acme.example"}
    code, out, _ = run(env, "teamhealth", "--team", "East", "--as-of", "2026-11-20")
    assert code == 0 and "Team health: East" in out and "Alice Smith" in out


def chart_path(out: str, prefix: str = "Chart: ") -> Path:
    """The path on the caption line, checked to be a PNG file."""
    [line] = [line for line in out.splitlines() if line.startswith(prefix)]
    path = Path(line.removeprefix(prefix))
    assert path.is_absolute() and path.read_bytes().startswith(PNG_MAGIC), path
    return path


def test_teamhealth_saves_its_chart_and_says_where(env, seeded, tmp_path):
    code, out, _ = run(env, "teamhealth", "--team", "East", "--as-of", "2026-11-20")
    assert code == 0 and out.rstrip().splitlines()[-1].startswith("Chart: ")  # after the reply's text
    path = chart_path(out)
    assert path == tmp_path / "charts" / "teamhealth-acme-east-2026-11-20-en.png"
    assert png_info(path.read_bytes())[1]["Title"] == "East: credit and give:ask, Fri 25 Sept – Fri 20 Nov"
    code, out, _ = run(env, "teamhealth", "--team", "East", "--as-of", "2026-11-20", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["chart"] == str(path) and Path(data["chart"]).read_bytes().startswith(PNG_MAGIC)


def test_teamhealth_chart_in_japanese(env, seeded, tmp_path):
    code, out, _ = run({**env, "COACH_LANGUAGE": "ja"}, "teamhealth", "--team", "East", "--as-of", "2026-11-20")
    path = chart_path(out, "グラフ:")
    assert code == 0 and path.name == "teamhealth-acme-east-2026-11-20-ja.png"
    assert png_info(path.read_bytes())[1]["Title"].startswith("East:信用残高と情報提供/商談・提案")


def test_a_manager_chatting_gets_the_chart_path(env, seeded, tmp_path):
    code, out, _ = run(env, "chat", "--as", "mia@acme.example", input="teamhealth\nquit\n")
    assert code == 0 and "Team health: East" in out
    assert chart_path(out).parent == tmp_path / "charts"


def test_the_terminal_shows_a_hand_made_chart_after_the_text(tmp_path):
    reply = Reply.of("Team health: East", chart=team_chart(3))
    text = render_with_chart(reply, Catalog(), "ja", tmp_path / "charts")
    first, caption = text.splitlines()
    assert first == "Team health: East" and caption.startswith("グラフ:")
    assert Path(caption.removeprefix("グラフ:")) == tmp_path / "charts" / "teamhealth-east-2026-11-20-ja.png"
    assert render_with_chart(Reply.of("no chart"), Catalog(), "en", tmp_path) == "no chart"
    assert render_with_chart(reply, Catalog(), "en", None) == "Team health: East"  # nowhere to save it


def test_the_log_notifier_saves_the_chart_where_it_is_told(tmp_path):
    written: list[str] = []
    mia = Person(3, "acme", "mia@acme.example", "Mia Jones", Role.MANAGER, (1,), locale="en-GB")
    reply = Reply.of("Team health: East", chart=team_chart(3))
    LogNotifier(Catalog(), written.append, tmp_path / "charts").send(mia, reply)
    LogNotifier(Catalog(), written.append, tmp_path / "charts").send_channel("CTEAM", reply, "ja")
    LogNotifier(Catalog(), written.append).send(mia, reply)  # no directory: the text only
    assert chart_path(written[0]).name == "teamhealth-east-2026-11-20-en.png"
    assert chart_path(written[1], "グラフ:").name == "teamhealth-east-2026-11-20-ja.png"
    assert written[2] == "--- mia@acme.example\nTeam health: East"


def test_the_scheduler_logs_the_weekly_team_health_with_its_chart(env, seeded, tmp_path, caplog):
    """Without Slack or Teams, a manager's weekly team health goes to the log, chart path and all.
    (The CLI runs on the real clock: the weekly day is made today in Mia's time zone.)"""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    caplog.set_level(logging.INFO, logger="bot.notifiers")
    now = datetime.now(ZoneInfo("UTC"))
    today = now.astimezone(ZoneInfo("Europe/London")).strftime("%a").lower()
    code, out, err = run({**env, **ALWAYS_DUE, "COACH_WEEKLY_DAY": today}, "scheduler", "--once")
    assert code == 0, err
    # Mia's; and Will's (New York) when his local day is already (or still) the same weekday.
    wills_too = now.astimezone(ZoneInfo("America/New_York")).strftime("%a").lower() == today
    assert f"weekly: {2 if wills_too else 1} sent" in out
    [weekly] = [m for m in caplog.messages if m.startswith("--- mia@acme.example\nTeam health: East")]
    path = chart_path(weekly)
    assert path.parent == tmp_path / "charts" and path.name.startswith("teamhealth-acme-east-")


def test_chat_in_the_terminal(env, seeded):
    code, out, _ = run(env, "chat", "--as", "alice@acme.example", input="ledger Acme\nquit\n")
    assert code == 0
    assert "You are Alice Smith" in out and "Passbook: Acme (balance +4)" in out


def test_japanese_cli(env, seeded):
    code, _, err = run({**env, "COACH_LANGUAGE": "ja"}, "nudges", "--as-of", "2026-99-01")
    assert code == 2 and err.startswith("エラー:") and "日付ではありません" in err


def test_nudges_for_tomorrow(env, seeded):
    """The CLI clock is the real one here, so only check that the words are understood."""
    code, out, _ = run(env, "nudges", "--as-of", "tomorrow", "--format", "json")
    assert code == 0 and isinstance(json.loads(out), list)


def test_serve_refuses_anonymous_teams_off_loopback(env):
    run(env, "db", "upgrade")
    assert_one_line_error(*run({**env, "TEAMS_ENABLED": "true", "TEAMS_ANONYMOUS": "true"}, "serve", "--host",
                               "0.0.0.0")[::2], "only a loopback address may serve (not 0.0.0.0)")


def test_serve_refuses_anonymous_teams_together_with_credentials(env):
    """Both modes at once is a mistake to say out loud, not to settle silently."""
    run(env, "db", "upgrade")
    both = {**env, "TEAMS_ENABLED": "true", "TEAMS_ANONYMOUS": "true",
            "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID": "5f0c3a3e-8d1b-4c55-9a43-0c9b2f7e1d11"}
    assert_one_line_error(*run(both, "serve")[::2], "TEAMS_ANONYMOUS is set together with Teams credentials")


ALWAYS_DUE = {"COACH_WORKING_DAYS": "mon-sun", "COACH_QUIET_HOURS": "none", "COACH_DIGEST_TIME": "00:00",
              "COACH_REMINDER_TIME": "00:00", "TEAMS_ENABLED": "false"}


def test_scheduler_once_records_and_prints_then_sends_nothing_twice(env, seeded):
    env = {**env, **ALWAYS_DUE}
    code, out, err = run(env, "scheduler", "--once")
    assert code == 0, err
    assert "digest: 1 sent, 0 failed" in out and "upkeep: 1 sent" in out  # Alice's digest, written to the log
    code, out, _ = run(env, "scheduler", "--once")
    assert code == 0 and "One cycle done: 0 messages sent, 0 failed." in out
    code, out, _ = run(env, "deliveries", "--format", "json")
    rows = json.loads(out)
    [digest] = [r for r in rows if r["job"] == "digest" and r["to"] == "alice@acme.example"]
    assert (digest["status"], digest["channel"], digest["attempts"]) == ("sent", "log", 1)
    assert any(i.startswith("problem_waiting") or i.startswith("promise_due") for i in digest["items"])
    code, out, _ = run(env, "deliveries")
    assert code == 0 and "alice@acme.example" in out


def test_the_scheduler_keeps_what_starting_made_from_the_collector_while_its_jobs_run(env, seeded):
    """As `coach serve` does (tests/slack/test_server_threads.py): a full collection within a
    job would otherwise walk every module and table again. Seen by the collector itself: what
    is frozen at each collection while the scheduler runs, and nothing once it has stopped."""
    before = gc.get_threshold()
    seen: list[tuple[int, int]] = []  # at each collection: objects frozen, full collections' threshold

    def watch(phase: str, _info: dict) -> None:
        if phase == "start":
            seen.append((gc.get_freeze_count(), gc.get_threshold()[2]))

    gc.callbacks.append(watch)
    try:
        code, out, err = run({**env, **ALWAYS_DUE}, "scheduler", "--once")
    finally:
        gc.callbacks.remove(watch)
    assert code == 0 and "digest: 1 sent" in out, err
    # while the jobs ran; without the freeze: nothing frozen and Python's 10 at every collection
    assert any(frozen > 10_000 and full == FULL_PASS_EVERY for frozen, full in seen), seen[-3:]
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


def test_leave_stops_the_digest_until_back(env, seeded):
    env = {**env, **ALWAYS_DUE}
    code, out, _ = run(env, "leave", "--rep", "alice@acme.example")
    assert code == 0 and "alice@acme.example is on leave" in out
    code, out, _ = run(env, "scheduler", "--once")
    assert "digest: 0 sent" in out
    assert run(env, "leave", "--rep", "alice@acme.example", "--back")[0] == 0
    assert "digest: 1 sent" in run(env, "scheduler", "--once")[1]
    assert_one_line_error(*run(env, "leave", "--rep", "nobody@acme.example")[::2], "nobody@acme.example")


def test_send_on_a_weekend_says_why_nothing_goes(env, seeded):
    code, out, _ = run(env, "nudges", "--as-of", "2026-11-21", "--send")
    assert code == 0 and "Sat, 21 Nov 2026 is not a working day" in out


@pytest.mark.parametrize("setting, value, fragment", [
    ("COACH_DIGEST_TIME", "7:00", "COACH_DIGEST_TIME='7:00'"),
    ("COACH_DIGEST_TIME", "07:00", "digest time falls in the quiet hours"),
    ("COACH_WORKING_DAYS", "weekdays", "COACH_WORKING_DAYS='weekdays'"),
    ("COACH_QUIET_HOURS", "late", "quiet hours look like 20:00-08:00"),
    ("COACH_WEEKLY_DAY", "mon-fri", "name one day"),
])
def test_bad_schedule_settings_are_one_line(env, seeded, setting, value, fragment):
    assert_one_line_error(*run({**env, setting: value}, "scheduler", "--once")[::2], fragment)


def test_a_badly_broken_import_shows_the_first_problems_and_counts_the_rest(env, database_url, tmp_path):
    make_coach(database_url)
    bad = tmp_path / "roster.csv"
    rows = [f"person{n}@acme.example,Person {n},wizard,East,Europe/London,en,," for n in range(200)]
    bad.write_text("email,name,role,team,timezone,locale,slack_user_id,teams_user_id\n" + "\n".join(rows) + "\n")
    code, _, err = run(env, "import", "roster", str(bad))
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 50 + 2  # 50 problems, how many more, the one-line verdict
    assert "150 more problems not shown" in lines[-2] and "Nothing was imported" in lines[-1]
