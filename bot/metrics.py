"""What ``/metrics`` shows (Prometheus' text format, with ``prometheus-client``): the figures
the coach keeps of itself, and where they are counted. Every name and label is in
docs/operations.md.

One :class:`Metrics` per process, made by ``bootstrap`` (``coach.metrics``): the HTTP server
counts requests and Slack's acknowledgements (:mod:`bot.http_metrics`), the scheduler counts
what its runs sent and how late they started (:mod:`bot.scheduler`, through
:func:`metered`: the notifier's answers, never anything inside ``coaching/``), the database pool
counts the connections lent out, and the request inbox's backlog is read from the database
when ``/metrics`` is asked.

Under ``coach serve --workers N`` every worker is a process of its own: with
``PROMETHEUS_MULTIPROC_DIR`` set (``coach serve`` sets it for its workers) each keeps its
figures in files there, and a scrape answered by any worker adds up all of them
(prometheus-client's multiprocess mode); a gauge of the pool is the sum over live workers.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from time import perf_counter
from typing import Any, Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from bot import logs
from coaching.errors import MaybeDelivered
from coaching.ports import Traceable

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Slack wants its answer within 3 s: the buckets resolve around that mark
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)
LAG_BUCKETS = (0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)
INBOX_PLATFORMS = ("slack",)  # always shown, at 0 when nothing waits (an absent series alerts nobody)
JOB_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def _multiprocess_values() -> None:
    """prometheus-client chooses how values are kept when it is first imported; a process that
    imported it before ``PROMETHEUS_MULTIPROC_DIR`` was set would keep them in memory, where no
    other worker sees them."""
    if values.ValueClass.__name__ != "MmapedValue":
        values.ValueClass = values.get_value_class()


class Metrics:
    def __init__(self) -> None:
        self.multiprocess = multiprocess_dir() is not None
        if self.multiprocess:
            _multiprocess_values()
        disable_created_metrics()  # no ``*_created`` series: one process and several show the same
        # in multiprocess mode nothing is registered here: a scrape reads every process's files
        self.registry = None if self.multiprocess else CollectorRegistry()
        at = {"registry": self.registry}
        self.http_requests = Counter("coach_http_requests", "HTTP requests answered, by endpoint (the route; "
                                     "'unmatched' for any other path), method and status",
                                     ["endpoint", "method", "status"], **at)
        self.http_seconds = Histogram("coach_http_request_duration_seconds", "Time to answer an HTTP request",
                                      ["endpoint", "method", "status"], buckets=HTTP_BUCKETS, **at)
        self.slack_acks = Counter("coach_slack_acks", "Signed Slack requests answered (acknowledged), by kind "
                                  "and status", ["kind", "status"], **at)
        self.slack_ack_seconds = Histogram("coach_slack_ack_duration_seconds", "Time from a signed Slack "
                                           "request's arrival to its acknowledgement", ["kind"],
                                           buckets=HTTP_BUCKETS, **at)
        self.deliveries = Counter("coach_deliveries", "Scheduled messages (digests, reminders, check-ins, "
                                  "team digests) handed to a platform, by platform and outcome",
                                  ["platform", "outcome"], **at)
        self.scheduled = Counter("coach_scheduler_messages", "What scheduler runs reported, by job and "
                                 "outcome (the figures of `coach scheduler --once`)", ["job", "outcome"], **at)
        self.lag = Histogram("coach_scheduler_lag_seconds", "How late a scheduled job started, after the "
                             "time it was due", ["job"], buckets=LAG_BUCKETS, **at)
        self.job_seconds = Histogram("coach_scheduler_job_duration_seconds", "How long a scheduled job ran",
                                     ["job"], buckets=JOB_BUCKETS, **at)
        self.pool_checked_out = Gauge("coach_db_pool_checked_out", "Database connections lent out by the "
                                      "pool (summed over live workers)", multiprocess_mode="livesum", **at)
        self._started: dict[str, datetime] = {}

    # --- the HTTP server ----------------------------------------------------------------------

    def http(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        labels = (endpoint, method, str(status))
        self.http_requests.labels(*labels).inc()
        self.http_seconds.labels(*labels).observe(seconds)

    def slack_ack(self, kind: str, status: int, seconds: float) -> None:
        self.slack_acks.labels(kind, str(status)).inc()
        self.slack_ack_seconds.labels(kind).observe(seconds)

    # --- the database pool --------------------------------------------------------------------

    def watch_pool(self, engine: Any) -> None:
        """Count the connections ``engine``'s pool lends out (and gets back)."""
        from sqlalchemy import event

        event.listen(engine, "checkout", lambda *_: self.pool_checked_out.inc())
        event.listen(engine, "checkin", lambda *_: self.pool_checked_out.dec())

    # --- the scheduler ------------------------------------------------------------------------

    def delivered(self, platform: str, outcome: str) -> None:
        self.deliveries.labels(platform, outcome).inc()

    def reported(self, report: Any) -> None:
        """A run's :class:`coaching.jobs.RunReport`, job by job."""
        for job, figures in report.jobs.items():
            for field in fields(figures):
                if count := getattr(figures, field.name):
                    self.scheduled.labels(job, field.name).inc(count)

    @contextmanager
    def scheduled_job(self, name: str) -> Iterator[None]:
        """Around one run of the job ``name``: its own request id in the logs, its start (for the
        lag, which :meth:`job_event` works out from the time APScheduler had it due) and its
        duration."""
        token = logs.REQUEST_ID.set(logs.new_request_id(f"job-{name}"))
        self._started[name] = datetime.now(UTC)
        began = perf_counter()
        try:
            yield
        finally:
            self.job_seconds.labels(name).observe(perf_counter() - began)
            logs.REQUEST_ID.reset(token)

    def job_event(self, event: Any) -> None:
        """APScheduler's word that a job ran: how late it started."""
        started = self._started.pop(event.job_id, None)
        if started is not None and event.scheduled_run_time is not None:
            self.lag.labels(event.job_id).observe(max(0.0, (started - event.scheduled_run_time).total_seconds()))

    # --- a scrape -----------------------------------------------------------------------------

    def exposition(self, inbox: Any, accept: str | None = None) -> tuple[bytes, str]:
        """Everything, in the format the scraper asked for (``Accept``: Prometheus' text format,
        or OpenMetrics); the inbox's backlog read from the database now."""
        registry = CollectorRegistry()
        if self.multiprocess:
            MultiProcessCollector(registry)
        else:
            registry.register(_Everything(self.registry))
        registry.register(InboxBacklog(inbox))
        encoder, content_type = choose_encoder(accept or "")
        return encoder(registry), content_type


class _Everything:
    """This process's own registry, inside the registry of one scrape."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self):
        return self.registry.collect()


class InboxBacklog:
    """The request inbox's rows still waiting, read when ``/metrics`` is asked (every worker
    sees the same table, so any one answers for all). A database that cannot be read leaves
    these out of that scrape."""

    def __init__(self, inbox: Any) -> None:
        self.inbox = inbox

    def collect(self):
        try:
            backlog = self.inbox.backlog()
        except Exception as error:
            log.warning("the request inbox's backlog cannot be read now (%s)", type(error).__name__)
            return []
        waiting = GaugeMetricFamily("coach_request_inbox_requests", "Requests in the request inbox not "
                                    "done yet: pending (acknowledged, work under way or lost with its "
                                    "process) or replaying", labels=["platform", "status"])
        oldest = GaugeMetricFamily("coach_request_inbox_oldest_seconds", "Age of the oldest request in the "
                                   "inbox not done yet", labels=["platform"])
        now, ages = datetime.now(UTC), {platform: 0.0 for platform in INBOX_PLATFORMS}
        counts = {(platform, status): 0 for platform in INBOX_PLATFORMS for status in ("pending", "replaying")}
        for platform, status, count, received in backlog:
            counts[(platform, status)] = count
            received = received if received.tzinfo else received.replace(tzinfo=UTC)
            ages[platform] = max(ages.get(platform, 0.0), (now - received).total_seconds())
        for (platform, status), count in sorted(counts.items()):
            waiting.add_metric([platform, status], count)
        for platform, age in sorted(ages.items()):
            oldest.add_metric([platform], max(0.0, age))
        return [waiting, oldest]


# --- the scheduler's notifier, metered ---------------------------------------------------------

class MeteredNotifier:
    """A notifier (``coaching.ports.Notifier``) whose every answer is counted: the platform that
    took a message (``sent``), none (``failed``, platform ``none``), or a platform that may have
    taken it (``interrupted``: ``MaybeDelivered``)."""

    def __init__(self, inner: Any, count: Callable[[str, str], None]) -> None:
        self.inner, self.count = inner, count

    def send(self, person: Any, reply: Any, key: str | None = None) -> str | None:
        keyed = {} if key is None else {"key": key}
        return self._counted(lambda: self.inner.send(person, reply, **keyed))

    def send_channel(self, channel: str, reply: Any, locale: str | None, key: str | None = None) -> str | None:
        keyed = {} if key is None else {"key": key}
        return self._counted(lambda: self.inner.send_channel(channel, reply, locale, **keyed))

    def _counted(self, send: Callable[[], str | None]) -> str | None:
        try:
            channel = send()
        except MaybeDelivered as error:
            self.count(getattr(error, "platform", None) or "unknown", "interrupted")
            raise
        except Exception:
            self.count("none", "failed")
            raise
        self.count(channel or "none", "sent" if channel else "failed")
        return channel


class TraceableMeteredNotifier(MeteredNotifier):
    """The same, for a notifier that can look a message up afterwards (``Traceable``)."""

    def find(self, person: Any, key: str, since: datetime, platform: str | None = None) -> str | None:
        return self.inner.find(person, key, since, platform)

    def find_channel(self, channel: str, key: str, since: datetime, platform: str | None = None) -> str | None:
        return self.inner.find_channel(channel, key, since, platform)


def metered(notifier: Any, metrics: Metrics) -> MeteredNotifier:
    """``notifier``, its answers counted in ``metrics``; traceable exactly when it is."""
    kind = TraceableMeteredNotifier if isinstance(notifier, Traceable) else MeteredNotifier
    return kind(notifier, metrics.delivered)
