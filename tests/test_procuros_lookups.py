"""Procuros lost answers: ask GET /v2/all-transactions what became of the transaction (issue 15, point 6)."""

from __future__ import annotations

import json

import pytest
import requests

from conftest import SANDBOX_TOKEN, connect
from erp_outbound.core.verdict import Outcome
from erp_outbound.procuros.lookups import AskProcuros, decide, match
from erp_rows import documents
from test_procuros_faults import erp, report, run  # noqa: F401 - the demo ERP fixture

AUTH = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}


def asked(already_received: bool, content: dict | None = None) -> AskProcuros:
    return AskProcuros(vendor="procuros", doc_type="ORDER", document_id="7", identifier="PO-7",
                       message="lost", attempts_before=2, already_received=already_received,
                       content=json.dumps(content, sort_keys=True, separators=(",", ":")) if content else "")


def tx(status: str, number: str = "PO-7", tx_id: str = "tx-1", **header) -> dict:
    return {"procurosTransactionId": tx_id, "type": "ORDER", "status": status,
            "content": {"header": {"orderIdentifier": number, **header}}}


# --- the mapping -----------------------------------------------------------------------------


@pytest.mark.parametrize("status, outcome, erp_status", [
    ("SUCCESS", Outcome.DELIVERED, "TRANSMITTED"),
    ("DROPPED", Outcome.NO_ACTION, "NO_ACTION"),
    ("PENDING", Outcome.DEFERRED, None),
    ("FAILED", Outcome.UNCERTAIN, None),
    ("UNKNOWN", Outcome.UNCERTAIN, None),
])
def test_procuros_statuses_map_onto_verdicts(status, outcome, erp_status):
    verdict = decide(asked(True), tx(status))
    assert (verdict.outcome, verdict.status) == (outcome, erp_status)
    assert (verdict.vendor_reference, verdict.vendor_status) == ("tx-1", status)
    assert verdict.attempts_before == 2 and type(verdict).__name__ == "Verdict"


def test_a_transaction_procuros_does_not_list():
    assert decide(asked(True), None).outcome is Outcome.UNCERTAIN, "it said it has it: a person checks"
    assert decide(asked(False), None).outcome is Outcome.DEFERRED, "the tries ran out: it goes again"


def test_our_transaction_is_found_by_type_number_and_content():
    ours = {"header": {"orderIdentifier": "PO-7", "version": 2}}
    older = tx("SUCCESS", tx_id="tx-old", version=1)
    newer = tx("DROPPED", tx_id="tx-new", version=2)
    other = tx("SUCCESS", number="PO-8", tx_id="tx-other")
    assert match(asked(True, ours), [older, newer, other])["procurosTransactionId"] == "tx-new"
    assert match(asked(True), [other, older])["procurosTransactionId"] == "tx-old", "one of that number"
    assert match(asked(True), [older, newer]) is None, "two versions, none exactly ours: unknowable"


# --- the sandbox's GET /v2/all-transactions ----------------------------------------------------------


def listing(sandbox, **params) -> requests.Response:
    return requests.get(f"{sandbox.base_url}/v2/all-transactions", params=params, headers=AUTH, timeout=5)


def test_all_transactions_lists_what_procuros_took_with_filters_and_pages(sandbox_with):
    from test_sandbox_procuros import tx as transaction

    sandbox = sandbox_with()
    bodies = []
    for i in range(3):
        body = transaction("ORDER")
        body["content"]["header"]["orderIdentifier"] = f"PO-{i}"
        bodies.append(body)
        assert requests.post(f"{sandbox.base_url}/v2/transactions", json=body, headers=AUTH, timeout=5).status_code == 201
    invoice = transaction("INVOICE")
    assert requests.post(f"{sandbox.base_url}/v2/transactions", json=invoice, headers=AUTH, timeout=5).ok

    first = listing(sandbox, **{"filter[type]": "ORDER", "per_page": 2}).json()
    assert first["count"] == 2 and first["hasMore"] and first["perPage"] == 2 and first["nextPageUrl"]
    assert {t["status"] for t in first["items"]} == {"SUCCESS"}
    assert first["items"][0]["content"] == bodies[0]["content"]
    second = listing(sandbox, **{"filter[type]": "ORDER", "per_page": 2, "cursor": first["nextCursor"]}).json()
    assert second["count"] == 1 and not second["hasMore"] and second["nextCursor"] is None
    numbers = [t["content"]["header"]["orderIdentifier"] for t in first["items"] + second["items"]]
    assert numbers == ["PO-0", "PO-1", "PO-2"]
    assert requests.get(first["nextPageUrl"], headers=AUTH, timeout=5).json()["items"] == second["items"]

    today = first["items"][0]["createdAt"][:10]
    assert listing(sandbox, **{"filter[created_between]": f"{today},{today}"}).json()["count"] == 4
    assert listing(sandbox, **{"filter[created_between]": "2020-01-01,2020-01-31"}).json()["count"] == 0
    assert listing(sandbox, **{"filter[status]": "DROPPED"}).json()["count"] == 0
    for bad in ({"filter[type]": "ORDERS"}, {"filter[created_between]": "2024-01-01"}, {"per_page": 101},
                {"filter[status]": "DONE"}, {"cursor": "x"}):
        assert listing(sandbox, **bad).status_code == 422, bad
    assert requests.get(f"{sandbox.base_url}/v2/all-transactions", timeout=5).status_code == 401


def test_transaction_statuses_are_configurable_and_switch_at_runtime(sandbox_with):
    from test_sandbox_procuros import tx as transaction

    sandbox = sandbox_with(procuros={"transaction_statuses": {"201": "PENDING", "202": "DROPPED"}})
    assert requests.post(f"{sandbox.base_url}/v2/transactions", json=transaction("ORDER"), headers=AUTH,
                         timeout=5).status_code == 201
    item = listing(sandbox).json()["items"][0]
    assert item["status"] == "PENDING"
    url = f"{sandbox.base_url}/_sandbox/procuros/transactions/{item['procurosTransactionId']}"
    assert requests.put(url, json={"status": "FAILED"}, timeout=5).ok
    assert listing(sandbox).json()["items"][0]["status"] == "FAILED"
    assert requests.put(url, json={"status": "LOST"}, timeout=5).status_code == 400
    with pytest.raises(ValueError):
        from erp_outbound_tools.sandbox import SandboxConfig

        SandboxConfig.from_dict({"procuros": {"transaction_statuses": {"201": "DONE", "202": "DROPPED"}}})


# --- whole runs -------------------------------------------------------------------------------------------

LOST_AND_UNASKABLE = {"procuros.transactions": {"accept_then_drop": 1.0}, "procuros.all_transactions": {"error_503": 1.0}}


@pytest.mark.airflow
def test_a_lost_202_is_no_action_with_procuros_id_and_status(erp, files, sandbox_with, monkeypatch):  # noqa: F811
    url, summary = erp
    # Run 1: every answer lost and Procuros cannot be asked: nothing is decided. (Every document is sent:
    # the outage breaker, which would stop sending after 20 lost answers, is set never to open.)
    sandbox = sandbox_with(faults=LOST_AND_UNASKABLE)
    connect(monkeypatch, url, sandbox.base_url, max_tries=1, breaker_window=10_000, breaker_min_tries=10_000)
    assert str(run().state).endswith("success")
    rows = documents(url)
    assert rows.status.isna().all()
    assert rows[rows.attempts > 0].last_error.str.startswith("cannot build").all(), "a lost answer is no attempt"

    # Run 2: every resend is "Payload already received"; Procuros is asked what it did.
    sandbox.set_faults({})
    assert str(run().state).endswith("success")
    record = sandbox.snapshot()["procuros"]
    assert any(t["status_code"] == 400 for t in record["transactions"])
    ledger = {(t["type"], t["identifier"]): t for t in record["ledger"]}
    rows = documents(url)
    taken = rows[[(r.doc_type, r.number) in ledger for r in rows.itertuples()]]
    assert (taken.status == "NO_ACTION").sum() == summary["expected_outcomes"]["NO_ACTION"]
    assert (taken.status == "TRANSMITTED").sum() == summary["expected_outcomes"]["TRANSMITTED"]
    for row in taken.itertuples():
        tx_ = ledger[(row.doc_type, row.number)]
        assert (row.procuros_transaction_id, row.procuros_status) == (tx_["procurosTransactionId"], tx_["status"])


@pytest.mark.airflow
def test_a_transaction_failed_at_procuros_is_uncertain_and_listed(erp, files, sandbox_with, monkeypatch):  # noqa: F811
    url, _ = erp
    sandbox = sandbox_with(faults=LOST_AND_UNASKABLE)
    connect(monkeypatch, url, sandbox.base_url, max_tries=1)
    assert str(run({"limit": 3}).state).endswith("success")
    ledger = sandbox.snapshot()["procuros"]["ledger"]
    assert ledger
    for t in ledger:
        requests.put(f"{sandbox.base_url}/_sandbox/procuros/transactions/{t['procurosTransactionId']}",
                     json={"status": "FAILED"}, timeout=5).raise_for_status()

    sandbox.set_faults({})
    assert str(run({"limit": 3}).state).endswith("success")
    numbers = {t["identifier"] for t in ledger}
    rows = documents(url)
    failed = rows[rows.number.isin(numbers)]
    assert failed.status.isna().all() and (failed.attempts == 0).all(), "not delivered, no attempt counted"
    uncertain = report(files)["uncertain"]  # listed apart, with what to check at Procuros
    assert {f["identifier"] for f in uncertain} == numbers
    assert all("FAILED" in f["reason"] and f["vendor_reference"] for f in uncertain)
    # What a person does instead of a release (the rows are pending: nothing to release).
    written = report(files)
    assert "release_command" not in written and "erp-outbound release" not in written["uncertain_action"]
    assert "Procuros portal" in written["uncertain_action"] and "TRANSMITTED" in written["uncertain_action"]
