"""Extract: read and claim the pending documents of some types (``pending.py``); stage them in chunks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from erp_outbound.core import runs, settings
from erp_outbound.core.flows import flow
from erp_outbound.core.params import as_bool, as_ids, as_limit, as_list, form_value
from erp_outbound.erp.claims import DEFAULT_LEASE_SECONDS, Claims
from erp_outbound.erp.hook import ErpHook
from erp_outbound.erp.journal import Journal
from erp_outbound.erp.writeback import apply_verdicts

__all__ = ["ExtractDocumentsOperator", "unmatched_ids"]


class ExtractDocumentsOperator(BaseOperator):
    """Read and claim the pending documents of some types; stage them in chunks.

    Before extracting, verdicts an earlier run recorded but never applied (a crash
    between load and reconcile) are applied, so no answered document goes again.
    XCom carries the chunk references, the claim token and counts, never documents.
    ``doc_types``, ``limit``, ``only_ids`` and ``dry_run`` left unset are the run's form fields
    of those names.
    """

    template_fields: Sequence[str] = ("doc_types", "limit", "only_ids", "dry_run")
    ui_color = "#e8f4fd"

    def __init__(
        self,
        *,
        vendor: str,
        doc_types: Any = None,
        erp_conn_id: str = ErpHook.default_conn_name,
        limit: Any = None,
        only_ids: Any = None,
        dry_run: Any = None,
        chunk_size: int | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.vendor = vendor
        self.doc_types = doc_types
        self.erp_conn_id = erp_conn_id
        self.limit = limit
        self.only_ids = only_ids
        self.dry_run = dry_run
        self.chunk_size = chunk_size or settings.chunk_size()
        self.lease_seconds = lease_seconds

    def execute(self, context) -> dict:
        # pandas (steps/pending.py) is imported here: DAG files import this operator, parsed every 30 s.
        from erp_outbound.steps.pending import pending_chunks

        # Unset fields are the run's trigger-form values; bad values fail before anything is read.
        limit = as_limit(form_value(context, "limit", self.limit))
        only_ids = as_ids(form_value(context, "only_ids", self.only_ids))
        dry_run = as_bool(form_value(context, "dry_run", self.dry_run, False))
        engine = ErpHook(self.erp_conn_id).engine
        run_id = runs.run_id(context)
        recovered = 0
        if not dry_run:
            journal = Journal(engine, run_id, dag_id=runs.dag_id(context))
            leftovers = journal.unapplied(self.vendor)
            if leftovers:
                recovered = len(leftovers)
                self.log.warning("Applying %d verdicts an earlier run recorded but did not apply", recovered)
                apply_verdicts(engine, journal, leftovers)
        claims = None if dry_run else Claims(engine, run_id, self.lease_seconds, dag_id=runs.dag_id(context))
        folder = runs.staging_folder(context, "extract")
        chunks, counts, found = [], {}, set()
        doc_types = as_list(form_value(context, "doc_types", self.doc_types))
        for doc_type in doc_types:
            doc_flow = flow(self.vendor, doc_type)
            counts[doc_type] = 0
            for n, chunk in enumerate(pending_chunks(engine, doc_flow, self.chunk_size, limit, only_ids, claims,
                                                     found)):
                stem = f"{doc_type.lower()}-{n:05d}"
                chunks.append({
                    "doc_type": doc_type,
                    "count": len(chunk.headers),
                    "headers": folder.write_frame(f"{stem}-headers.parquet", chunk.headers.reset_index(drop=True)),
                    "lines": folder.write_frame(f"{stem}-lines.parquet", chunk.lines),
                    "parties": folder.write_frame(f"{stem}-parties.parquet", chunk.parties.reset_index(drop=True)),
                })
                counts[doc_type] += len(chunk.headers)
                self.log.info("%s: extracted %d pending documents so far", doc_type, counts[doc_type])
        self.log.info("Extracted %d documents: %s%s", sum(counts.values()), counts,
                      " (dry run: nothing claimed)" if dry_run else "")
        unmatched = unmatched_ids(only_ids, found, doc_types, limit_reached=limit is not None and any(
            n >= limit for n in counts.values()))
        if unmatched:
            self.log.warning("%s", unmatched["note"])
        return {
            "chunks": chunks,
            "counts": counts,
            "claim_token": claims.token if claims else None,
            "recovered": recovered,
            "unmatched_ids": unmatched,
        }


MAX_NAMED_IDS = 50  # XCom carries references and counts: the first ones, then how many more


def unmatched_ids(only_ids: list[str] | None, found: set[str], doc_types: list[str], limit_reached: bool) -> dict:
    """The "Only these" entries that named no pending document, with a sentence for the log and the report."""
    missing = [i for i in only_ids or [] if i not in found]
    if not missing:
        return {}
    shown = ", ".join(repr(i) for i in missing[:MAX_NAMED_IDS])
    more = f" and {len(missing) - MAX_NAMED_IDS} more" if len(missing) > MAX_NAMED_IDS else ""
    where = "were not among the pending documents read before the limit was reached" if limit_reached else \
        "match no pending document"
    note = (f"Only these: {shown}{more} {where} of {', '.join(doc_types)} (neither an ERP id nor a document "
            "number; documents already delivered are no longer pending). Nothing was sent for them.")
    return {"ids": missing[:MAX_NAMED_IDS], "count": len(missing), "note": note}
