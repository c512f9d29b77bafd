"""The days a client raises no nudge, kept in its summary.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

The daily upkeep works out, for a client with nothing open, the coming days on which it raises
no nudge if nothing new is recorded (storage/quiet_days.py); the nudge run then leaves its
summary unread on those days. Every write to the client rewrites its summary and clears them.
Empty here: the next upkeep fills them.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: Union[str, Sequence[str], None] = "0014"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("client_summaries") as batch:
        batch.add_column(sa.Column("quiet_from", sa.Date()))
        batch.add_column(sa.Column("quiet_until", sa.Date()))
        batch.add_column(sa.Column("quiet_key", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("client_summaries") as batch:
        batch.drop_column("quiet_key")
        batch.drop_column("quiet_until")
        batch.drop_column("quiet_from")
