"""Who may speak to the coach on ``/api/messages``, and where the coach may speak back.

Two modes, and nothing in between:

* **Credentials** (the Agents SDK's ``CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID`` and
  friends): every request carries a token that Bot Framework issued for this bot. The coach checks
  it itself, whatever the SDK's own settings say: an RS256 signature by a key in Bot Framework's
  published set (and endorsed for the activity's channel), the issuer
  ``https://api.botframework.com`` and nothing else, the audience this bot's app id, a lifetime in
  force (five minutes' skew), and a ``serviceurl`` claim equal to the activity's ``serviceUrl``. A
  token that names a tenant (``tid``) must name the served one. The server will not start unless
  a token of another issuer, signed by a trusted key, is refused (a self-test at start).
* **Anonymous** (``TEAMS_ANONYMOUS=true`` and no credentials; ``make run``'s demo asks for it):
  no token, so only this machine may call, directly: any peer that is not loopback, and any
  request carrying a proxy's header, is refused.

In both modes the only connectors the coach stores, answers or sends the bot's token to are
Microsoft's Teams connector hosts (``TEAMS_CONNECTOR_HOSTS``), over HTTPS; in anonymous mode,
loopback addresses only (the Agents Playground). Without credentials and without
``TEAMS_ANONYMOUS`` the Teams endpoint is not served at all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import logging
import time
import warnings
from typing import Any, Mapping
from urllib.parse import urlsplit

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

log = logging.getLogger(__name__)

CLIENT_ID_SETTING = "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID"
TENANT_ID_SETTING = "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__TENANTID"
ANONYMOUS_SETTING = "TEAMS_ANONYMOUS"
CONNECTOR_HOSTS_SETTING = "TEAMS_CONNECTOR_HOSTS"
KEYS_URL_SETTING = "TEAMS_BOT_FRAMEWORK_KEYS_URL"

ISSUER = "https://api.botframework.com"  # Bot Framework's channel tokens; no other issuer, ever
KEYS_URL = "https://login.botframework.com/v1/.well-known/keys"
# The Teams connector (Bot Connector for Teams) in Microsoft's public cloud, GCC, GCC High and DoD.
CONNECTOR_HOSTS = ("smba.trafficmanager.net", "smba.infra.gcc.teams.microsoft.com",
                   "smba.infra.gov.teams.microsoft.us", "smba.infra.dod.teams.microsoft.us")
SKEW_SECONDS = 300
REFUSED = {"error": "Invalid token or authentication failed."}  # the SDK's own 401 body
# Headers a reverse proxy, a tunnel or a CDN adds: a request that carries one was relayed.
PROXY_HEADERS = ("Via", "Forwarded", "X-Real-IP", "CF-Connecting-IP", "True-Client-IP", "X-Client-IP",
                 "X-Cluster-Client-IP", "Fastly-Client-IP", "X-Original-Forwarded-For")
PROXY_PREFIXES = ("x-forwarded-",)
_TRUE = ("1", "true", "yes", "on")


class NotConfigured(ValueError):
    """Teams settings that cannot be served safely (the server refuses to start)."""


@dataclasses.dataclass(frozen=True)
class Access:
    """How the Teams endpoint is guarded, read once from the environment."""

    anonymous: bool
    app_id: str | None = None
    tenant: str | None = None
    connector_hosts: tuple[str, ...] = CONNECTOR_HOSTS
    keys_url: str = KEYS_URL


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


def access_from(env: Mapping[str, str]) -> Access | None:
    """The Teams mode the environment asks for; None when Teams is not configured at all."""
    app_id = (env.get(CLIENT_ID_SETTING) or "").strip()
    anonymous = _truthy(env.get(ANONYMOUS_SETTING))
    tenant = (env.get(TENANT_ID_SETTING) or "").strip().lower() or None
    hosts = tuple(h.strip().lower() for h in (env.get(CONNECTOR_HOSTS_SETTING) or "").split(",") if h.strip())
    if app_id and anonymous:
        raise NotConfigured(f"{ANONYMOUS_SETTING} is set together with Teams credentials: choose one")
    if app_id:
        return Access(False, app_id, tenant, hosts or CONNECTOR_HOSTS,
                      (env.get(KEYS_URL_SETTING) or "").strip() or KEYS_URL)
    return Access(True, None, tenant) if anonymous else None


# --- where the coach may speak back ------------------------------------------------------------


def loopback_host(host: str | None) -> bool:
    if (host or "").lower() == "localhost":
        return True
    return loopback_peer(host)


def loopback_peer(remote: str | None) -> bool:
    """Whether a request's peer address is this machine (``::ffff:127.0.0.1`` too)."""
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:  # no address at all (a Unix socket) or not an IP: not known to be local
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def connector_allowed(url: str | None, access: Access) -> bool:
    """Whether ``url`` may become a stored serviceUrl and receive the bot's token: one of the
    configured connector hosts over HTTPS (plain HTTP only to a loopback host), no user info; in
    anonymous mode, a loopback host only."""
    try:
        parts = urlsplit(url or "")
        host, _ = (parts.hostname or "").lower(), parts.port  # a malformed port raises here
    except ValueError:
        return False
    if parts.username is not None or parts.password is not None or not host:
        return False
    if access.anonymous:
        return parts.scheme in ("http", "https") and loopback_host(host)
    if host not in access.connector_hosts:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and loopback_host(host))


def _same_url(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


# --- the token -----------------------------------------------------------------------------------


class BotFrameworkTokens:
    """Checks a bearer token as one Bot Framework issued to this bot (see the module's docstring)."""

    def __init__(self, access: Access, keys: Any = None) -> None:
        self.access = access
        self.keys = keys or jwt.PyJWKClient(access.keys_url, cache_keys=True, lifespan=3600, timeout=5)

    def claims(self, token: str, key: Any) -> dict[str, Any]:
        """The verified claims of ``token`` under the public ``key``; raises ``jwt.PyJWTError``."""
        return jwt.decode(token, key, algorithms=["RS256"], audience=self.access.app_id, issuer=ISSUER,
                          leeway=SKEW_SECONDS, options={"require": ["exp", "iss", "aud"], "strict_aud": True})

    def validate(self, token: str, channel_id: Any) -> dict[str, Any]:
        """The claims of a token Bot Framework issued to this bot for ``channel_id``; raises
        ``jwt.PyJWTError`` (or ``ValueError``) for anything else. Blocking: the key set may be fetched."""
        header = jwt.get_unverified_header(token)
        if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
            raise jwt.InvalidTokenError("not an RS256 token with a key id")
        signing_key = self.keys.get_signing_key(header["kid"])
        claims = self.claims(token, signing_key.key)
        endorsed = getattr(signing_key, "_jwk_data", {}).get("endorsements")
        if isinstance(endorsed, list) and channel_id not in endorsed:
            raise jwt.InvalidTokenError("the signing key is not endorsed for this channel")
        tenant = claims.get("tid")
        if tenant is not None and self.access.tenant and str(tenant).lower() != self.access.tenant:
            raise jwt.InvalidTokenError("the token names another tenant")
        return claims

    def self_test(self) -> None:
        """Refuse to start unless a token with every other claim right but another issuer, signed
        by a key taken as trusted, is refused: the issuer check is on, whatever the settings."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = int(time.time())
        forged = jwt.encode({"iss": "https://sts.windows.net/self-test/", "aud": self.access.app_id,
                             "nbf": now - 60, "exp": now + 600}, key, algorithm="RS256")
        try:
            self.claims(forged, key.public_key())
        except jwt.InvalidIssuerError:
            return
        raise NotConfigured("the Teams token check accepts tokens of another issuer: refusing to start")


def _bearer(header: str | None) -> str | None:
    scheme, _, token = (header or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token and not any(c.isspace() for c in token) else None


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()  # aiohttp keeps the body: the SDK reads it again
    except Exception:
        return {}
    return body if isinstance(body, dict) else {}


def token_check(tokens: BotFrameworkTokens):
    """The credentialed mode's middleware: a Bot Framework token for this bot, bound to the
    activity's serviceUrl, else 401 before anything else is read."""
    from microsoft_agents.hosting.core.authorization import ClaimsIdentity

    @web.middleware
    async def check(request: web.Request, handler):
        token = _bearer(request.headers.get("Authorization"))
        if token is None:
            return web.json_response(REFUSED, status=401)
        body = await _body(request)
        try:
            claims = await asyncio.to_thread(tokens.validate, token, body.get("channelId"))
        except (jwt.PyJWTError, ValueError) as error:
            log.warning("refused a Teams request: %s", type(error).__name__)
            return web.json_response(REFUSED, status=401)
        if not _same_url(claims.get("serviceurl"), body.get("serviceUrl")):
            log.warning("refused a Teams request whose serviceUrl is not the one its token was issued for")
            return web.json_response(REFUSED, status=401)
        _identify(request, ClaimsIdentity(claims, "Bearer", security_token=token))
        return await handler(request)

    return check


def _identify(request: web.Request, identity: Any) -> None:
    """Where the SDK's adapter reads who is calling (a plain string key it chose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        request["claims_identity"] = identity


def relayed(headers: Mapping[str, str]) -> bool:
    """Whether a request carries any header a proxy, tunnel or CDN adds."""
    names = {name.lower() for name in headers}
    return any(h.lower() in names for h in PROXY_HEADERS) or any(n.startswith(PROXY_PREFIXES) for n in names)


@web.middleware
async def local_callers_only(request: web.Request, handler):
    """Anonymous mode checks no token, so only this machine may call it, directly: another peer,
    or one relaying for someone else, gets the 401 a missing token would get."""
    if loopback_peer(request.remote) and not relayed(request.headers):
        from microsoft_agents.hosting.core.authorization import ClaimsIdentity

        _identify(request, ClaimsIdentity({}, "anonymous"))
        return await handler(request)
    log.info("refused a Teams request: anonymous local mode serves this machine only, directly")
    return web.json_response(REFUSED, status=401)


def tenant_of(body: Any) -> str | None:
    """The tenant an activity names (channel data, else the conversation). Read only once the
    request is authenticated: with credentials, the token proves Microsoft's connector sent it."""
    if not isinstance(body, dict):
        return None
    channel_data = body.get("channelData") if isinstance(body.get("channelData"), dict) else {}
    tenant = channel_data.get("tenant") if isinstance(channel_data.get("tenant"), dict) else {}
    conversation = body.get("conversation") if isinstance(body.get("conversation"), dict) else {}
    named = {str(t).strip().lower() for t in (tenant.get("id"), conversation.get("tenantId")) if t}
    return named.pop() if len(named) == 1 else None  # two different tenants named: none
