"""The daily rules after a bulk import, written in batches.

:func:`coaching.daily.apply_daily_rules` closes each overdue promise and adds each entry time
alone earns one statement at a time: after a large import that is tens of thousands of round
trips. :class:`BatchedUpkeep` is the part of the unit of work it uses, with the same reads, but
the writes held back: a closed promise is the promise with its new status, an entry is kept
for later. :meth:`BatchedUpkeep.flush` then writes them as the repositories would have: each key
once (the first one asked for wins, and keys already in the ledger are left alone, as
``ON CONFLICT DO NOTHING`` leaves them), in the order asked, with ids in that order.

Holding writes back changes nothing the rules read: each of their reads (overdue promises,
waiting problems, client histories) is made before any write it could see, and the histories
are read for the last touch and the rhythm only. The property test of the bulk import
(``tests/service/test_bulk_import.py``) compares the result with the real daily run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date

from coaching.daily import UpkeepResult
from coaching.model import EntryDraft, LedgerEntry, Promise, PromiseStatus, Reason
from storage.bulk import BulkWriter, Ids
from storage.uow import SqlAlchemyUnitOfWork


class _Promises:
    def __init__(self, uow: SqlAlchemyUnitOfWork) -> None:
        self.real = uow.promises
        self.read: dict[int, Promise] = {}
        self.closed: dict[int, Promise] = {}

    def open_due_before(self, workspace_id: str, day: date) -> list[Promise]:
        found = self.real.open_due_before(workspace_id, day)
        self.read.update((p.id, p) for p in found)
        return found

    def close(self, workspace_id: str, promise_id: int, status: PromiseStatus, closed_on: date) -> Promise:
        promise = self.closed.get(promise_id) or self.read.get(promise_id) or self.real.get(workspace_id, promise_id)
        if promise is None:
            raise LookupError(f"no promise {promise_id} in workspace {workspace_id!r}")
        self.closed[promise_id] = replace(promise, status=status, closed_on=closed_on)
        return self.closed[promise_id]


class _Ledger:
    def __init__(self) -> None:
        self.asked: list[LedgerEntry] = []

    def add(self, workspace_id: str, draft: EntryDraft) -> LedgerEntry | None:
        """Kept for :meth:`BatchedUpkeep.flush`, which gives it its id if it is new."""
        entry = LedgerEntry(0, workspace_id, draft.client_id, draft.rep_id, draft.amount, draft.reason,
                            draft.occurred_on, draft.key, cause=draft.cause, detail=dict(draft.detail),
                            reverses_id=draft.reverses_id)
        self.asked.append(entry)
        return entry


class BatchedUpkeep:
    """What ``apply_daily_rules`` uses of a unit of work, its writes held back until :meth:`flush`."""

    def __init__(self, uow: SqlAlchemyUnitOfWork, workspace_id: str) -> None:
        self.uow = uow
        self.workspace_id = workspace_id
        self.promises = _Promises(uow)
        self.problems = uow.problems
        self.histories = uow.histories
        self.ledger = _Ledger()

    def flush(self) -> UpkeepResult:
        """Write what the rules asked for; what was booked, counted as the daily run counts it
        (an overdue promise's entry, a waiting problem's, a silent week's)."""
        session, writer = self.uow.session, BulkWriter(self.uow.session, self.workspace_id)
        session.flush()
        writer.close_promises([(p.id, p.status.value, p.closed_on) for p in self.promises.closed.values()
                               if p.closed_on is not None])
        wanted: dict[str, LedgerEntry] = {}
        for entry in self.ledger.asked:
            wanted.setdefault(entry.key, entry)
        taken = writer.existing_keys(list(wanted))
        entries = [e for e in wanted.values() if e.key not in taken]
        writer.add_entries(entries, Ids(session).take("ledger_entries", len(entries)))
        session.expire_all()  # promises read before were closed behind the session's back
        count = Counter(e.reason for e in entries)
        return UpkeepResult(count[Reason.PROMISE_BROKEN], count[Reason.PROBLEM_UNANSWERED], count[Reason.SILENCE])
