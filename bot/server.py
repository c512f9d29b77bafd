"""One aiohttp server for every platform: ``/slack/events`` (Bolt), Teams' ``/api/messages``,
``/healthz`` and, with ``COACH_METRICS_ALLOW``, ``/metrics`` (bot/http_metrics.py).
``create_web_app`` builds it from settings; nothing is built at import time."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
from time import perf_counter
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_sdk.signature import SignatureVerifier

from bot import event_loop, http_metrics, turn_pool
from bot.bootstrap import Coach, freeze_startup_objects, thaw_startup_objects
from bot.settings import Settings
from bot.teams.auth import access_from as teams_access
from bot.turn_pool import TurnPool

log = logging.getLogger(__name__)
SLACK_KEY = web.AppKey("slack", object)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _slack_oauth_settings(settings: Settings):
    """OAuth installs stored with slack_sdk's SQLAlchemy stores, in the coach's own database, their
    tokens encrypted with ``COACH_SECRET_KEYS`` (without them: ``SecretsError``, nothing starts)."""
    from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
    from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.slack.installations import AsyncEncryptedInstallationStore, Secrets

    secrets = Secrets.from_settings(settings)
    url = settings.url.replace("sqlite:///", "sqlite+aiosqlite:///", 1)
    engine = create_async_engine(url, hide_parameters=True)  # a failed statement's error carries no token
    installations = AsyncEncryptedInstallationStore(settings.slack_client_id, engine, secrets)
    states = AsyncSQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine)
    scopes = ["commands", "chat:write", "im:history", "im:write", "users:read", "users:read.email", "files:write"]
    oauth = AsyncOAuthSettings(client_id=settings.slack_client_id, client_secret=settings.slack_client_secret,
                               scopes=scopes, installation_store=installations, state_store=states,
                               install_path="/slack/install", redirect_uri_path="/slack/oauth_redirect")
    return oauth, (installations, states)


TEAMS_KEY = web.AppKey("teams", object)
TURNS_KEY = web.AppKey("turns", TurnPool)
DRAIN_S = 10  # a stopping server waits this long for acknowledged requests' work (workers: 30 s in all)
# Where Bolt reads into a request without checking what it holds (an error there is a 500): the
# shapes Slack's own requests always have. Nothing else is checked; a field may be absent.
_SLACK_OBJECTS = ("event", "view")
_SLACK_OBJECT_LISTS = ("actions", "authorizations")
_SLACK_IDS = ("team", "enterprise", "user", "channel", "container", "message")  # an object, an id or null
_SLACK_NAMES = ("type", "action_id", "block_id", "callback_id")  # strings, in the body, its view and its actions


def _objects_problem(body: dict[str, Any]) -> str | None:
    for name in _SLACK_OBJECTS:
        if name in body and not isinstance(body[name], dict):
            return f"{name} is not an object"
    return None


def _object_lists_problem(body: dict[str, Any]) -> str | None:
    for name in _SLACK_OBJECT_LISTS:
        if name in body and not (isinstance(body[name], list) and body[name]
                                 and all(isinstance(item, dict) for item in body[name])):
            return f"{name} is not a list of objects"
    return None


def _ids_problem(body: dict[str, Any]) -> str | None:
    for name in _SLACK_IDS:
        if name in body and not isinstance(body[name], (dict, str, type(None))):
            return f"{name} is neither an object nor an id"
    return None


def _view_type_problem(body: dict[str, Any]) -> str | None:
    if "view" in body and not isinstance(body["view"].get("type"), str):
        return "the view has no type"
    return None


def _names_problem(body: dict[str, Any]) -> str | None:
    for part in (body, body.get("view") or {}, *body.get("actions", ())):
        if any(name in part and not isinstance(part[name], str) for name in _SLACK_NAMES):
            return "a type or an id is not a string"
    return None


# In this order: each check may rely on what the ones before it found (the view an object, the
# actions a list of objects).
_SLACK_SHAPE_CHECKS = (_objects_problem, _object_lists_problem, _ids_problem, _view_type_problem, _names_problem)


def slack_shape_problem(body: Any) -> str | None:
    """What, if anything, makes a parsed Slack request body unlike anything Slack sends."""
    if not isinstance(body, dict):
        return "the body is not an object"
    for check in _SLACK_SHAPE_CHECKS:
        if problem := check(body):
            return problem
    return None


def _slack_signed(verifier: SignatureVerifier, raw: bytes, headers) -> bool:
    """Signed with the app's secret, less than five minutes ago (slack_sdk's check). Slack's
    bodies are UTF-8; any other is checked over its bytes, so that a signed one can be told
    apart (400) from an unsigned one (401)."""
    timestamp, signature = headers.get("X-Slack-Request-Timestamp", ""), headers.get("X-Slack-Signature", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12 and signature.isascii()):
        return False
    try:
        return verifier.is_valid(raw.decode("utf-8"), timestamp, signature)
    except UnicodeDecodeError:
        base = f"v0:{timestamp}:".encode() + raw
        expected = "v0=" + hmac.new(verifier.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        fresh = abs(verifier.clock.now() - int(timestamp)) <= 60 * 5
        return fresh and hmac.compare_digest(expected, signature)
    except (ValueError, TypeError):  # nothing a signed request carries
        return False


async def _without_server_header(request: web.Request, response: web.StreamResponse) -> None:
    """No ``Server: Python/… aiohttp/…`` on any response: it tells a scanner which versions to try."""
    response.headers.popall("Server", None)


def create_web_app(coach: Coach, settings: Settings, env=None) -> web.Application:
    metrics = coach.metrics
    # Slack payloads are small; refuse floods. Every request (sub-apps' too) is counted and has its id.
    app = web.Application(client_max_size=1024 * 1024, middlewares=[http_metrics.observing(metrics)])
    app[http_metrics.METRICS_KEY] = metrics
    app.on_response_prepare.append(_without_server_header)  # sub-apps' responses (Teams) too
    app.router.add_get("/healthz", healthz)
    if settings.metrics_networks:  # else /metrics is not there: 404
        http_metrics.serve_metrics(app, metrics, coach.requests, settings.metrics_networks)
    turns = TurnPool(settings.turn_thread_count)
    app[TURNS_KEY] = turns
    app.cleanup_ctx.append(turn_pool.serving(turns))
    teams_env = os.environ if env is None else env
    if settings.teams_enabled and teams_access(teams_env) is not None:  # else /api/messages is not served
        from bot.teams.app import TeamsEndpoint

        teams = TeamsEndpoint(coach, teams_env)
        app[TEAMS_KEY] = teams
        app.add_subapp("/api", teams.sub_app())  # the JWT check never touches Slack's routes
    if settings.slack_enabled:
        from bot.slack.app import SlackAdapter

        oauth, stores = (_slack_oauth_settings(settings) if settings.slack_multi_workspace else (None, ()))
        slack = SlackAdapter(coach, settings, oauth)
        app[SLACK_KEY] = slack

        verifier = SignatureVerifier(settings.slack_signing_secret or "")

        async def events(request: web.Request) -> web.Response:
            with turns.acknowledging():  # the turns of requests already acknowledged wait
                return await acknowledge(request)

        async def acknowledge(request: web.Request) -> web.Response:
            began = perf_counter()
            # the signature first: whatever is wrong with an unsigned request, the answer is 401
            if not _slack_signed(verifier, await request.read(), request.headers):
                return web.json_response({"error": "invalid request"}, status=401)
            try:  # Bolt parses a body before it looks at it, and raises on what it cannot read
                bolt_request = await to_bolt_request(request)
            except Exception as error:  # not UTF-8, a payload that is not a JSON object, ...: the sender's mistake
                log.info("refused a Slack request whose body cannot be read: %s", type(error).__name__)
                return web.json_response({"error": "unreadable request body"}, status=400)
            if problem := slack_shape_problem(bolt_request.body):
                log.info("refused a Slack request not shaped as Slack sends them: %s", problem)
                return web.json_response({"error": f"not a Slack request: {problem}"}, status=400)
            answer = await to_aiohttp_response(await slack.app.async_dispatch(bolt_request))
            metrics.slack_ack(http_metrics.slack_kind(bolt_request.body), answer.status, perf_counter() - began)
            return answer

        app.router.add_post("/slack/events", events)
        app.cleanup_ctx.append(slack.http_session)  # before the replayer, which calls the Web API
        app.cleanup_ctx.append(_replaying(slack))
        if oauth is not None:
            async def install(request: web.Request) -> web.Response:
                flow = slack.app.oauth_flow
                bolt_request = await to_bolt_request(request)
                if request.path.endswith("/install"):
                    return await to_aiohttp_response(await flow.handle_installation(bolt_request))
                return await to_aiohttp_response(await flow.handle_callback(bolt_request))

            app.router.add_get("/slack/install", install)
            app.router.add_get("/slack/oauth_redirect", install)

            async def create_tables(_: web.Application) -> None:
                for store in stores:
                    try:
                        await store.create_tables()
                    except Exception:  # another worker of `coach serve --workers N` created them just now
                        await asyncio.sleep(1)
                        await store.create_tables()  # they exist now: nothing to create

            app.on_startup.append(create_tables)
        if settings.slack_app_token:
            app.on_startup.append(_socket_mode(slack, settings.slack_app_token))
    app.on_startup.append(event_loop.say_which)
    app.on_startup.append(_freeze_startup_objects)  # last: after everything else has started
    app.on_cleanup.append(_unfreeze)
    return app


async def _freeze_startup_objects(_: web.Application) -> None:
    """What starting made is kept from the cyclic collector once the server has started
    (:func:`bot.bootstrap.freeze_startup_objects`). A full collection otherwise walked it all,
    every few hundred requests, and the request that triggered it waited: Teams' one-step p99
    was 150-160 ms against a 40 ms median, and 60 ms with this (docs/deploy-proxy.md). Put back
    when the application stops."""
    freeze_startup_objects()


async def _unfreeze(_: web.Application) -> None:
    thaw_startup_objects()


def _replaying(slack):
    """Replays, from start-up on, the Slack requests a stopped process acknowledged but never
    finished; when the server stops, first lets the work of those it acknowledged finish (at
    most :data:`DRAIN_S`), while the Web API's session and the turn threads are still there."""
    async def replay(_: web.Application):
        task = asyncio.create_task(slack.keep_replaying())
        yield
        await slack.inbox.drain(DRAIN_S)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return replay


def _socket_mode(slack, app_token: str):
    """Also take Slack's requests over Socket Mode: no public URL needed."""
    async def start(app: web.Application) -> None:
        from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(slack.app, app_token)
        await handler.connect_async()
        log.info("connected to Slack over Socket Mode")

        async def stop(_: web.Application) -> None:
            await handler.close_async()

        app.on_cleanup.append(stop)

    return start
