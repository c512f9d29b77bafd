"""How the long-running processes log: one line per record, and never a client's words or a
secret. The coach's own code logs ids and error kinds only (tests/system/test_logs.py checks a whole
scripted session); the libraries below print request and response bodies at DEBUG, so they stay
at INFO whatever the root level; the access log names the path, never the query string (an OAuth
redirect carries its one-time code there), and one request is always one line: the path is logged
as the client sent it (still percent-encoded) and anything left that is not printable is escaped
(tests/system/test_logs.py sends forged paths to the real server).

``COACH_LOG_FORMAT=json`` writes each record as one JSON object per line (ASCII only: a line
separator inside a message cannot split it), with the id of the request it was logged for
(:data:`REQUEST_ID`, a context variable: the lines of a turn's worker thread and of a Slack
listener running after the acknowledgement carry it too); see docs/operations.md."""

from __future__ import annotations

import json
import logging
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# libraries whose DEBUG records hold message bodies, profiles or prompts
CHATTY = ("slack_sdk", "slack_bolt", "microsoft_agents", "openai", "httpx", "httpcore", "aiohttp.client")

# The request (or scheduled run) the current code works for: set when it arrives, copied into
# every task and thread it starts (asyncio tasks and ``asyncio.to_thread`` copy the context).
REQUEST_ID: ContextVar[str | None] = ContextVar("coach_request_id", default=None)
_ID_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:._-")
ID_LENGTH = 80


def configure(level: int = logging.INFO, log_format: str = "text") -> None:
    logging.basicConfig(level=level, format=FORMAT)
    if log_format == "json":
        for handler in logging.getLogger().handlers:
            if type(handler) is logging.StreamHandler:  # the one basicConfig made, not a test's capture
                handler.setFormatter(JsonFormatter())
        logging.captureWarnings(True)  # a library's warning is a record too, not a bare line on the stream
    for name in CHATTY:
        logging.getLogger(name).setLevel(max(level, logging.INFO))


def printable(text: str) -> str:
    """``text`` with every character that could end, hide or reorder a log line escaped as Python
    would (``\\n``, ``\\x1b``, ``\\u2028``, ``\\u202e``...): control characters, line and paragraph
    separators, bidi controls, anything else not printable, and the backslash itself."""
    return "".join(ch if ch.isprintable() and ch != "\\" else ascii(ch)[1:-1] for ch in text)


# ---- request ids -------------------------------------------------------------------------------

def new_request_id(kind: str) -> str:
    """A fresh id for what carries none of its own (a health check, a scheduled run)."""
    return f"{kind}-{uuid.uuid4().hex[:16]}"


def slack_request_id(inbox_key: str) -> str:
    """A Slack request's id: the start of its key in the request inbox (the SHA-256 of its
    signature), so its acknowledgement and a later replay of it carry the same id."""
    return f"slack-{inbox_key[:16]}"


def platform_request_id(kind: str, given: object) -> str | None:
    """``kind-given`` for an id a platform sent (a Teams activity's id), kept to the characters
    such ids use and cut to a bounded length; None when nothing usable is left."""
    if not isinstance(given, str):
        return None
    kept = "".join(ch for ch in given if ch in _ID_CHARACTERS)[:ID_LENGTH]
    return f"{kind}-{kept}" if kept else None


# ---- JSON lines --------------------------------------------------------------------------------

class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``process``,
    ``message``, ``request_id`` (when there is one), ``http`` (the access log's fields) and
    ``exception`` (a traceback, when there is one)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "process": record.process,
            "message": record.getMessage(),
        }
        if request_id := getattr(record, "request_id", None) or REQUEST_ID.get():
            entry["request_id"] = request_id
        if isinstance(http := getattr(record, "http", None), dict):
            entry["http"] = http
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=True, default=str)


class AccessLogger(AbstractAccessLogger):
    """aiohttp's access log without query strings, one line per request: ``request.path`` is
    percent-decoded (``%0A`` would become a line break), so the raw path is logged instead. In
    JSON the same fields come apart too (``http``)."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        path = printable(request.raw_path.split("?", 1)[0])
        remote, method = printable(str(request.remote)), printable(request.method)
        fields = {"remote": remote, "method": method, "path": path, "status": response.status,
                  "duration_s": round(time, 6)}
        self.logger.info("%s %s %s %s %.3fs", remote, method, path, response.status, time, extra={"http": fields})
