"""What the Deliveries page reads: the latest verdict of each document in the journal, and its DAG.

Outcomes are read as text, so an outcome this version does not know (a later one) shows like any other
that is not final; a document that was delivered later needs no attention. UNCERTAIN documents (and
older journal entries: REJECTED with status UNCERTAIN) stand apart.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, insert

from erp_outbound.core.storage import Folder
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp.journal import Journal
from erp_outbound.erp.state import ensure_tables, verdicts
from erp_outbound.ui import attention, runs


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    ensure_tables(engine)
    yield engine
    engine.dispose()


def record(engine, run_id: str, *items: Verdict, dry_run: bool = False, dag_id: str | None = "procuros_outgoing") -> None:
    Journal(engine, run_id, dry_run, dag_id=dag_id).record(items)


def order(document_id: str, outcome: Outcome, **fields) -> Verdict:
    return Verdict(vendor="procuros", doc_type="ORDER", document_id=document_id, identifier=f"PO-{document_id}", outcome=outcome, **fields)


def test_only_documents_whose_latest_verdict_is_not_final(engine):
    record(engine, "run-1",
           order("1", Outcome.REJECTED, message="Could not resolve party", errors={"supplier": ["unknown GLN"]},
                 error_url="https://portal.procuros.io/errors/1", attempts_before=2),
           order("2", Outcome.BUILD_ERROR, message="cannot build", errors={"gtin": ["missing"]}),
           order("3", Outcome.REJECTED, message="refused once"),
           order("4", Outcome.DELIVERED, status="TRANSMITTED"))
    record(engine, "run-2", order("3", Outcome.DELIVERED, status="TRANSMITTED"),  # fixed and delivered since
           order("2", Outcome.DEFERRED, message="HTTP 503"))
    record(engine, "dry-run", order("1", Outcome.DELIVERED), dry_run=True)  # a dry run decides nothing

    found = {d.document_id: d for d in attention.open_documents(engine)}
    assert set(found) == {"1", "2"}
    first = found["1"]
    assert (first.outcome, first.attempts, first.run_id) == ("REJECTED", 3, "run-1")
    assert first.reason == "Could not resolve party | supplier: unknown GLN"  # whole, as the files have it
    assert first.vendor_link == "https://portal.procuros.io/errors/1" and not first.uncertain
    assert (found["2"].outcome, found["2"].reason, found["2"].run_id) == ("DEFERRED", "HTTP 503", "run-2")
    assert found["2"].last_failure.tzinfo is not None


def test_filters_outcomes_generically_and_uncertain_ones_stand_apart(engine):
    record(engine, "run-1",
           order("1", Outcome.REJECTED, message="refused"),
           Verdict(vendor="rambase", doc_type="INVOICE_FORWARDING", document_id="7", identifier="100007", outcome=Outcome.REJECTED, status="UNCERTAIN",
                   message="No answer to the forwarding request", error_code="100089", vendor_reference="5001"))
    record(engine, "run-2", Verdict(vendor="procuros", doc_type="INVOICE", document_id="9", identifier="RE-9",
                                    outcome=Outcome.UNCERTAIN, message="answer lost after sending",
                                    attempts_before=1))

    everything = attention.open_documents(engine)
    assert [d.document_id for d in everything] == ["9", "7", "1"]  # the latest failure first
    assert [d.uncertain for d in everything] == [True, True, False]
    lost = everything[0]
    assert (lost.outcome, lost.attempts) == ("UNCERTAIN", 1)  # UNCERTAIN counts no attempt
    assert everything[1].vendor_link == "RamBase error 100089 | RamBase operation 5001"
    assert [d.document_id for d in attention.open_documents(engine, outcome="UNCERTAIN")] == ["9"]
    assert [d.document_id for d in attention.open_documents(engine, vendors={"rambase"})] == ["7"]
    assert [d.document_id for d in attention.open_documents(engine, doc_type="ORDER")] == ["1"]
    assert "UNCERTAIN" in attention.known_outcomes(engine) and "DELIVERED" not in attention.known_outcomes(engine)
    # every type this version sends, and every type with an open document (here one no version sends)
    record(engine, "run-3", Verdict(vendor="procuros", doc_type="RETIRED_TYPE", document_id="10", identifier="X-10",
                                    outcome=Outcome.REJECTED))
    types = attention.known_types(engine)
    assert {("procuros", "INVOICE"), ("procuros", "ORDER"), ("rambase", "INVOICE_FORWARDING"),
            ("gep", "POR_STATUS"), ("procuros", "RETIRED_TYPE")} <= set(types)
    assert types == sorted(types)


def test_a_document_recorded_before_0003_belongs_to_the_dags_with_its_run_and_no_report_is_read(
        engine, tmp_path, monkeypatch):
    """Scheduled runs of two DAGs share a run id. For verdicts recorded before revision 0003, whose DAG the
    journal does not know, the owners are the vendor's DAGs with a run of that id (all of them: only a person
    who may read every one sees it). No report file is read to guess (issue 27, point 7)."""
    dags = {"rambase_purchase_orders": "rambase", "rambase_invoice_forwarding": "rambase",
            "gep_por_status": "gep"}
    shared = "scheduled__2026-11-30T10:15:00+00:00"
    record(engine, shared,
           Verdict(vendor="rambase", doc_type="PURCHASE_ORDER_UPDATE", document_id="1", identifier="100001", outcome=Outcome.REJECTED, message="mismatch"),
           Verdict(vendor="rambase", doc_type="INVOICE_FORWARDING", document_id="2", identifier="100002", outcome=Outcome.REJECTED, message="failed"), dag_id=None)
    record(engine, "manual__gep", Verdict(vendor="gep", doc_type="POR_STATUS", document_id="3", identifier="X-3", outcome=Outcome.REJECTED, message="invalid"), dag_id=None)
    record(engine, "deleted-run", Verdict(vendor="rambase", doc_type="INVOICE_FORWARDING", document_id="4", identifier="100004", outcome=Outcome.REJECTED), dag_id=None)
    record(engine, shared, Verdict(vendor="rambase", doc_type="INVOICE_FORWARDING", document_id="5",
                                   identifier="100005", outcome=Outcome.REJECTED), dag_id="rambase_invoice_forwarding")
    runs_of = {shared: {"rambase_purchase_orders", "rambase_invoice_forwarding", "gep_por_status"},
               "manual__gep": {"gep_por_status"}}
    monkeypatch.setattr(runs, "run_dags", lambda session, run_ids, dag_ids: {
        r: runs_of[r] & set(dag_ids) for r in run_ids if r in runs_of})
    reads = []
    monkeypatch.setattr(Folder, "read_text", lambda self, name: reads.append(name))

    documents = attention.open_documents(engine)
    owners = runs.Owners(None, dags).resolve(documents)
    by_id = {d.document_id: owners[i] for i, d in enumerate(documents)}
    assert by_id["1"] == by_id["2"] == {"rambase_purchase_orders", "rambase_invoice_forwarding"}
    assert by_id["3"] == {"gep_por_status"}
    # No run of any DAG explains it: every DAG of its vendor may own it (only who reads all of them sees it).
    assert by_id["4"] == {"rambase_purchase_orders", "rambase_invoice_forwarding"}
    assert by_id["5"] == {"rambase_invoice_forwarding"}  # the journal says so
    assert reads == []


def test_a_dag_id_in_the_journal_is_taken_as_it_is():
    document = attention.Document("procuros", "ORDER", "1", "PO-1", "REJECTED", None, "r", 1, None, "run-1",
                                  "", "", "", dag_id="procuros_outgoing_eu")
    owners = runs.Owners(None, {"procuros_outgoing": "procuros"}).resolve([document])
    assert owners == {0: {"procuros_outgoing_eu"}}
