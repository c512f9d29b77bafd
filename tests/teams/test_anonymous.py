"""Anonymous local mode (no Teams credentials) serves this machine only, whatever address the
server listens on: the coach's real server bound to every interface, called once over loopback
and once over this machine's own network address, with the Bot Connector a local fake."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import subprocess
import threading
from typing import Iterator

import pytest
from aiohttp import web

from bot.server import create_web_app
from bot.teams.auth import loopback_peer
from tests.support import WORKSPACE
from tests.teams.playground import USER_AAD_ID, WAIT, CoachServer, card_text, http
from tests.teams.test_endpoint import activity, stored


def own_address() -> str | None:
    """An IPv4 address of this machine that is not loopback, or None."""
    candidates: list[str] = []
    with contextlib.suppress(OSError):
        candidates += socket.gethostbyname_ex(socket.gethostname())[2]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        candidates += subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout.split()
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # a UDP "connect" sends nothing: it only picks the route's source
        candidates.append(probe.getsockname()[0])
    for candidate in candidates:
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if address.version == 4 and not address.is_loopback and not address.is_unspecified:
            return candidate
    return None


@contextlib.contextmanager
def on_every_interface(server: CoachServer) -> Iterator[int]:
    """The coach's server bound to 0.0.0.0 (a free port) in a background thread; its port."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="coach-all-interfaces", daemon=True)
    thread.start()
    runner = web.AppRunner(create_web_app(server.coach, server.settings, env=server.env))

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "0.0.0.0", 0)
        await site.start()
        return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    try:
        yield asyncio.run_coroutine_threadsafe(start(), loop).result(WAIT)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(WAIT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(WAIT)
        loop.close()


def test_anonymous_mode_refuses_every_peer_but_this_machine(database_url, connector):
    address = own_address()
    if address is None:
        pytest.skip("this machine has no IPv4 address other than loopback to call the server from")
    server = CoachServer(database_url)
    server.seed()
    with on_every_interface(server) as port:
        outside = f"http://{address}:{port}"
        status, body = http("POST", f"{outside}/api/messages", activity(connector.url))
        assert (status, body) == (401, {"error": "Invalid token or authentication failed."})
        assert http("POST", f"{outside}/api/messages", activity(connector.url, "help", deliveryMode="expectReplies"),
                    timeout=WAIT)[0] == 401
        assert http("GET", f"{outside}/healthz")[0] == 200  # the server itself is reachable there
        nothing_yet = (list(connector.calls), stored(server))
        # The same server, over loopback: served.
        assert http("POST", f"http://127.0.0.1:{port}/api/messages", activity(connector.url))[0] == 202
        [post] = connector.wait_for(1)
    assert nothing_yet == ([], (None, None))  # the refused requests had no effect at all
    assert "Which client did you meet?" in card_text(post.body)


# What nginx's proxy_pass (Via, X-Forwarded-*), an ssh or HTTP tunnel, a CDN (CF-Connecting-IP,
# True-Client-IP) or RFC 7239 add. (A bare `proxy_pass` or `ssh -R` adds none: see the next test.)
RELAYED = (("X-Forwarded-For", "203.0.113.9"), ("Forwarded", "for=203.0.113.9"), ("X-Real-IP", "203.0.113.9"),
           ("Via", "1.1 proxy.example"), ("X-Forwarded-Host", "coach.example"), ("X-Forwarded-Proto", "https"),
           ("X-Forwarded-Port", "443"), ("CF-Connecting-IP", "203.0.113.9"), ("True-Client-IP", "203.0.113.9"),
           ("x-forwarded-server", "edge"))


def test_a_request_relayed_by_a_proxy_is_refused_in_anonymous_mode(database_url, connector):
    """A reverse proxy on this machine would make everyone look local: what it relays is refused."""
    server = CoachServer(database_url)
    server.seed()
    with server.running():
        answers = {header: http("POST", server.messages_url, activity(connector.url), headers={header: value})[0]
                   for header, value in RELAYED}
        assert http("POST", server.messages_url, activity(connector.url, "help", deliveryMode="expectReplies"),
                    headers={"X-Forwarded-For": "127.0.0.1"})[0] == 401
    assert answers == {header: 401 for header, _ in RELAYED}
    assert connector.calls == [] and stored(server) == (None, None)


def test_anonymous_mode_warns_once_at_start_not_on_every_turn(database_url, connector, caplog):
    server = CoachServer(database_url)
    server.seed()
    caplog.set_level(logging.INFO)
    with server.running():
        started = [r for r in caplog.records if r.levelno >= logging.WARNING]
        for n, text in enumerate(("help", "promises", "help"), 1):
            assert http("POST", server.messages_url, activity(connector.url, text))[0] == 202
            connector.wait_for(n)
    warnings = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(started) == 1 and "anonymous local mode" in started[0].getMessage()
    assert warnings == [f"{started[0].name}: {started[0].getMessage()}"]


@pytest.mark.parametrize("remote, local", [
    ("127.0.0.1", True), ("127.3.2.1", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("192.0.2.2", False), ("10.0.0.1", False), ("::ffff:10.0.0.1", False), ("fe80::1%eth0", False),
    ("2001:db8::1", False), ("0.0.0.0", False), ("localhost", False), ("", False), (None, False),
])
def test_what_counts_as_this_machine(remote, local):
    assert loopback_peer(remote) is local


def test_anonymous_mode_never_takes_identity_from_the_connectors_email(database_url, connector):
    """Behind a proxy that adds no header, a stranger's activity looks local. In anonymous mode the
    serviceUrl is the sender's own server, so what it says of a member (the admin's e-mail) must
    not name anyone: the stranger is not on the roster, and no link is made."""
    server = CoachServer(database_url)
    server.seed(email=None)  # nobody linked to the sender's Teams id
    connector.members["29:1alice"] = {"id": "29:1alice", "email": "ada@acme.example", "name": "Ada"}
    with server.running():
        assert http("POST", server.messages_url, activity(connector.url, "teamhealth"))[0] == 202
        [reply] = connector.wait_for(1)
    assert [c for c in connector.calls if c.method == "GET"] == []  # not even asked
    assert "roster" in card_text(reply.body)
    with server.coach.uow_factory() as uow:
        assert uow.people.by_platform_id(WORKSPACE, "teams", USER_AAD_ID) is None
