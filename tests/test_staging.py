"""Staged payloads keep the body as data: a text column beside the document's keys, never spliced."""

from __future__ import annotations

import json

import pandas as pd

from erp_outbound.core.batch import Built
from erp_outbound.core.storage import Folder, read_records
from erp_outbound.steps.load import preview_line
from erp_outbound.steps.transform import payload_frame

BODY = '{"type":"ORDER","content":{"note":"a \\"quoted\\" ,\\"body\\": inside","qty":1.5}}'


def built(**extra) -> Built:
    payloads = pd.DataFrame({"document_id": ["7", "8"], "identifier": ['PO-1,"body":{"x"', "PO-2"],
                             "attempts": [0, 2], **extra,
                             "body": pd.array([BODY, "{}"], dtype="string[pyarrow]")})
    return Built(payloads, pd.DataFrame(columns=["document_id", "identifier", "attempts", "errors"]))


def test_a_staged_payload_comes_back_with_its_keys_and_the_exact_body_text(tmp_path):
    ref = Folder(tmp_path).write_records("order-00000.arrow", payload_frame("ORDER", built()))

    docs = [doc for docs in read_records(ref) for doc in docs]

    # Keys that look like the old splice mark cannot cut a body any more.
    assert docs == [
        {"doc_type": "ORDER", "document_id": "7", "identifier": 'PO-1,"body":{"x"', "attempts": 0, "body": BODY},
        {"doc_type": "ORDER", "document_id": "8", "identifier": "PO-2", "attempts": 2, "body": "{}"},
    ]
    assert isinstance(docs[0]["attempts"], int)


def test_extra_key_columns_travel_along_and_missing_values_are_none(tmp_path):
    frame = payload_frame("INVOICE_FORWARDING", built(operation_instance_id=pd.array(["55", pd.NA], dtype="string")))
    docs = next(read_records(Folder(tmp_path).write_records("f.arrow", frame)))
    assert [d["operation_instance_id"] for d in docs] == ["55", None]
    assert list(docs[0]) == ["doc_type", "document_id", "identifier", "attempts", "operation_instance_id", "body"]


def test_the_dry_run_preview_line_holds_the_body_as_json(tmp_path):
    doc = next(read_records(Folder(tmp_path).write_records("o.arrow", payload_frame("ORDER", built()))))[0]
    line = json.loads(preview_line(doc))
    assert line["identifier"] == 'PO-1,"body":{"x"'
    assert line["body"] == json.loads(BODY)
    assert list(line) == ["doc_type", "document_id", "identifier", "attempts", "body"]


def test_a_large_staged_file_is_read_a_record_batch_at_a_time_with_every_row_once(tmp_path):
    from erp_outbound.core.storage import RECORDS_PER_BATCH

    n = RECORDS_PER_BATCH * 2 + 7
    payloads = pd.DataFrame({"document_id": [str(i) for i in range(n)], "identifier": [f"PO-{i}" for i in range(n)],
                             "attempts": 0, "body": [f'{{"n":{i}}}' for i in range(n)]})
    ref = Folder(tmp_path).write_records("big.arrow", payload_frame("ORDER", Built(payloads, pd.DataFrame())))

    batches = list(read_records(ref))

    assert [len(b) for b in batches] == [RECORDS_PER_BATCH, RECORDS_PER_BATCH, 7]
    assert [d["body"] for b in batches for d in b] == list(payloads["body"])
