"""Claims and verdicts belong to a run of a DAG: a ``dag_id`` column beside ``run_id``.

Two DAGs of one vendor (rambase_purchase_orders and rambase_invoice_forwarding) get scheduled runs
at the same tick with the same run id; keyed by run id alone, each saw, applied and reported the
other's verdicts. The journal's run index becomes (dag_id, run_id).

Existing rows get ``dag_id`` NULL: "recorded before 0003, DAG unknown". An unapplied verdict with
NULL is applied by the next run of any DAG of its vendor (as before this revision); a claim with
NULL keeps its lease; the Deliveries page works out the DAG of a NULL verdict from its run, as it did.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("erp_outbound_claims", sa.Column("dag_id", sa.String(250), nullable=True))
    op.add_column("erp_outbound_verdicts", sa.Column("dag_id", sa.String(250), nullable=True))
    op.drop_index("ix_erp_outbound_verdicts_run", table_name="erp_outbound_verdicts")
    op.create_index("ix_erp_outbound_verdicts_dag_run", "erp_outbound_verdicts", ["dag_id", "run_id"])
