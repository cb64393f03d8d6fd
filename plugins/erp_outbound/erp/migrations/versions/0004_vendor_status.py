"""Verdicts keep the vendor's own status of a document when it was asked (Procuros' transaction status).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("erp_outbound_verdicts") as batch:
        batch.add_column(sa.Column("vendor_status", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("erp_outbound_verdicts") as batch:
        batch.drop_column("vendor_status")
