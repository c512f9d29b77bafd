"""SQLAlchemy's failures, told in the domain's terms (:mod:`coaching.errors`), so nothing outside
``storage/`` catches a SQLAlchemy exception.

:func:`translate_errors` hooks an engine's ``handle_error`` event: every statement, connect,
commit and rollback through it (sessions of the unit of work, the request inbox's connections)
raises :class:`~coaching.errors.StorageUnavailable` instead of a connection-level error
(``OperationalError``, ``InterfaceError``, or any DBAPI error that invalidated its connection),
chained to the driver's own error. Every other error stays SQLAlchemy's.
"""

from __future__ import annotations

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from coaching.errors import StorageUnavailable


def translate_errors(engine: Engine) -> Engine:
    """Make ``engine`` raise ``StorageUnavailable`` for connection-level failures. Idempotent:
    an engine already hooked is left as it is."""
    if not event.contains(engine, "handle_error", _translate):
        event.listen(engine, "handle_error", _translate)
    return engine


def is_unavailable(error: BaseException, disconnected: bool = False) -> bool:
    """A failure of the connection rather than of the statement: the database is down, cut off,
    refusing connections, or dropped the connection mid-transaction."""
    if not isinstance(error, DBAPIError):
        return False
    return isinstance(error, (OperationalError, InterfaceError)) or disconnected or error.connection_invalidated


def detail_of(error: SQLAlchemyError) -> str:
    """The driver's one-line reason, for the operator (a connection error names the server,
    never a statement's values: engines hide parameters)."""
    orig = getattr(error, "orig", None)
    lines = str(orig if orig is not None else error).strip().splitlines()
    return lines[0].strip() if lines and lines[0].strip() else "?"


def _translate(context: ExceptionContext) -> None:
    if context.is_pre_ping:
        return  # the pool's own check: it replaces a dropped connection only on SQLAlchemy's own error
    error = context.sqlalchemy_exception  # None for what is not a driver's error (an interrupt, a bug)
    if error is not None and is_unavailable(error, context.is_disconnect):
        # SQLAlchemy raises this in its place, chained to the driver's error, once the connection
        # is invalidated (a dropped one is never lent again)
        raise StorageUnavailable(detail_of(error))
