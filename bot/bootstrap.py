"""One place that builds the coach from settings: database, rules, engine, words."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, Iterator

from coaching.engine import Engine
from bot import chartcache
from bot.catalog import Catalog
from coaching.reading import RuleReader
from coaching.ports import UnitOfWorkFactory
from coaching.rules import Rules
from bot.settings import Settings
from storage import db
from storage.requests import RequestInbox
from storage.uow import make_uow_factory

if TYPE_CHECKING:
    from bot.metrics import Metrics


class SchemaOutOfDate(Exception):
    """The database is not at the schema this code ships; run ``coach db upgrade``."""


def require_current(sql_engine) -> None:
    if db.current_revision(sql_engine) != db.head_revision():
        raise SchemaOutOfDate()


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Coach:
    settings: Settings
    rules: Rules
    uow_factory: UnitOfWorkFactory
    engine: Engine
    catalog: Catalog
    clock: Callable[[], datetime]
    requests: RequestInbox  # platform requests kept until their work is done (bot/slack)
    metrics: Metrics  # what /metrics shows (bot/metrics.py)

    @property
    def workspace(self) -> str:
        return self.settings.workspace


def bootstrap(settings: Settings, clock: Callable[[], datetime] = utc_now, check_schema: bool = True) -> Coach:
    rules = settings.rules()
    chartcache.configure(settings.data_dir / "charts" / "cache")
    # imported here, not above: `coach serve --workers N` names the directory the workers share
    # their figures in before prometheus-client is first imported (bot/workers.py)
    from bot.metrics import Metrics

    metrics = Metrics()
    sql_engine = db.make_engine(settings.url)
    metrics.watch_pool(sql_engine)
    if check_schema:
        require_current(sql_engine)
    uow_factory = make_uow_factory(sql_engine)
    reader = RuleReader()
    llm_reader, tips = None, None
    if settings.llm_enabled:  # only when the operator configured one; the rules read notes anyway
        from bot.llm import build_reader, build_tips

        llm_reader, tips = build_reader(settings, fallback=reader), build_tips(settings)
    engine = Engine(uow_factory, rules, clock, reader=reader, tips=tips, llm_reader=llm_reader,
                    working_days=settings.schedule().working_days)
    return Coach(settings, rules, uow_factory, engine, Catalog(settings.language, today=lambda: clock().date()), clock,
                 RequestInbox(sql_engine), metrics)


FULL_PASS_EVERY = 100  # middle-generation collections between two full ones, at least (Python's: 10)
_full_pass_every: list[int] = []  # the value before freeze_startup_objects, to put back


def freeze_startup_objects() -> None:
    """For a long-lived process once it has started (``coach serve``, ``coach scheduler``):
    one full collection, then every object left (the modules, the catalogue, SQLAlchemy's
    tables, Bolt's apps) is moved out of the cyclic garbage collector's sight (``gc.freeze``).
    Python's full collections otherwise walk all of it again whenever enough new objects have
    lived a while: every few hundred requests, and in every nudge run (at M on PostgreSQL,
    93-95 ms of collection within a 470 ms run without the freeze, 29-30 ms with it).

    Frozen, those objects no longer count in Python's guard against walking the old generation
    too often (a full collection waits until it has grown by a quarter since the last), so full
    collections came every tenth middle one: six in a nudge run at L, 0.56-0.75 s of its 4 s.
    They now wait for ``FULL_PASS_EVERY`` middle ones (none in that run: 0.11-0.12 s of
    collection in all). :func:`thaw_startup_objects` undoes both."""
    gc.collect()
    gc.freeze()
    young, middle, full = gc.get_threshold()
    _full_pass_every.append(full)
    gc.set_threshold(young, middle, max(full, FULL_PASS_EVERY))


def thaw_startup_objects() -> None:
    """What :func:`freeze_startup_objects` did, undone."""
    gc.unfreeze()
    if _full_pass_every:
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, _full_pass_every.pop())


@contextmanager
def startup_frozen() -> Iterator[None]:
    """:func:`freeze_startup_objects` for the time of the block."""
    freeze_startup_objects()
    try:
        yield
    finally:
        thaw_startup_objects()
