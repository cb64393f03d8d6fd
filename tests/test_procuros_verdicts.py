"""Procuros' answers to POST /v2/transactions turned into verdicts (seed 001's rules).

Answers are built by hand; ``check_access`` is the real ProcurosHook's, on a connection
that points nowhere (nothing is sent).
"""

from __future__ import annotations

import datetime as dt
import json
from email.utils import format_datetime

import pytest

from erp_outbound.core.http import Answer, ConnectionConfigError, TransientError
from erp_outbound.core.verdict import Decision, Outcome, SendOutcome
from erp_outbound.procuros.hook import ProcurosHook
from erp_outbound.procuros.verdicts import transaction_outcome

SECRET = "secret-xyz"
DOC = {"doc_type": "INVOICE", "document_id": "4711", "identifier": "RE-04711", "attempts": 2}
ERROR_URL = "https://portal.procuros.io/errors/9f1c2a"


@pytest.fixture
def hook(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_PROCUROS_DEFAULT", json.dumps(
        {"conn_type": "procuros", "host": "http://127.0.0.1:9", "password": SECRET}))
    hook = ProcurosHook()
    hook.client()  # as in a delivery: the client exists before any answer
    return hook


def answer(status: int, body=None, *, text: str | None = None, headers: dict | None = None) -> Answer:
    """An answer with a JSON ``body``, or with raw ``text`` that is no JSON (body None)."""
    if text is None:
        text = "" if body is None else json.dumps(body)
    return Answer(status, body, text, headers or {})


def outcome(hook, status: int, body=None, **kwargs) -> SendOutcome:
    return transaction_outcome(DOC, answer(status, body, **kwargs), hook.check_access)


def verdict(hook, status: int, body=None, **kwargs):
    """The final verdict of an answer: the one kind of outcome every answer but "already received" has."""
    sent = outcome(hook, status, body, **kwargs)
    assert sent.decision is Decision.FINAL and sent.undecided is None
    (decided,) = sent.verdicts
    return decided


def transient(hook, status: int, body=None, **kwargs) -> TransientError:
    with pytest.raises(TransientError) as caught:
        verdict(hook, status, body, **kwargs)
    assert SECRET not in str(caught.value)
    return caught.value


# --------------------------------------------------------------------------- final outcomes


def test_201_is_transmitted(hook):
    v = verdict(hook, 201, {"procurosTransactionId": "9b8c7d6e-0000-4000-8000-000000000001"})
    assert (v.outcome, v.status) == (Outcome.DELIVERED, "TRANSMITTED")
    assert v.vendor_reference == "9b8c7d6e-0000-4000-8000-000000000001"
    assert (v.vendor, v.doc_type, v.document_id, v.identifier) == ("procuros", "INVOICE", "4711", "RE-04711")
    assert v.http_status == 201 and v.attempts_before == 2
    assert v.error_url is None and v.errors == {}


def test_202_is_no_action_and_keeps_the_message(hook):
    v = verdict(hook, 202, {"message": "Trade relationship not yet active.",
                            "procurosTransactionId": "9b8c7d6e-0000-4000-8000-000000000002"})
    assert (v.outcome, v.status) == (Outcome.NO_ACTION, "NO_ACTION")
    assert v.message == "Trade relationship not yet active."
    assert v.vendor_reference == "9b8c7d6e-0000-4000-8000-000000000002"
    assert v.outcome.is_final


def test_202_without_a_transaction_id(hook):
    v = verdict(hook, 202, {"message": "Receiver does not accept INVOICE documents."})
    assert v.outcome is Outcome.NO_ACTION and v.vendor_reference is None


@pytest.mark.parametrize("message", ["Payload already received", "Payload already received.",
                                     " Payload already received. "])
def test_already_received_asks_procuros(hook, message):
    """After a lost answer, Procuros' 400 for the repeated payload means the first send arrived:
    whether as 201 or 202 only Procuros knows, so it is asked before anything is recorded."""
    from erp_outbound.procuros.lookups import AskProcuros

    sent = outcome(hook, 400, {"message": message})
    assert sent.decision is Decision.ASK_AFTER and sent.verdicts == (), "nothing is recorded before asking"
    v = sent.undecided
    assert isinstance(v, AskProcuros) and v.already_received
    assert v.message == "Payload already received"
    assert v.http_status == 400 and v.attempts_before == 2


# --------------------------------------------------------------------------- rejections


def test_422_is_rejected_with_field_errors_and_error_url(hook):
    v = verdict(hook, 422, {
        "message": "The given data was invalid.",
        "errors": {"content.header.buyer.identifiers": ["The GLN 4300000000021 couldn't be found."],
                   "content.items.0.unitOfMeasure": "The selected unit of measure is invalid."},
        "errorUrl": ERROR_URL,
    })
    assert v.outcome is Outcome.REJECTED and v.status is None
    assert v.message == "The given data was invalid."
    assert v.error_url == ERROR_URL
    assert v.errors == {"content.header.buyer.identifiers": ["The GLN 4300000000021 couldn't be found."],
                        "content.items.0.unitOfMeasure": ["The selected unit of measure is invalid."]}
    assert v.http_status == 422 and v.attempts_before == 2
    assert v.outcome.counts_attempt and not v.outcome.is_final


def test_other_400_is_rejected(hook):
    v = verdict(hook, 400, {"message": "Unknown receiver for this transaction.", "errorUrl": ERROR_URL})
    assert v.outcome is Outcome.REJECTED and v.status is None
    assert (v.message, v.error_url, v.errors) == ("Unknown receiver for this transaction.", ERROR_URL, {})
    assert "Unknown receiver" in v.reason


def test_a_rejection_without_error_url(hook):
    v = verdict(hook, 422, {"message": "Invalid payload.", "errorUrl": ""})
    assert v.outcome is Outcome.REJECTED and v.error_url is None


# --------------------------------------------------------------------------- the connection is wrong


@pytest.mark.parametrize("status, body, hint", [
    (401, {"message": "Unauthenticated."}, "API token"),
    (403, {"message": "This action is unauthorized."}, "API token"),
    (404, None, "Host"),
])
def test_access_refused_means_the_connection_is_wrong(hook, status, body, hint):
    with pytest.raises(ConnectionConfigError) as caught:
        verdict(hook, status, body)
    message = str(caught.value)
    assert "'procuros_default'" in message
    assert "http://127.0.0.1:9" in message
    assert f"HTTP {status}" in message and hint in message
    assert SECRET not in message


def test_access_check_names_another_connection(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_PROCUROS_STAGING", json.dumps(
        {"conn_type": "procuros", "host": "https://api.procuros-staging.io", "password": SECRET}))
    hook = ProcurosHook("procuros_staging")
    with pytest.raises(ConnectionConfigError, match="'procuros_staging'") as caught:
        transaction_outcome(DOC, answer(401, {"message": "Unauthenticated."}), hook.check_access)
    assert SECRET not in str(caught.value)


# --------------------------------------------------------------------------- try again later


def test_429_with_retry_after_in_seconds(hook):
    error = transient(hook, 429, {"message": "Too Many Attempts."}, headers={"Retry-After": "7"})
    assert error.status == 429 and error.retry_after == 7.0


def test_429_with_retry_after_as_http_date(hook):
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    error = transient(hook, 429, headers={"Retry-After": format_datetime(later, usegmt=True)})
    assert error.status == 429
    assert 3000 < error.retry_after <= 3600


def test_429_with_a_past_date_or_nonsense(hook):
    assert transient(hook, 429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}).retry_after == 0.0
    assert transient(hook, 429, headers={"Retry-After": "soon"}).retry_after is None
    assert transient(hook, 429).retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(hook, status):
    error = transient(hook, status, {"message": "Server Error"}, headers={"Retry-After": "30"})
    assert error.status == status and error.retry_after == 30.0
    assert str(status) in error.reason and "Server Error" in error.reason


def test_html_502_is_transient(hook):
    error = transient(hook, 502, text="<html><head><title>502 Bad Gateway</title></head></html>")
    assert error.status == 502 and error.retry_after is None
    assert "502 Bad Gateway" in error.reason


@pytest.mark.parametrize("status, body, text", [
    pytest.param(201, None, "", id="201-empty"),
    pytest.param(200, None, "", id="200-empty"),
    pytest.param(200, {"procurosTransactionId": "9b8c7d6e"}, None, id="200-not-201"),
    pytest.param(201, None, '{"procurosTransactionId": "9b8c7d6e-00', id="201-truncated-json"),
    pytest.param(201, {"message": "Created."}, None, id="201-without-transaction-id"),
    pytest.param(201, {"procurosTransactionId": ""}, None, id="201-empty-transaction-id"),
    pytest.param(201, ["9b8c7d6e"], None, id="201-json-array"),
    pytest.param(202, None, "", id="202-empty"),
    pytest.param(202, {}, None, id="202-without-message"),
    pytest.param(400, None, "", id="400-empty"),
    pytest.param(400, None, "<html><body>Bad Request</body></html>", id="400-html"),
    pytest.param(422, None, '{"message": "The given data', id="422-truncated-json"),
    pytest.param(422, {"errors": {"currency": ["invalid"]}}, None, id="422-without-message"),
    pytest.param(409, "conflict", None, id="409-json-string"),
    pytest.param(302, None, "", id="302-redirect"),
])
def test_an_unreadable_answer_decides_nothing(hook, status, body, text):
    error = transient(hook, status, body, text=text)
    assert error.status == status
    assert f"HTTP {status}" in error.reason


def test_no_exception_shows_the_token(hook):
    """Every refusal and failure message is safe to log: the API token never appears."""
    raised = []
    for status, body in [(401, {"message": "Unauthenticated."}), (403, None), (404, None), (429, None),
                         (500, {"message": "Server Error"}), (201, None), (400, None)]:
        with pytest.raises((ConnectionConfigError, TransientError)) as caught:
            verdict(hook, status, body)
        raised.append(caught.value)
    assert len(raised) == 7
    for error in raised:
        assert SECRET not in str(error) and SECRET not in repr(error.args)
