"""The contract check's rules and messages, and the Procuros translation it compiles.

Procuros' closed values are compiled two ways (procuros/payload_contract.py): ``unevaluatedProperties:
false`` where a schema combines others, the inlined schema with ``additionalProperties: false`` where it
combines nothing (the fast one). The literal translation (every closed value as ``unevaluatedProperties``)
is the reference: on every type's valid payload and on its mutations (an unknown property at every
object, every property taken out, every leaf replaced by a wrong type, an overlong text or null) both give
the same verdict.
"""

from __future__ import annotations

import copy
import json

import jsonschema_rs
import pandas as pd
import pytest

import procuros_more_rows as more
import test_procuros_transforms as first
from erp_outbound.core.batch import Built, Extracted
from erp_outbound.core.contract import SCHEMA_DIALECT, build_checked, contract
from erp_outbound.core.flows import flow
from erp_outbound.procuros import payload_contract as procuros_contract

TZ = "Europe/Berlin"
ROWS = {t: first for t in first.HEADER} | {t: more for t in more.HEADER}


def valid_payload(doc_type: str) -> dict:
    """One payload of ``doc_type`` as the builder makes it from good ERP rows."""
    rows = ROWS[doc_type]
    data = Extracted(pd.DataFrame([rows.HEADER[doc_type](1)], columns=rows.HEADER_COLUMNS[doc_type]),
                     pd.DataFrame([rows.line(doc_type, 1, 1), rows.line(doc_type, 1, 2)],
                                  columns=rows.LINE_COLUMNS[doc_type]),
                     pd.DataFrame(first.PARTIES, columns=first.PARTY_COLUMNS))
    built = build_checked("procuros", flow("procuros", doc_type), data, TZ)
    assert len(built.payloads) == 1, built.errors.to_dict("records")
    return json.loads(built.payloads["body"][0])


def mutations(payload) -> list:
    """The payload with one thing wrong (or not) at a time, everywhere in it."""
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            found.append((path, "add", None))
            for key in list(node):
                found.append((path + [key], "drop", None))
                walk(node[key], path + [key])
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, path + [i])
        for replacement in ({"x": 1}, [1], 12345, "Z" * 100_001, None, True, -1.5):
            found.append((path, "set", replacement))

    walk(payload, [])
    changed = []
    for path, action, value in found:
        copy_ = copy.deepcopy(payload)
        if not path:
            parent, last = None, None
            target = copy_
        else:
            parent = copy_
            for part in path[:-1]:
                parent = parent[part]
            last = path[-1]
            target = parent[last]
        if action == "add":
            target["notAProcurosField"] = "x"
        elif action == "drop":
            del parent[last]
        elif parent is None:
            copy_ = value
        else:
            parent[last] = value
        changed.append(copy_)
    return changed


@pytest.fixture(scope="module")
def translations():
    fast = procuros_contract.contract()
    literal = procuros_contract.contract(inline_plain_objects=False)
    return fast, literal


@pytest.mark.parametrize("doc_type", sorted(ROWS))
def test_the_fast_translation_gives_the_literal_ones_verdict_on_every_mutation(doc_type, translations):
    fast, literal = translations
    schema = fast.schemas[doc_type]
    # the fast one is used: at least the root is inlined (no unevaluatedProperties at the root)
    assert "unevaluatedProperties" not in schema and schema["additionalProperties"] is False
    fast_valid = jsonschema_rs.validator_for(schema, validate_formats=True).is_valid
    literal_valid = jsonschema_rs.validator_for(literal.schemas[doc_type], validate_formats=True).is_valid
    payload = valid_payload(doc_type)
    assert fast_valid(payload) and literal_valid(payload)
    instances = mutations(payload)
    assert len(instances) > 50
    differ = [json.dumps(i)[:300] for i in instances if fast_valid(i) != literal_valid(i)]
    assert differ == []
    refused = sum(not fast_valid(i) for i in instances)
    assert refused > len(instances) / 2  # the mutations are mostly wrong: the check is not a pass-through


@pytest.mark.parametrize("doc_type", sorted(ROWS))
def test_an_unknown_property_anywhere_is_refused_and_named(doc_type):
    payload = valid_payload(doc_type)
    checked = contract("procuros")
    objects = []

    def walk(node, path):
        if isinstance(node, dict):
            objects.append(path)
            for key, item in node.items():
                walk(item, path + [key])
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, path + [i])

    walk(payload, [])
    assert len(objects) > 5
    for path in objects:
        changed = copy.deepcopy(payload)
        node = changed
        for part in path:
            node = node[part]
        node["notAProcurosField"] = 1
        found = checked.violations(doc_type, json.dumps(changed))
        assert found, path
        assert any("notAProcurosField" in message and "does not know" in message for _, message in found), found


def order_body(**header) -> str:
    payload = valid_payload("ORDER")
    payload["content"]["header"].update(header)
    return json.dumps(payload)


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"comments": "x" * 200_000}, "header.comments",
     "header.comments: 200,000 characters, the contract allows 100,000"),
    ({"currency": "EURO"}, "header.currency",
     "header.currency: 'EURO' does not match the contract's pattern ^[A-Z]{3}$"),
    ({"orderDate": "2026-11-02T09:00:00"}, "header.orderDate",
     "header.orderDate: '2026-11-02T09:00:00' is not a date-time as the contract requires"),
    ({"orderIdentfier": "PO-1"}, "header",
     "header: the contract does not know the property header.orderIdentfier"),
    ({"version": "3"}, "header.version", "header.version: '3' is not of type integer as the contract requires"),
])
def test_procuros_violations_name_the_field_and_the_rule(change, field, message):
    assert contract("procuros").violations("ORDER", order_body(**change)) == [(field, message)]


def test_a_missing_required_field_is_named():
    payload = valid_payload("ORDER")
    del payload["content"]["header"]["orderIdentifier"]
    assert contract("procuros").violations("ORDER", json.dumps(payload)) == [
        ("header.orderIdentifier", "header.orderIdentifier: the contract requires it, the payload has none")]


def test_a_body_that_is_not_strict_json_names_the_value():
    body = order_body().replace('"quantity":', '"quantity":NaN,"x":', 1)
    found = contract("procuros").violations("ORDER", body)
    assert ("items[0].quantity", "items[0].quantity: nan is not a JSON number") in found
    surrogate = order_body(comments="a\ud800")
    assert contract("procuros").violations("ORDER", surrogate) == [
        ("header.comments", "header.comments: 'a\\ud800' holds a lone surrogate U+D800, not Unicode text")]
    assert contract("procuros").violations("ORDER", '{"type": "ORDER", ')[0][0] == "body"


def test_rambase_and_gep_rules():
    rambase = contract("rambase")
    body = json.dumps({"purchaseOrder": {"location": {"locationId": 9999}, "shipment": {"deliveryTerms": "DAT"}}})
    assert sorted(rambase.violations("PURCHASE_ORDER_UPDATE", body)) == [
        ("purchaseOrder.location.locationId",
         "purchaseOrder.location.locationId: 9999, the contract requires at least 10000"),
        ("purchaseOrder.shipment.deliveryTerms",
         "purchaseOrder.shipment.deliveryTerms: 'DAT' is not one of CFR, CIF, CIP, CPT, DAP, DDP, DPU, EXW, FAS, "
         "FCA, FOB"),
    ]
    gep = contract("gep")
    assert gep.violations("POR_STATUS", json.dumps({"status": "Processed"})) == [
        ("key", "key: the contract requires it, the payload has none")]
    assert gep.violations("POR_STATUS", json.dumps({"key": "1"})) == []


def test_check_moves_only_the_payloads_that_break_the_contract_to_the_build_errors():
    good, bad = order_body(), order_body(currency="EURO")
    meta = {"identifier": ["PO-1", "PO-2"], "attempts": [0, 0]}
    built = Built(pd.DataFrame({"document_id": ["1", "2"], **meta, "body": [good, bad]}),
                  pd.DataFrame(columns=["document_id", "identifier", "attempts", "errors"]))
    checked = contract("procuros").check("ORDER", built)
    assert list(checked.payloads["document_id"]) == ["1"]
    assert list(checked.errors["document_id"]) == ["2"]
    assert checked.errors["errors"][0] == {
        "header.currency": ["header.currency: 'EURO' does not match the contract's pattern ^[A-Z]{3}$"]}


def test_schemas_are_2020_12():
    for vendor in ("procuros", "rambase", "gep"):
        for schema in contract(vendor).schemas.values():
            assert schema["$schema"] == SCHEMA_DIALECT
