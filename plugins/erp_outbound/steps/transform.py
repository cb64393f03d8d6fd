"""Transform: staged ERP frames -> vendor payloads (Arrow files, the body a text column) and build errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from erp_outbound.core import runs, settings
from erp_outbound.core.flows import flow
from erp_outbound.core.storage import read_frame, read_records
from erp_outbound.core.verdict import Outcome, Verdict

# pandas (with core/batch.py, core/build.py) is imported in execute: DAG files import this operator, and
# Airflow parses them every 30 seconds.
if TYPE_CHECKING:
    import pandas as pd

    from erp_outbound.core.batch import Built


def payload_frame(doc_type: str, built: Built) -> pd.DataFrame:
    """The staged payloads: one row per document, its keys as columns and its body a text column.

    Columns of ``built.payloads`` beyond the body (e.g. an operation id to resume) travel
    along as keys. The body stays the JSON text it was built as, never parsed.
    """
    frame = built.payloads.reset_index(drop=True)  # a fresh frame: its index is not staged
    frame.insert(0, "doc_type", doc_type)
    return frame


def build_error_records(doc_type: str, built: Built):
    """The documents that could not be built, as an Arrow table: their errors stay data (a list of
    ``{field, messages}``), never JSON text, from here to the journal."""
    import pyarrow as pa

    frame = built.errors
    schema = pa.schema([
        ("doc_type", pa.string()), ("document_id", pa.string()), ("identifier", pa.string()),
        ("attempts", pa.int64()),
        ("errors", pa.list_(pa.struct([("field", pa.string()), ("messages", pa.list_(pa.string()))]))),
    ])
    return pa.table({
        "doc_type": [doc_type] * len(frame),
        "document_id": [str(d) for d in frame["document_id"]],
        "identifier": [str(i) for i in frame["identifier"]],
        "attempts": [int(a) for a in frame["attempts"]],
        "errors": [[{"field": name, "messages": [str(m) for m in messages]} for name, messages in errors.items()]
                   for errors in frame["errors"]],
    }, schema=schema)


def build_error_verdicts(vendor: str, refs: list[str]) -> list[Verdict]:
    """The BUILD_ERROR verdicts staged by transform; load records them once the vendor is reachable."""
    verdicts = []
    for ref in refs:
        for rows in read_records(ref):
            verdicts += [Verdict(vendor=vendor, doc_type=row["doc_type"], document_id=row["document_id"],
                                 identifier=row["identifier"], outcome=Outcome.BUILD_ERROR,
                                 message="cannot build the payload", attempts_before=row["attempts"],
                                 errors={error["field"]: error["messages"] for error in row["errors"]})
                         for row in rows]
    return verdicts


SUMMARY = "summary"  # the XCom key of the step's counts; its return value is the load parts


def load_parts(batches: list[dict], build_errors: list[str], size: int) -> list[dict]:
    """The batches split into load tasks of about ``size`` documents; never none.

    The first part also carries the build errors, so they are recorded exactly once.
    """
    parts: list[dict] = [{"batches": [], "build_errors": build_errors}]
    count = 0
    for batch in batches:
        if count and count + batch["count"] > size:
            parts.append({"batches": [], "build_errors": []})
            count = 0
        parts[-1]["batches"].append(batch)
        count += batch["count"]
    return parts


class BuildPayloadsOperator(BaseOperator):
    """Build each staged chunk into payloads with the vendor's pandas transforms.

    Returns the load parts (see ``load_parts``), which the load step maps over, and
    pushes its counts as the ``summary`` XCom.

    Documents that cannot be built, and payloads that break the vendor's contract
    (core/contract.py), are staged as build errors naming the field; they never fail their batch. Load records them as verdicts, after it has reached the vendor.
    """

    template_fields = ("chunks",)
    ui_color = "#fdf6e3"

    def __init__(self, *, vendor: str, chunks: Any, **kwargs) -> None:
        super().__init__(**kwargs)
        self.vendor = vendor
        self.chunks = chunks

    def execute(self, context) -> list[dict]:
        from erp_outbound.core.batch import Extracted
        from erp_outbound.core.build import reject_repeated_identifiers
        from erp_outbound.core.contract import build_checked

        chunks = self.chunks["chunks"] if isinstance(self.chunks, dict) else self.chunks
        folder = runs.staging_folder(context, "transform")
        tz = settings.erp_timezone()
        batches, error_refs, payloads, errors = [], [], 0, 0
        numbers_seen: dict[str, dict[str, str]] = {}
        for n, chunk in enumerate(chunks):
            doc_type = chunk["doc_type"]
            data = Extracted(read_frame(chunk["headers"]), read_frame(chunk["lines"]), read_frame(chunk["parties"]))
            doc_flow = flow(self.vendor, doc_type)
            built = build_checked(self.vendor, doc_flow, data, tz)  # never sent if the vendor would refuse it
            if doc_flow.unique_field:
                built = reject_repeated_identifiers(built, doc_flow.unique_field, numbers_seen.setdefault(doc_type, {}))
            if len(built.payloads):
                ref = folder.write_records(f"{doc_type.lower()}-{n:05d}.arrow", payload_frame(doc_type, built))
                batches.append({"doc_type": doc_type, "ref": ref, "count": len(built.payloads)})
            if len(built.errors):
                error_refs.append(folder.write_records(f"{doc_type.lower()}-{n:05d}-errors.arrow",
                                                       build_error_records(doc_type, built)))
            payloads += len(built.payloads)
            errors += len(built.errors)
            self.log.info("%s chunk %d: %d payloads, %d build errors", doc_type, n, len(built.payloads), len(built.errors))
        self.log.info("Built %d payloads; %d documents could not be built", payloads, errors)
        parts = load_parts(batches, error_refs, settings.load_task_size())
        if len(parts) > 1:
            self.log.info("%d load tasks will send them, up to %d documents each", len(parts), settings.load_task_size())
        context["ti"].xcom_push(key=SUMMARY, value={"payloads": payloads, "build_error_count": errors,
                                                    "load_tasks": len(parts)})
        return parts  # the load step maps over them
