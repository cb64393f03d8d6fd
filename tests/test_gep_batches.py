"""GEP batch-level refusals and duplicate keys (issue 15, points 4 and 5)."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import create_engine

from conftest import connect, connect_gep
from erp_outbound.core.http import Answer
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.gep.batches import BatchRefused, BatchSize, adeliver
from erp_outbound.gep.verdicts import batch_verdicts
from test_gep import erp, rows, run  # noqa: F401 - the demo ERP fixture

TOO_MANY = {"data": None, "statusCode": "400", "successDetails": [], "errorDetails": [
    {"key": None, "errors": [{"errorCode": "DataValidation", "errorDescription": "At most 2 items per request"}]}]}


def docs(*keys):
    return [{"doc_type": "POR_STATUS", "document_id": str(i), "identifier": k, "attempts": 0}
            for i, k in enumerate(keys, start=1)]


def answer(body, status=200) -> Answer:
    return Answer(status, body, json.dumps(body), {})


# --- what is a batch-level refusal --------------------------------------------------------------


@pytest.mark.parametrize("status, body", [
    (400, TOO_MANY),  # an error naming no key
    (200, {"statusCode": "400", "successDetails": [], "errorDetails": [
        {"key": "OTHER", "errors": [{"errorCode": "Exception", "errorDescription": "Too many"}]}]}),  # a foreign key
    (400, {"message": "Request too large"}),  # a 4xx without per-key answers
    (413, None),
])
def test_an_answer_that_decides_no_key_of_the_batch_refuses_the_batch(status, body):
    with pytest.raises(BatchRefused):
        batch_verdicts(docs("A", "B"), answer(body, status), lambda a: None)


def test_a_keyless_error_beside_per_key_answers_is_not_a_batch_refusal():
    body = dict(TOO_MANY, successDetails=[{"key": "A"}])
    verdicts = batch_verdicts(docs("A", "B"), answer(body, 400), lambda a: None)
    assert [v.outcome for v in verdicts] == [Outcome.DELIVERED, Outcome.DEFERRED]


# --- splitting, independent of sending ----------------------------------------------------------


class Gep:
    """A send function with GEP's batch limit: refuses parts above ``limit`` as a whole."""

    def __init__(self, limit: int, refuse_alone=()):
        self.limit, self.refuse_alone, self.sent = limit, set(refuse_alone), []

    def __call__(self, part):
        self.sent.append([d["identifier"] for d in part])
        if len(part) > self.limit or {d["identifier"] for d in part} & self.refuse_alone:
            raise BatchRefused("At most 2 items per request", 400)
        return [Verdict(vendor="gep", doc_type=d["doc_type"], document_id=d["document_id"], identifier=d["identifier"],
                        outcome=Outcome.DELIVERED, status="ACKNOWLEDGED") for d in part]


def deliver(docs, gep, size):
    """adeliver with the fake GEP as its send coroutine."""
    async def send(part):
        return gep(part)

    return asyncio.run(adeliver(docs, send, size))


def test_a_refused_batch_is_halved_and_the_size_that_worked_is_kept():
    size, gep = BatchSize(8), Gep(limit=2)
    first = deliver(docs(*"ABCDEFGH"), gep, size)
    assert sorted(v.identifier for v in first) == list("ABCDEFGH")
    assert {v.outcome for v in first} == {Outcome.DELIVERED}
    assert gep.sent[:3] == [list("ABCDEFGH"), list("ABCD"), list("AB")]
    assert size.limit == 2
    gep.sent.clear()
    deliver(docs(*"IJKL"), gep, size)
    assert gep.sent == [list("IJ"), list("KL")], "the next batch starts at the size that worked"


def test_a_key_refused_alone_is_rejected_and_counted():
    size, gep = BatchSize(4), Gep(limit=4, refuse_alone={"C"})
    verdicts = {v.identifier: v for v in deliver(docs(*"ABCD"), gep, size)}
    assert verdicts["C"].outcome is Outcome.REJECTED and "even with this key alone" in verdicts["C"].message
    assert {verdicts[k].outcome for k in "ABD"} == {Outcome.DELIVERED}
    assert size.undeliverable == 1


def test_one_entry_per_key_and_every_row_gets_its_verdict():
    size, gep = BatchSize(10), Gep(limit=10)
    verdicts = deliver(docs("A", "B", "A"), gep, size)
    assert gep.sent == [["A", "B"]]
    assert sorted((v.document_id, v.identifier, v.outcome) for v in verdicts) == [
        ("1", "A", Outcome.DELIVERED), ("2", "B", Outcome.DELIVERED), ("3", "A", Outcome.DELIVERED)]


def test_a_limit_between_two_halves_settles_on_the_half_below():
    size, gep = BatchSize(8), Gep(limit=3)
    verdicts = deliver(docs(*"ABCDEFGH"), gep, size)
    assert len(verdicts) == 8 and size.limit == 2


# --- whole runs against the sandbox's batch limit --------------------------------------------------



@pytest.mark.airflow
def test_the_dag_splits_batches_gep_refuses_and_acknowledges_every_key(erp, files, sandbox_with, monkeypatch):  # noqa: F811
    url, summary = erp
    sandbox = sandbox_with(gep={"max_batch_items": 6})
    connect(monkeypatch, url, sandbox.base_url)
    # One request at a time: batches already in flight when the first refusal comes are refused too.
    connect_gep(monkeypatch, sandbox.base_url, max_concurrency=1)

    dag_run = run({"batch_size": 12})
    assert str(dag_run.state).endswith("success")

    frame = rows(url)
    expected = summary["gep_por_statuses"]["expected"]
    assert (frame.ack_status == "ACKNOWLEDGED").sum() == expected["ACKNOWLEDGED"]
    record = sandbox.snapshot()["gep"]
    assert max(record["batch_sizes"]) == 6 and sum(record["batch_sizes"]) == len(frame[frame.order_number.notna()])
    # Once 6 worked, the later batches of 12 went out as 6s: only the first one was refused.
    assert record["refused_batches"] == [12]


@pytest.mark.airflow
def test_a_batch_gep_never_takes_fails_the_run_and_is_reported(erp, files, sandbox_with, monkeypatch):  # noqa: F811
    url, _ = erp
    sandbox = sandbox_with(gep={"max_batch_items": 1})
    sandbox.call(lambda: setattr(sandbox.record.sections["gep"], "max_batch_items", 0))  # refuses everything
    connect(monkeypatch, url, sandbox.base_url)
    connect_gep(monkeypatch, sandbox.base_url)

    dag_run = run({"batch_size": 4, "limit": 3})
    assert str(dag_run.state).endswith("failed"), "a batch that cannot be delivered is never a silent success"
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert states["load"].endswith("failed")
    frame = rows(url)
    refused = frame[frame.ack_errors.fillna("").str.contains("even with this key alone")]
    assert len(refused) == 3 and refused.ack_status.isna().all() and (refused.attempts == 1).all()
    reports = list((files / "reports").glob("gep_por_status__*.json"))
    assert any("even with this key alone" in p.read_text() for p in reports), "the report lists them"


@pytest.mark.airflow
def test_two_rows_with_one_order_number_are_sent_once_and_both_acknowledged(erp, files, sandbox_with, monkeypatch):  # noqa: F811
    url, _ = erp
    engine = create_engine(url)
    with engine.begin() as conn:
        first, second = conn.exec_driver_sql(
            "SELECT id, order_number FROM gep_por_statuses WHERE order_number NOT LIKE 'X%' AND "
            "order_number NOT LIKE 'E%' ORDER BY id LIMIT 2").fetchall()
        conn.exec_driver_sql(f"UPDATE gep_por_statuses SET order_number = '{first[1]}' WHERE id = {second[0]}")
    engine.dispose()
    sandbox = sandbox_with()
    connect(monkeypatch, url, sandbox.base_url)
    connect_gep(monkeypatch, sandbox.base_url)

    assert str(run({"only_ids": [str(first[0]), str(second[0])]}).state).endswith("success")

    record = sandbox.snapshot()["gep"]
    assert [p["keys"] for p in record["puts"]] == [[first[1]]], "one entry per key per batch"
    frame = rows(url).set_index("id")
    assert frame.loc[first[0], "ack_status"] == frame.loc[second[0], "ack_status"] == "ACKNOWLEDGED"
