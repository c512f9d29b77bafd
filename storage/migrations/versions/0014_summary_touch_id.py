"""The id of each client's newest touch, kept in its summary.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05

A logged touch is folded into its client's stored summary when it is the client's newest
(storage/summary_upkeep.py). Touches of one day are ordered by id, so a second touch on the day
of the newest could be folded only knowing that touch's id. Filled here for every summary
(one probe of the touch index per client); a summary without touches has none.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: Union[str, Sequence[str], None] = "0013"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("client_summaries") as batch:
        batch.add_column(sa.Column("last_touch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite")))
    op.execute(
        "UPDATE client_summaries SET last_touch_id = (SELECT i.id FROM interactions i"
        " WHERE i.workspace_id = client_summaries.workspace_id AND i.client_id = client_summaries.client_id"
        " AND i.voided = false ORDER BY i.occurred_on DESC, i.id DESC LIMIT 1)")


def downgrade() -> None:
    with op.batch_alter_table("client_summaries") as batch:
        batch.drop_column("last_touch_id")
