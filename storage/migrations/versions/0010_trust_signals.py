"""Each touch keeps the trust signals it carried, so a client's trust level is a position the
evidence of several touches sets (not one answer), and is explained from them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: Union[str, Sequence[str], None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("interactions", sa.Column("asked_for", sa.Integer(), nullable=True))
    op.add_column("interactions", sa.Column("demanded_justification", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("demanded_justification")
        batch.drop_column("asked_for")
