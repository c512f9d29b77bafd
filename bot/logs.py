"""How the long-running processes log: one line per record, and never a client's words or a
secret. The coach's own code logs ids and error kinds only (tests/test_logs.py checks a whole
scripted session); the libraries below print request and response bodies at DEBUG, so they stay
at INFO whatever the root level; the access log names the path, never the query string (an OAuth
redirect carries its one-time code there)."""

from __future__ import annotations

import logging

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# libraries whose DEBUG records hold message bodies, profiles or prompts
CHATTY = ("slack_sdk", "slack_bolt", "microsoft_agents", "openai", "httpx", "httpcore", "aiohttp.client")


def configure(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format=FORMAT)
    for name in CHATTY:
        logging.getLogger(name).setLevel(max(level, logging.INFO))


class AccessLogger(AbstractAccessLogger):
    """aiohttp's access log without query strings."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %s %.3fs", request.remote, request.method, request.path, response.status, time)
