"""The HTTP server's side of the coach's own figures: a middleware that gives every request its
id (for the logs) and counts it, the time Slack waited for each acknowledgement, and
``/metrics`` with who may read it.

``/metrics`` is served only with ``COACH_METRICS_ALLOW`` (IP networks): without it the path is
not there (404). The caller is the connection's own peer address; a request carrying any
header a proxy adds (``X-Forwarded-For``, ``Forwarded``, ``Via``...) is refused (403) whatever
that address, because behind a reverse proxy on the same machine every caller's address is the
proxy's own (127.0.0.1), and the header naming the real one is the sender's to write.
Prometheus scrapes the coach's port directly, never through the public proxy.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
from concurrent.futures import ThreadPoolExecutor
from time import perf_counter
from typing import Any, Awaitable, Callable, Sequence

from aiohttp import web

from bot import logs
from bot.metrics import Metrics
from bot.teams.auth import relayed

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
METRICS_KEY = web.AppKey("metrics", Metrics)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# what a signed Slack request is, for the acknowledgements' label (anything else: "other")
SLACK_KINDS = frozenset({"event_callback", "url_verification", "app_rate_limited", "block_actions",
                         "block_suggestion", "view_submission", "view_closed", "shortcut", "message_action"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def endpoint_of(request: web.Request) -> str:
    """The route that answered (``/slack/events``, ``/api/messages``...), never the path as
    sent: a label per path a client makes up would grow without end."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def request_id_of(request: web.BaseRequest) -> str:
    """A signed Slack request: from its signature (the request inbox's key); any other: fresh.
    A Teams activity's own id replaces it once the activity is read (``bot.teams.app``)."""
    signature = request.headers.get("X-Slack-Signature")
    if signature:
        return logs.slack_request_id(hashlib.sha256(signature.encode(errors="replace")).hexdigest())
    return logs.new_request_id("http")


def observing(metrics: Metrics):
    """The middleware: the request's id for every log line of its work, then its count and time."""
    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        logs.REQUEST_ID.set(request_id_of(request))  # this request's task only; it ends with it
        began = perf_counter()
        method = request.method if request.method in METHODS else "other"
        try:
            response = await handler(request)
        except web.HTTPException as error:
            metrics.http(endpoint_of(request), method, error.status, perf_counter() - began)
            raise
        except Exception:
            metrics.http(endpoint_of(request), method, 500, perf_counter() - began)
            raise
        metrics.http(endpoint_of(request), method, response.status, perf_counter() - began)
        return response

    return observe


def slack_kind(body: Any) -> str:
    """A slash command, or the type of the Slack payload; "other" for anything else."""
    if not isinstance(body, dict):
        return "other"
    if body.get("command"):
        return "command"
    kind = body.get("type")
    return kind if isinstance(kind, str) and kind in SLACK_KINDS else "other"


# --- /metrics -------------------------------------------------------------------------------------

def refusal(request: web.BaseRequest, networks: Sequence[Network]) -> str | None:
    """Why this caller may not read /metrics; None when it may."""
    if relayed(request.headers):
        return "it came through a proxy"
    peer = request.transport.get_extra_info("peername") if request.transport is not None else None
    try:
        address = ipaddress.ip_address(peer[0]) if peer else None
    except ValueError:  # a Unix socket's peer has no address
        address = None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # a dual-stack socket's IPv4 caller
    if address is None or not any(address in network for network in networks):
        return "its address is not in COACH_METRICS_ALLOW"
    return None


def serve_metrics(app: web.Application, metrics: Metrics, inbox: Any, networks: Sequence[Network]) -> None:
    """``GET /metrics`` for the callers in ``networks``; answered in a thread of its own, so a
    scrape never waits behind the turns (the inbox's backlog is a database read)."""
    executor: list[ThreadPoolExecutor] = []

    async def page(request: web.Request) -> web.Response:
        if (why := refusal(request, networks)) is not None:
            log.info("refused /metrics: %s", why)
            return web.Response(status=403, text="forbidden\n")
        loop = asyncio.get_running_loop()
        body, content_type = await loop.run_in_executor(executor[0], metrics.exposition, inbox,
                                                         request.headers.get("Accept"))
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def thread(_: web.Application):
        executor.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="coach-metrics"))
        yield
        executor.pop().shutdown(wait=False)

    app.cleanup_ctx.append(thread)
    app.router.add_get(METRICS_PATH, page)
