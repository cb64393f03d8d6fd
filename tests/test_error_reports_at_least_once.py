"""Build-error reports at least once, never twice in normal operation (issue 15, point 7)."""

from __future__ import annotations

import pytest

from conftest import connect
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp.hook import make_engine
from erp_outbound.erp.state import ensure_tables
from erp_outbound.procuros.error_reports import ErrorReporter
from erp_outbound.procuros.hook import ProcurosHook


def build_error(document_id: str, attempts_before: int = 5) -> Verdict:
    return Verdict(vendor="procuros", doc_type="INVOICE", document_id=document_id, identifier=f"RE-{document_id}",
                   outcome=Outcome.BUILD_ERROR, message="cannot build the payload",
                   errors={"items[line 1].identifiers": ["no GTIN"]}, attempts_before=attempts_before)


@pytest.fixture
def state(tmp_path, monkeypatch):
    def start(sandbox, **extra):
        url = f"sqlite:///{tmp_path / 'state.db'}"
        connect(monkeypatch, url, sandbox.base_url, **extra)
        engine = make_engine(url)
        ensure_tables(engine)
        return lambda: ErrorReporter(ProcurosHook(), engine, report_after=1)
    return start


def test_one_failing_report_does_not_stop_the_others(state, sandbox_with):
    # Half of the requests fail with 503 (Procuros did not take them); the seed fixes which.
    sandbox = sandbox_with(faults={"procuros.errors": {"error_503": 0.5}}, seed=7)
    reporter = state(sandbox, max_tries=6)()
    verdicts = [build_error(str(i)) for i in range(8)]
    reporter.report(verdicts)
    assert set(reporter.outcomes.values()) == {"reported now"}
    sent = sandbox.snapshot()["procuros"]["errors"]
    assert sorted(e["transactionIdentifier"] for e in sent) == sorted(v.identifier for v in verdicts)
    assert all(v.error_url for v in verdicts)


def test_a_report_is_tried_again_next_run_until_procuros_answers_201(state, sandbox_with):
    sandbox = sandbox_with(faults={"procuros.errors": {"error_500": 1.0}})
    make = state(sandbox, max_tries=2)
    first = make()
    first.report([build_error("1")])
    assert first.outcomes[("INVOICE", "1")] == "not reported yet: tried again next run"
    sandbox.set_faults({})
    second = make()
    second.report([build_error("1", attempts_before=6)])
    assert second.outcomes[("INVOICE", "1")] == "reported now"
    third = make()
    third.report([build_error("1", attempts_before=7)])
    assert third.outcomes[("INVOICE", "1")] == "reported earlier"
    assert len(sandbox.snapshot()["procuros"]["errors"]) == 1


def test_two_verdicts_of_one_document_make_one_report(state, sandbox_with):
    sandbox = sandbox_with()
    reporter = state(sandbox)()
    # An interrupted run's verdict and this run's, applied by one reconcile.
    earlier, now = build_error("1", 5), build_error("1", 6)
    reporter.report([earlier, now])
    assert len(sandbox.snapshot()["procuros"]["errors"]) == 1
    assert earlier.error_url == now.error_url is not None


def test_a_refused_connection_stops_reporting_for_the_run(state, sandbox_with):
    sandbox = sandbox_with(procuros={"tokens": ["another-token"]})
    reporter = state(sandbox)()
    reporter.report([build_error("1"), build_error("2")])
    assert reporter.failure is not None
    assert sandbox.snapshot()["procuros"]["errors"] == []


def test_a_report_taken_with_an_unreadable_answer_says_where_to_find_it_then_and_later(state, sandbox_with):
    """Issue 23, point 11: Procuros answered 201 with a body cut short: no error URL, then or later."""
    sandbox = sandbox_with(faults={"procuros.errors": {"garbled_body": 1.0}})
    make = state(sandbox)
    first = make()
    verdict = build_error("1")
    first.report([verdict])
    where = "Procuros' answer carried no link: find INVOICE RE-1 among the errors in the Procuros portal"
    assert first.outcomes[("INVOICE", "1")] == f"reported now; {where}"
    assert verdict.error_url is None
    sandbox.set_faults({})
    later = make()  # the next run: reported once, and the report still says where to look
    later.report([build_error("1", attempts_before=6)])
    assert later.outcomes[("INVOICE", "1")] == f"reported earlier; {where}"
    assert len(sandbox.snapshot()["procuros"]["errors"]) == 1
