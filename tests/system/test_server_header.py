"""No response from the coach's server names its software (``Server: Python/3.x aiohttp/3.x``):
Slack's routes, the Teams sub-app, /healthz and the 404s and 405s of the router, over real HTTP.
(A request aiohttp's HTTP parser refuses, a malformed request line, still gets its 400 with the
header: no application code runs for it. The reverse proxy answers those itself; see
docs/deploy-proxy.md.)"""

from __future__ import annotations

import http.client
from typing import Iterator

import pytest

from bot.bootstrap import bootstrap
from bot.server import create_web_app
from bot.settings import Settings
from storage import db
from tests.slack.fake_api import FakeSlackApi
from tests.support import WORKSPACE
from tests.teams.playground import serving

TEAMS_CREDENTIALS = {  # Teams with credentials: /api/messages wants a Bot Framework token
    "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID": "5f0c3a3e-8d1b-4c55-9a43-0c9b2f7e1d11",
    "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTSECRET": "not-a-real-secret",
    "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__TENANTID": "7d1c7a6e-0b8f-4a64-9e36-2f9d3c1a0b22",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, int]]:
    database_url = f"sqlite:///{tmp_path_factory.mktemp('server-header') / 'coach.sqlite3'}"
    db.upgrade(database_url)
    with FakeSlackApi().started_in_thread() as api:
        settings = Settings(_env_file=None, DATABASE_URL=database_url, COACH_WORKSPACE=WORKSPACE,
                            SLACK_SIGNING_SECRET="signing-secret", SLACK_BOT_TOKEN="xoxb-test",
                            SLACK_API_URL=f"{api.url}/api/")
        with serving(create_web_app(bootstrap(settings), settings, env=TEAMS_CREDENTIALS)) as url:
            host, port = url.removeprefix("http://").split(":")
            yield host, int(port)


@pytest.mark.parametrize("method, path, body, status", [
    ("GET", "/healthz", None, 200),
    ("HEAD", "/healthz", None, 200),
    ("GET", "/nowhere", None, 404),
    ("GET", "/slack/events", None, 405),
    ("POST", "/slack/events", b'{"type": "event_callback"}', 401),  # unsigned
    ("POST", "/api/messages", b'{"type": "message"}', 401),  # the Teams sub-app: no token
    ("GET", "/api/nowhere", None, 401),  # the sub-app checks the token before it routes
])
def test_no_response_names_the_server_software(server, method, path, body, status):
    connection = http.client.HTTPConnection(*server, timeout=10)
    try:
        connection.request(method, path, body=body,
                            headers={"Content-Type": "application/json"} if body is not None else {})
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    assert response.status == status
    assert response.getheader("Server") is None, response.getheader("Server")
