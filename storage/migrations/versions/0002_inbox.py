"""Inbox: the platform requests already taken on, so a retried delivery changes nothing twice.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

Types and constraint names are spelled out here, not imported, so this revision stays what it
is when the models move on. ``seen_at`` is indexed for pruning old rows.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "processed_requests",
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"],
            name=op.f("fk_processed_requests_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint("workspace_id", "key", name=op.f("pk_processed_requests")),
    )
    op.create_index("ix_processed_requests_seen_at", "processed_requests", ["seen_at"])


def downgrade() -> None:
    op.drop_table("processed_requests")  # its index goes with it
