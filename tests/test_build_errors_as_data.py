"""Build errors travel as data from transform to journal: encoded once, decoded once (issue 27, point 6).

A build error is ``{field: [messages]}`` from the transforms (core/build.py) through the staged
file (an Arrow table with a nested column, not JSON text) to the load step's BUILD_ERROR
verdicts; the journal is the one place it becomes JSON text, and reading the journal the one
place it is parsed.
"""

from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import create_engine

from erp_outbound.core.build import Problems, built
from erp_outbound.core.storage import Folder, read_records
from erp_outbound.core.verdict import Outcome
from erp_outbound.erp.journal import Journal
from erp_outbound.erp.state import ensure_tables
from erp_outbound.steps.transform import build_error_records, build_error_verdicts

MARK = "MARK-7f3"  # in every message: the JSON calls that carry a build error are the ones that see it
MESSAGES = {
    "header.buyer": [f'{MARK} GLN "4300000000021" is not a GLN', f"{MARK} {{\"looks\": [\"like JSON\"]}}"],
    "items[line 2].unit": [f"{MARK} Maß „Stück“ ist unbekannt"],
}


def problems_of_document_two() -> Problems:
    problems = Problems()
    for field_name, messages in MESSAGES.items():
        for message in messages:
            problems.add(pd.Series([False, True], index=["1", "2"]), field_name, message)
    return problems


def headers() -> pd.DataFrame:
    return pd.DataFrame({"number": ["PO-1", "PO-2"], "attempts": [0, 3]}, index=["1", "2"])


def test_the_transforms_give_build_errors_as_data():
    result = built(headers(), "number", pd.Series(["{}", "{}"], index=["1", "2"]), problems_of_document_two())
    assert list(result.payloads["document_id"]) == ["1"]
    assert result.errors.to_dict("records") == [
        {"document_id": "2", "identifier": "PO-2", "attempts": 3, "errors": MESSAGES}]


def test_the_staged_file_keeps_fields_and_messages_as_data(tmp_path):
    result = built(headers(), "number", pd.Series(["{}", "{}"], index=["1", "2"]), problems_of_document_two())
    ref = Folder(tmp_path).write_records("order-00000-errors.arrow", build_error_records("ORDER", result))
    [rows] = list(read_records(ref))
    assert rows == [{"doc_type": "ORDER", "document_id": "2", "identifier": "PO-2", "attempts": 3,
                     "errors": [{"field": name, "messages": msgs} for name, msgs in MESSAGES.items()]}]


def test_from_transform_to_journal_a_build_error_is_encoded_once_and_decoded_once(tmp_path, monkeypatch):
    encoded, decoded = [], []
    dumps, loads = json.dumps, json.loads

    def counting_dumps(value, *args, **kwargs):
        text = dumps(value, *args, **kwargs)
        if MARK in text:
            encoded.append(text)
        return text

    def counting_loads(text, *args, **kwargs):
        if MARK in (text if isinstance(text, str) else text.decode("utf-8", "replace")):
            decoded.append(text)
        return loads(text, *args, **kwargs)

    monkeypatch.setattr(json, "dumps", counting_dumps)
    monkeypatch.setattr(json, "loads", counting_loads)
    engine = create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    ensure_tables(engine)

    # transform: build, stage
    result = built(headers(), "number", pd.Series(["{}", "{}"], index=["1", "2"]), problems_of_document_two())
    ref = Folder(tmp_path / "staging").write_records("order-00000-errors.arrow", build_error_records("ORDER", result))
    # load: the BUILD_ERROR verdicts, recorded in the journal
    verdicts = build_error_verdicts("procuros", [ref])
    assert [(v.document_id, v.outcome, v.attempts_before, v.errors) for v in verdicts] == [
        ("2", Outcome.BUILD_ERROR, 3, MESSAGES)]
    journal = Journal(engine, "run-1", dag_id="procuros_outgoing")
    journal.record(verdicts)
    # reconcile: read back from the journal
    [read] = journal.of_run("procuros")
    assert read.errors == MESSAGES and read.outcome is Outcome.BUILD_ERROR

    assert len(encoded) == 1, f"encoded {len(encoded)} times"
    assert len(decoded) == 1, f"decoded {len(decoded)} times"
