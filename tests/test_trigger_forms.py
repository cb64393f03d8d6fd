"""Trigger forms: every DAG's params render a clear form, and Airflow itself rejects bad input.

A trigger (UI form, REST API, ``airflow dags trigger``) is validated by the scheduler's copy
of the DAG: ``create_dagrun`` merges the conf into the serialized params and validates them.
These tests take the same path: serialize, deserialize, ``deep_merge(conf).validate()``.
"""

from __future__ import annotations

import pytest
from airflow.exceptions import ParamValidationError

from conftest import connect
from erp_outbound_tools.demo.run import load_dag
from erp_outbound_tools.demo.erp import build_demo_erp
from erp_rows import documents

DAG_IDS = ["procuros_outgoing", "procuros_tasks", "rambase_purchase_orders", "rambase_invoice_forwarding",
           "gep_por_status"]
SENDING_DAGS = [d for d in DAG_IDS if d != "procuros_tasks"]


def scheduler_params(dag_id: str):
    """The params as the scheduler holds them (what a trigger's conf is checked against)."""
    from airflow.serialization.serialized_objects import DagSerialization

    return DagSerialization.deserialize_dag(DagSerialization.serialize_dag(load_dag(dag_id))).params


def accepted(dag_id: str, conf: dict) -> dict:
    return scheduler_params(dag_id).deep_merge(conf).validate()


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_the_defaults_validate(dag_id):
    params = scheduler_params(dag_id)
    assert params.validate()["dry_run"] is False
    assert load_dag(dag_id).params.validate() == params.validate()


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_every_field_has_a_title_a_description_and_a_section(dag_id):
    for name, param in scheduler_params(dag_id).items():
        assert param.schema.get("title"), f"{dag_id}.{name} has no title"
        assert param.description and len(param.description) > 20, f"{dag_id}.{name} has no description"
        assert param.schema.get("section"), f"{dag_id}.{name} is in no section"


def test_procuros_document_types_are_a_multi_select_with_display_names():
    schema = scheduler_params("procuros_outgoing").get_param("doc_types").schema
    types = schema["items"]["enum"]
    assert set(types) == {"ORDER", "ORDER_RESPONSE", "SHIPPING_NOTICE", "INVOICE", "CREDIT_NOTE", "RECEIVAL_NOTICE",
                          "REMITTANCE_ADVICE", "SALES_REPORT", "PRODUCT_CATALOG", "INVENTORY_REPORT",
                          "DISPATCH_INSTRUCTION", "DISPATCH_INSTRUCTION_RESPONSE"}
    # The React form shows an array with ``examples`` as a multi-select of those options.
    assert schema["type"] == "array" and schema["examples"] == types
    assert schema["values_display"]["ORDER"] == "Orders"
    assert schema["values_display"]["ORDER_RESPONSE"] == "Order responses"
    assert schema["values_display"]["PRODUCT_CATALOG"] == "Product catalogs (articles and prices)"
    assert set(schema["values_display"]) == set(types)
    assert all(label != value for value, label in schema["values_display"].items())


@pytest.mark.parametrize("dag_id, doc_type", [("rambase_purchase_orders", "PURCHASE_ORDER_UPDATE"),
                                              ("rambase_invoice_forwarding", "INVOICE_FORWARDING"),
                                              ("gep_por_status", "POR_STATUS")])
def test_a_dag_of_one_document_type_names_it_instead_of_offering_a_field(dag_id, doc_type):
    params = scheduler_params(dag_id)
    assert "doc_types" not in params
    assert doc_type in params.get_param("limit").description


def test_only_procuros_has_an_error_reporting_threshold():
    # RamBase and GEP SMART have no endpoint to report a document the ERP could not build.
    assert scheduler_params("procuros_outgoing").get_param("report_after").schema["section"] == "Error reporting"
    for dag_id in DAG_IDS[1:]:
        assert "report_after" not in scheduler_params(dag_id)


@pytest.mark.parametrize("dag_id, conf", [
    ("procuros_outgoing", {"doc_types": ["ORDER", "INVOICE"], "limit": 5, "only_ids": ["17", "SO 1001"],
                           "report_after": 1, "dry_run": True}),
    ("procuros_tasks", {"per_page": 2, "dry_run": True}),
    ("rambase_purchase_orders", {"limit": 3, "only_ids": ["100042"]}),
    ("rambase_invoice_forwarding", {"wait_minutes": 0.01, "limit": 5}),
    ("gep_por_status", {"batch_size": 7, "only_ids": []}),
    # what the React form sends for a list with a trailing newline, and for a cleared list
    ("rambase_invoice_forwarding", {"only_ids": ["100001", ""]}),
    ("procuros_outgoing", {"only_ids": None}),
])
def test_good_input_is_accepted(dag_id, conf):
    values = accepted(dag_id, conf)
    assert {k: values[k] for k in conf} == conf


@pytest.mark.parametrize("dag_id, conf, complaint", [
    ("procuros_outgoing", {"limit": -1}, "less than the minimum"),
    ("procuros_outgoing", {"limit": "5"}, "is not of type 'integer'"),
    ("procuros_outgoing", {"doc_types": ["ORDER", "DELIVERY_NOTE"]}, "is not one of"),
    ("procuros_outgoing", {"doc_types": []}, "non-empty"),
    ("procuros_outgoing", {"doc_types": ["ORDER", "ORDER"]}, "non-unique"),
    ("procuros_outgoing", {"doc_types": "ORDER"}, "is not of type 'array'"),
    ("procuros_outgoing", {"report_after": 0}, "less than the minimum"),
    ("procuros_outgoing", {"dry_run": "yes"}, "is not of type 'boolean'"),
    ("procuros_outgoing", {"only_ids": ["1, 2"]}, "does not match"),
    ("procuros_outgoing", {"only_ids": [" 17"]}, "does not match"),
    ("procuros_outgoing", {"only_ids": [17]}, "is not of type 'string'"),
    ("procuros_tasks", {"per_page": 101}, "greater than the maximum"),
    ("procuros_tasks", {"per_page": 0}, "less than the minimum"),
    ("rambase_purchase_orders", {"limit": -5}, "less than the minimum"),
    ("rambase_invoice_forwarding", {"wait_minutes": 0}, "less than the minimum"),
    ("rambase_invoice_forwarding", {"wait_minutes": "30"}, "is not of type 'number'"),
    ("gep_por_status", {"batch_size": 1001}, "greater than the maximum"),
    ("gep_por_status", {"limit": 2.5}, "is not of type 'integer'"),
])
def test_bad_input_is_rejected_by_airflow(dag_id, conf, complaint):
    with pytest.raises(ParamValidationError) as raised:
        accepted(dag_id, conf)
    message = str(raised.value)
    assert f"Invalid input for param {next(iter(conf))}" in message
    assert complaint in message


@pytest.mark.parametrize("dag_id", SENDING_DAGS)
def test_every_sending_dag_offers_dry_run_limit_and_resending(dag_id):
    params = scheduler_params(dag_id)
    assert {"dry_run", "limit", "only_ids"} <= set(params)
    assert params.get_param("only_ids").schema["section"] == "Resending"
    assert params.get_param("limit").schema["minimum"] == 0


@pytest.mark.airflow
def test_a_run_with_bad_input_is_refused_before_it_starts(files):
    """dag.test() creates its run the way a trigger does: the conf is validated before any task."""
    with pytest.raises(ParamValidationError, match="Invalid input for param limit"):
        load_dag("procuros_outgoing").test(run_conf={"limit": -1})


@pytest.mark.airflow
def test_the_lists_the_form_sends_reach_the_run_as_meant(tmp_path, files, sandbox, monkeypatch):
    """The React form sends a trailing newline as an empty line and a cleared list as null."""
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 40, seed=9)
    connect(monkeypatch, url, sandbox.base_url)
    wanted = sorted(documents(url).query("doc_type == 'ORDER'").id)[:2]

    dag = load_dag("procuros_outgoing")
    assert str(dag.test(run_conf={"doc_types": ["ORDER"], "only_ids": [*wanted, ""]}).state).endswith("success")
    touched = documents(url).query("doc_type == 'ORDER' and (status.notna() or attempts > 0)", engine="python")
    assert sorted(touched.id) == wanted

    assert str(dag.test(run_conf={"doc_types": ["ORDER"], "only_ids": None}).state).endswith("success")
    orders = documents(url).query("doc_type == 'ORDER'")
    assert (orders.status.notna() | (orders.attempts > 0)).all(), "null must mean every pending order"
