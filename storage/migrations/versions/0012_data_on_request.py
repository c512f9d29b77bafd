"""Data on request: people can be deactivated, and erasures leave an audit line.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08

``people.active`` is false for someone deactivated (they left): no messages, no use of the coach,
their history kept for the team. Everyone already there stays active. ``erasures`` records each
erasure on request (a person, a client) and each retention run that blanked anything: who
asked, when, the kind, the row's id and the rows changed per table, never the data erased.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: Union[str, Sequence[str], None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # A plain ADD COLUMN with a constant default (as 0006): a batch copy would drop a table that
    # other tables' foreign keys point at.
    op.add_column("people", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(64), sa.ForeignKey("workspaces.id", name="fk_erasures_workspace_id_workspaces"),
                  nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("before", sa.Date(), nullable=True),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_erasures"),
    )
    op.create_index("ix_erasures_workspace", "erasures", ["workspace_id", "erased_at"])


def downgrade() -> None:
    op.drop_index("ix_erasures_workspace", table_name="erasures")
    op.drop_table("erasures")
    if op.get_bind().dialect.name == "sqlite":  # native since SQLite 3.35; no table copy
        op.execute("ALTER TABLE people DROP COLUMN active")
    else:
        op.drop_column("people", "active")
