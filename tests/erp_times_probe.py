"""Run in a fresh interpreter (the test sets TZ): write verdicts and a release onto a demo ERP, print the times.

``python erp_times_probe.py <sqlite file>`` prints one line ``ERP-TIMES {json}``: the ``last_attempt_at``
write-back stamped on a delivered and on a failed RamBase purchase-order update and the one ``release``
stamped on an uncertain invoice forwarding, next to the moment before and after, as wall times in
ERP_OUTBOUND_TIMEZONE and in the process's own local time.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text

from erp_outbound.core import settings
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp import release as releasing
from erp_outbound.erp.hook import make_engine
from erp_outbound.erp.journal import Journal
from erp_outbound.erp.state import ensure_tables
from erp_outbound.erp.writeback import apply_verdicts
from erp_outbound_tools.demo.erp import build_demo_erp


def wall_times() -> dict[str, str]:
    return {"erp": datetime.now(ZoneInfo(settings.erp_timezone())).replace(tzinfo=None).isoformat(),
            "local": datetime.now().isoformat()}


url = f"sqlite:///{sys.argv[1]}"
build_demo_erp(url, 20, seed=3)
engine = make_engine(url)
ensure_tables(engine)
with engine.begin() as conn:
    orders = [str(r.id) for r in conn.execute(text("SELECT id FROM rambase_po_updates ORDER BY id LIMIT 2"))]
    matched = str(conn.execute(text("SELECT id FROM rambase_invoice_matches WHERE supplier_invoice_id IS NOT NULL "
                                    "ORDER BY id LIMIT 1")).scalar_one())
    conn.execute(text("UPDATE rambase_invoice_matches SET operation_requested_at = CURRENT_TIMESTAMP, attempts = 0 "
                      "WHERE id = :i"), {"i": matched})
before = wall_times()
journal = Journal(engine, "scheduled__tz", dag_id="rambase_purchase_orders")
journal.record([
    Verdict(vendor="rambase", doc_type="PURCHASE_ORDER_UPDATE", document_id=orders[0], identifier=orders[0],
            outcome=Outcome.DELIVERED, status="OK"),
    Verdict(vendor="rambase", doc_type="PURCHASE_ORDER_UPDATE", document_id=orders[1], identifier=orders[1],
            outcome=Outcome.REJECTED, message="refused"),
])
apply_verdicts(engine, journal, journal.unapplied("rambase"))
forwarding = Journal(engine, "scheduled__tz", dag_id="rambase_invoice_forwarding")
forwarding.record([Verdict(vendor="rambase", doc_type="INVOICE_FORWARDING", document_id=matched,
                           identifier=matched, outcome=Outcome.UNCERTAIN, message="check it")])
apply_verdicts(engine, forwarding, forwarding.unapplied("rambase"))
released, refused = releasing.release(engine, "rambase", "rambase_invoice_forwarding", [matched], "pending")
assert [r.document_id for r in released] == [matched] and refused == {}, refused
after = wall_times()
with engine.connect() as conn:
    written = {f"po_{n}": str(conn.execute(text("SELECT last_attempt_at FROM rambase_po_updates WHERE id = :i"),
                                          {"i": i}).scalar_one()) for n, i in enumerate(orders)}
    written["released"] = str(conn.execute(text("SELECT last_attempt_at FROM rambase_invoice_matches WHERE id = :i"),
                                           {"i": matched}).scalar_one())
print("ERP-TIMES " + json.dumps({"before": before, "after": after, "written": written}))
