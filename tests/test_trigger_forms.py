"""Trigger forms: every DAG's params render a clear form, and Airflow itself rejects bad input.

A trigger (UI form, REST API, ``airflow dags trigger``) is validated by the scheduler's copy
of the DAG: ``create_dagrun`` merges the conf into the serialized params and validates them.
These tests take the same path: serialize, deserialize, ``deep_merge(conf).validate()``.
"""

from __future__ import annotations

import json

import pytest
from airflow.exceptions import ParamValidationError

from conftest import connect
from erp_outbound.core.params import as_ids, as_limit
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
    ("gep_por_status", {"limit": None}),
    ("procuros_outgoing", {"only_ids": ["PO-2026-000008"], "report_after": 100}),
    # what the React form sends for a list with a trailing newline, and for a cleared list
    ("rambase_invoice_forwarding", {"only_ids": ["100001", ""]}),
    ("procuros_outgoing", {"only_ids": None}),
])
def test_good_input_is_accepted(dag_id, conf):
    values = accepted(dag_id, conf)
    assert {k: values[k] for k in conf} == conf


@pytest.mark.parametrize("dag_id, conf, complaint", [
    ("procuros_outgoing", {"limit": -1}, "less than the minimum"),
    ("procuros_outgoing", {"limit": 0}, "0 is less than the minimum of 1"),
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
    assert params.get_param("limit").value is None  # empty: every pending document


def number_fields(dag_id: str) -> dict[str, dict]:
    return {name: param.schema for name, param in scheduler_params(dag_id).items()
            if {"integer", "number"} & set(param.schema["type"] if isinstance(param.schema["type"], list)
                                           else [param.schema["type"]])}


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_the_form_cannot_clamp_a_typed_number(dag_id):
    """The React form clamps a number into schema minimum/maximum on blur (-1 -> 0, 500 -> 100).

    No number field shows it bounds to clamp to: what was typed is sent, and Airflow checks the bounds.
    """
    fields = number_fields(dag_id)
    assert fields
    for name, schema in fields.items():
        assert "minimum" not in schema and "maximum" not in schema, f"{dag_id}.{name} would be clamped by the form"
        assert schema["allOf"], f"{dag_id}.{name} has no bounds at all"


# What the form sends for what a person types: Number(text), or null for an emptied field.
TYPOS = [-1, 0, -100, 0.5, 1.5, "0", "-1", False, True]


@pytest.mark.parametrize("dag_id", SENDING_DAGS)
@pytest.mark.parametrize("typed", TYPOS)
def test_no_typed_limit_makes_a_run_send_everything(dag_id, typed):
    """Only the empty field means "all pending": every other value is refused or limits the run."""
    try:
        values = accepted(dag_id, {"limit": typed})
    except ParamValidationError as refused:
        assert "Invalid input for param limit" in str(refused)
        return
    assert as_limit(values["limit"]) is not None, f"limit {typed!r} would send every pending document"


@pytest.mark.parametrize("dag_id", SENDING_DAGS)
def test_an_empty_limit_is_all_and_limits_are_kept(dag_id):
    assert as_limit(accepted(dag_id, {"limit": None})["limit"]) is None
    assert as_limit(accepted(dag_id, {"limit": 1})["limit"]) == 1
    assert as_limit(accepted(dag_id, {"limit": 250})["limit"]) == 250


@pytest.mark.parametrize("dag_id, name, typed, complaint", [
    ("procuros_outgoing", "report_after", 500, "500 is greater than the maximum of 100"),
    ("procuros_outgoing", "report_after", -1, "-1 is less than the minimum of 1"),
    ("procuros_tasks", "per_page", 500, "500 is greater than the maximum of 100"),
    ("gep_por_status", "batch_size", 5000, "5000 is greater than the maximum of 1000"),
    ("rambase_invoice_forwarding", "wait_minutes", -1, "-1 is less than the minimum of 0.01"),
])
def test_out_of_range_numbers_are_refused_not_changed(dag_id, name, typed, complaint):
    with pytest.raises(ParamValidationError) as raised:
        accepted(dag_id, {name: typed})
    assert complaint in str(raised.value)


@pytest.mark.parametrize("value", [0, -1, "0", "-1", 2.5, True, "all", "five"])
def test_the_operator_refuses_a_limit_that_is_not_a_positive_whole_number(value):
    with pytest.raises(ValueError, match="Limit must be a whole number of at least 1"):
        as_limit(value)


def test_the_operator_reads_the_limit_and_only_these():
    assert [as_limit(v) for v in (None, "", "None", 1, "7", 3.0)] == [None, None, None, 1, 7, 3]
    assert as_ids(None) is None and as_ids([]) is None and as_ids("") is None
    assert as_ids(["17", "", "PO-2026-000008"]) == ["17", "PO-2026-000008"]
    with pytest.raises(ValueError, match="only blank lines"):
        as_ids(["", " "])


@pytest.mark.airflow
def test_a_run_with_bad_input_is_refused_before_it_starts(files):
    """dag.test() creates its run the way a trigger does: the conf is validated before any task."""
    for typed in (-1, 0):
        with pytest.raises(ParamValidationError, match="Invalid input for param limit"):
            load_dag("procuros_outgoing").test(run_conf={"limit": typed})


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


@pytest.mark.airflow
def test_only_these_takes_erp_ids_and_document_numbers_and_names_what_matched_nothing(tmp_path, files, sandbox,
                                                                                        monkeypatch, capfd):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 40, seed=9)
    connect(monkeypatch, url, sandbox.base_url)
    orders = documents(url).query("doc_type == 'ORDER'").sort_values("id", key=lambda ids: ids.astype(int))
    by_id, by_number = orders.iloc[0], orders.iloc[1]
    conf = {"doc_types": ["ORDER"], "only_ids": [by_id.id, by_number.number, "PO-2099-999999", "0"]}

    run = load_dag("procuros_outgoing").test(run_conf=conf)
    assert str(run.state).endswith("success")
    touched = documents(url).query("doc_type == 'ORDER' and (status.notna() or attempts > 0)", engine="python")
    assert sorted(touched.id) == sorted([by_id.id, by_number.id])

    named = "Only these: 'PO-2099-999999', '0' match no pending document of ORDER"
    printed = capfd.readouterr()
    assert named in printed.out + printed.err  # the extract task's log
    report = json.loads(next((files / "reports").glob("procuros_outgoing__*.json")).read_text())
    assert any(note.startswith(named) for note in report["notes"]), report["notes"]
    assert by_id.id not in report["notes"][0] and by_number.number not in report["notes"][0]
