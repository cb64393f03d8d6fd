"""Claims keep two runs from sending one document; the journal applies each verdict once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp import claims as claims_module
from erp_outbound.erp import journal as journal_module
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


@pytest.fixture
def clock(monkeypatch):
    """The time claims and the journal see, moved by the test: leases run out by construction, not by sleeping."""
    now = [datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)]
    monkeypatch.setattr(claims_module, "utcnow", lambda: now[0])
    monkeypatch.setattr(journal_module, "utcnow", lambda: now[0])
    return SimpleNamespace(advance=lambda seconds: now.__setitem__(0, now[0] + timedelta(seconds=seconds)))


def test_a_claimed_document_cannot_be_claimed_by_another_run(engine_url):
    engine, _ = engine_url
    first, second = Claims(engine, "run-1"), Claims(engine, "run-2")
    assert first.claim("procuros", "ORDER", ["1", "2", "3"]) == {"1", "2", "3"}
    assert second.claim("procuros", "ORDER", ["2", "3", "4"]) == {"4"}
    assert first.held("procuros", "ORDER", ["1", "2", "3", "4"]) == {"1", "2", "3"}
    first.release()
    assert second.claim("procuros", "ORDER", ["1", "2"]) == {"1", "2"}


def test_a_dead_workers_claim_expires_with_its_lease(engine_url, clock):
    engine, _ = engine_url
    dead = Claims(engine, "run-dead", lease_seconds=60)
    assert dead.claim("procuros", "INVOICE", ["7"]) == {"7"}
    clock.advance(59)
    assert Claims(engine, "run-2").claim("procuros", "INVOICE", ["7"]) == set()
    clock.advance(2)
    assert dead.held("procuros", "INVOICE", ["7"]) == {"7"}, "expired but not taken over: still its own"
    clock.advance(61)
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


def build_error(document_id: str) -> Verdict:
    return Verdict("procuros", "ORDER", document_id, f"PO-2026-00000{document_id}", Outcome.BUILD_ERROR,
                   message="cannot build the payload", errors={"currency": ["EU is not an ISO 4217 code"]})


def pending_ids(engine, run_id: str) -> set[str]:
    return {v.document_id for _, v in Journal(engine, run_id).unapplied("procuros")}


def test_a_run_in_flight_applies_its_verdicts_itself(engine_url, clock):
    """Two overlapping runs: each reconcile takes its own verdicts, never those of the other, still going.

    Before, both took all of them and reported each build error twice (one died on a duplicate key).
    """
    engine, _ = engine_url
    first, second = Claims(engine, "run-1", lease_seconds=60), Claims(engine, "run-2", lease_seconds=60)
    assert first.claim("procuros", "ORDER", ["1", "2"]) == {"1", "2"}
    assert second.claim("procuros", "ORDER", ["3"]) == {"3"}
    Journal(engine, "run-1").record([build_error("1"), build_error("2")])
    Journal(engine, "run-2").record([build_error("3")])
    assert pending_ids(engine, "run-1") == {"1", "2"}
    assert pending_ids(engine, "run-2") == {"3"}
    assert pending_ids(engine, "run-3") == set(), "a third run leaves both alone"

    first.release()  # run-1 let go of its claims: whatever it left unapplied is anyone's
    assert pending_ids(engine, "run-2") == {"1", "2", "3"}
    clock.advance(61)  # run-2 died: its lease ran out, the next run applies what it recorded
    assert pending_ids(engine, "run-3") == {"1", "2", "3"}
