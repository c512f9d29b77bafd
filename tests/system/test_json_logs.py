"""``COACH_LOG_FORMAT=json`` seen from outside: the real ``coach serve`` with its scheduler, a
short session through Slack (signed slash commands and DMs, a new client logged with a note
that holds an e-mail address, a phone number and marker words) and Teams (anonymous local
mode), then its log stream read line by line:

* every line is one JSON object, with the time, level, logger, process and message;
* a Slack request's lines carry the start of its key in the request inbox (the SHA-256 of its
  signature), the access log's and a listener's after the acknowledgement alike; a Teams
  activity's carry its id; a scheduled run's lines carry an id of the job;
* no secret, token, note, e-mail address, phone number or person's name is in any line
  (what tests/system/test_logs.py forbids in the text log, here in JSON).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

from bot.logs import JsonFormatter, platform_request_id

from tests.slack.fake_api import FakeSlackApi
from tests.slack.harness import SECRET, USERS, SlackHarness
from tests.slack.signing import signed_headers, slash_command_body
from tests.support import make_coach, seed_quiet_clients, seed_roster
from tests.system.serving import EVERYONE_DUE, coach_serve
from tests.system.test_metrics import teams_activity
from tests.system.test_scheduler_processes import coach_command
from tests.system.test_serve_workers import ROOT, environment, wait_until
from tests.teams.playground import http

# what was typed (notes) and who the people are: none of it may reach a log line
PERSONAL = ("pelican", "marzipan", "quokka", "tanaka@client.example", "03-1234-5678", "Pelican Partners",
            "alice@acme.example", "ken@acme.example", "Alice Smith", "田中", "\\u7530\\u4e2d")
OPENAI_KEY = "sk-json-test-key-71c3"
SECRETS = (SECRET, "xoxb-test", OPENAI_KEY)
DEAD_RESPONSE_URL = "http://127.0.0.1:9/commands/gone"  # nothing listens there: the answer cannot go
LEFT_KEY = "5eed" * 16  # a request's key in the inbox (the SHA-256 of its signature)


def test_json_lines_carry_the_request_id_and_nothing_personal(database_url, connector, tmp_path):
    with FakeSlackApi().started_in_thread() as api:
        slack = SlackHarness(database_url, api)
        seed_quiet_clients(slack.coach, {p.email.split("@")[0]: p.id for p in people(slack)},
                           date.today() - timedelta(days=60))
        # left pending by a process that died after acknowledging it: replayed at start-up
        left = slash_command_body("/ledger", "Acme", "UALICE", channel_id="DUALICE", response_url=DEAD_RESPONSE_URL,
                                  trigger_id="trigger-left")
        assert slack.coach.requests.store(LEFT_KEY, "slack", left, "application/x-www-form-urlencoded",
                                          datetime.now(UTC) - timedelta(minutes=6))
        # an LLM that cannot be reached: the note is read by the rules, and the turn's thread says so
        env = environment(database_url, api, tmp_path / "data", COACH_LOG_FORMAT="json", COACH_SCHEDULER="true",
                          TEAMS_ENABLED="true", TEAMS_ANONYMOUS="true", OPENAI_API_KEY=OPENAI_KEY,
                          OPENAI_BASE_URL="http://127.0.0.1:9/v1", COACH_LLM_TIMEOUT_SECONDS="1", **EVERYONE_DUE)
        with coach_serve(env) as served:
            slack.url = f"http://127.0.0.1:{served.port}"
            wait_until(lambda: "digest: JobReport" in served.output() and "replayed 1 Slack request" in served.output(),
                       60, lambda: served.output()[-3000:])
            # a new client, logged with a note that holds what must never be logged
            for step in ("/logmeeting Pelican Partners call give: sent the pelican study to tanaka@client.example, "
                         "call 03-1234-5678 about the marzipan pilot", "1", "save"):
                before = len(api.calls_to("chat.postMessage"))
                if step.startswith("/"):
                    assert slack.command("/logmeeting", step.removeprefix("/logmeeting "), "UALICE", "DUALICE")[0] == 200
                else:
                    assert slack.dm(step, "UALICE")[0] == 200
                slack.posts_after(before)
            # a command whose answer cannot be delivered: the listener logs it, after the acknowledgement
            body = slash_command_body("/ledger", "Pelican Partners", "UALICE", channel_id="DUALICE",
                                      response_url=DEAD_RESPONSE_URL, trigger_id="trigger-dead")
            headers = signed_headers(SECRET, body)
            assert slack.post(body, headers)[0] == 200
            wait_until(lambda: served.output().count("an ephemeral answer could not be delivered") == 2, 20,
                       lambda: served.output()[-3000:])  # the replayed request's, then this one's
            # an event and Slack's retry of it: signed afresh, so a request of its own
            assert slack.dm("cancel", "UALICE", event_id="EvRETRIED1")[0] == 200
            assert slack.dm("cancel", "UALICE", event_id="EvRETRIED1", retry=1)[0] == 200
            activity = teams_activity(connector.url, "ledger quokka")
            before = len(connector.posts())
            assert http("POST", f"{slack.url}/api/messages", activity)[0] == 202
            connector.wait_for(before + 1)
            time.sleep(0.3)  # the access log's line is written just after the answer
            served.process.send_signal(signal.SIGTERM)
            served.process.wait(30)

    lines = served.json_lines()  # each line one JSON object (or the test fails here)
    assert len(lines) > 20
    assert all({"time", "level", "logger", "process", "message"} <= set(line) for line in lines)
    raw = served.output()
    assert raw.isascii()  # 田中 is written \u7530\u4e2d: no character can break a line
    assert not [word for word in (*PERSONAL, *SECRETS) if word in raw]

    expected = "slack-" + hashlib.sha256(headers["X-Slack-Signature"].encode()).hexdigest()[:16]
    mine = [line for line in lines if line.get("request_id") == expected]
    assert {line["logger"] for line in mine} >= {"aiohttp.access", "bot.slack.app"}
    assert any(line["message"].startswith("an ephemeral answer could not be delivered") for line in mine)
    [teams] = [line for line in lines if line["logger"] == "aiohttp.access" and line["http"]["path"] == "/api/messages"]
    assert teams["request_id"] == f"teams-{activity['id']}"
    accesses = [line for line in lines if line["logger"] == "aiohttp.access"]
    assert all(line.get("request_id") for line in accesses)
    assert len({line["request_id"] for line in accesses}) == len(accesses)  # one id per request
    assert re.fullmatch(r"http-[0-9a-f]{16}", next(line["request_id"] for line in accesses
                                                    if line["http"]["path"] == "/healthz"))
    assert f"http://127.0.0.1:{served.port}" in served.out.read_text()  # the operator's hints: not log lines
    # a line written in the thread that ran the engine's turn carries its request's id
    [reader] = [line for line in lines if line["message"].startswith("LLM note reader failed")]
    assert reader["request_id"] in {line.get("request_id") for line in accesses if line["http"]["path"] == "/slack/events"}
    [digests] = [line for line in lines if line["message"].startswith("digest: JobReport")]
    assert digests["request_id"].startswith("job-rep_digests-")
    # the replay's listener logs under the id its acknowledgement had (the start of the inbox key)
    replayed = [line for line in lines if line.get("request_id") == f"slack-{LEFT_KEY[:16]}"]
    assert "an ephemeral answer could not be delivered: ClientConnectorError" in [line["message"] for line in replayed]


def test_the_scheduler_on_its_own_logs_json_too(database_url, tmp_path):
    coach = make_coach(database_url)
    seed_quiet_clients(coach, seed_roster(coach), date.today() - timedelta(days=60))
    with FakeSlackApi().started_in_thread() as api:
        for user, (email, locale) in USERS.items():
            api.add_user(user, email, locale=locale, tz="Europe/London")
        env = {**environment(database_url, api, tmp_path), "COACH_LOG_FORMAT": "json", **EVERYONE_DUE}
        done = subprocess.run([*coach_command(), "scheduler", "--once"], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "digest: 3 sent" in done.stdout
    lines = [json.loads(line) for line in done.stderr.split("\n") if line]
    assert any(line["message"].startswith("daily upkeep for") for line in lines)
    assert not [word for word in PERSONAL if word in done.stderr]


def test_a_traceback_and_an_odd_activity_id_stay_on_one_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("bot.test", logging.ERROR, __file__, 1, "failed: %s", ("ValueError",),
                                   sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "failed: ValueError" and "Traceback" in entry["exception"]
    assert "\n" not in JsonFormatter().format(record)
    assert platform_request_id("teams", "1:abc\n\u2028{\"x\": 1}" + "7" * 200) == "teams-1:abcx:1" + "7" * 72
    assert platform_request_id("teams", "\n") is None and platform_request_id("teams", 12) is None


def people(slack: SlackHarness):
    with slack.coach.uow_factory() as uow:
        return uow.people.list("acme")
