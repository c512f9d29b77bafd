"""SQLAlchemy repositories for what happens with clients: touches, promises, problems, deals,
the ledger, the dialog state between two messages, and the claims of platform messages already
taken on.

They live in sibling modules by family (``storage.touches``, ``storage.outcomes``,
``storage.ledger``, ``storage.conversations``, with the shared ``IN_CHUNK`` and ``as_utc`` in
``storage.common``); this module gathers them under the name the rest of storage imports.

Appends that carry an idempotency key (a touch's ``external_id``, a ledger entry's ``key``, a
claim) use
``INSERT ... ON CONFLICT DO NOTHING RETURNING id``: a duplicate returns no row, the method returns
``None``, and the surrounding transaction stays usable (no exception, no savepoint).
"""

from __future__ import annotations

from storage.common import IN_CHUNK, as_utc
from storage.conversations import SqlClaimRepository, SqlDialogRepository
from storage.ledger import SqlLedgerRepository, ledger_entry
from storage.outcomes import SqlDealRepository, SqlProblemRepository, SqlPromiseRepository, problem, promise
from storage.touches import SqlInteractionRepository, interaction

__all__ = [
    "IN_CHUNK",
    "as_utc",
    "interaction",
    "promise",
    "problem",
    "ledger_entry",
    "SqlInteractionRepository",
    "SqlPromiseRepository",
    "SqlProblemRepository",
    "SqlDealRepository",
    "SqlLedgerRepository",
    "SqlDialogRepository",
    "SqlClaimRepository",
]
