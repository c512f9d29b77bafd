"""``coach serve --workers N``: N server processes on one port, kept by gunicorn's master.

* **The master** (the ``coach serve`` process) has already checked the settings the way
  ``coach serve`` always does, and closed its database connections. It binds the port and forks
  the workers; it replaces a worker that dies, and on SIGTERM (or SIGINT, Ctrl+C) stops them all
  gracefully: each finishes the requests it is answering (up to :data:`GRACEFUL_S`), then exits.
  It opens no database connection and starts no thread, so a fork shares neither (gunicorn's
  control socket, a thread of the master, is off).
* **Each worker** builds its own coach, database pool and application after the fork
  (:func:`worker_app`) and serves them with ``aiohttp.GunicornWebWorker``, with the same access
  log and keep-alive as one process. Its inbox replays what a dead process left pending: each
  row is taken under a guarded update, so one worker replays it (``storage/requests.py``).
* **The scheduler** runs in one worker of the deployment, the one holding the scheduler lease
  (:class:`bot.scheduler.SchedulerLease`, a PostgreSQL advisory lock); if that worker dies,
  another takes the lease within :data:`bot.scheduler.LEASE_EVERY_S` seconds.
* **/metrics** (with ``COACH_METRICS_ALLOW``): the workers keep their figures in files of a
  directory they share (``PROMETHEUS_MULTIPROC_DIR``, emptied at start, or a temporary one the
  master removes when it stops), so whichever worker answers a scrape adds up all of them; the
  master forgets a dead worker's gauges (:func:`metrics_directory`, ``child_exit``).

Several workers need PostgreSQL: ``coach serve`` refuses them on SQLite before this module runs.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger as GunicornLogger

from bot import event_loop
from bot.logs import JsonFormatter

GRACEFUL_S = 30  # how long a stopping worker may finish what it is answering
KEEPALIVE_S = 75  # aiohttp's default under web.run_app: one process and several behave alike
HEARTBEAT_S = 30  # a worker whose event loop stalls this long is replaced by the master
# every process writes to the same stream: each line names its process
LOG_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"
# prometheus-client's multiprocess mode (bot/metrics.py reads it too); not imported from there:
# prometheus-client must not be imported before it is set
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

log = logging.getLogger(__name__)


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def options(host: str, port: int, workers: int) -> dict[str, Any]:
    """gunicorn's settings for the coach (no configuration file or command line of its own)."""
    return {
        "bind": [bind_address(host, port)],
        "workers": workers,
        "worker_class": event_loop.WORKER_CLASS,  # uvloop's, where it is installed
        "graceful_timeout": GRACEFUL_S,
        "timeout": HEARTBEAT_S,
        "keepalive": KEEPALIVE_S,
        "preload_app": False,  # the coach is built in each worker, after the fork
        "proc_name": "coach",
        "errorlog": "-",
        "loglevel": "info",
        "control_socket_disable": True,  # a thread in the master, and one socket path per user
        "child_exit": _forget_worker,
    }


class CoachWorkers(BaseApplication):
    """gunicorn configured in code: ``CoachWorkers(options(...)).run()`` runs the master until it
    is stopped."""

    def __init__(self, chosen: dict[str, Any]) -> None:
        self.chosen = chosen
        super().__init__(prog="coach serve")

    def load_config(self) -> None:
        for name, value in self.chosen.items():
            if name in self.cfg.settings:  # a setting an older gunicorn lacks is left out
                self.cfg.set(name, value)

    def load(self):
        return worker_app  # called in each worker, after the fork


def use_process_ids_in_logs() -> None:
    """The root logger's lines carry the process id (``coach serve`` has configured it; a JSON
    line names its process already)."""
    for handler in logging.getLogger().handlers:
        if not isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(logging.Formatter(LOG_FORMAT))


class JsonGunicornLogger(GunicornLogger):
    """gunicorn's own lines (``Booting worker with pid …``) as JSON too, with ``COACH_LOG_FORMAT=json``."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())


def metrics_directory() -> tuple[Path, bool]:
    """Where the workers keep their figures for /metrics: ``PROMETHEUS_MULTIPROC_DIR`` when set
    (last run's files removed: a count starts again with the server), else a fresh temporary
    directory (``True``: the caller removes it). Set before prometheus-client is first imported."""
    chosen = os.environ.get(MULTIPROC_ENV)
    if chosen:
        path = Path(chosen)
        path.mkdir(parents=True, exist_ok=True)
        for old in path.glob("*.db"):
            old.unlink()
        return path, False
    path = Path(tempfile.mkdtemp(prefix="coach-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)
    return path, True


def _forget_worker(_arbiter: Any, worker: Any) -> None:
    """In the master, when a worker has exited: its live gauges (the pool) no longer count."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


async def worker_app() -> web.AppRunner:
    """One worker's coach, application and runner, built in the worker itself."""
    from bot import logs
    from bot.bootstrap import bootstrap
    from bot.notifiers import build_notifier
    from bot.scheduler import CoachScheduler, SchedulerLease
    from bot.server import create_web_app
    from bot.settings import Settings

    coach = bootstrap(Settings())
    app = create_web_app(coach, coach.settings)
    app.on_startup.append(_ready)
    if coach.settings.scheduler_enabled:
        runner = CoachScheduler(coach, build_notifier(coach))
        app.cleanup_ctx.append(SchedulerLease(runner, coach.requests.engine, coach.workspace).context)
    return web.AppRunner(app, access_log_class=logs.AccessLogger, keepalive_timeout=KEEPALIVE_S,
                         shutdown_timeout=GRACEFUL_S * 0.9)


async def _ready(_app: web.Application) -> None:
    log.info("worker ready")  # the line names the process; it listens right after


def serve(host: str, port: int, workers: int, log_format: str = "text", remove: Path | None = None) -> None:
    """Run the master until SIGTERM or SIGINT (exits the process, 0 when stopped cleanly);
    ``remove``: a directory to delete then (the workers' temporary metrics)."""
    use_process_ids_in_logs()
    chosen = options(host, port, workers)
    if log_format == "json":
        chosen["logger_class"] = JsonGunicornLogger
    try:
        CoachWorkers(chosen).run()
    finally:
        if remove is not None:
            shutil.rmtree(remove, ignore_errors=True)
