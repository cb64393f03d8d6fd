"""The open set: each document whose latest verdict of a real run is not final (``erp_outbound_open_documents``).

The Deliveries page used to group the whole journal to find each document's latest verdict: seconds at
a few million rows. It now reads this table, which the journal keeps in the same transaction as each
verdict (erp/journal.py), and which retention (erp/retention.py) never lets lose a verdict it names.

This revision creates the table and fills it from the existing journal with one INSERT ... SELECT on the
server: the latest verdict of a real run (not a dry run) per vendor, document type and document, kept
when its outcome is not final, with the document's latest failure since it was last final. The final outcomes are written out here (DELIVERED, NO_ACTION), as this
revision knew them, so a later change of the code cannot change what it did.

Revision ID: 0006
Revises: 0004 (0005, the page actions' audit table, is another branch of work: the coordinator
chains them at merge)
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
FINAL = ("DELIVERED", "NO_ACTION")
DEFERRED = "DEFERRED"


def upgrade() -> None:
    op.create_table(
        "erp_outbound_open_documents",
        sa.Column("vendor", sa.String(32), primary_key=True),
        sa.Column("doc_type", sa.String(40), primary_key=True),
        sa.Column("document_id", sa.String(64), primary_key=True),
        sa.Column("verdict_id", sa.Integer, nullable=False),
        sa.Column("decided_id", sa.Integer),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("dag_id", sa.String(250)),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_erp_outbound_open_documents_verdict", "erp_outbound_open_documents", ["verdict_id"],
                    unique=True)
    op.create_index("ix_erp_outbound_open_documents_decided", "erp_outbound_open_documents", ["decided_id"])
    op.create_index("ix_erp_outbound_open_documents_recorded", "erp_outbound_open_documents",
                    ["vendor", "recorded_at"])
    op.execute(fill_statement(op.get_bind().dialect.name))


def fill_statement(dialect: str) -> str:
    """The open set from the journal, in one pass over it: per document of real runs, the latest verdict (the
    largest id: ids follow the order verdicts were journaled), the latest final one and the latest failure
    (neither final nor a deferral). A document is open when its latest verdict is not final; its
    ``decided_id`` is its latest failure when that came after its latest final verdict."""
    final = ", ".join(f"'{o}'" for o in FINAL)
    no = "false" if dialect == "postgresql" else "0"
    return ("INSERT INTO erp_outbound_open_documents "
            "(vendor, doc_type, document_id, verdict_id, decided_id, outcome, dag_id, recorded_at) "
            "SELECT v.vendor, v.doc_type, v.document_id, v.id, "
            "CASE WHEN latest.failed_id > COALESCE(latest.final_id, 0) THEN latest.failed_id END, "
            "v.outcome, v.dag_id, v.recorded_at "
            "FROM erp_outbound_verdicts v JOIN ("
            "  SELECT MAX(id) AS id,"
            f"   MAX(CASE WHEN outcome IN ({final}) THEN id END) AS final_id,"
            f"   MAX(CASE WHEN outcome NOT IN ({final}) AND outcome <> '{DEFERRED}' THEN id END) AS failed_id"
            f"  FROM erp_outbound_verdicts WHERE dry_run = {no}"
            "  GROUP BY vendor, doc_type, document_id"
            ") latest ON v.id = latest.id "
            f"WHERE v.outcome NOT IN ({final})")


def downgrade() -> None:
    op.drop_index("ix_erp_outbound_open_documents_recorded", table_name="erp_outbound_open_documents")
    op.drop_index("ix_erp_outbound_open_documents_decided", table_name="erp_outbound_open_documents")
    op.drop_index("ix_erp_outbound_open_documents_verdict", table_name="erp_outbound_open_documents")
    op.drop_table("erp_outbound_open_documents")
