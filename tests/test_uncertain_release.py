"""Uncertain RamBase forwardings and their release, and a failed operation's instance id, on SQLite,
PostgreSQL and MariaDB: the write-back and release SQL as the ERP runs it (issue 15, points 2 and 3)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp import release as releasing
from erp_outbound.erp.hook import make_engine
from erp_outbound.erp.journal import Journal
from erp_outbound.erp.state import ensure_tables
from erp_outbound.erp.writeback import apply_verdicts
from erp_outbound.ui import attention
from erp_outbound_tools.demo.erp import build_demo_erp

DAG = "rambase_invoice_forwarding"


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def erp(request, tmp_path):
    url = (f"sqlite:///{tmp_path / 'erp.db'}" if request.param == "sqlite"
           else request.getfixturevalue(f"{request.param}_url"))
    build_demo_erp(url, 60, seed=4)
    engine = make_engine(url)
    ensure_tables(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM erp_outbound_verdicts")
        conn.exec_driver_sql("DELETE FROM erp_outbound_claims")
        conn.exec_driver_sql("UPDATE rambase_invoice_matches SET operation_requested_at = NULL, "
                             "operation_instance_id = NULL, attempts = 0")
    yield engine
    engine.dispose()


def matches(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM rambase_invoice_matches WHERE supplier_invoice_id IS NOT NULL "
                                 "ORDER BY id"))
        return {str(r.id): dict(r._mapping) for r in rows}


def requested(engine, ids: list[str]) -> None:
    """What the load step writes before each POST (mark_requested.sql)."""
    with engine.begin() as conn:
        for i in ids:
            conn.execute(text("UPDATE rambase_invoice_matches SET operation_requested_at = CURRENT_TIMESTAMP "
                              "WHERE id = :i"), {"i": i})


def verdict(row: dict, outcome: Outcome, **fields) -> Verdict:
    return Verdict(vendor="rambase", doc_type="INVOICE_FORWARDING", document_id=str(row["id"]),
                   identifier=str(row["purchase_order_response_id"]), outcome=outcome, attempts_before=row["attempts"],
                   **fields)


def test_uncertain_rows_count_no_attempt_and_are_released_as_delivered_or_pending(erp):
    rows = list(matches(erp).values())[:4]
    ids = [str(r["id"]) for r in rows]
    requested(erp, ids)
    journal = Journal(erp, "scheduled__1", dag_id=DAG)
    journal.record([verdict(r, Outcome.UNCERTAIN, message=f"check order response {r['purchase_order_response_id']}")
                    for r in rows])
    assert apply_verdicts(erp, journal, journal.unapplied("rambase")) == {"UNCERTAIN": 4}

    after = matches(erp)
    assert all(after[i]["attempts"] == 0 and after[i]["forward_status"] is None for i in ids)
    assert all(after[i]["operation_requested_at"] is not None for i in ids), "the request mark stays"
    assert all(after[i]["rambase_error"].startswith("check order response") for i in ids)
    listed = {r.document_id: r for r in releasing.uncertain_rows(erp, "rambase")}
    assert set(listed) == set(ids) and all(listed[i].dag_id == DAG for i in ids)
    assert f"supplier invoice {rows[0]['supplier_invoice_id']}" in listed[ids[0]].check

    with pytest.raises(ValueError, match="--reference is the vendor's id of one delivered document"):
        releasing.release(erp, "rambase", DAG, [ids[0], ids[1]], "delivered", reference="400123")
    released, refused = releasing.release(erp, "rambase", DAG, [ids[0]], "delivered", reference="400123")
    assert [r.document_id for r in released] == ids[:1] and refused == {}
    released, refused = releasing.release(erp, "rambase", DAG, [ids[1]], "delivered")
    assert [r.document_id for r in released] == ids[1:2] and refused == {}
    released, refused = releasing.release(erp, "rambase", DAG, [ids[2], ids[3], ids[0]], "pending")
    assert [r.document_id for r in released] == ids[2:]
    assert refused == {ids[0]: "not an uncertain INVOICE_FORWARDING document"}

    after = matches(erp)
    assert [after[i]["forward_status"] for i in ids] == ["FORWARDED", "FORWARDED", None, None]
    assert str(after[ids[0]]["operation_instance_id"]) == "400123" and after[ids[1]]["operation_instance_id"] is None
    assert all(after[i]["operation_requested_at"] is None and after[i]["rambase_error"] is None for i in ids[2:])
    assert all(after[i]["attempts"] == 0 for i in ids)
    assert releasing.uncertain_rows(erp, "rambase") == []
    # Pending ones are extracted again by the next run, delivered ones never.
    with erp.connect() as conn:
        pending = {str(r.document_id) for r in conn.execute(
            text(open_sql("pending.sql")), {"after_id": None, "chunk_size": 10_000})}
    assert set(ids[2:]) <= pending and not set(ids[:2]) & pending
    page = {d.document_id: d for d in attention.open_documents(erp, vendors=["rambase"])}
    assert not set(ids[:2]) & set(page)
    assert all(page[i].outcome == "DEFERRED" and not page[i].uncertain for i in ids[2:])


def test_a_failed_operation_keeps_its_instance_id_for_reference_only(erp):
    rows = list(matches(erp).values())[:2]
    ids = [str(r["id"]) for r in rows]
    requested(erp, ids)
    with erp.begin() as conn:
        for i, instance in zip(ids, ("400001", "400002")):
            conn.execute(text("UPDATE rambase_invoice_matches SET operation_instance_id = :o WHERE id = :i"),
                         {"o": instance, "i": i})
    journal = Journal(erp, "scheduled__1", dag_id=DAG)
    journal.record([verdict(rows[0], Outcome.REJECTED, message="Product not found", error_code="100089",
                            vendor_reference="400001"),
                    verdict(rows[1], Outcome.REJECTED, message="operation 400002 ended in error",
                            vendor_reference="400002")])
    apply_verdicts(erp, journal, journal.unapplied("rambase"))

    after = matches(erp)
    assert [str(after[i]["operation_instance_id"]) for i in ids] == ["400001", "400002"]
    assert all(after[i]["operation_requested_at"] is None and after[i]["attempts"] == 1 for i in ids)
    with erp.connect() as conn:
        pending = {str(r.document_id): r.operation_instance_id for r in conn.execute(
            text(open_sql("pending.sql")), {"after_id": None, "chunk_size": 10_000})}
    assert ids[0] not in pending, "an error id waits for a person"
    assert pending[ids[1]] is None, "no operation to poll: the row is POSTed anew"


def open_sql(name: str) -> str:
    from erp_outbound.erp.sql import sql_root

    return (sql_root() / "rambase" / "invoice_forwarding" / name).read_text()
