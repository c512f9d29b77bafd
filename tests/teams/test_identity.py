"""Teams identity, tried as an attacker would, against the real ``/api/messages`` with credentials.

A key served on loopback stands in for Bot Framework's published key set (and, in the attacks,
for every Microsoft key set: the attacker's token is *really signed* by a key the coach trusts).
Only the claims differ. The coach must take exactly one kind of token: Bot Framework's issuer, this
bot's audience, bound to the activity's serviceUrl, which must be a Teams connector; and it must
never send the bot's own token anywhere else.

The bot's outbound token (from Entra, in production) comes from a stand-in token provider, so
that the tests can see where the coach would send it: the canary ``BOT_TOKEN``.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Iterator

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from microsoft_agents.hosting.core.authorization import AgentAuthConfiguration, AnonymousTokenProvider
from microsoft_agents.hosting.core.authorization.connection_manager import ConnectionManager

from bot.teams.app import TeamsEndpoint
from bot.teams.auth import ISSUER, Access, BotFrameworkTokens, NotConfigured, connector_allowed
from coaching.records import ChatReference
from tests.support import WORKSPACE
from tests.teams.connector import FakeConnector
from tests.teams.playground import WAIT, CoachServer, card_text, http, serving
from tests.teams.test_endpoint import CLIENT_ID, CONVERSATION, TENANT, activity

OTHER_TENANT = "11111111-2222-3333-4444-555555555555"
BOT_TOKEN = "canary-bot-token-4f1e"
KID = "bf-test-key"


class KeySet:
    """Bot Framework's published key set, served on loopback: one RSA key, endorsed for Teams."""

    def __init__(self, endorsements: tuple[str, ...] = ("msteams",)) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        self.document = {"keys": [{**public, "kid": KID, "use": "sig", "endorsements": list(endorsements)}]}
        self.fetches = 0

    def app(self) -> web.Application:
        async def keys(_: web.Request) -> web.Response:
            self.fetches += 1
            return web.json_response(self.document)

        app = web.Application()
        app.router.add_get("/keys", keys)
        return app

    def token(self, service_url: str, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": CLIENT_ID, "nbf": now - 60, "exp": now + 3600, "serviceurl": service_url,
                **claims}
        return jwt.encode({k: v for k, v in body.items() if v is not None}, self.key, algorithm="RS256",
                          headers={"kid": KID})


class _CanaryTokens(AnonymousTokenProvider):
    """The bot's own token, as Entra would hand it out: a canary the tests look for."""

    async def get_access_token(self, resource_url: str, scopes: list[str], force_refresh: bool = False) -> str:
        return BOT_TOKEN


def canary_connections() -> ConnectionManager:
    config = AgentAuthConfiguration(client_id=CLIENT_ID, tenant_id=TENANT)
    return ConnectionManager(lambda _: _CanaryTokens(), {"SERVICE_CONNECTION": config})


def credentials(keys_url: str, hosts: str = "127.0.0.1") -> dict[str, str]:
    return {"CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID": CLIENT_ID,
            "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTSECRET": "not-a-real-secret-but-32-bytes-long-at-least",
            "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__TENANTID": TENANT,
            "TEAMS_BOT_FRAMEWORK_KEYS_URL": keys_url, "TEAMS_CONNECTOR_HOSTS": hosts}


class Guarded:
    """The coach's real Teams endpoint with credentials, the key set and a Teams connector on
    127.0.0.1, and an attacker's "connector" on 127.0.0.2 (a loopback address too, another host)."""

    def __init__(self, server: CoachServer, keys: KeySet, connector: FakeConnector, rogue: FakeConnector,
                 url: str, endpoint: TeamsEndpoint) -> None:
        self.server, self.keys, self.connector, self.rogue, self.url, self.endpoint = \
            server, keys, connector, rogue, url, endpoint

    def post(self, body: dict[str, Any], token: str | None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return http("POST", f"{self.url}/api/messages", body, headers=headers, timeout=WAIT)

    def references(self) -> list[ChatReference]:
        with self.server.coach.uow_factory() as uow:
            found = uow.chats.for_user(WORKSPACE, "teams", activity("")["from"]["aadObjectId"])
        return [found] if found is not None else []


@contextlib.contextmanager
def guarded(database_url: str, **env: str) -> Iterator[Guarded]:
    keys, connector, rogue = KeySet(), FakeConnector(), FakeConnector()
    with serving(keys.app()) as keys_url, serving(connector.app()) as connector.url, \
            serving(rogue.app(), host="127.0.0.2") as rogue.url:
        server = CoachServer(database_url, env={**credentials(f"{keys_url}/keys"), **env})
        server.seed()
        endpoint = TeamsEndpoint(server.coach, server.env, connections=canary_connections())
        app = web.Application()
        app.add_subapp("/api", endpoint.sub_app())
        with serving(app) as url:
            yield Guarded(server, keys, connector, rogue, url, endpoint)


def on_leave(server: CoachServer) -> bool:
    with server.coach.uow_factory() as uow:
        return uow.people.by_email(WORKSPACE, "alice@acme.example").on_leave


# --- the token -----------------------------------------------------------------------------------


def test_a_bot_framework_token_for_this_bot_is_served(database_url):
    """The control: every attack below differs from this request in one claim or one field."""
    with guarded(database_url) as g:
        sent = activity(g.connector.url, "help")
        assert g.post(sent, g.keys.token(g.connector.url))[0] in (200, 202)
        [reply] = g.connector.wait_for(1)
    assert reply.headers.get("Authorization") == f"Bearer {BOT_TOKEN}"
    assert "Here's what I can do" in card_text(reply.body)


ATTACKS = {
    "Entra issuer of another tenant": {"iss": f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0",
                                       "tid": OTHER_TENANT},
    "Entra v1 issuer of the bot's own tenant (an app token)": {"iss": f"https://sts.windows.net/{TENANT}/",
                                                                "tid": TENANT},
    "Entra v2 issuer of the bot's own tenant": {"iss": f"https://login.microsoftonline.com/{TENANT}/v2.0",
                                                "tid": TENANT},
    "a made-up issuer": {"iss": "https://sts.attacker.example/"},
    "no issuer": {"iss": None},
    "Bot Framework's issuer, another bot's audience": {"aud": "another-bot"},
    "Bot Framework's issuer, a list of audiences with this bot's in it": {"aud": [CLIENT_ID, "another-bot"]},
    "Bot Framework's issuer, no expiry": {"exp": None},
    "Bot Framework's issuer, expired": {"exp": int(time.time()) - 3600, "nbf": int(time.time()) - 7200},
    "Bot Framework's issuer, another tenant named": {"tid": OTHER_TENANT},
    "Bot Framework's issuer, no serviceurl claim": {"serviceurl": None},
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_only_bot_framework_tokens_for_this_bot_are_taken(database_url, attack):
    """Each token really signed by the trusted key; refused with 401 and no effect at all (the
    admin's client list read back in ``expectReplies`` was the review's proof of the hole)."""
    with guarded(database_url) as g:
        sent = activity(g.connector.url, "away", deliveryMode="expectReplies")
        status, body = g.post(sent, g.keys.token(g.connector.url, **ATTACKS[attack]))
        time.sleep(0.2)
        assert (status, body) == (401, {"error": "Invalid token or authentication failed."})
        assert g.connector.calls == [] and g.references() == [] and not on_leave(g.server)


def test_a_token_for_another_service_url_is_refused(database_url):
    """A genuine token was issued for the connector it names; replaying it with another serviceUrl
    (the attacker's) is refused before anything is stored or sent."""
    with guarded(database_url) as g:
        token = g.keys.token(g.connector.url)
        assert g.post(activity(g.rogue.url, "away"), token)[0] == 401
        time.sleep(0.2)
    assert g.rogue.calls == [] and g.references() == [] and not on_leave(g.server)


def test_a_key_not_endorsed_for_teams_is_refused(database_url):
    with guarded(database_url) as g:
        g.keys.document["keys"][0]["endorsements"] = ["webchat"]
        g.endpoint.tokens.keys = BotFrameworkTokens(g.endpoint.access).keys  # a fresh key cache
        assert g.post(activity(g.connector.url, "away"), g.keys.token(g.connector.url))[0] == 401
    assert not on_leave(g.server)


# --- the tenant ----------------------------------------------------------------------------------


def test_the_tenant_is_checked_after_the_token_not_taken_from_the_body_alone(database_url):
    """The body's tenant is the sender's to write: a request naming the served tenant is still
    refused without a Bot Framework token (401), and one with a valid token naming another tenant
    (or two different ones) gets 403."""
    with guarded(database_url) as g:
        served = activity(g.connector.url, "away")
        served["channelData"] = {"tenant": {"id": TENANT}}
        served["conversation"]["tenantId"] = TENANT
        forged = g.keys.token(g.connector.url, iss=f"https://sts.windows.net/{TENANT}/", tid=TENANT)
        assert g.post(served, forged)[0] == 401
        other = {**served, "channelData": {"tenant": {"id": OTHER_TENANT}},
                 "conversation": {**served["conversation"], "tenantId": OTHER_TENANT}}
        assert g.post(other, g.keys.token(g.connector.url))[0] == 403
        mixed = {**served, "channelData": {"tenant": {"id": TENANT}}}
        mixed["conversation"] = {**served["conversation"], "tenantId": OTHER_TENANT}
        assert g.post(mixed, g.keys.token(g.connector.url))[0] == 403
        assert not on_leave(g.server)
        assert g.post(served, g.keys.token(g.connector.url))[0] in (200, 202)
        g.connector.wait_for(1)
    assert on_leave(g.server)


# --- the serviceUrl ------------------------------------------------------------------------------


def test_a_service_url_that_is_not_a_teams_connector_is_never_stored_nor_sent_the_token(database_url):
    """A genuine token for the attacker's own serviceUrl (as if Bot Framework had been fooled): the
    coach still refuses a connector host not on its list, stores no reference, sends nothing."""
    with guarded(database_url) as g:
        assert g.post(activity(g.rogue.url, "away"), g.keys.token(g.rogue.url))[0] == 403
        time.sleep(0.2)
    assert g.rogue.calls == [] and g.references() == [] and not on_leave(g.server)


def test_a_stored_reference_to_another_host_never_receives_the_bot_token(database_url):
    """A reference saved before this check existed (or written into the database some other way)
    pointing at the attacker's server: the scheduled digest is not sent there."""
    import asyncio

    from bot.teams.app import reply_activity
    from coaching.messages import Msg
    from coaching.replies import Reply

    with guarded(database_url) as g:
        with g.server.coach.uow_factory() as uow:
            alice = uow.people.by_email(WORKSPACE, "alice@acme.example")
            reference = {"serviceUrl": g.rogue.url, "channelId": "msteams",
                         "conversation": {"id": CONVERSATION}, "bot": {"id": f"28:{CLIENT_ID}"},
                         "user": {"id": "29:1alice"}}
            uow.chats.save(WORKSPACE, ChatReference("teams", "aad", CONVERSATION, g.rogue.url,
                                                                 reference, alice.id), datetime.now(timezone.utc))
            uow.commit()
        reply = reply_activity(Reply.of(Msg("digest.title", {"name": "Alice"})), g.server.coach, "en")
        with pytest.raises(PermissionError):
            asyncio.run(g.endpoint.send_to(reference, reply))
        time.sleep(0.2)
    assert g.rogue.calls == []


@pytest.mark.parametrize("url, anonymous, allowed", [
    ("https://smba.trafficmanager.net/emea/", False, True),
    ("https://smba.trafficmanager.net:443/amer/", False, True),
    ("http://smba.trafficmanager.net/emea/", False, False),  # never the token in the clear
    ("https://smba.trafficmanager.net.attacker.example/", False, False),
    ("https://attacker.example/smba.trafficmanager.net/", False, False),
    ("https://user@smba.trafficmanager.net/", False, False),
    ("https://SMBA.TrafficManager.net/emea/", False, True),
    ("http://127.0.0.1:9/", False, False),  # loopback is not a Teams connector with credentials
    ("http://localhost:56150/_connector", True, True),  # the Agents Playground
    ("http://127.0.0.1:9/", True, True),
    ("http://[::1]:9/", True, True),
    ("https://smba.trafficmanager.net/emea/", True, False),  # anonymous mode answers this machine only
    ("http://192.0.2.1/", True, False),
    ("http://127.0.0.1:99999/", True, False),
    ("not a url", False, False), ("", True, False), (None, True, False),
])
def test_which_connectors_may_be_answered(url, anonymous, allowed):
    assert connector_allowed(url, Access(anonymous=anonymous, app_id=None if anonymous else CLIENT_ID)) is allowed


# --- modes ---------------------------------------------------------------------------------------


def test_without_credentials_or_an_explicit_ask_teams_is_not_served(database_url, connector):
    """A Slack-only deployment serves no unauthenticated /api/messages: anonymous mode is asked for
    (``TEAMS_ANONYMOUS=true``, as ``make run``'s demo does), never a default."""
    server = CoachServer(database_url, env={"TEAMS_ANONYMOUS": "false"})
    server.seed()
    with server.running():
        assert http("POST", server.messages_url, activity(connector.url, "away"))[0] == 404
    assert connector.calls == [] and not on_leave(server)


def test_anonymous_mode_and_credentials_together_are_refused(database_url):
    server = CoachServer(database_url)
    with pytest.raises(NotConfigured):
        TeamsEndpoint(server.coach, {**credentials("http://127.0.0.1:9/keys"), "TEAMS_ANONYMOUS": "true"})


def test_the_issuer_check_cannot_be_switched_off(database_url):
    """The coach refuses to start with credentials unless a token of another issuer, signed by a
    trusted key, is refused: a validator without the check fails the start-up self-test."""

    class NoIssuerCheck(BotFrameworkTokens):
        def claims(self, token: str, key: Any) -> dict[str, Any]:
            return jwt.decode(token, key, algorithms=["RS256"], audience=self.access.app_id)

    access = Access(anonymous=False, app_id=CLIENT_ID, tenant=TENANT)
    BotFrameworkTokens(access, keys=object()).self_test()  # the real one passes
    with pytest.raises(NotConfigured):
        NoIssuerCheck(access, keys=object()).self_test()


def test_the_keys_are_fetched_once_not_per_request(database_url):
    with guarded(database_url) as g:
        for n in range(1, 4):
            assert g.post(activity(g.connector.url, "help", id=f"1:{uuid.uuid4().hex}"),
                          g.keys.token(g.connector.url))[0] in (200, 202)
            g.connector.wait_for(n)
    assert g.keys.fetches == 1
