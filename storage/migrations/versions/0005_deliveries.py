"""Deliveries: what the scheduler decided to send, and the nudges inside each message.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-20

Types and constraint names are spelled out here, not imported, so this revision stays what it
is when the models move on. One delivery per (workspace, job, recipient, local date); one item
per (workspace, rep, subject, kind, local date) across every delivery.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: Union[str, Sequence[str], None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("job", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=100), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_deliveries_workspace_id_workspaces"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_deliveries_person_id_people"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint(
            "workspace_id", "job", "recipient", "local_date",
            name=op.f("uq_deliveries_workspace_id_job_recipient_local_date"),
        ),
    )
    op.create_index("ix_deliveries_date", "deliveries", ["workspace_id", "local_date", "status"])
    op.create_index(
        "ix_deliveries_status_claimed", "deliveries", ["workspace_id", "status", "claimed_at"])

    op.create_table(
        "delivery_items",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("stake", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"],
            name=op.f("fk_delivery_items_workspace_id_workspaces"),
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["deliveries.id"],
            name=op.f("fk_delivery_items_delivery_id_deliveries"),
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["people.id"], name=op.f("fk_delivery_items_rep_id_people"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_delivery_items_client_id_clients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_items")),
        sa.UniqueConstraint(
            "workspace_id", "rep_id", "subject", "kind", "local_date",
            name=op.f("uq_delivery_items_workspace_id_rep_id_subject_kind_local_date"),
        ),
    )
    op.create_index(
        "ix_delivery_items_rep", "delivery_items", ["workspace_id", "rep_id", "local_date"])
    op.create_index("ix_delivery_items_date", "delivery_items", ["workspace_id", "local_date"])
    op.create_index(
        "ix_delivery_items_delivery", "delivery_items", ["workspace_id", "delivery_id"])


def downgrade() -> None:
    op.drop_table("delivery_items")  # their indexes go with them
    op.drop_table("deliveries")
