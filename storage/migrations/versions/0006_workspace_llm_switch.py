"""An admin's switch per workspace: may notes and tips go to the configured LLM?

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

The LLM is used only when the operator configured one (OPENAI_API_KEY); this column lets a
workspace's admin turn it off (or back on) for their workspace. Existing workspaces keep the
operator's choice: true.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: Union[str, Sequence[str], None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("llm_enabled", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("llm_enabled")
