"""One aiohttp server for every platform: ``/slack/events`` (Bolt), ``/healthz``; later issues
mount Teams' ``/api/messages`` here too. ``create_web_app`` builds it from settings; nothing is
built at import time."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from bot.bootstrap import Coach
from bot.settings import Settings

log = logging.getLogger(__name__)
SLACK_KEY = web.AppKey("slack", object)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _slack_oauth_settings(settings: Settings):
    """OAuth installs stored with slack_sdk's SQLAlchemy stores, in the coach's own database."""
    from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
    from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
    from sqlalchemy.ext.asyncio import create_async_engine

    url = settings.url.replace("sqlite:///", "sqlite+aiosqlite:///", 1)
    engine = create_async_engine(url)
    installations = AsyncSQLAlchemyInstallationStore(client_id=settings.slack_client_id, engine=engine)
    states = AsyncSQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine)
    scopes = ["commands", "chat:write", "im:history", "im:write", "users:read", "users:read.email", "files:write"]
    oauth = AsyncOAuthSettings(client_id=settings.slack_client_id, client_secret=settings.slack_client_secret,
                               scopes=scopes, installation_store=installations, state_store=states,
                               install_path="/slack/install", redirect_uri_path="/slack/oauth_redirect")
    return oauth, (installations, states)


TEAMS_KEY = web.AppKey("teams", object)


def create_web_app(coach: Coach, settings: Settings, env=None) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)  # Slack payloads are small; refuse floods
    app.router.add_get("/healthz", healthz)
    if settings.teams_enabled:
        import os

        from bot.teams.app import TeamsEndpoint

        teams = TeamsEndpoint(coach, os.environ if env is None else env)
        app[TEAMS_KEY] = teams
        app.add_subapp("/api", teams.sub_app())  # the JWT check never touches Slack's routes
    if settings.slack_enabled:
        from bot.slack.app import SlackAdapter

        oauth, stores = (_slack_oauth_settings(settings) if settings.slack_multi_workspace else (None, ()))
        slack = SlackAdapter(coach, settings, oauth)
        app[SLACK_KEY] = slack

        async def events(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await slack.app.async_dispatch(await to_bolt_request(request)))

        app.router.add_post("/slack/events", events)
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
                    await store.create_tables()

            app.on_startup.append(create_tables)
        if settings.slack_app_token:
            app.on_startup.append(_socket_mode(slack, settings.slack_app_token))
    return app


def _replaying(slack):
    """Replays, from start-up on, the Slack requests a stopped process acknowledged but never finished."""
    async def replay(_: web.Application):
        task = asyncio.create_task(slack.keep_replaying())
        yield
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
