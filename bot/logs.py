"""How the long-running processes log: one line per record, and never a client's words or a
secret. The coach's own code logs ids and error kinds only (tests/system/test_logs.py checks a whole
scripted session); the libraries below print request and response bodies at DEBUG, so they stay
at INFO whatever the root level; the access log names the path, never the query string (an OAuth
redirect carries its one-time code there), and one request is always one line: the path is logged
as the client sent it (still percent-encoded) and anything left that is not printable is escaped
(tests/system/test_logs.py sends forged paths to the real server)."""

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


def printable(text: str) -> str:
    """``text`` with every character that could end, hide or reorder a log line escaped as Python
    would (``\\n``, ``\\x1b``, ``\\u2028``, ``\\u202e``...): control characters, line and paragraph
    separators, bidi controls, anything else not printable, and the backslash itself."""
    return "".join(ch if ch.isprintable() and ch != "\\" else ascii(ch)[1:-1] for ch in text)


class AccessLogger(AbstractAccessLogger):
    """aiohttp's access log without query strings, one line per request: ``request.path`` is
    percent-decoded (``%0A`` would become a line break), so the raw path is logged instead."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        path = request.raw_path.split("?", 1)[0]
        self.logger.info("%s %s %s %s %.3fs", printable(str(request.remote)), printable(request.method),
                         printable(path), response.status, time)
