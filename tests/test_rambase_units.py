"""RamBase pieces without a server: error bodies, payload constraints, answer rules."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from erp_outbound.core.batch import Extracted
from erp_outbound.core.http import Answer, TransientError
from erp_outbound.core.verdict import Outcome
from erp_outbound.rambase.error_body import parse_error
from erp_outbound.rambase.transforms import build_invoice_forwarding, build_purchase_order_update
from erp_outbound.rambase.verdicts import operation_instance, operation_verdict, order_update_verdict, progress

ERROR = {"httpStatusCode": 400, "message": "Currency mismatch", "translatedMessage": "Valutakonflikt",
         "errorMessage": {"errorMessageId": 108018, "errorMessageLink": "x"},
         "parameters": [{"index": 0, "value": "EUR"}],
         "innerErrors": [{"message": "Order currency is USD", "errorMessage": {"errorMessageId": 100563}}]}


@pytest.mark.parametrize("body", [ERROR, {"error": ERROR}, {"Error": {k[:1].upper() + k[1:]: v for k, v in ERROR.items()}}])
def test_error_bodies_are_read_bare_wrapped_or_pascal_case(body):
    error = parse_error(body)
    assert error.message == "Currency mismatch" and error.error_id == "108018"
    assert error.parameters == ["EUR"]
    assert [e.error_id for e in error.inner] == ["100563"]
    assert error.text() == ("Currency mismatch (RamBase error 108018) [Valutakonflikt]; "
                            "inner errors: Order currency is USD (RamBase error 100563)")


@pytest.mark.parametrize("body", [None, {}, {"foo": 1}, "html", {"error": "invalid_client"}])
def test_anything_else_is_not_a_rambase_error(body):
    assert parse_error(body) is None


def updates(**rows) -> Extracted:
    base = {"document_id": 1, "purchase_order_id": 100123, "currency": "NOK", "location_id": 10001,
            "assignee_user_id": 101, "supplier_id": 100, "ship_from_address_id": 1, "delivery_terms": "DPU",
            "delivery_term_place": "Oslo", "shipping_service_id": 100000, "payment_terms": "30N",
            "suppliers_reference": None, "suppliers_reference_number": None, "note": "Bitte liefern",
            "ship_to_attention": None, "attempts": 0}
    frame = pd.DataFrame([base | {"document_id": i, **row} for i, row in enumerate(rows.values(), start=1)])
    return Extracted(frame, pd.DataFrame({"document_id": [], "line_number": []}), pd.DataFrame({"party_id": []}))


def test_an_update_carries_only_the_fields_the_erp_has():
    built = build_purchase_order_update(updates(a={"note": None, "payment_terms": None, "location_id": None}), "UTC")
    body = json.loads(built.payloads.body[0])
    assert body == {"purchaseOrder": {
        "currency": "NOK", "assignee": {"userId": 101}, "supplier": {"supplierId": 100},
        "shipFrom": {"addressId": 1},
        "shipment": {"deliveryTerms": "DPU", "deliveryTermPlace": "Oslo",
                     "shippingService": {"shippingServiceId": 100000}}}}
    assert built.payloads.identifier[0] == "100123"


@pytest.mark.parametrize("column, value, field", [
    ("purchase_order_id", 99999, "purchaseOrderId"),
    ("purchase_order_id", None, "purchaseOrderId"),
    ("location_id", 9999, "location.locationId"),
    ("assignee_user_id", 99, "assignee.userId"),
    ("supplier_id", 12, "supplier.supplierId"),
    ("ship_from_address_id", 0, "shipFrom.addressId"),
    ("shipping_service_id", 99999, "shipment.shippingService.shippingServiceId"),
    ("currency", "EU", "currency"),
    ("currency", "XXY", "currency"),
    ("delivery_terms", "DAT", "shipment.deliveryTerms"),
    ("location_id", "12a", "location.locationId"),
])
def test_each_documented_constraint_is_a_build_error_naming_the_field(column, value, field):
    built = build_purchase_order_update(updates(good={}, bad={column: value}), "UTC")
    assert list(built.payloads.document_id) == ["1"]
    errors = built.errors.errors[0]
    assert list(errors) == [field]
    assert built.errors.document_id[0] == "2"


def test_invoice_forwarding_payload_and_its_minimums():
    frame = pd.DataFrame({"document_id": [1, 2, 3], "purchase_order_response_id": [150001, 99, 150003],
                          "supplier_invoice_id": [200001, 200002, 5], "operation_instance_id": [None, None, "77"],
                          "attempts": [0, 0, 1]})
    built = build_invoice_forwarding(Extracted(frame, pd.DataFrame({"document_id": [], "line_number": []}),
                                               pd.DataFrame({"party_id": []})), "UTC")
    assert json.loads(built.payloads.body[0]) == {"parameters": {"supplierInvoiceId": 200001}}
    assert built.payloads.identifier.tolist() == ["150001"]
    assert {next(iter(e)) for e in built.errors.errors} == {"purchaseOrderResponseId", "supplierInvoiceId"}


DOC = {"doc_type": "PURCHASE_ORDER_UPDATE", "document_id": "1", "identifier": "100123", "attempts": 0}


def answer(status, body) -> Answer:
    return Answer(status, body, json.dumps(body) if body is not None else "", {})


def test_order_update_answers():
    assert order_update_verdict(DOC, answer(200, {"purchaseOrder": {}})).status == "SYNCED"
    for status in (400, 403, 404):
        verdict = order_update_verdict(DOC, answer(status, {"error": ERROR}))
        assert verdict.outcome is Outcome.REJECTED and verdict.error_code == "108018"
    for status, body in ((500, ERROR), (429, None), (400, None), (404, "<html>"), (200, None), (200, "<html>")):
        with pytest.raises(TransientError):
            order_update_verdict(DOC, answer(status, body))


def test_operation_instances_finished_error_and_running():
    finished = {"operationInstance": {"operationInstanceId": 5, "status": 9}}
    assert operation_verdict(DOC, operation_instance(finished)).status == "FORWARDED"
    failed = {"OperationInstance": {"OperationInstanceId": 6, "Status": 7, "Error": ERROR}}
    verdict = operation_verdict(DOC, operation_instance(failed))
    assert verdict.outcome is Outcome.REJECTED and "inner errors" in verdict.message and verdict.error_code == "108018"
    running = operation_instance({"operationInstance": {"operationInstanceId": 7, "status": 2,
                                                        "systemJob": {"PercentageComplete": 40}}})
    assert operation_verdict(DOC, running) is None and progress(running) == 40
    assert progress(operation_instance({"operationInstanceId": 7, "status": 2,
                                        "systemJob": {"percentComplete": 55}})) == 55


def test_a_finished_operation_is_handed_back_without_the_vendor_answer():
    """The trigger's event is logged whole at INFO: it carries the status and the error, no links or jobs."""
    from erp_outbound.rambase.verdicts import operation_outcome

    base = "https://api.rambase.net"
    inner = [{"message": "Not available", "errorMessage": {"errorMessageId": 101, "errorMessageLink": f"{base}/x"},
              "parameters": [{"index": 0, "value": "7"}], "innerErrors": []}]
    failed = {"operationInstanceId": 5001, "status": 7, "createdFor": {"objectLink": f"{base}/por/1"},
              "systemJob": {"objectLink": f"{base}/system/jobs/9", "percentComplete": 100},
              "operationInstanceLink": f"{base}/system/api/operation-instances/5001",
              "error": {"message": "Reserved", "translatedMessage": "Reserved", "parameters": [],
                        "errorMessage": {"errorMessageId": 100089, "errorMessageLink": f"{base}/e/100089"},
                        "innerErrors": inner}}
    compact = operation_outcome(failed)
    assert base not in repr(compact) and "systemJob" not in compact and len(repr(compact)) < len(repr(failed)) / 2
    full, small = operation_verdict(DOC, failed), operation_verdict(DOC, compact)
    assert small == full and small.error_code == "100089" and "Not available (RamBase error 101)" in small.message
    finished = operation_outcome({"operationInstanceId": 5002, "status": 9, "systemJob": {"objectLink": base}})
    assert finished == {"operationInstanceId": 5002, "status": 9, "error": None}
    assert operation_verdict(DOC, finished).status == "FORWARDED"
