"""A rep's touches counted from the index alone.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05

``ix_interactions_rep`` (workspace, rep, day) now also carries each touch's voided flag. The
daily run's lapse check counts every rep's touches in two periods, and the digest asks when each
rep last logged; both leave voided touches out, so without the flag in the index each touch in
range was a visit to the table. With it, each count is one range of the index (a covering
scan), and the lapse check reads two ranges per person instead of grouping every touch of the
last twelve weeks.

SQLite drops an index's statistics with the index. Where the database keeps statistics (someone
ran ANALYZE), the new index's are gathered at once: without them the planner took it for the
most selective index of the table and read a whole workspace's touches through it, ten times
slower than through the covering index it had used.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: Union[str, Sequence[str], None] = "0012"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

NAME = "ix_interactions_rep"


def upgrade() -> None:
    op.drop_index(NAME, table_name="interactions")
    op.create_index(NAME, "interactions", ["workspace_id", "rep_id", "occurred_on", "voided"])
    restat(NAME)


def downgrade() -> None:
    op.drop_index(NAME, table_name="interactions")
    op.create_index(NAME, "interactions", ["workspace_id", "rep_id", "occurred_on"])
    restat(NAME)


def restat(index: str) -> None:
    """SQLite: the statistics of a rebuilt index, if the database keeps any."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and bind.execute(sa.text(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")).first():
        op.execute(f"ANALYZE {index}")
