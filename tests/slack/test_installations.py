"""Slack OAuth installs keep no token in the clear: slack_sdk's stores, wrapped so that every
token (bot, user, their refresh tokens, an incoming webhook's URL) is Fernet-encrypted with
``COACH_SECRET_KEYS`` before it is written; keys rotate (first encrypts, all decrypt,
``coach rotate-secrets``); a value no key opens is an error; the stores' engines never put a
statement's parameters into an error. Installs go through the real Add to Slack flow, and the
database is read back with plain SQL. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Iterator

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from bot.cli import main
from bot.settings import Settings
from storage import db
from tests.slack.fake_api import FakeSlackApi
from tests.slack.harness import SECRET, text_of
from tests.slack.signing import signed_headers, slash_command_body
from tests.slack.test_transports import WAIT, TransportHarness, install

CLIENT_ID = "111.222"
# as long as Slack's rotating tokens: their ciphertext outgrows slack_sdk's VARCHAR(200)
BOT_TOKEN = "xoxe.xoxb-1-" + "MS0yLTExMTEtMjIyMi0zMzMz" * 5
REFRESH_TOKEN = "xoxe-1-" + "My0xLTExMTEtMjIyMi1yZWZyZXNo" * 5
USER_TOKEN = "xoxp-1111-2222-3333-" + "a1b2c3d4" * 4
WEBHOOK = "https://hooks.slack.com/services/T1/B1/" + "z9y8x7w6" * 3
SECRETS = (BOT_TOKEN, REFRESH_TOKEN, USER_TOKEN, WEBHOOK)
TABLES = ("slack_bots", "slack_installations")


def new_key() -> str:
    return Fernet.generate_key().decode()


def oauth_settings(database_url: str, api: FakeSlackApi, *keys: str) -> Settings:
    extra = {"COACH_SECRET_KEYS": ",".join(keys)} if keys else {}
    return Settings(DATABASE_URL=database_url, COACH_WORKSPACE="unused", TEAMS_ENABLED="false",
                    SLACK_SIGNING_SECRET=SECRET, SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET="shh",
                    SLACK_API_URL=f"{api.url}/api/", **extra)


@contextlib.contextmanager
def oauth_server(database_url: str, *keys: str, roster: str = "T9") -> Iterator[TransportHarness]:
    """The coach's server in OAuth mode, Slack played by the fake, ``roster`` seeded."""
    with FakeSlackApi().started_in_thread() as api:
        harness = TransportHarness(api, oauth_settings(database_url, api, *keys), roster_workspace=roster)
        with harness.running():
            yield harness


def install_team(harness: TransportHarness, team: str, token: str, **answer) -> None:
    """Add to Slack, for ``team``: Slack's oauth.v2.access answers with ``token`` (and ``answer``)."""
    harness.api.oauth_install = {**harness.api.oauth_install, "access_token": token,
                                 "team": {"id": team, "name": f"Team {team}"}, **answer}
    status, body = install(harness)
    assert status == 200 and "Thank you!" in body, body


def raw_rows(database_url: str) -> list[str]:
    """Every cell of the installation tables, as text, read with plain SQL."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [str(cell) for table in TABLES
                    for row in connection.execute(text(f"SELECT * FROM {table}")) for cell in row]
    finally:
        engine.dispose()


def store(database_url: str, *keys: str):
    from bot.slack.installations import EncryptedInstallationStore, Secrets

    found = EncryptedInstallationStore(CLIENT_ID, db.make_engine(database_url), Secrets(list(keys)))
    found.create_tables()
    return found


def an_installation(team: str, token: str = BOT_TOKEN) -> Installation:
    return Installation(app_id="A0TEST", team_id=team, team_name=f"Team {team}", bot_token=token,
                        bot_id="BBOT", bot_user_id="UBOT", bot_scopes="chat:write",
                        bot_refresh_token=REFRESH_TOKEN, bot_token_expires_in=43200, user_id="UINSTALLER",
                        user_token=USER_TOKEN, incoming_webhook_url=WEBHOOK)


def test_an_install_keeps_no_token_in_the_database_and_is_answered_with_its_token(database_url):
    key = new_key()
    with oauth_server(database_url, key) as harness:
        install_team(harness, "T9", BOT_TOKEN, refresh_token=REFRESH_TOKEN, expires_in=43200,
                     authed_user={"id": "UINSTALLER", "access_token": USER_TOKEN, "scope": "identify"},
                     incoming_webhook={"url": WEBHOOK, "channel": "#sales", "channel_id": "C1",
                                       "configuration_url": "https://example.slack.com/services/B1"})
        cells = raw_rows(database_url)
        assert any("T9" == cell for cell in cells)  # the rows are there
        leaked = [secret for secret in SECRETS if any(secret in cell for cell in cells)]
        assert leaked == [], "tokens stored in the clear"
        assert not any(key in cell for cell in cells)  # nor the key

        found = store(database_url, key).find_installation(enterprise_id=None, team_id="T9")
        assert (found.bot_token, found.bot_refresh_token, found.user_token, found.incoming_webhook_url) == SECRETS

        body = slash_command_body("/logmeeting", "", "UALICE", team_id="T9", response_url=harness.api.response_url(),
                                  trigger_id="trigger-t9")
        assert harness.post(body, signed_headers(SECRET, body))[0] == 200
        [post] = harness.api.wait_for_sync("chat.postMessage", timeout=WAIT)
        assert post.token == BOT_TOKEN and "Which client did you meet?" in text_of(post)


def test_a_new_key_first_reads_old_rows_and_rotating_lets_the_old_key_go(database_url):
    from bot.slack.installations import SecretsError

    old, new = new_key(), new_key()
    store(database_url, old).save(an_installation("T1"))
    before = raw_rows(database_url)

    both = store(database_url, new, old)  # the new key first: it encrypts, both decrypt
    assert both.find_bot(enterprise_id=None, team_id="T1").bot_token == BOT_TOKEN
    env = {"DATABASE_URL": database_url, "COACH_SECRET_KEYS": f"{new},{old}", "COACH_LANGUAGE": "en"}
    result = CliRunner().invoke(main, ["rotate-secrets"], env=env)
    # installations: bot, refresh, user token, webhook; bots: bot, refresh token
    assert (result.exit_code, result.stdout.strip()) == (
        0, "Slack tokens re-encrypted under the first key of COACH_SECRET_KEYS: 6. The other keys can now be removed."), \
        result.output
    after = raw_rows(database_url)
    assert after != before and not any(secret in cell for secret in SECRETS for cell in after)

    found = store(database_url, new).find_installation(enterprise_id=None, team_id="T1")  # the old key dropped
    assert (found.bot_token, found.bot_refresh_token, found.user_token, found.incoming_webhook_url) == SECRETS
    with pytest.raises(SecretsError):  # nothing is left under the old key alone
        store(database_url, old).find_bot(enterprise_id=None, team_id="T1")


def test_rotating_encrypts_tokens_stored_in_the_clear_before_encryption(database_url):
    """An install saved by slack_sdk's own store (VARCHAR(200) columns, plaintext), as before."""
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

    from bot.slack.installations import Secrets, rotate

    engine = db.make_engine(database_url)
    plain = SQLAlchemyInstallationStore(client_id=CLIENT_ID, engine=engine)
    plain.create_tables()
    plain.save(an_installation("T1"))
    key = new_key()
    assert rotate(engine, Secrets([key])) == 6  # PostgreSQL: the columns widened, or the ciphertext would not fit
    engine.dispose()
    assert not any(secret in cell for secret in SECRETS for cell in raw_rows(database_url))
    assert store(database_url, key).find_bot(enterprise_id=None, team_id="T1").bot_token == BOT_TOKEN


def test_a_wrong_key_fails_clearly_instead_of_answering_garbage(database_url):
    from bot.slack.installations import Secrets, SecretsError, rotate

    store(database_url, new_key()).save(an_installation("T1"))
    wrong = store(database_url, new_key())
    for find in (wrong.find_bot, wrong.find_installation):
        with pytest.raises(SecretsError) as caught:
            find(enterprise_id=None, team_id="T1")
        assert "cannot be decrypted with COACH_SECRET_KEYS" in str(caught.value)
    before = raw_rows(database_url)
    with pytest.raises(SecretsError):
        rotate(wrong.engine, Secrets([new_key()]))
    assert raw_rows(database_url) == before  # a rotation that cannot open a value changes nothing
    for keys, problem in (([], "need COACH_SECRET_KEYS"), (["not-a-fernet-key"], "COACH_SECRET_KEYS is not valid")):
        with pytest.raises(SecretsError) as caught:
            Secrets(keys)
        assert problem in str(caught.value)


def test_oauth_mode_refuses_to_start_without_a_key_and_says_how_to_make_one(database_url):
    from bot.bootstrap import bootstrap
    from bot.server import create_web_app
    from coaching.access import CoachError

    db.upgrade(database_url)
    with FakeSlackApi().started_in_thread() as api:
        settings = oauth_settings(database_url, api)
        with pytest.raises(CoachError) as caught:
            create_web_app(bootstrap(settings), settings)
        assert caught.value.message.key == "cli.secret_keys_missing"
        env = {"DATABASE_URL": database_url, "COACH_LANGUAGE": "en", "TEAMS_ENABLED": "false",
               "SLACK_SIGNING_SECRET": SECRET, "SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": "shh",
               "SLACK_API_URL": f"{api.url}/api/", "COACH_SECRET_KEYS": ""}
        result = CliRunner().invoke(main, ["scheduler", "--once"], env=env)
    assert result.exit_code == 2 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: Slack OAuth installs") and "coach secret-key" in line
    made = CliRunner().invoke(main, ["secret-key"])
    assert made.exit_code == 0 and Fernet(made.stdout.strip().encode())  # a key that works


def test_the_stores_engines_keep_parameters_out_of_errors(database_url):
    """What a failed statement's error (and so the log) says carries no token: the server's
    store (Bolt's) and the scheduler's."""
    from bot.bootstrap import bootstrap
    from bot.server import SLACK_KEY, create_web_app

    insert = text("INSERT INTO slack_bots (client_id, app_id, bot_token, is_enterprise_install, installed_at) "
                  "VALUES (:client, NULL, :token, FALSE, CURRENT_TIMESTAMP)")  # app_id is NOT NULL
    db.upgrade(database_url)
    with FakeSlackApi().started_in_thread() as api:
        settings = oauth_settings(database_url, api, new_key())
        bolt_store = create_web_app(bootstrap(settings), settings)[SLACK_KEY].app.installation_store

        async def provoke() -> None:
            try:
                await bolt_store.create_tables()
                async with bolt_store.engine.begin() as connection:
                    await connection.execute(insert, {"client": CLIENT_ID, "token": BOT_TOKEN})
            finally:
                await bolt_store.engine.dispose()

        with pytest.raises(IntegrityError) as caught:
            asyncio.run(provoke())
        assert BOT_TOKEN not in str(caught.value) and "parameters hidden" in str(caught.value)

        from bot.slack.installations import InstalledWorkspaces

        engine = InstalledWorkspaces.from_settings(settings).store.engine
        with pytest.raises(IntegrityError) as caught, engine.begin() as connection:
            connection.execute(insert, {"client": CLIENT_ID, "token": BOT_TOKEN})
        engine.dispose()
        assert BOT_TOKEN not in str(caught.value) and "parameters hidden" in str(caught.value)
