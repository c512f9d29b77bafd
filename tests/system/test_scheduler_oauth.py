"""With OAuth installs, the scheduler reaches every installed Slack workspace (its workspace id is
its team id) with that workspace's own token, refreshed first when Slack's token rotation is about
to expire it; the refreshed token is stored encrypted. Slack is the local fake; the installs go
through the real Add to Slack flow. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import date

from bot.bootstrap import bootstrap
from bot.scheduler import CoachScheduler
from tests.slack.harness import text_of
from tests.slack.test_installations import (
    BOT_TOKEN,
    CLIENT_ID,
    an_installation,
    install_team,
    new_key,
    oauth_server,
    raw_rows,
    store,
)
from tests.slack.test_transports import TransportHarness
from tests.support import START, MovableClock, seed_roster

T1_TOKEN, T2_TOKEN = "xoxb-1111-team-one", "xoxb-2222-team-two"
# Alice's quiet client in each workspace ("unused": COACH_WORKSPACE, the one Teams and the CLI act on)
CLIENTS = {"T1": "Northwind One", "T2": "Kobe Two", "unused": "Configured Co"}


def seed_quiet_client(harness: TransportHarness, workspace: str) -> None:
    ids = seed_roster(harness.coach, workspace=workspace)
    with harness.coach.uow_factory() as uow:
        east = uow.teams.by_name(workspace, "East")
        uow.clients.add(workspace, CLIENTS[workspace], east.id, ids["alice"], date(2026, 9, 1))
        uow.commit()


def scheduler(harness: TransportHarness) -> CoachScheduler:
    """The scheduler as ``coach scheduler`` builds it, at 09:00 in London (Alice's digest is due)."""
    return CoachScheduler(bootstrap(harness.settings, clock=MovableClock(START)))


def posted(harness: TransportHarness) -> dict[str, str]:
    """Token -> the text of every message posted with it (digests, Ken's check-in in Tokyo)."""
    texts: dict[str, str] = {}
    for post in harness.api.calls_to("chat.postMessage"):
        texts[post.token] = texts.get(post.token, "") + text_of(post)
    return texts


def test_each_installed_workspace_gets_its_digest_with_its_own_token(database_url):
    with oauth_server(database_url, new_key(), roster="T1") as harness:
        install_team(harness, "T1", T1_TOKEN)
        install_team(harness, "T2", T2_TOKEN)
        seed_quiet_client(harness, "T1")
        seed_quiet_client(harness, "T2")
        seed_quiet_client(harness, "unused")

        report = scheduler(harness).run_once()

        sent = posted(harness)
        # the configured workspace's digest went where it always did (no bot token, no Teams: the log)
        assert set(sent) == {T1_TOKEN, T2_TOKEN} and report.job("digest").sent == 3
        assert not any(CLIENTS["unused"] in text for text in sent.values())
        assert CLIENTS["T1"] in sent[T1_TOKEN] and CLIENTS["T2"] not in sent[T1_TOKEN]
        assert CLIENTS["T2"] in sent[T2_TOKEN] and CLIENTS["T1"] not in sent[T2_TOKEN]
        # every call the scheduler made (look-ups, DMs opened) carried one of the two workspaces' tokens
        calls = [c for c in harness.api.calls if c.method in {"users.lookupByEmail", "conversations.open"}]
        assert {c.token for c in calls} == {T1_TOKEN, T2_TOKEN}
        assert scheduler(harness).run_once().sent == 0  # and each only once


def test_an_expiring_rotated_token_is_refreshed_used_and_stored_encrypted(database_url):
    key = new_key()
    old, new = "xoxe.xoxb-1-old-" + "a" * 40, "xoxe.xoxb-1-new-" + "b" * 40
    old_refresh, new_refresh = "xoxe-1-first-" + "c" * 40, "xoxe-1-second-" + "d" * 40
    with oauth_server(database_url, key, roster="T1") as harness:
        install_team(harness, "T1", old, refresh_token=old_refresh, expires_in=600)  # 10 minutes left
        harness.api.refreshes[old_refresh] = {"access_token": new, "refresh_token": new_refresh, "expires_in": 43200}
        seed_quiet_client(harness, "T1")

        runner = scheduler(harness)
        runner.run_once()

        [refresh] = [c for c in harness.api.calls_to("oauth.v2.access") if c.params.get("grant_type")]
        assert refresh.params["refresh_token"] == old_refresh
        assert (refresh.params["client_id"], refresh.params["client_secret"]) == (CLIENT_ID, "shh")
        assert set(posted(harness)) == {new}
        assert not any(secret in cell for secret in (old, new, old_refresh, new_refresh)
                       for cell in raw_rows(database_url))
        found = store(database_url, key).find_installation(enterprise_id=None, team_id="T1")
        assert (found.bot_token, found.bot_refresh_token) == (new, new_refresh)
        assert runner.run_job("rep_digests") is not None  # 12 hours left now: no second refresh
        assert len(harness.api.calls_to("oauth.v2.access")) == 2  # the install's exchange and the one refresh


def test_a_workspace_whose_token_cannot_be_read_is_skipped_and_the_others_still_get_theirs(database_url, caplog):
    with oauth_server(database_url, new_key(), roster="T1") as harness:
        install_team(harness, "T1", T1_TOKEN)
        store(database_url, new_key()).save(an_installation("T2", BOT_TOKEN))  # under a key the coach lacks
        seed_quiet_client(harness, "T1")
        seed_quiet_client(harness, "T2")
        with caplog.at_level(logging.WARNING):
            report = scheduler(harness).run_once()
        assert set(posted(harness)) == {T1_TOKEN} and report.job("digest").sent == 1
        assert "Slack workspace T2 is skipped this run: A stored Slack token cannot be decrypted" in caplog.text
