"""The days a client raises no nudge: worked out by the daily upkeep, read by the nudge run.

On most mornings most clients raise nothing: a client seen last week, with nothing open, no
setback and no recent win, will not be quiet for long enough to matter for a while yet. The
nudge run still read and decoded each of them and ran every detector. Instead, the daily upkeep
(:func:`keep`) works out, for each client with nothing open, the days from today on which it
raises nothing if nothing new is recorded, and stores them in its summary (``quiet_from``,
``quiet_until``); the nudge run leaves those summaries unread on those days (:func:`unread`).

No rule is written twice: the upkeep decodes the client's stored summary as the run would for
each coming day (:class:`storage.summary_decoder.Decoder`) and runs the run's own detectors
(:func:`coaching.nudges.detect`), day by day, stopping at the first day something is raised.

Why the days stay true:

- everything the detectors read of such a client is in its summary and its creation date; what
  else they read (open promises, problems waiting or lately answered) the client has none of,
  or it gets no quiet days;
- every write to a client rewrites its summary (:mod:`storage.summary_upkeep`), and a written
  summary has no quiet days (:func:`storage.summaries.encode`): a touch, an entry, a promise, a
  problem, a deal, a correction, a backdated record alike;
- the upkeep stores the days only if what the detectors read of the summary is still what it
  read (a write meanwhile has cleared them, or clears them when it commits); a promise or a
  problem written meanwhile leaves that unchanged, and is caught as below;
- the days are stored with a key of the rules and of the code that decides (:func:`key`): a run
  with other rules, or after an upgrade, reads every client until the next upkeep;
- should a client with quiet days have a promise or a problem (written while the upkeep
  worked, or by a path that forgot the summary), the run reads that client in full anyway: the
  promise and problem streams name it (:meth:`storage.history.SqlHistoryRepository._summarised`).
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, bindparam, or_, select, update
from sqlalchemy.orm import Session

from coaching import nudges
from coaching.model import PromiseStatus
from coaching.rules import Nudging
from storage import summaries, summary_decoder
from storage.models import ClientRow, ClientSummaryRow, ProblemRow, PromiseRow

DAYS = 14  # how far ahead the upkeep looks: the days from today it may store as quiet, at most
CHUNK = 2_000  # clients a transaction of the upkeep works out


@lru_cache(maxsize=1)
def _code() -> bytes:
    return b"".join(Path(module.__file__ or "").read_bytes() for module in (nudges, summary_decoder, summaries)) + \
        Path(__file__).read_bytes()


@lru_cache(maxsize=16)
def key(rules: Nudging, limit: int = summaries.KEPT_TOUCHES, window_days: int = summaries.WINDOW_DAYS) -> str:
    """What the quiet days were worked out with: the nudging rules, the touches a history keeps,
    and the source of the detectors, the decoder and this module."""
    return hashlib.sha256(_code() + repr((rules, limit, window_days)).encode()).hexdigest()[:32]


def unread(as_of: date, quiet_key: str) -> ColumnElement[bool]:
    """Whether a summary (or its absence, outer-joined) must be read on ``as_of``: no quiet days
    kept under ``quiet_key``, or they do not hold ``as_of``."""
    s = ClientSummaryRow.__table__.c
    return or_(s.quiet_key.is_(None), s.quiet_key != quiet_key, s.quiet_from > as_of, s.quiet_until < as_of)


def _candidates(workspace_id: str, day: date, quiet_key: str, after: int, chunk: int) -> Any:
    """Clients with nothing open from ``day`` on, a summary holding no later day, and no quiet
    days kept that hold both ``day`` and the next."""
    c, s, p, pr = (row.__table__.c for row in (ClientRow, ClientSummaryRow, PromiseRow, ProblemRow))
    # NOT IN a list made once (a hashed subplan, SQLite's ephemeral index), not a probe per client
    open_promises = select(p.client_id).where(
        p.workspace_id == workspace_id, or_(p.status == PromiseStatus.OPEN.value, p.closed_on > day))
    open_problems = select(pr.client_id).where(
        pr.workspace_id == workspace_id, or_(pr.resolved_on.is_(None), pr.resolved_on > day))
    due = or_(s.quiet_key.is_(None), s.quiet_key != quiet_key, s.quiet_from > day, s.quiet_until <= day)
    return select(*summary_decoder.columns()).join(ClientSummaryRow.__table__, s.client_id == c.id).where(
        c.workspace_id == workspace_id, c.id > after, or_(s.through_on.is_(None), s.through_on <= day), due,
        c.id.not_in(open_promises), c.id.not_in(open_problems),
    ).order_by(c.id).limit(chunk)


# Stored only if what the detectors read of the summary is unchanged since it was read.
_s = ClientSummaryRow.__table__.c
_STORE = update(ClientSummaryRow.__table__).where(
    _s.client_id == bindparam("b_client"), _s.touches == bindparam("b_touches"),
    _s.through_on.is_not_distinct_from(bindparam("b_through")),
    _s.last_setback_on.is_not_distinct_from(bindparam("b_setback")),
    _s.last_put_right_on.is_not_distinct_from(bindparam("b_put_right")),
    _s.last_won_on.is_not_distinct_from(bindparam("b_won")),
).values(quiet_from=bindparam("b_from"), quiet_until=bindparam("b_until"), quiet_key=bindparam("b_key"))


def quiet_until(row: Any, decoders: list[summary_decoder.Decoder], rules: Nudging) -> date | None:
    """The last of the decoders' days, taken in order, before the first on which the client
    (a row of :func:`summary_decoder.columns`, with nothing open) raises a nudge."""
    until = None
    for decode in decoders:
        if nudges.detect(decode(row, [], []), decode.as_of, rules):
            break
        until = decode.as_of
    return until


def keep(session: Session, workspace_id: str, day: date, rules: Nudging, after: int = 0,
         chunk: int = CHUNK) -> tuple[int | None, int]:
    """Work out the quiet days from ``day`` of up to ``chunk`` clients after client id
    ``after``; the last client looked at (None when there are no more) and how many were given
    quiet days."""
    quiet_key = key(rules)
    rows = session.execute(_candidates(workspace_id, day, quiet_key, after, chunk)).all()
    decoders = [summary_decoder.Decoder(day + timedelta(days=n), summaries.KEPT_TOUCHES, summaries.WINDOW_DAYS)
                for n in range(DAYS + 1)]
    stored = []
    for row in rows:
        until = quiet_until(row, decoders, rules)
        if until is not None:
            stored.append({"b_client": row.id, "b_touches": row.touches, "b_through": row.through_on,
                           "b_setback": row.last_setback_on, "b_put_right": row.last_put_right_on,
                           "b_won": row.last_won_on, "b_from": day, "b_until": until, "b_key": quiet_key})
    if stored:
        session.connection().execute(_STORE, stored)
    return (rows[-1].id if len(rows) == chunk else None), len(stored)
