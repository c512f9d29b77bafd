"""The retention period: the text of notes dated before a day is blanked; points, dates, kinds and
purposes stay, so every balance and every figure reads the same (:mod:`coaching.privacy`).

What is blanked: touches' notes, won deals' notes, the words of promises closed and of problems
answered (an open promise and a problem still waiting keep theirs: the coach still reminds of
them), the passbook's quotations, and the latest note each client summary repeats. Conversations
left unfinished since before that day and the claims of platform requests seen before it (a
button's value may carry words) are removed. Each statement skips what is already blank, so a
second run changes nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import Text, cast, delete, func, select, update
from sqlalchemy.orm import Session

from coaching.model import PromiseStatus
from coaching.privacy import REDACTED
from storage import redaction
from storage.models import (
    ClientSummaryRow, ConversationRow, DealRow, InteractionRow, LedgerEntryRow, ProblemRow, ProcessedRequestRow,
    PromiseRow,
)


def blank_before(session: Session, workspace_id: str, day: date) -> dict[str, int]:
    i, d, p, pr, s = InteractionRow, DealRow, PromiseRow, ProblemRow, ClientSummaryRow
    statements = {
        "interactions": update(i).where(i.workspace_id == workspace_id, i.occurred_on < day, i.note != "")
        .values(note=""),
        # a summary quotes its client's newest note: blank when that touch is before the day
        "client_summaries": update(s).where(s.workspace_id == workspace_id, s.last_note.is_not(None),
                                            func.substr(s.touches, 1, 10) < day.isoformat()).values(last_note=None),
        "deals": update(d).where(d.workspace_id == workspace_id, d.won_on < day, d.note != "").values(note=""),
        "promises": update(p).where(p.workspace_id == workspace_id, p.made_on < day,
                                    p.status != PromiseStatus.OPEN.value, p.text != REDACTED).values(text=REDACTED),
        "problems": update(pr).where(pr.workspace_id == workspace_id, pr.raised_on < day,
                                     pr.first_response_on.is_not(None), pr.text != REDACTED).values(text=REDACTED),
    }
    counts = {table: session.execute(statement.execution_options(synchronize_session=False)).rowcount
              for table, statement in statements.items()}
    le = LedgerEntryRow
    quoted = session.execute(select(le.id, le.reason, le.detail).where(
        le.workspace_id == workspace_id, le.occurred_on < day, le.reason.in_(redaction.QUOTING),
        ~cast(le.detail, Text).contains(f'"{redaction.MARK}"', autoescape=True))).all()
    counts["ledger_entries"] = redaction.rewrite_entries(session, quoted, redaction.blank_words)
    since = datetime.combine(day, time(0), tzinfo=UTC)
    c, claim = ConversationRow, ProcessedRequestRow
    counts["conversations"] = session.execute(delete(c).where(
        c.workspace_id == workspace_id, c.updated_at < since)).rowcount
    counts["processed_requests"] = session.execute(delete(claim).where(
        claim.workspace_id == workspace_id, claim.seen_at < since)).rowcount
    return {table: n for table, n in counts.items() if n}
