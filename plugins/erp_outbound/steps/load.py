"""The load step every vendor shares: staged payloads in, one verdict per document out.

A vendor's load operator says how to reach the vendor (``make_hook``: the hook owns auth and
the session; ``preflight``) and how to send one request (``send_one``, a coroutine); this base
reads the staged batches, keeps to the run's claims, sends with the delivery engine
(core/delivery.py), and records every verdict at once.

The contract, in the shape of Airflow's providers (the hook owns the session, the operator
orchestrates, a trigger polls):
- ``send_one(send, request)`` gets the run's ``SendContext`` (hook, client, ERP engine) and one
  ``Request`` (its documents and what earlier tries learnt), and returns one ``SendOutcome``:
  a final verdict, several verdicts (a batch), or "ask the vendor after the sends";
- ``deferred(send, request, error)`` is the outcome when every try failed;
- ``after_sends(context, send, undecided, stats)`` decides the documents left undecided.
Nothing is set on the operator during ``execute``, and no staged row is ever written to.
"""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from erp_outbound.core import runs, settings
from erp_outbound.core.client import VendorClient
from erp_outbound.core.delivery import Delivery, Request
from erp_outbound.core.http import ConnectionConfigError, TransientError
from erp_outbound.core.metrics import DeliveryMeter
from erp_outbound.core.params import as_bool, form_value
from erp_outbound.core.storage import Folder, read_records, safe_name
from erp_outbound.core.verdict import Outcome, SendOutcome, Undecided, Verdict
from erp_outbound.erp.claims import Claims
from erp_outbound.erp.hook import ErpHook
from erp_outbound.erp.journal import Journal, JournalWriter
from erp_outbound.pools import take_vendor_pool
from erp_outbound.steps.transform import build_error_verdicts

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


@contextmanager
def garbage_collector_skipping_what_lives_now():
    """Airflow, its providers and pandas hold hundreds of thousands of objects that live as long as
    the task; every full collection walks them all (0.4 s of a 120,000-key GEP load). Frozen while
    the documents go out, they are skipped; unfrozen after, they are as before."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def preview_line(doc: dict) -> str:
    """A dry run's JSON line for one staged document: its keys, then the body it would send."""
    keys = {k: v for k, v in doc.items() if k != "body"}
    return json.dumps({**keys, "body": json.loads(doc["body"])}, ensure_ascii=False, default=str)


@dataclass(slots=True)
class Skipped:
    """Documents of the load part this run no longer holds a claim on (not sent)."""

    count: int = 0


def percentile_ms(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0] * 1000, 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class SendContext:
    """What a vendor's send step works with in one run: made by the load step, passed to every call.

    ``client`` is the session of the sends (``hook.client``): open while they last, closed by
    ``after_sends``, which opens its own from ``hook`` when it must ask the vendor.
    """

    hook: Any  # the vendor's hook: auth, settings, sessions
    client: VendorClient
    erp: Engine  # the ERP, for bookkeeping a send commits around its request (RamBase)
    documents_per_request: int = 1


def deferred_verdict(vendor: str, doc: dict, error: TransientError) -> Verdict:
    """A document left untouched after transient failures: DEFERRED, it goes again next run."""
    return Verdict(vendor=vendor, doc_type=doc["doc_type"], document_id=doc["document_id"],
                   identifier=doc["identifier"], outcome=Outcome.DEFERRED, message=error.reason,
                   http_status=error.status, attempts_before=doc["attempts"])


class LoadOperator(BaseOperator):
    """Base of the vendors' load operators. ``batches`` is one load part of the transform step.

    With ``documents_per_request`` above 1 (``request_size``), each request carries a list of
    documents and its outcome has a verdict for each.
    """

    vendor: str = ""
    endpoint: str = ""  # the vendor endpoint's path (e.g. v2/transactions): the output of the load's lineage
    documents_per_request: int = 1
    template_fields = ("batches", "extracted", "dry_run")
    ui_color = "#fde8e8"

    def __init__(self, *, batches: Any, extracted: Any = None, erp_conn_id: str = ErpHook.default_conn_name,
                 dry_run: Any = None, **kwargs) -> None:
        take_vendor_pool(kwargs, self.vendor)
        super().__init__(**kwargs)
        self.batches = batches
        self.extracted = extracted
        self.erp_conn_id = erp_conn_id
        self.dry_run = dry_run
        # The counts execute returned, for get_openlineage_facets_on_complete: the provider calls it in a forked
        # process, where the task's own XCom cannot be read back. Nothing at send time reads it.
        self.lineage_counts: dict = {}

    # -- what a vendor provides -------------------------------------------------
    def make_hook(self):
        raise TypeError(f"{type(self).__name__} must say which hook reaches its vendor (make_hook)")

    def request_size(self, context) -> int:
        """How many documents one request carries in this run."""
        return self.documents_per_request

    def send_context(self, context, **fields) -> SendContext:
        """The run's send context; a vendor with run state of its own returns a subclass (GEP: batch size)."""
        return SendContext(**fields)

    async def preflight(self, send: SendContext) -> None:
        """Reach the vendor once (e.g. ping, get a token). Raise ConnectionConfigError or TransientError."""

    async def send_one(self, send: SendContext, request: Request) -> SendOutcome:
        """Send one request; its outcome, or TransientError (retried by the engine)."""
        raise TypeError(f"{type(self).__name__} must say how one document is sent (send_one)")

    def deferred(self, send: SendContext, request: Request, error: TransientError) -> SendOutcome:
        """Every try failed: the request's documents are left untouched (DEFERRED). Runs in a worker thread."""
        verdicts = [deferred_verdict(self.vendor, doc, error) for doc in request.documents]
        return SendOutcome.final(verdicts[0]) if len(verdicts) == 1 else SendOutcome.several(verdicts)

    def after_sends(self, context, send: SendContext, undecided: list[Undecided], stats: dict) -> dict:
        """Decide the documents whose outcome said "ask the vendor after the sends"; the step's result."""
        if undecided:
            raise TypeError(f"{type(self).__name__} left {len(undecided)} documents undecided and has no "
                            "after_sends to decide them")
        return stats

    # -- the shared step ----------------------------------------------------------
    def requests_for(self, docs: Iterator[dict], size: int) -> Iterator[Request]:
        """The requests: one document each, or lists of ``size``."""
        if size <= 1:
            for doc in docs:
                yield Request([doc])
            return
        batch: list[dict] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= size:
                yield Request(batch)
                batch = []
        if batch:
            yield Request(batch)

    def execute(self, context) -> dict:
        built = self.batches or {}
        batches = built.get("batches", [])
        total = sum(b["count"] for b in batches)
        dry_run = as_bool(form_value(context, "dry_run", self.dry_run, False))
        engine = ErpHook(self.erp_conn_id).engine  # one engine for the whole step
        if dry_run:  # writes nothing to the ERP: reconcile reports the build errors from the staging files
            return self.preview(context, batches, total)
        journal = Journal(engine, runs.run_id(context), dag_id=runs.dag_id(context))
        build_errors = build_error_verdicts(self.vendor, built.get("build_errors", []))
        if total == 0 and not build_errors:
            self.log.info("Nothing to send.")
            return {"answered": 0, "deferred": 0}
        hook = self.make_hook()
        delivery_settings = hook.delivery_settings()
        token = (self.extracted or {}).get("claim_token")
        claims = Claims.resume(engine, runs.run_id(context), token, dag_id=runs.dag_id(context)) if token else None
        if claims is not None:  # all still ours: no claim check per record batch for half a lease
            claims.hold_all(self.vendor, sum((self.extracted or {}).get("counts", {}).values()))
        skipped = Skipped()
        self.log.info("Sending %d documents to %s with up to %d requests at once",
                      total, hook.describe(), delivery_settings.max_concurrency)
        meter = DeliveryMeter(self.vendor, runs.dag_id(context))
        with JournalWriter(journal) as writer, garbage_collector_skipping_what_lives_now():
            stats, send, undecided = asyncio.run(self._deliver(
                context, hook, engine, delivery_settings, journal, build_errors,
                self.documents(batches, claims, skipped), total, writer, meter))
        stats["skipped_claims"] = skipped.count
        self.log.info("Delivery: %s", {k: v for k, v in stats.items() if k != "transient_reasons"})
        stats = self.after_sends(context, send, undecided, stats) | {"build_errors": len(build_errors)}
        meter.emit(stats)
        self.lineage_counts = stats
        return stats

    def get_openlineage_facets_on_complete(self, task_instance):
        """The OpenLineage provider asks this once the task succeeded: ERP tables in, the endpoint out, and
        the counts this task returned."""
        from erp_outbound.core.lineage import load_lineage

        return load_lineage(vendor=self.vendor, base_url=self.make_hook().base_url, endpoint=self.endpoint,
                            erp_url=ErpHook(self.erp_conn_id).url,
                            doc_types=[b["doc_type"] for b in (self.batches or {}).get("batches", [])],
                            counts=self.lineage_counts)

    async def _deliver(self, context, hook, engine: Engine, delivery_settings, journal: Journal,
                       build_errors: list[Verdict], docs: Iterator[dict], total: int,
                       writer: JournalWriter, meter: DeliveryMeter) -> tuple[dict, SendContext, list[Undecided]]:
        undecided: list[Undecided] = []

        def record(outcome: SendOutcome) -> None:
            """Where outcomes go as they arrive: verdicts to the journal, the undecided kept for after the sends."""
            for verdict in outcome.verdicts:
                writer.put(verdict)
            if outcome.undecided is not None:
                undecided.append(outcome.undecided)

        async with hook.client(delivery_settings) as client:
            send = self.send_context(context, hook=hook, client=client, erp=engine,
                                     documents_per_request=max(1, self.request_size(context)))
            reached = await self._preflight(send)
            if reached:
                # Build errors count as attempts only once the vendor could hear about them.
                await asyncio.to_thread(journal.record, build_errors)
            delivery = Delivery(delivery_settings, meter.send(lambda request: self.send_one(send, request)),
                                meter.defer(lambda request, error: self.deferred(send, request, error)),
                                record, label=f"{self.vendor} requests", on_remaining=client.pacer.note_remaining)
            requests_total = -(-total // send.documents_per_request)
            result = await delivery.deliver(self.requests_for(docs, send.documents_per_request), requests_total)
            if not reached and result.answered:
                await asyncio.to_thread(journal.record, build_errors)
            stats = result.as_dict() | client.stats_dict() | {
                "latency_p50_ms": percentile_ms(result.latencies, 50),
                "latency_p95_ms": percentile_ms(result.latencies, 95)}
        return stats, send, undecided

    async def _preflight(self, send: SendContext) -> bool:
        """A wrong connection fails now. A transient failure (429, 5xx, no answer) says nothing about the
        connection and is not retried: waiting out its Retry-After or backoff would hold every sender for
        nothing. The documents' own tries decide (a 401 or 403 on one stops the run as it would here), and
        the outage breaker stops sending once most of them fail (core/breaker.py). True when the vendor
        answered."""
        hook = send.hook
        try:
            await self.preflight(send)
        except TransientError as exc:
            # A vendor's check names its connection already (e.g. Procuros' ping): name it once.
            failure = str(exc) if hook.conn_id in str(exc) else f"{hook.describe()}: {exc}"
            self.log.warning("The first check of the vendor failed (%s); sending anyway: each document is retried "
                             "on its own, and sending stops if most tries fail", failure)
            return False
        except ConnectionConfigError as exc:
            if hook.conn_id in str(exc):
                raise
            raise ConnectionConfigError(f"{hook.describe()}: {exc}") from exc
        return True

    def documents(self, batches: list[dict], claims: Claims | None, skipped: Skipped) -> Iterator[dict]:
        """The staged documents this run still holds a claim on; ``skipped`` counts the others."""
        for batch in batches:
            for docs in read_records(batch["ref"]):  # a record batch at a time
                if claims is not None:
                    held = claims.held(self.vendor, batch["doc_type"], [d["document_id"] for d in docs])
                    if len(held) < len(docs):
                        skipped.count += len(docs) - len(held)
                        self.log.warning("%d %s documents lost their claim (lease expired); not sent by this run",
                                         len(docs) - len(held), batch["doc_type"])
                    docs = [d for d in docs if d["document_id"] in held]
                yield from docs

    def preview(self, context, batches: list[dict], total: int) -> dict:
        """Dry run: write what would be sent to the reports folder; send nothing."""
        folder = Folder(settings.reports_url())
        map_index = getattr(context.get("ti"), "map_index", None) or 0
        part = f"-part{map_index + 1}" if map_index > 0 else ""  # one file per load task
        name = safe_name(f"{context['dag'].dag_id}__{runs.run_id(context)}__dry-run-payloads{part}.jsonl")
        path = folder.write_lines(name, (preview_line(doc) for batch in batches
                                         for docs in read_records(batch["ref"]) for doc in docs))
        for batch in batches:
            self.log.info("Dry run: would send %d %s documents", batch["count"], batch["doc_type"])
        self.log.info("Dry run: the %d payloads that would be sent are in %s", total, path)
        return {"would_send": total, "preview": path}
