"""What the logs may hold: never a request or response body at INFO; at DEBUG bodies, masked.

Every order of the demo ERP carries a distinctive comment, which travels only in the
request body. The records are caught with a handler of our own on the ``erp_outbound``
logger (so the tests work with and without pytest's logging plugin), and what the run
printed with capfd.
"""

from __future__ import annotations

import asyncio

import json
import logging
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from conftest import SANDBOX_TOKEN, connect, connect_rambase
from erp_outbound.core.http import LOGGED_BODY_CHARS, loggable_body
from erp_outbound_tools.demo.run import load_dag
from erp_outbound_tools.demo.erp import build_demo_erp

MARKER = "BODYMARK-7Qx4-Lm29"


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name} {record.getMessage()}")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def caught(level: int):
    """Every record of the erp_outbound loggers at ``level`` and above."""
    logger, handler = logging.getLogger("erp_outbound"), Records()
    old_level = logger.level
    logger.setLevel(level)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


@pytest.fixture
def marked_erp(tmp_path):
    """A demo ERP whose orders carry MARKER (and the API token) in their comments."""
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 40, seed=5)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE purchase_orders SET comments = :c"),
                      {"c": f"{MARKER} pasted by mistake: {SANDBOX_TOKEN}"})
    engine.dispose()
    return url


def transmitted_orders(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT COUNT(*) FROM purchase_orders WHERE status = 'TRANSMITTED'")).scalar()
    engine.dispose()
    return count


@pytest.mark.airflow
def test_at_info_no_body_reaches_the_log(marked_erp, files, sandbox, monkeypatch, capfd):
    connect(monkeypatch, marked_erp, sandbox.base_url)
    with caught(logging.INFO) as records:
        dag_run = load_dag("procuros_outgoing").test(run_conf={"doc_types": ["ORDER"], "report_after": 1})
    out, err = capfd.readouterr()
    assert str(dag_run.state).endswith("success")
    assert transmitted_orders(marked_erp) > 0, "no order body was sent: the test would prove nothing"
    assert "procuros requests:" in records.text, "the erp_outbound records were not caught"
    assert "Delivery:" in out + err, "the run's output was not captured"
    assert MARKER not in records.text
    assert MARKER not in out + err
    assert "request body" not in out + err


@pytest.mark.airflow
def test_at_debug_bodies_are_logged_with_the_token_masked(marked_erp, files, sandbox, monkeypatch, capfd):
    connect(monkeypatch, marked_erp, sandbox.base_url)
    with caught(logging.DEBUG) as records:
        dag_run = load_dag("procuros_outgoing").test(run_conf={"doc_types": ["ORDER"], "report_after": 1})
    capfd.readouterr()
    assert str(dag_run.state).endswith("success")
    sends = [line for line in records.lines if line.startswith("DEBUG erp_outbound.http POST ")
             and "/v2/transactions -> HTTP 201" in line]
    assert len(sends) == transmitted_orders(marked_erp) > 0
    assert all(MARKER in line for line in sends), "the request body is not in the DEBUG record"
    assert all("procurosTransactionId" in line for line in sends), "the response body is not in the DEBUG record"
    assert SANDBOX_TOKEN not in records.text
    assert f"{MARKER} pasted by mistake: ***" in records.text


def test_rambase_token_requests_are_never_logged_and_calls_hide_the_token(sandbox_with, monkeypatch):
    from erp_outbound.rambase.hook import RambaseHook

    sandbox = sandbox_with(rambase={"client_secret": "rb-SECRET-9Kq2Wd"})
    connect_rambase(monkeypatch, sandbox.base_url, secret="rb-SECRET-9Kq2Wd")
    async def read_one():
        async with RambaseHook().client() as client:
            return await client.call("GET", "procurement/orders", params={"$top": 1})

    with caught(logging.DEBUG) as records:
        answer = asyncio.run(read_one())
    assert answer.status == 200
    tokens = sandbox.call(lambda: list(sandbox.record.sections["rambase"].tokens))
    assert tokens, "no token was issued"
    assert "/oauth2/access_token" not in records.text
    assert "GET " in records.text and "procurement/orders" in records.text and "-> HTTP 200" in records.text
    for secret in ["rb-SECRET-9Kq2Wd", *tokens]:
        assert secret not in records.text


def test_a_logged_body_is_masked_then_cut():
    from airflow.sdk.log import mask_secret

    mask_secret("s3cr3t-VALUE-1234")
    shown = loggable_body(json.dumps({"note": "s3cr3t-VALUE-1234 " + "x" * 5000}).encode())
    assert "s3cr3t-VALUE-1234" not in shown and shown.startswith('{"note": "*** xxx')
    masked_length = len(json.dumps({"note": "*** " + "x" * 5000}))
    assert shown == json.dumps({"note": "*** " + "x" * 5000})[:LOGGED_BODY_CHARS] + f"... ({masked_length} characters)"
    form = loggable_body({"client_id": "me", "client_secret": "not-registered-but-named", "password": "pw-123456"})
    assert "not-registered-but-named" not in form and "pw-123456" not in form and '"client_id": "me"' in form
    assert loggable_body(None) == loggable_body(b"") == "(none)"
