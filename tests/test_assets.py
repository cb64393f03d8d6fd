"""Asset events: reconcile tells Airflow which document types were delivered, for downstream DAGs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import connect
from erp_outbound.core.assets import delivery_asset, delivery_extras, vendor_alias
from erp_outbound_tools.demo.run import load_dag
from erp_outbound_tools.demo.erp import build_demo_erp


def asset_events(dag_id: str, run_id: str) -> dict[str, dict]:
    """The asset events the run wrote into Airflow's metadata database: asset name -> (uri, extra)."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetModel.name, AssetModel.uri, AssetEvent.extra, AssetEvent.source_task_id)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetEvent.source_dag_id == dag_id, AssetEvent.source_run_id == run_id)
        ).all()
    return {name: {"uri": uri, "extra": extra, "task": task} for name, uri, extra, task in rows}


def report_of(files: Path, run_id: str) -> tuple[Path, dict]:
    (path,) = [p for p in (files / "reports").glob("procuros_outgoing__*.json")
               if json.loads(p.read_text())["run_id"] == run_id]
    return path, json.loads(path.read_text())


def test_names_follow_one_documented_pattern():
    asset = delivery_asset("procuros", "ORDER")
    assert asset.name == "erp_outbound.procuros.ORDER"
    assert asset.uri == "erp-outbound://procuros/ORDER"  # Airflow accepts the scheme and keeps the case
    assert vendor_alias("rambase").name == "erp_outbound.rambase"


def test_extras_only_for_types_with_deliveries_and_never_for_a_dry_run():
    summary = {"vendor": "gep", "dry_run": False,
               "by_type": {"POR_STATUS": {"DELIVERED": 3, "REJECTED": 1}, "OTHER": {"REJECTED": 2}}}
    extras = delivery_extras(summary, "gep_por_status", "run-1", {"json": "/r/x.json"})
    assert list(extras) == ["POR_STATUS"]
    assert extras["POR_STATUS"] == {"vendor": "gep", "doc_type": "POR_STATUS", "dag_id": "gep_por_status",
                                    "run_id": "run-1", "delivered": 3, "no_action": 0, "rejected": 1,
                                    "build_error": 0, "deferred": 0, "uncertain": 0, "report": "/r/x.json"}
    assert delivery_extras(summary | {"dry_run": True}, "gep_por_status", "run-1", {}) == {}


@pytest.mark.airflow
def test_a_run_emits_one_event_per_delivered_type_and_a_dry_run_none(tmp_path, files, sandbox, monkeypatch):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 80, seed=9)
    connect(monkeypatch, url, sandbox.base_url)
    assert vendor_alias("procuros") in load_dag("procuros_outgoing").get_task("reconcile").outlets

    dry = load_dag("procuros_outgoing").test(run_conf={"dry_run": True})
    assert str(dry.state).endswith("success")
    assert asset_events("procuros_outgoing", dry.run_id) == {}, "a dry run delivers nothing"

    real = load_dag("procuros_outgoing").test(run_conf={"doc_types": ["ORDER", "INVOICE", "CREDIT_NOTE"]})
    assert str(real.state).endswith("success")
    report_path, report = report_of(files, real.run_id)
    delivered = {t: c["DELIVERED"] for t, c in report["by_type"].items() if c.get("DELIVERED")}
    assert set(delivered) == {"ORDER", "INVOICE", "CREDIT_NOTE"}

    events = asset_events("procuros_outgoing", real.run_id)
    assert set(events) == {f"erp_outbound.procuros.{t}" for t in delivered}
    for doc_type, count in delivered.items():
        event = events[f"erp_outbound.procuros.{doc_type}"]
        assert event["uri"] == f"erp-outbound://procuros/{doc_type}"
        assert event["task"] == "reconcile"
        counts = report["by_type"][doc_type]
        assert event["extra"] == {
            "vendor": "procuros", "doc_type": doc_type, "dag_id": "procuros_outgoing", "run_id": real.run_id,
            "delivered": count, "no_action": counts.get("NO_ACTION", 0), "rejected": counts.get("REJECTED", 0),
            "build_error": counts.get("BUILD_ERROR", 0), "deferred": counts.get("DEFERRED", 0),
            "uncertain": counts.get("UNCERTAIN", 0),
            "report": str(report_path),
        }

    # Nothing left to deliver: the next run emits nothing (rejected documents go again, and fail again).
    again = load_dag("procuros_outgoing").test(run_conf={"doc_types": ["ORDER", "INVOICE", "CREDIT_NOTE"]})
    assert str(again.state).endswith("success")
    assert asset_events("procuros_outgoing", again.run_id) == {}
