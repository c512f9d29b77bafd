"""Conversation references: where to reach a user proactively (Teams daily digests).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-13

Types and constraint names are spelled out here, not imported, so this revision stays what it
is when the models move on. One row per (workspace, platform, user), indexed by person.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "conversation_references",
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.String(length=500), nullable=False),
        sa.Column("service_url", sa.String(length=500), nullable=False),
        sa.Column("reference", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"],
            name=op.f("fk_conversation_references_workspace_id_workspaces"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"],
            name=op.f("fk_conversation_references_person_id_people"),
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "platform", "user_id", name=op.f("pk_conversation_references")),
    )
    op.create_index(
        "ix_conversation_references_person", "conversation_references",
        ["workspace_id", "platform", "person_id"])


def downgrade() -> None:
    op.drop_table("conversation_references")  # its index goes with it
