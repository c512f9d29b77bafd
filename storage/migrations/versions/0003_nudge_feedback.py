"""Nudge feedback: what reps said about their nudges (snoozed, dismissed, acted on).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

Types and constraint names are spelled out here, not imported, so this revision stays what it
is when the models move on. Append-only; indexed by (workspace, rep, day).
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "nudge_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"],
            name=op.f("fk_nudge_feedback_workspace_id_workspaces"),
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["people.id"], name=op.f("fk_nudge_feedback_rep_id_people"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nudge_feedback")),
    )
    op.create_index(
        "ix_nudge_feedback_rep", "nudge_feedback", ["workspace_id", "rep_id", "on_date"])


def downgrade() -> None:
    op.drop_table("nudge_feedback")  # its index goes with it
