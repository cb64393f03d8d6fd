"""Whole runs of the RamBase DAGs with dag.test() against the sandbox, asserting the ERP rows."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pandas as pd
import pytest
from sqlalchemy import create_engine

from conftest import connect, connect_rambase
from erp_outbound.core.report import report_stem
from erp_outbound_tools.demo.run import load_dag
from erp_outbound_tools.demo.erp import build_demo_erp

pytestmark = pytest.mark.airflow


def rows(url: str, table: str) -> pd.DataFrame:
    engine = create_engine(url)
    with engine.connect() as conn:
        frame = pd.read_sql(f"SELECT * FROM {table} ORDER BY id", conn)
    engine.dispose()
    return frame.astype(object).where(frame.notna(), None)


@pytest.fixture
def erp(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    summary = build_demo_erp(url, 400, seed=12)
    return url, summary


def run(dag_id: str, conf=None):
    return load_dag(dag_id).test(run_conf=conf or {})


def test_purchase_order_updates_end_to_end(erp, files, sandbox_with, monkeypatch):
    url, summary = erp
    sandbox = sandbox_with()
    connect(monkeypatch, url, sandbox.base_url)
    connect_rambase(monkeypatch, sandbox.base_url)

    assert str(run("rambase_purchase_orders").state).endswith("success")

    frame = rows(url, "rambase_po_updates")
    expected = summary["rambase_po_updates"]["expected"]
    assert (frame.rambase_status == "SYNCED").sum() == expected["SYNCED"]
    failed = frame[frame.rambase_status.isna()]
    assert len(failed) == expected["REJECTED"] + expected["BUILD_ERROR"]
    assert (failed.attempts == 1).all()
    by_id = failed[failed.rambase_error_id.notna()]
    assert len(by_id) == expected["REJECTED"]
    assert set(by_id.rambase_error_id) <= {"100089", "108018", "100004"}
    assert by_id[by_id.rambase_error_id == "108018"].rambase_error.str.contains("Currency mismatch").all()
    assert failed[failed.rambase_error_id.isna()].rambase_error.str.startswith("cannot build").all()
    record = sandbox.snapshot()["rambase"]
    assert record["token_grants"] == 1, "the token is cached for the whole run"
    assert record["access_token_in_query"] == 0
    assert record["formats_seen"] == ["json"]
    sent = {p["id"] for p in record["order_puts"]}
    assert sent == {int(i) for i in frame[frame.rambase_error_id.notna() | frame.rambase_status.notna()].purchase_order_id}


def test_an_expired_token_is_renewed_once(erp, files, sandbox_with, monkeypatch):
    url, summary = erp
    sandbox = sandbox_with(rambase={"revoke_after_requests": 7})
    connect(monkeypatch, url, sandbox.base_url)
    connect_rambase(monkeypatch, sandbox.base_url, max_concurrency=1)
    assert str(run("rambase_purchase_orders").state).endswith("success")
    frame = rows(url, "rambase_po_updates")
    assert (frame.rambase_status == "SYNCED").sum() == summary["rambase_po_updates"]["expected"]["SYNCED"]
    assert sandbox.snapshot()["rambase"]["token_grants"] > 2


def test_a_wrong_secret_fails_at_once_and_changes_nothing(erp, files, sandbox_with, monkeypatch):
    url, _ = erp
    sandbox = sandbox_with()
    connect(monkeypatch, url, sandbox.base_url)
    connect_rambase(monkeypatch, sandbox.base_url, secret="wrong-secret-123")
    before = rows(url, "rambase_po_updates")
    dag_run = run("rambase_purchase_orders")
    assert str(dag_run.state).endswith("failed")
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert states["load"].endswith("failed")
    assert rows(url, "rambase_po_updates").equals(before)
    assert sandbox.snapshot()["rambase"]["order_puts"] == []


def test_invoice_forwarding_waits_for_running_operations(erp, files, sandbox_with, monkeypatch):
    url, summary = erp
    sandbox = sandbox_with(rambase={"polls_to_finish": 1})
    connect(monkeypatch, url, sandbox.base_url)
    connect_rambase(monkeypatch, sandbox.base_url)

    assert str(run("rambase_invoice_forwarding").state).endswith("success")

    frame = rows(url, "rambase_invoice_matches")
    expected = summary["rambase_invoice_matches"]["expected"]
    assert (frame.forward_status == "FORWARDED").sum() == expected["FORWARDED"]
    errors = frame[frame.rambase_error_id.notna()]
    assert len(errors) == expected["ERROR"]
    assert errors.rambase_error.str.contains("inner errors").all()
    assert frame[frame.supplier_invoice_id.isna()].attempts.eq(0).all(), "unmatched rows are not extracted"
    record = sandbox.snapshot()["rambase"]
    assert set(record["operation_posts"].values()) == {1}, "no operation was POSTed twice"
    forwarded = frame[frame.forward_status == "FORWARDED"]
    assert forwarded.operation_instance_id.notna().all()
    slow = [i for i in record["operation_instances"].values() if i["polls"] > 0]
    assert slow, "some operations were still running and were polled by the trigger"


def test_a_restarted_forwarding_resumes_polling_and_never_posts_twice(erp, files, sandbox_with, monkeypatch):
    url, summary = erp
    sandbox = sandbox_with(rambase={"polls_to_finish": 3})
    connect(monkeypatch, url, sandbox.base_url)
    connect_rambase(monkeypatch, sandbox.base_url)

    # Give up waiting almost at once: the running operations stay on the documents.
    assert str(run("rambase_invoice_forwarding", {"wait_minutes": 0.01}).state).endswith("success")
    frame = rows(url, "rambase_invoice_matches")
    running = frame[frame.forward_status.isna() & frame.operation_instance_id.notna()
                    & frame.operation_requested_at.notna()]
    assert len(running) > 0
    assert (running.attempts == 0).all(), "waiting is not a failed attempt"
    posts_before = sandbox.snapshot()["rambase"]["operation_posts"]

    assert str(run("rambase_invoice_forwarding").state).endswith("success")
    record = sandbox.snapshot()["rambase"]
    assert record["operation_posts"] == posts_before, "resumed operations were polled, not POSTed again"
    frame = rows(url, "rambase_invoice_matches")
    expected = summary["rambase_invoice_matches"]["expected"]
    assert (frame.forward_status == "FORWARDED").sum() == expected["FORWARDED"]


def test_a_lost_answer_is_never_posted_again(erp, files, sandbox_with, monkeypatch):
    url, _ = erp
    sandbox = sandbox_with(faults={"rambase.operations": {"accept_then_drop": 1.0}})
    connect(monkeypatch, url, sandbox.base_url)
    connect_rambase(monkeypatch, sandbox.base_url, max_tries=2)

    assert str(run("rambase_invoice_forwarding", {"limit": 5}).state).endswith("success")
    frame = rows(url, "rambase_invoice_matches")
    uncertain = frame[frame.operation_requested_at.notna() & frame.operation_instance_id.isna()]
    assert len(uncertain) == 5
    assert uncertain.rambase_error.str.contains("Check in RamBase").all()
    posts = sandbox.snapshot()["rambase"]["operation_posts"]
    assert sum(posts.values()) == 5

    sandbox.set_faults({})
    assert str(run("rambase_invoice_forwarding", {"only_ids": [str(i) for i in uncertain.id]}).state).endswith("success")
    assert sandbox.snapshot()["rambase"]["operation_posts"] == posts


def test_the_hook_masks_its_token_and_sends_db_and_format(sandbox_with, monkeypatch):
    import asyncio

    from erp_outbound.rambase import hook as rambase_hook

    masked = []
    monkeypatch.setattr(rambase_hook, "mask_secret", masked.append)
    sandbox = sandbox_with(rambase={"token_ttl_s": 3600})
    connect_rambase(monkeypatch, sandbox.base_url)
    seen: list[dict] = []

    async def two_puts() -> None:
        async with rambase_hook.RambaseHook().client() as client:
            answer = await client.call("PUT", "procurement/orders/100500", data=b'{"purchaseOrder": {"note": "x"}}',
                                       headers={"Content-Type": "application/json"})
            assert answer.status == 200
            token = await client.auth.cache.current()
            assert client.auth.cache.grants == 1 and token.value in masked
            await client.call("PUT", "procurement/orders/100501", data=b"{}", headers={"Content-Type": "application/json"})
            assert client.auth.cache.grants == 1, "the cached token is reused"
            seen.append({"token": token.value, "headers": dict(client.headers)})

    asyncio.run(two_puts())
    assert "Authorization" not in seen[0]["headers"], "the token goes per request, never into the session headers"
    record = sandbox.snapshot()["rambase"]
    assert record["access_token_in_query"] == 0 and record["formats_seen"] == ["json"]


def test_two_rambase_dags_with_one_run_id_each_apply_and_report_only_their_own(erp, files, sandbox_with,
                                                                              monkeypatch):
    """Scheduled runs of both RamBase DAGs at one tick share their run id. The forwarding run is still
    going (its reconcile has not run) when the purchase-order run reconciles: that run neither applies
    nor reports the forwarding documents; the forwarding run's own journal still holds all of them."""
    from erp_outbound.erp.hook import make_engine
    from erp_outbound.erp.journal import Journal
    from erp_outbound.steps.reconcile import ReconcileOperator
    from erp_outbound.erp.writeback import apply_verdicts

    url, summary = erp
    sandbox = sandbox_with(rambase={"polls_to_finish": 0})
    connect(monkeypatch, url, sandbox.base_url)
    connect_rambase(monkeypatch, sandbox.base_url)
    reconcile = ReconcileOperator.execute

    def forwarding_not_reconciled_yet(self, context):
        if context["dag"].dag_id == "rambase_invoice_forwarding":
            return {}
        return reconcile(self, context)

    monkeypatch.setattr(ReconcileOperator, "execute", forwarding_not_reconciled_yet)
    tick = datetime.now(timezone.utc).replace(microsecond=0)  # one tick for both; Airflow's run ids are unique per DAG
    forwarding = load_dag("rambase_invoice_forwarding").test(run_after=tick)
    orders = load_dag("rambase_purchase_orders").test(run_after=tick)
    assert forwarding.run_id == orders.run_id
    assert str(orders.state).endswith("success")

    report = json.loads((files / "reports" / f"{report_stem('rambase_purchase_orders', orders.run_id)}.json")
                        .read_text())
    assert set(report["by_type"]) == {"PURCHASE_ORDER_UPDATE"}
    assert not any("earlier" in note for note in report["notes"]), "nothing of the other DAG was applied first"
    matches = rows(url, "rambase_invoice_matches")
    assert matches.forward_status.isna().all(), "the purchase-order run wrote no forwarding verdict"
    assert (rows(url, "rambase_po_updates").rambase_status == "SYNCED").sum() == \
        summary["rambase_po_updates"]["expected"]["SYNCED"]

    # What the forwarding run's reconcile finds: every one of its own verdicts, and only those.
    engine = make_engine(url)
    journal = Journal(engine, forwarding.run_id, dag_id="rambase_invoice_forwarding")
    entries = journal.unapplied("rambase")
    assert entries and {v.doc_type for _, v in entries} == {"INVOICE_FORWARDING"}
    apply_verdicts(engine, journal, entries)
    expected = summary["rambase_invoice_matches"]["expected"]
    assert (rows(url, "rambase_invoice_matches").forward_status == "FORWARDED").sum() == expected["FORWARDED"]
    engine.dispose()


def test_a_failed_operation_keeps_its_instance_id_and_goes_again_once_its_error_id_is_cleared(
        erp, files, sandbox_with, monkeypatch):
    """Status 7: the error and the operation instance id stay on the row (issue 15, point 3). The id is kept for
    reference only: once a person clears rambase_error_id, the row is POSTed anew, not polled."""
    url, _ = erp
    sandbox = sandbox_with(rambase={"polls_to_finish": 0})
    connect(monkeypatch, url, sandbox.base_url)
    connect_rambase(monkeypatch, sandbox.base_url)
    assert str(run("rambase_invoice_forwarding").state).endswith("success")

    frame = rows(url, "rambase_invoice_matches")
    failed = frame[frame.rambase_error_id.notna()]
    assert len(failed) > 0
    record = sandbox.snapshot()["rambase"]
    failed_instances = {str(i["response_id"]): instance for instance, i in record["operation_instances"].items()
                        if i["status"] == 7}
    assert {str(r): str(i) for r, i in zip(failed.purchase_order_response_id, failed.operation_instance_id)} \
        == failed_instances, "each failed row keeps the id of its failed operation instance"
    assert failed.operation_requested_at.isna().all() and (failed.attempts == 1).all()

    # A person fixed the data and cleared the error id: the row goes again as a new operation.
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE rambase_invoice_matches SET rambase_error_id = NULL "
                             "WHERE rambase_error_id IS NOT NULL")
    engine.dispose()
    posts_before = record["operation_posts"]
    assert str(run("rambase_invoice_forwarding").state).endswith("success")
    posts = sandbox.snapshot()["rambase"]["operation_posts"]
    again = {r for r in posts if posts[r] > posts_before.get(r, 0)}
    assert again == set(failed_instances), "exactly the cleared rows were POSTed again"
    assert all(posts[r] == 2 for r in again)


def test_a_lost_forwarding_answer_is_uncertain_listed_apart_and_released_by_a_person(
        erp, files, sandbox_with, monkeypatch, capsys):
    """Issue 15, point 2: a lost answer to an operation POST is UNCERTAIN, not REJECTED: no attempt, a report
    section and a status section of its own with what to check, and `erp-outbound release` for a person."""
    from erp_outbound import cli
    from erp_outbound.erp.hook import make_engine
    from erp_outbound.erp.status import render_status
    from erp_outbound.ui import attention

    url, _ = erp
    sandbox = sandbox_with(faults={"rambase.operations": {"accept_then_drop": 1.0}}, rambase={"polls_to_finish": 0})
    connect(monkeypatch, url, sandbox.base_url)
    connect_rambase(monkeypatch, sandbox.base_url, max_tries=2)
    first = run("rambase_invoice_forwarding", {"limit": 5})
    assert str(first.state).endswith("success")

    frame = rows(url, "rambase_invoice_matches")
    uncertain = frame[frame.operation_requested_at.notna() & frame.operation_instance_id.isna()]
    assert len(uncertain) == 5
    assert (uncertain.attempts == 0).all(), "RamBase refused nothing: no attempt is counted"
    assert uncertain.rambase_error_id.isna().all()
    report = json.loads((files / "reports" / f"{report_stem('rambase_invoice_forwarding', first.run_id)}.json")
                        .read_text())
    assert report["totals"]["UNCERTAIN"] == 5 and report["totals"]["REJECTED"] == 0
    assert report["failures"] == []
    assert sorted(u["document_id"] for u in report["uncertain"]) == sorted(str(i) for i in uncertain.id)
    for u, invoice in zip(sorted(report["uncertain"], key=lambda u: int(u["document_id"])),
                          uncertain.sort_values("id").supplier_invoice_id):
        assert u["outcome"] == "UNCERTAIN" and u["attempts"] == 0
        assert f"order response {u['identifier']} are on supplier invoice {int(invoice)}" in u["reason"]
    assert "erp-outbound release --vendor rambase --dag rambase_invoice_forwarding" in report["release_command"]

    engine = make_engine(url)
    status = render_status(engine, "rambase")
    assert "Uncertain: check at the vendor (5)" in status
    for identifier in uncertain.purchase_order_response_id:
        assert f"order response {identifier} on supplier invoice" in status
    page = {d.document_id: d for d in attention.open_documents(engine, vendors=["rambase"])}
    assert all(page[str(i)].uncertain and page[str(i)].attempts == 0 for i in uncertain.id)

    delivered, pending = [str(i) for i in uncertain.id[:2]], [str(i) for i in uncertain.id[2:]]
    posts = sandbox.snapshot()["rambase"]["operation_posts"]
    assert cli.main(["release", "--db", url, "--vendor", "rambase", "--dag", "rambase_invoice_forwarding",
                     "--as", "delivered", "--reference", "4711", delivered[0]]) == 0
    assert cli.main(["release", "--db", url, "--vendor", "rambase", "--dag", "rambase_invoice_forwarding",
                     "--as", "delivered", delivered[1]]) == 0
    # The wrong DAG, or a row that is not uncertain, is left as it is.
    assert cli.main(["release", "--db", url, "--vendor", "rambase", "--dag", "rambase_purchase_orders",
                     "--as", "pending", pending[0]]) == 1
    assert "sent by the DAG rambase_invoice_forwarding" in capsys.readouterr().err
    assert cli.main(["release", "--db", url, "--vendor", "rambase", "--dag", "rambase_invoice_forwarding",
                     "--as", "pending", *pending, delivered[0]]) == 1
    assert f"ERP id {delivered[0]}: not an uncertain INVOICE_FORWARDING document" in capsys.readouterr().err

    frame = rows(url, "rambase_invoice_matches").set_index("id")
    assert [frame.loc[int(i), "forward_status"] for i in delivered] == ["FORWARDED", "FORWARDED"]
    assert str(frame.loc[int(delivered[0]), "operation_instance_id"]) == "4711"
    assert all(frame.loc[int(i), "operation_requested_at"] is None and frame.loc[int(i), "rambase_error"] is None
               for i in pending)
    assert "Uncertain" not in render_status(engine, "rambase")
    page = {d.document_id: d for d in attention.open_documents(engine, vendors=["rambase"])}
    assert not set(delivered) & set(page), "released as delivered: nothing needs attention"
    assert all(page[i].outcome == "DEFERRED" and not page[i].uncertain for i in pending)
    engine.dispose()

    # The next run sends the pending ones once each, never the delivered ones.
    sandbox.set_faults({})
    assert str(run("rambase_invoice_forwarding", {"only_ids": delivered + pending}).state).endswith("success")
    after = sandbox.snapshot()["rambase"]["operation_posts"]
    responses = dict(zip((str(i) for i in uncertain.id), (str(r) for r in uncertain.purchase_order_response_id)))
    assert [after[responses[i]] - posts[responses[i]] for i in pending] == [1, 1, 1]
    assert [after[responses[i]] - posts[responses[i]] for i in delivered] == [0, 0]
    frame = rows(url, "rambase_invoice_matches").set_index("id")
    assert all(frame.loc[int(i), "forward_status"] in ("FORWARDED", None) for i in pending)
    assert all(frame.loc[int(i), "operation_instance_id"] is not None for i in pending), "each got its operation"
