"""Client channels opted in to capture: a rep's own messages there count as touches.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23

One row per (workspace, platform, channel), pointing at one client. Touches gain a ``pending``
purpose and new sources (``checkin``, ``shortcut``, ``channel``, ``form``); both are plain
strings in existing columns, so only the new table is created here.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "channel_captures",
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("channel_id", sa.String(length=200), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("enabled_by", sa.Integer(), nullable=False),
        sa.Column("enabled_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_channel_captures_workspace_id_workspaces"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_channel_captures_client_id_clients"),
        ),
        sa.ForeignKeyConstraint(
            ["enabled_by"], ["people.id"], name=op.f("fk_channel_captures_enabled_by_people"),
        ),
        sa.PrimaryKeyConstraint("workspace_id", "platform", "channel_id", name=op.f("pk_channel_captures")),
    )


def downgrade() -> None:
    op.drop_table("channel_captures")
