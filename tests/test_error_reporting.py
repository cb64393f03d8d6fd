"""Build errors are reported to Procuros after N failed runs, and not again while unchanged."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, insert, select, text

from conftest import connect
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp.hook import make_engine
from erp_outbound.erp.state import ensure_tables, error_reports
from erp_outbound.procuros.error_reports import ErrorReporter, error_report, signature
from erp_outbound.procuros.hook import ProcurosHook


def build_error(attempts_before: int, reason: str = "product SKU-1 has no GTIN") -> Verdict:
    return Verdict(vendor="procuros", doc_type="INVOICE", document_id="42", identifier="RE-2026-000042",
                   outcome=Outcome.BUILD_ERROR, message="cannot build the payload",
                   errors={"items[line 1].identifiers": [reason]}, attempts_before=attempts_before)


@pytest.fixture
def reporter(tmp_path, sandbox, monkeypatch):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    connect(monkeypatch, url, sandbox.base_url)
    engine = make_engine(url)
    ensure_tables(engine)
    return lambda: ErrorReporter(ProcurosHook(), engine, report_after=3)


def test_waits_for_the_threshold_then_reports_once(reporter, sandbox):
    for attempts_before in (0, 1):
        verdict = build_error(attempts_before)
        r = reporter()
        r.report([verdict])
        assert r.outcomes[("INVOICE", "42")].startswith("waits")
        assert verdict.error_url is None
    assert sandbox.snapshot()["procuros"]["errors"] == []

    third = build_error(2)
    r = reporter()
    r.report([third])
    assert r.outcomes[("INVOICE", "42")] == "reported now"
    sent = sandbox.snapshot()["procuros"]
    assert len(sent["errors"]) == 1
    assert third.error_url == sent["error_urls"][0]
    assert sent["errors"][0] | {} == error_report(third)

    fourth = build_error(3)
    r = reporter()
    r.report([fourth])
    assert r.outcomes[("INVOICE", "42")] == "reported earlier"
    assert fourth.error_url == third.error_url
    assert len(sandbox.snapshot()["procuros"]["errors"]) == 1


def test_a_changed_error_is_reported_again(reporter, sandbox):
    reporter().report([build_error(5)])
    changed = build_error(6, reason="GTIN 123 of product SKU-1 is not 8, 12, 13 or 14 digits")
    r = reporter()
    r.report([changed])
    assert r.outcomes[("INVOICE", "42")] == "reported now"
    assert len(sandbox.snapshot()["procuros"]["errors"]) == 2


def test_the_report_body_follows_the_spec(procuros_spec):
    body = error_report(build_error(2))
    assert procuros_spec.request_errors("/v2/errors", "POST", body) == []
    assert procuros_spec.request_errors("/v2/errors", "POST", body | {"errorContext": {"n": 1}}) != []
    assert body["errorType"] == "DATA" and body["transactionType"] == "INVOICE"
    assert all(isinstance(v, str) for v in body["errorContext"].values())


def test_an_unavailable_procuros_reports_nothing_and_remembers_nothing(tmp_path, sandbox_with, monkeypatch):
    sandbox = sandbox_with(faults={"procuros.errors": {"error_503": 1.0}})
    url = f"sqlite:///{tmp_path / 'state.db'}"
    connect(monkeypatch, url, sandbox.base_url)
    engine = make_engine(url)
    ensure_tables(engine)
    r = ErrorReporter(ProcurosHook(), engine, report_after=1)
    verdict = build_error(0)
    r.report([verdict])
    assert r.outcomes[("INVOICE", "42")].startswith("not reported")
    assert verdict.error_url is None
    sandbox.set_faults({})
    r = ErrorReporter(ProcurosHook(), engine, report_after=1)
    r.report([build_error(1)])
    assert r.outcomes[("INVOICE", "42")] == "reported now"


# Sessions of this test's own database waiting for a row lock on the error reports.
LOCK_WAITS = {
    "postgresql": "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                  "AND wait_event_type = 'Lock' AND query LIKE '%erp_outbound_error_reports%'",
    "mysql": "SELECT COUNT(*) FROM information_schema.innodb_trx t "
             "JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id "
             "WHERE p.db = DATABASE() AND t.trx_state = 'LOCK WAIT' "
             "AND t.trx_query LIKE '%erp_outbound_error_reports%'",
}


@pytest.mark.parametrize("server", ["postgres", "mariadb"])
def test_two_reconciles_remember_one_report_at_once(server, request, sandbox, monkeypatch):
    """Another reconcile has written the same document's report and not committed yet: ours waits for it,
    then keeps its own report; it never fails the run on a duplicate key (the failed run of issue 12)."""
    url = request.getfixturevalue(f"{server}_url")
    connect(monkeypatch, url, sandbox.base_url)
    engine = make_engine(url)
    ensure_tables(engine)
    with engine.begin() as conn:
        conn.execute(error_reports.delete())
    verdict = build_error(0)
    other = engine.connect()
    other_write = other.begin()
    other.execute(insert(error_reports).values(
        vendor="procuros", doc_type="INVOICE", document_id="42", signature=signature(verdict),
        error_url="http://other-reconcile/errors/1", reported_at=datetime(2026, 1, 1, tzinfo=timezone.utc)))
    outcome: dict = {}

    def ours():
        try:
            reporter = ErrorReporter(ProcurosHook(), engine, report_after=1)
            reporter.report([verdict])
            outcome["reported"] = reporter.outcomes[("INVOICE", "42")]
        except Exception as exc:  # noqa: BLE001 - asserted below
            outcome["error"] = exc

    thread = threading.Thread(target=ours)
    thread.start()
    try:
        # By construction: the other commits only once ours is blocked on its row.
        deadline = time.monotonic() + 60
        with engine.connect() as probe:
            while not probe.execute(text(LOCK_WAITS[engine.dialect.name])).scalar():
                assert thread.is_alive(), outcome
                assert time.monotonic() < deadline, "our report never waited for the other reconcile's row"
                # Not faster: InnoDB refreshes its lock tables only after 0.1 s without a read.
                time.sleep(0.25)
                probe.rollback()  # a fresh snapshot for the next look
        other_write.commit()
    finally:
        if other_write.is_active:
            other_write.rollback()
        other.close()
        thread.join(timeout=60)
    assert "error" not in outcome, outcome
    assert outcome["reported"] == "reported now"
    with engine.connect() as conn:
        rows = conn.execute(select(error_reports.c.error_url, func.count()).group_by(error_reports.c.error_url)).all()
    assert rows == [(verdict.error_url, 1)] and verdict.error_url.startswith(sandbox.base_url)
    engine.dispose()


def test_a_failing_report_does_not_stop_the_others(tmp_path, monkeypatch):
    # One sender: the report of document 1 goes first and fails every try; 2..5 are still reported,
    # and document 1 is left (nothing remembered) for the next run.
    from fake_vendor import FakeVendor, Reply

    async def errors(request, _):
        report = json.loads(await request.read())
        if report["errorContext"]["documentId"] == "1":
            return Reply(503, "<html>down</html>")
        return Reply(201, {"errorUrl": f"https://portal/{report['errorContext']['documentId']}"})

    url = f"sqlite:///{tmp_path / 'state.db'}"
    with FakeVendor() as vendor:
        vendor.answer("POST", "/v2/errors", errors)
        connect(monkeypatch, url, vendor.url, max_concurrency=1, max_tries=2)
        engine = make_engine(url)
        ensure_tables(engine)
        r = ErrorReporter(ProcurosHook(), engine, report_after=1)
        verdicts = [Verdict(vendor="procuros", doc_type="INVOICE", document_id=str(n), identifier=f"RE-{n}",
                            outcome=Outcome.BUILD_ERROR, message="no GTIN")
                    for n in range(1, 6)]
        r.report(verdicts)
        tries = [json.loads(s.body)["errorContext"]["documentId"] for s in vendor.requests("POST", "/v2/errors")]
    assert tries.count("1") == 2 and sorted(set(tries)) == ["1", "2", "3", "4", "5"]
    assert r.outcomes[("INVOICE", "1")].startswith("not reported")
    assert all(r.outcomes[("INVOICE", str(n))] == "reported now" for n in range(2, 6))
    with engine.connect() as conn:
        remembered = {row.document_id for row in conn.execute(select(error_reports))}
    assert remembered == {"2", "3", "4", "5"}
