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
    # A plain ADD COLUMN with a constant default works on SQLite and PostgreSQL alike; a batch
    # (copy-and-rename) would drop a table other tables' foreign keys point at.
    op.add_column("workspaces", sa.Column("llm_enabled", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # native since SQLite 3.35; no table copy
        op.execute("ALTER TABLE workspaces DROP COLUMN llm_enabled")
    else:
        op.drop_column("workspaces", "llm_enabled")
