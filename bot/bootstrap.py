"""One place that builds the coach from settings: database, rules, engine, words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable

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
