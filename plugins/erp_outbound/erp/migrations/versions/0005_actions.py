"""The audit of actions taken on the Deliveries page: who resent or released which document, when, with what result.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# As 0002 made them (a revision never imports the model of today: it must migrate the same way later).
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "erp_outbound_actions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("action_id", sa.String(36), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("user_name", sa.String(250), nullable=False),
        sa.Column("acted_at", TIMESTAMP, nullable=False),
        sa.Column("dag_id", sa.String(250), nullable=False),
        sa.Column("vendor", sa.String(32), nullable=False),
        sa.Column("doc_type", sa.String(40), nullable=False),
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("identifier", sa.String(200), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(250)),
        sa.Column("reference", sa.String(100)),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_erp_outbound_actions_action_id", "erp_outbound_actions", ["action_id"])
    op.create_index("ix_erp_outbound_actions_document", "erp_outbound_actions", ["vendor", "doc_type", "document_id"])


def downgrade() -> None:
    op.drop_index("ix_erp_outbound_actions_document", table_name="erp_outbound_actions")
    op.drop_index("ix_erp_outbound_actions_action_id", table_name="erp_outbound_actions")
    op.drop_table("erp_outbound_actions")
