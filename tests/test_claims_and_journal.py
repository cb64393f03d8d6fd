"""Claims keep two runs from sending one document; the journal applies each verdict once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp import claims as claims_module
from erp_outbound.erp import journal as journal_module
from erp_outbound.erp.claims import Claims
from erp_outbound_tools.demo.erp import build_demo_erp
from erp_outbound.erp.hook import make_engine
from erp_outbound.erp.journal import Journal
from erp_outbound.erp.state import claims as claims_table
from erp_outbound.erp.state import ensure_tables
from erp_outbound.erp.writeback import apply_verdicts
from erp_rows import documents

DAG = "procuros_outgoing"


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


@pytest.fixture
def clock(monkeypatch):
    """The time claims and the journal see, moved by the test: leases run out by construction, not by sleeping."""
    now = [datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)]
    monkeypatch.setattr(claims_module, "utcnow", lambda: now[0])
    monkeypatch.setattr(journal_module, "utcnow", lambda: now[0])
    return SimpleNamespace(advance=lambda seconds: now.__setitem__(0, now[0] + timedelta(seconds=seconds)))


def test_a_claimed_document_cannot_be_claimed_by_another_run(engine_url):
    engine, _ = engine_url
    first, second = Claims(engine, "run-1", dag_id=DAG), Claims(engine, "run-2", dag_id=DAG)
    assert first.claim("procuros", "ORDER", ["1", "2", "3"]) == {"1", "2", "3"}
    assert second.claim("procuros", "ORDER", ["2", "3", "4"]) == {"4"}
    assert first.held("procuros", "ORDER", ["1", "2", "3", "4"]) == {"1", "2", "3"}
    first.release()
    assert second.claim("procuros", "ORDER", ["1", "2"]) == {"1", "2"}


def test_a_dead_workers_claim_expires_with_its_lease(engine_url, clock):
    engine, _ = engine_url
    dead = Claims(engine, "run-dead", lease_seconds=60, dag_id=DAG)
    assert dead.claim("procuros", "INVOICE", ["7"]) == {"7"}
    clock.advance(59)
    assert Claims(engine, "run-2", dag_id=DAG).claim("procuros", "INVOICE", ["7"]) == set()
    clock.advance(2)
    assert dead.held("procuros", "INVOICE", ["7"]) == {"7"}, "expired but not taken over: still its own"
    clock.advance(61)
    assert Claims(engine, "run-3", dag_id=DAG).claim("procuros", "INVOICE", ["7"]) == {"7"}
    assert dead.held("procuros", "INVOICE", ["7"]) == set()  # taken over: the dead run may no longer send it


def test_each_verdict_is_applied_exactly_once(engine_url):
    engine, url = engine_url
    journal = Journal(engine, "run-1", dag_id=DAG)
    journal.record([
        Verdict(vendor="procuros", doc_type="ORDER", document_id="1", identifier="PO-2026-000001",
                outcome=Outcome.DELIVERED, status="TRANSMITTED", vendor_reference="tx-1"),
        Verdict(vendor="procuros", doc_type="ORDER", document_id="2", identifier="PO-2026-000002",
                outcome=Outcome.REJECTED, message="The given data was invalid.",
                errors={"buyer": ["Could not resolve party"]}, error_url="http://portal/errors/1"),
        Verdict(vendor="procuros", doc_type="ORDER", document_id="3", identifier="PO-2026-000003",
                outcome=Outcome.DEFERRED, message="timeout after 30s"),
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
    Journal(engine, "dry", dry_run=True, dag_id=DAG).record(
        [Verdict(vendor="procuros", doc_type="ORDER", document_id="1", identifier="PO-2026-000001",
                 outcome=Outcome.BUILD_ERROR, message="x")])
    assert Journal(engine, "later", dag_id=DAG).unapplied("procuros") == []


def build_error(document_id: str) -> Verdict:
    return Verdict(vendor="procuros", doc_type="ORDER", document_id=document_id,
                   identifier=f"PO-2026-00000{document_id}", outcome=Outcome.BUILD_ERROR,
                   message="cannot build the payload", errors={"currency": ["EU is not an ISO 4217 code"]})


def pending_ids(engine, run_id: str) -> set[str]:
    return {v.document_id for _, v in Journal(engine, run_id, dag_id=DAG).unapplied("procuros")}


def test_a_run_in_flight_applies_its_verdicts_itself(engine_url, clock):
    """Two overlapping runs: each reconcile takes its own verdicts, never those of the other, still going.

    Before, both took all of them and reported each build error twice (one died on a duplicate key).
    """
    engine, _ = engine_url
    first, second = Claims(engine, "run-1", lease_seconds=60, dag_id=DAG), Claims(engine, "run-2", lease_seconds=60, dag_id=DAG)
    assert first.claim("procuros", "ORDER", ["1", "2"]) == {"1", "2"}
    assert second.claim("procuros", "ORDER", ["3"]) == {"3"}
    Journal(engine, "run-1", dag_id=DAG).record([build_error("1"), build_error("2")])
    Journal(engine, "run-2", dag_id=DAG).record([build_error("3")])
    assert pending_ids(engine, "run-1") == {"1", "2"}
    assert pending_ids(engine, "run-2") == {"3"}
    assert pending_ids(engine, "run-3") == set(), "a third run leaves both alone"

    first.release()  # run-1 let go of its claims: whatever it left unapplied is anyone's
    assert pending_ids(engine, "run-2") == {"1", "2", "3"}
    clock.advance(61)  # run-2 died: its lease ran out, the next run applies what it recorded
    assert pending_ids(engine, "run-3") == {"1", "2", "3"}


def test_two_dags_with_one_run_id_never_see_each_others_verdicts(engine_url):
    """rambase_purchase_orders and rambase_invoice_forwarding get scheduled runs at the same tick, with the
    same run id: each run's journal lists, applies and reports only its own DAG's documents."""
    engine, _ = engine_url
    tick = "scheduled__2026-11-30T10:15:00+00:00"
    orders = Journal(engine, tick, dag_id="rambase_purchase_orders")
    forwarding = Journal(engine, tick, dag_id="rambase_invoice_forwarding")
    order_claims = Claims(engine, tick, lease_seconds=60, dag_id="rambase_purchase_orders")
    forwarding_claims = Claims(engine, tick, lease_seconds=60, dag_id="rambase_invoice_forwarding")
    assert order_claims.claim("rambase", "PURCHASE_ORDER_UPDATE", ["1"]) == {"1"}
    assert forwarding_claims.claim("rambase", "INVOICE_FORWARDING", ["1"]) == {"1"}
    orders.record([Verdict(vendor="rambase", doc_type="PURCHASE_ORDER_UPDATE", document_id="1", identifier="100001",
                           outcome=Outcome.DELIVERED, status="SYNCED")])
    forwarding.record([Verdict(vendor="rambase", doc_type="INVOICE_FORWARDING", document_id="1", identifier="100501",
                               outcome=Outcome.REJECTED, message="x")])

    assert [v.doc_type for _, v in orders.unapplied("rambase")] == ["PURCHASE_ORDER_UPDATE"]
    assert [v.doc_type for v in orders.of_run("rambase")] == ["PURCHASE_ORDER_UPDATE"]
    assert [v.doc_type for _, v in forwarding.unapplied("rambase")] == ["INVOICE_FORWARDING"]
    assert [v.doc_type for v in forwarding.of_run("rambase")] == ["INVOICE_FORWARDING"]
    # Even once the other DAG's run let go of its claims, its verdicts are not this DAG's to apply.
    forwarding_claims.release()
    assert [v.doc_type for _, v in orders.unapplied("rambase")] == ["PURCHASE_ORDER_UPDATE"]
    assert apply_verdicts(engine, orders, orders.unapplied("rambase")) == {"DELIVERED": 1}
    assert [v.doc_type for _, v in forwarding.unapplied("rambase")] == ["INVOICE_FORWARDING"]


def test_held_renews_only_the_leases_less_than_half_left(engine_url, clock):
    """A claim with half its lease left is held without a write; one closer to its end is renewed."""
    engine, _ = engine_url
    run = Claims(engine, "run-1", lease_seconds=100, dag_id=DAG)
    assert run.claim("procuros", "ORDER", ["1"]) == {"1"}
    clock.advance(40)
    assert run.claim("procuros", "ORDER", ["2"]) == {"2"}

    def leases() -> dict[str, datetime]:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(claims_table.c.document_id, claims_table.c.lease_until)).all()
        return {r[0]: r[1] for r in rows}

    before = leases()
    clock.advance(20)  # "1" has 40 s of 100 left, "2" 80 s
    assert run.held("procuros", "ORDER", ["1", "2"]) == {"1", "2"}
    after = leases()
    assert after["2"] == before["2"], "more than half its lease left: not rewritten"
    assert after["1"] == before["2"] + timedelta(seconds=20), "renewed to a full lease from now"
