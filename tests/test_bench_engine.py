"""The engine legs of ``make bench``: they run end to end, and their verdict check catches wrong and lost verdicts.

No figure is asserted (speed is what the benchmark prints); only that the legs measure what they say.
"""

from __future__ import annotations

import json
import socket

import pytest
import sqlalchemy as sa

from erp_outbound_tools.bench import engine
from erp_outbound_tools.bench.engine import Leg, check_verdicts, parse_legs
from erp_outbound_tools.bench.workload import build_po_updates, build_por_statuses


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_legs_are_selectable():
    assert [leg.name for leg in parse_legs("engine", [16, 64], [16])] == [
        "procuros:clean@16", "procuros:clean@64", "rambase:clean@16", "rambase:clean@64", "gep:clean@16",
        "gep:clean@64", "procuros:rate_limit@16", "procuros:faults@16"]
    assert parse_legs("gep:faults,rambase", [16], [64]) == [Leg("gep", "faults", 64), Leg("rambase", "clean", 16)]
    with pytest.raises(SystemExit, match="unknown leg"):
        parse_legs("sap", [16], [16])


def leg_result(vendor, condition, concurrency, load, bare, per_doc_429=0.0, ok=True, cpu=1.0, documents=3000):
    return {"leg": f"{vendor}:{condition}@{concurrency}", "vendor": vendor, "condition": condition,
            "concurrency": concurrency, "documents": documents,
            "load": {"docs_per_second": load, "per_doc_429": per_doc_429, "cpu_seconds": cpu},
            "bare": {"docs_per_second": bare, "cpu_seconds": cpu / 2},
            "verdicts": {"ok": ok, "wrong_count": 0 if ok else 1, "lost_count": 0}}


def test_a_leg_shows_its_median_run_and_the_targets_of_this_round():
    runs = [leg_result("procuros", "rate_limit", 64, load, bare, per_doc_429=q)
            for load, bare, q in ((185.0, 170.0, 0.01), (193.0, 160.0, 0.04), (199.0, 180.0, 0.02))]
    median = engine.median_of(runs)
    assert median["load"]["docs_per_second"] == 193.0 and median["bare"]["docs_per_second"] == 170.0
    assert [r["load_docs_per_second"] for r in median["runs"]] == [185.0, 193.0, 199.0]
    assert engine.verdict_line(median, [median]) == "met"  # >= 190/s with 0.04 429s per document
    assert engine.verdict_line(engine.median_of(runs[:1]), []) == "NOT met"  # 185/s: under 95% of the limit
    assert engine.verdict_line(leg_result("procuros", "rate_limit", 16, 199.0, 180.0, per_doc_429=0.06), []) \
        == "NOT met"  # too many 429s
    # One run with a wrong verdict spoils the leg.
    assert engine.median_of(runs[:2] + [leg_result("procuros", "rate_limit", 64, 150.0, 150.0, ok=False)])[
        "verdicts"]["ok"] is False

    clean = leg_result("procuros", "clean", 64, 1000.0, 1050.0)
    assert engine.verdict_line(leg_result("procuros", "faults", 64, 710.0, 200.0), [clean]) == "71% of clean: met"
    assert engine.verdict_line(leg_result("procuros", "faults", 64, 650.0, 200.0), [clean]) == "65% of clean: NOT met"

    gep = leg_result("gep", "clean", 64, 95000.0, 200000.0, cpu=1.3, documents=120000)
    assert engine.verdict_line(gep, [gep]) == "95,000 vs 200,000 keys/s, CPU s per 1,000 keys 0.011 vs 0.005"
    assert engine.target_of(gep) == "keys/s and CPU s per 1,000 keys beside bare"


def test_a_faults_leg_runs_end_to_end_and_its_check_catches_tampered_verdicts(tmp_path):
    """30 ORDERs with 30% of first attempts faulted: every one delivered, by us and by the bare client,
    and the check agrees; then a tampered ERP fails the check, naming the documents."""
    result = engine.run([Leg("procuros", "faults", 4)], documents=30, latency_ms=0, port=free_port(),
                        workdir=tmp_path, runs=1)["legs"][0]
    assert result["verdicts"] == {"documents": 30, "delivered": 30, "pending": 0, "wrong": [], "lost": [],
                                  "ok": True, "wrong_count": 0, "lost_count": 0}
    assert result["load"]["delivered"] == 30 and result["bare"]["ok_documents"] == 30
    # The faults were really there, for both clients (the same documents are hit: the draw is by body).
    assert result["load"]["retries"] > 0 and result["bare"]["retries"] == result["load"]["retries"]
    assert engine.verdict_line(result, [result]) == "n/a (no clean leg)"

    legdir = tmp_path / "procuros-faults-c4"
    record = json.loads((legdir / "record.json").read_text())
    erp = sa.create_engine(f"sqlite:///{legdir / 'erp.db'}")
    with erp.begin() as conn:
        # PO-B-0000001: the ERP forgets it was delivered; PO-B-0000002: another transaction id;
        # PO-B-0000003: the ERP counts a refusal for a document Procuros took.
        conn.execute(sa.text("UPDATE purchase_orders SET status = NULL WHERE id = 1"))
        conn.execute(sa.text("UPDATE purchase_orders SET procuros_transaction_id = 'x' WHERE id = 2"))
        conn.execute(sa.text("UPDATE purchase_orders SET status = NULL, attempts = 1 WHERE id = 3"))
    erp.dispose()
    check = check_verdicts("procuros", f"sqlite:///{legdir / 'erp.db'}", record)
    assert check["ok"] is False and check["delivered"] == 27
    assert [line.split(":")[0] for line in check["lost"]] == ["PO-B-0000001"]
    assert sorted(line.split(":")[0] for line in check["wrong"]) == ["PO-B-0000002", "PO-B-0000003"]

    # A document marked delivered that Procuros never took.
    record["procuros"]["transactions"] = [t for t in record["procuros"]["transactions"]
                                          if t["identifier"] != "PO-B-0000004"]
    check = check_verdicts("procuros", f"sqlite:///{legdir / 'erp.db'}", record)
    assert "PO-B-0000004: ERP TRANSMITTED, the vendor never took it" in check["wrong"]


def test_the_check_reads_rambase_and_gep_rows(tmp_path):
    rambase_url = f"sqlite:///{tmp_path / 'rambase.db'}"
    build_po_updates(rambase_url, 3)
    gep_url = f"sqlite:///{tmp_path / 'gep.db'}"
    build_por_statuses(gep_url, 3)
    for url, table, column, status in ((rambase_url, "rambase_po_updates", "rambase_status", "SYNCED"),
                                       (gep_url, "gep_por_statuses", "ack_status", "ACKNOWLEDGED")):
        erp = sa.create_engine(url)
        with erp.begin() as conn:
            conn.execute(sa.text(f"UPDATE {table} SET {column} = '{status}' WHERE id IN (1, 2)"))
        erp.dispose()

    # rows 1, 2, 3 are purchase orders 100002, 100003, 100004; a 500 is not taken
    rambase = {"rambase": {"order_puts": [{"id": 100002, "status_code": 500}, {"id": 100003, "status_code": 200},
                                          {"id": 100004, "status_code": 200}]}}
    check = check_verdicts("rambase", rambase_url, rambase)
    assert check["delivered"] == 1
    assert check["wrong"] == ["100002: ERP SYNCED, the vendor never took it"]
    assert check["lost"] == ["100004: the vendor took it, the ERP does not know"]

    gep = {"gep": {"acknowledged": {engine.GEP_PATH: {"4800000001": 1, "4800000003": 1}}}}
    check = check_verdicts("gep", gep_url, gep)
    assert check["delivered"] == 1
    assert check["wrong"] == ["4800000002: ERP ACKNOWLEDGED, the vendor never took it"]
    assert check["lost"] == ["4800000003: the vendor took it, the ERP does not know"]
