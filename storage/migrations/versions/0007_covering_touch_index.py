"""The nudge scan's touches come from the index alone.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

``ix_interactions_client_recent`` (workspace, client, newest first) now also carries each
touch's purpose and voided flag, so the daily scan's ``ROW_NUMBER() OVER (PARTITION BY
client_id ...)`` reads the index without visiting the table for every touch. Production appends
touches in time order, so one client's touches lie scattered over the table: on a 10-million-touch
organisation those visits were most of the scan. Only the newest touch per client still fetches
its row, for its note. Plain key columns rather than ``INCLUDE``, so SQLite builds the same index.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: Union[str, Sequence[str], None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

NAME = "ix_interactions_client_recent"


def _create(*extra: str) -> None:
    op.create_index(NAME, "interactions", [
        "workspace_id", "client_id", sa.text("occurred_on DESC"), sa.text("id DESC"), *extra,
    ])


def upgrade() -> None:
    op.drop_index(NAME, table_name="interactions")
    _create("purpose", "voided")


def downgrade() -> None:
    op.drop_index(NAME, table_name="interactions")
    _create()
