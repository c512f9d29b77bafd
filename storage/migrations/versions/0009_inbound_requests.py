"""Platform requests kept from before their acknowledgement until their work is done.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23

A request is stored before the platform is told it arrived, settled when its work is done, and
replayed if the process died in between. Its key (a hash of the request's signature) also stops
a replayed copy of a signed request for as long as the signature is valid.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: Union[str, Sequence[str], None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "inbound_requests",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_inbound_requests")),
    )
    op.create_index("ix_inbound_requests_status_received_at", "inbound_requests", ["status", "received_at"])


def downgrade() -> None:
    op.drop_table("inbound_requests")  # its index goes with it
