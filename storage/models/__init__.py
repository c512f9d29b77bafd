"""The relational schema, as SQLAlchemy 2 declarative models.

Rows here are storage's own business: repositories turn them into the frozen values of
``coaching.model``. Enums are stored as their plain string (or int) values in ordinary
columns, so adding an enum member never needs a migration.

Every table carries ``workspace_id`` and every read filters on it first, so each index below
leads with ``workspace_id``: a workspace's rows sit together in the B-tree and one tenant's
daily scan never walks another's. ``interactions`` and ``ledger_entries`` are the big tables
(tens of millions of rows), so their ids are BIGINT on PostgreSQL; SQLite keeps INTEGER, which
is its 64-bit rowid alias anyway.

The tables live in modules by role (``roster``, ``activity``, ``delivery``, ``platform``,
``summary``, ``audit``).
Importing this package imports every one of them, so ``Base.metadata`` holds the whole schema:
Alembic (``storage/migrations/env.py``) and ``create_all`` depend on that.
"""

from __future__ import annotations

from storage.models.base import (
    NAMING_CONVENTION,
    Base,
    BigId,
    Code,
    ExternalId,
    Name,
    WorkspaceId,
)
from storage.models.roster import ClientRow, PersonRow, TeamMemberRow, TeamRow, WorkspaceRow
from storage.models.activity import DealRow, InteractionRow, LedgerEntryRow, ProblemRow, PromiseRow
from storage.models.summary import ClientSummaryRow, TeamSnapshotRow
from storage.models.delivery import DeliveryItemRow, DeliveryRow, NudgeFeedbackRow
from storage.models.platform import (
    ChannelCaptureRow,
    ChatReferenceRow,
    ConversationRow,
    InboundRequestRow,
    ProcessedRequestRow,
)
from storage.models.audit import ErasureRow

__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "BigId",
    "Code",
    "ExternalId",
    "Name",
    "WorkspaceId",
    "WorkspaceRow",
    "TeamRow",
    "PersonRow",
    "TeamMemberRow",
    "ClientRow",
    "InteractionRow",
    "PromiseRow",
    "ProblemRow",
    "DealRow",
    "LedgerEntryRow",
    "ConversationRow",
    "ProcessedRequestRow",
    "NudgeFeedbackRow",
    "ChatReferenceRow",
    "DeliveryRow",
    "DeliveryItemRow",
    "ChannelCaptureRow",
    "InboundRequestRow",
    "ClientSummaryRow",
    "TeamSnapshotRow",
    "ErasureRow",
]
