"""Transform: staged ERP frames -> vendor payloads (JSON lines) and build errors."""

from __future__ import annotations

import json
from typing import Any

from airflow.sdk import BaseOperator

from erp_outbound.core import runs, settings
from erp_outbound.core.batch import Built, Extracted
from erp_outbound.core.flows import flow
from erp_outbound.core.storage import read_frame
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp.hook import ErpHook
from erp_outbound.erp.journal import Journal
from erp_outbound.erp.operators import _as_bool


def payload_lines(doc_type: str, built: Built):
    """One JSON line per payload: the document's keys and its body, kept as built."""
    frame = built.payloads
    for document_id, identifier, attempts, body in zip(
        frame["document_id"], frame["identifier"], frame["attempts"], frame["body"]
    ):
        meta = json.dumps({"doc_type": doc_type, "document_id": document_id,
                           "identifier": identifier, "attempts": int(attempts)}, ensure_ascii=False)
        yield meta[:-1] + ',"body":' + body + "}"


def build_error_verdicts(vendor: str, doc_type: str, built: Built) -> list[Verdict]:
    frame = built.errors
    return [
        Verdict(vendor, doc_type, document_id, identifier, Outcome.BUILD_ERROR,
                message="cannot build the payload", errors=json.loads(errors), attempts_before=int(attempts))
        for document_id, identifier, attempts, errors in zip(
            frame["document_id"], frame["identifier"], frame["attempts"], frame["errors"])
    ]


class BuildPayloadsOperator(BaseOperator):
    """Build each staged chunk into payloads with the vendor's pandas transforms.

    Documents that cannot be built get a BUILD_ERROR verdict naming the field; they never
    fail their batch.
    """

    template_fields = ("chunks", "dry_run")
    ui_color = "#fdf6e3"

    def __init__(self, *, vendor: str, chunks: Any, erp_conn_id: str = ErpHook.default_conn_name,
                 dry_run: Any = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.vendor = vendor
        self.chunks = chunks
        self.erp_conn_id = erp_conn_id
        self.dry_run = dry_run

    def execute(self, context) -> dict:
        chunks = self.chunks["chunks"] if isinstance(self.chunks, dict) else self.chunks
        journal = Journal(ErpHook(self.erp_conn_id).engine, runs.run_id(context), _as_bool(self.dry_run))
        folder = runs.staging_folder(context, "transform")
        tz = settings.erp_timezone()
        batches, payloads, errors = [], 0, 0
        for n, chunk in enumerate(chunks):
            doc_type = chunk["doc_type"]
            data = Extracted(read_frame(chunk["headers"]), read_frame(chunk["lines"]), read_frame(chunk["parties"]))
            built = flow(self.vendor, doc_type).build(data, tz)
            if len(built.payloads):
                ref = folder.write_lines(f"{doc_type.lower()}-{n:05d}.jsonl", payload_lines(doc_type, built))
                batches.append({"doc_type": doc_type, "ref": ref, "count": len(built.payloads)})
            journal.record(build_error_verdicts(self.vendor, doc_type, built))
            payloads += len(built.payloads)
            errors += len(built.errors)
            self.log.info("%s chunk %d: %d payloads, %d build errors", doc_type, n, len(built.payloads), len(built.errors))
        self.log.info("Built %d payloads; %d documents could not be built", payloads, errors)
        return {"batches": batches, "payloads": payloads, "build_errors": errors}
