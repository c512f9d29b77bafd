"""A local, recording stand-in for an OpenAI-compatible chat completions server.

Point the real ``openai`` client at it (``base_url=fake.url``) and script its answers, which it
gives in order, one per request (a client's retry takes the next one)::

    with FakeOpenAI().started_in_thread() as fake:      # sync tests: own loop in a thread
        fake.script(Reply.structured({...}), Reply.error(429, retry_after=1))
        client = openai.OpenAI(api_key="sk-test", base_url=fake.url, max_retries=1)
        ...
        [request] = fake.requests
        request.body["messages"], request.body["response_format"], request.headers["authorization"]

    async with FakeOpenAI() as fake:                     # async tests: runs in the current loop

Only ``POST /v1/chat/completions`` is served. Every request is recorded (``fake.requests``) as it
arrives, before its answer. A request that finds the script empty gets a 500 with
``x-should-retry: false`` and is counted in ``fake.unscripted``: assert it stays 0.
``Reply.slow(seconds, then)`` waits before answering; stopping the fake cuts the wait short.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterator

from aiohttp import web

from tests.threads import serving_in_thread


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status, a JSON body (``None``: a chat completion built from
    ``message``), headers, and a delay before answering."""

    status: int = 200
    message: dict[str, Any] | None = None
    finish_reason: str = "stop"
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def content(cls, text: str, finish_reason: str = "stop") -> "Reply":
        return cls(message={"role": "assistant", "content": text, "refusal": None},
                   finish_reason=finish_reason)

    @classmethod
    def structured(cls, answer: Any) -> "Reply":
        """A structured answer: ``answer`` as the message's JSON content."""
        return cls.content(json.dumps(answer, ensure_ascii=False))

    @classmethod
    def refusal(cls, text: str = "I'm sorry, I can't help with that.") -> "Reply":
        return cls(message={"role": "assistant", "content": None, "refusal": text})

    @classmethod
    def error(cls, status: int, retry_after: int | None = None, message: str = "scripted error") -> "Reply":
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        kind = "rate_limit_exceeded" if status == 429 else "server_error"
        return cls(status=status, headers=headers,
                   body={"error": {"message": message, "type": kind, "param": None, "code": kind}})

    @classmethod
    def slow(cls, seconds: float, then: "Reply | None" = None) -> "Reply":
        then = then or cls.content("{}")
        return cls(then.status, then.message, then.finish_reason, then.body, dict(then.headers), seconds)


@dataclass
class Request:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # the decoded JSON body (None if it was not JSON)
    raw: str
    at: float  # time.monotonic() on arrival


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.unscripted = 0
        self.url = ""  # http://127.0.0.1:<port>/v1 once started
        self._script: deque[Reply] = deque()
        self._changed = threading.Condition()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None

    # ---- configuration and inspection ---------------------------------------------------
    def script(self, *replies: Reply) -> "FakeOpenAI":
        with self._changed:
            self._script.extend(replies)
        return self

    @property
    def pending(self) -> int:
        """Scripted replies not yet given."""
        with self._changed:
            return len(self._script)

    def wait_for_sync(self, count: int, timeout: float = 5.0) -> list[Request]:
        """Block until ``count`` requests have arrived (only when the fake runs in another thread)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"expected {count} request(s), got {len(self.requests)}")
            return list(self.requests)

    # ---- lifecycle -----------------------------------------------------------------------
    async def start(self) -> "FakeOpenAI":
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        self._stopping = asyncio.Event()
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/v1"
        return self

    async def stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()  # cut slow replies short
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeOpenAI":
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @contextlib.contextmanager
    def started_in_thread(self) -> Iterator["FakeOpenAI"]:
        with serving_in_thread(self.start, self.stop, "FakeOpenAI"):
            yield self

    # ---- HTTP ----------------------------------------------------------------------------
    async def _chat_completions(self, request: web.Request) -> web.Response:
        raw = await request.text()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with self._changed:
            self.requests.append(Request(request.path, {k.lower(): v for k, v in request.headers.items()},
                                         body, raw, time.monotonic()))
            self._changed.notify_all()
            reply = self._script.popleft() if self._script else None
            if reply is None:
                self.unscripted += 1
        if reply is None:
            return web.json_response({"error": {"message": "no scripted response", "type": "server_error",
                                                "param": None, "code": None}},
                                     status=500, headers={"x-should-retry": "false"})
        if reply.delay and self._stopping is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), reply.delay)
        if reply.body is not None or reply.message is None:
            return web.json_response(reply.body or {}, status=reply.status, headers=reply.headers)
        model = body.get("model", "") if isinstance(body, dict) else ""
        completion = {
            "id": f"chatcmpl-fake-{next(self._ids)}", "object": "chat.completion",
            "created": int(time.time()), "model": model, "system_fingerprint": None,
            "choices": [{"index": 0, "message": reply.message, "finish_reason": reply.finish_reason,
                         "logprobs": None}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        return web.json_response(completion, status=reply.status, headers=reply.headers)
