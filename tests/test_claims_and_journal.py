"""Claims keep two runs from sending one document; the journal applies each verdict once."""

from __future__ import annotations

import time

import pytest

from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp.claims import Claims
from erp_outbound_tools.demo.erp import build_demo_erp
from erp_outbound.erp.hook import make_engine
from erp_outbound.erp.journal import Journal
from erp_outbound.erp.state import ensure_tables
from erp_outbound.erp.writeback import apply_verdicts
from erp_rows import documents


@pytest.fixture(params=["sqlite", "postgres"])
def engine_url(request, tmp_path):
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 30, seed=1)
    engine = make_engine(url)
    ensure_tables(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM erp_outbound_claims")
        conn.exec_driver_sql("DELETE FROM erp_outbound_verdicts")
    yield engine, url
    engine.dispose()


def test_a_claimed_document_cannot_be_claimed_by_another_run(engine_url):
    engine, _ = engine_url
    first, second = Claims(engine, "run-1"), Claims(engine, "run-2")
    assert first.claim("procuros", "ORDER", ["1", "2", "3"]) == {"1", "2", "3"}
    assert second.claim("procuros", "ORDER", ["2", "3", "4"]) == {"4"}
    assert first.held("procuros", "ORDER", ["1", "2", "3", "4"]) == {"1", "2", "3"}
    first.release()
    assert second.claim("procuros", "ORDER", ["1", "2"]) == {"1", "2"}


def test_a_dead_workers_claim_expires_with_its_lease(engine_url):
    engine, _ = engine_url
    dead = Claims(engine, "run-dead", lease_seconds=0.2)
    assert dead.claim("procuros", "INVOICE", ["7"]) == {"7"}
    assert Claims(engine, "run-2").claim("procuros", "INVOICE", ["7"]) == set()
    time.sleep(0.3)
    assert dead.held("procuros", "INVOICE", ["7"]) == {"7"}, "expired but not taken over: still its own"
    time.sleep(0.3)
    assert Claims(engine, "run-3").claim("procuros", "INVOICE", ["7"]) == {"7"}
    assert dead.held("procuros", "INVOICE", ["7"]) == set()  # taken over: the dead run may no longer send it


def test_each_verdict_is_applied_exactly_once(engine_url):
    engine, url = engine_url
    journal = Journal(engine, "run-1")
    journal.record([
        Verdict("procuros", "ORDER", "1", "PO-2026-000001", Outcome.DELIVERED, status="TRANSMITTED",
                vendor_reference="tx-1"),
        Verdict("procuros", "ORDER", "2", "PO-2026-000002", Outcome.REJECTED, message="The given data was invalid.",
                errors={"buyer": ["Could not resolve party"]}, error_url="http://portal/errors/1"),
        Verdict("procuros", "ORDER", "3", "PO-2026-000003", Outcome.DEFERRED, message="timeout after 30s"),
    ])
    entries = journal.unapplied("procuros")
    assert apply_verdicts(engine, journal, entries) == {"DELIVERED": 1, "REJECTED": 1, "DEFERRED": 1}
    # A second applier (an overlapping reconcile) finds nothing left to apply.
    assert apply_verdicts(engine, journal, entries) == {}
    assert journal.unapplied("procuros") == []

    rows = documents(url)
    order = rows[rows.doc_type == "ORDER"].set_index("id")
    assert order.loc["1", "status"] == "TRANSMITTED" and order.loc["1", "procuros_transaction_id"] == "tx-1"
    assert order.loc["2", "status"] is None and order.loc["2", "attempts"] == 1
    assert order.loc["2", "error_url"] == "http://portal/errors/1"
    assert "Could not resolve party" in order.loc["2", "last_error"]
    assert order.loc["3", "status"] is None and order.loc["3", "attempts"] == 0  # deferred: untouched


def test_dry_run_verdicts_are_never_applied(engine_url):
    engine, _ = engine_url
    Journal(engine, "dry", dry_run=True).record(
        [Verdict("procuros", "ORDER", "1", "PO-2026-000001", Outcome.BUILD_ERROR, message="x")])
    assert Journal(engine, "later").unapplied("procuros") == []
