"""Per-client summaries kept in the write path, and team snapshots.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

``client_summaries`` holds one row per client with what the daily scan and team health need
(see ``storage.summaries``); the upgrade builds it for the clients already there, in the same
transaction. ``team_snapshots`` keeps a team report's figures for a day, so the next reports
compare with them instead of recomputing a past period. Two indexes let team health read the
promises closed and the problems raised in a period without scanning the workspace's.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0011"
down_revision: Union[str, Sequence[str], None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "client_summaries",
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("clients.id", name="fk_client_summaries_client_id_clients",
                                                          ondelete="CASCADE"), primary_key=True),
        sa.Column("workspace_id", sa.String(64), sa.ForeignKey("workspaces.id",
                                                               name="fk_client_summaries_workspace_id_workspaces"),
                  nullable=False),
        sa.Column("through_on", sa.Date(), nullable=True),
        sa.Column("touches", sa.Text(), nullable=False),
        sa.Column("last_note", sa.Text(), nullable=True),
        sa.Column("balance", sa.Integer(), nullable=False),
        sa.Column("first_entry_on", sa.Date(), nullable=True),
        sa.Column("entries", sa.Text(), nullable=False),
        sa.Column("last_setback_on", sa.Date(), nullable=True),
        sa.Column("last_put_right_on", sa.Date(), nullable=True),
        sa.Column("last_won_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("client_id", name="pk_client_summaries"),
    )
    op.create_table(
        "team_snapshots",
        sa.Column("workspace_id", sa.String(64), sa.ForeignKey("workspaces.id",
                                                               name="fk_team_snapshots_workspace_id_workspaces"),
                  nullable=False),
        sa.Column("teams", sa.String(200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("figures", sa.Text(), nullable=True),
        sa.Column("owners", sa.Text(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "teams", "day", name="pk_team_snapshots"),
    )
    op.create_index("ix_promises_closed", "promises", ["workspace_id", "closed_on"])
    op.create_index("ix_problems_raised", "problems", ["workspace_id", "raised_on"])
    from storage import summaries  # the one formula, as the write path keeps it

    # Into the table as this revision creates it: later revisions add columns (0014: the newest
    # touch's id) and fill them themselves.
    columns = ("client_id", "workspace_id", "through_on", "touches", "last_note", "balance", "first_entry_on",
               "entries", "last_setback_on", "last_put_right_on", "last_won_on")
    table = sa.table("client_summaries", *map(sa.column, columns))
    session = Session(bind=op.get_bind())
    for (workspace_id,) in session.execute(sa.text("SELECT id FROM workspaces ORDER BY id")).all():
        summaries.rebuild(session, workspace_id, into=table)
    session.flush()


def downgrade() -> None:
    op.drop_index("ix_problems_raised", table_name="problems")
    op.drop_index("ix_promises_closed", table_name="promises")
    op.drop_table("team_snapshots")
    op.drop_table("client_summaries")
