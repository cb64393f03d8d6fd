"""Delivery metrics, sent through Airflow's own metrics system.

They go wherever the deployment's ``[metrics]`` section sends Airflow's metrics (StatsD, Datadog or
OpenTelemetry), with Airflow's prefix (``airflow.`` by default). Names follow Airflow's own: one name
with the dimensions as tags (``erp_outbound.documents`` tagged vendor, dag_id, doc_type, outcome),
for backends that keep tags; and, while ``[metrics] legacy_names_on`` is true (Airflow's default),
also the legacy name with the dimensions in it, as Airflow's ``ti.finish.<dag_id>.<task_id>.<state>``
(``erp_outbound.documents.procuros.procuros_outgoing.ORDER.TRANSMITTED``), for plain StatsD.

No metric carries a document id, a number or a secret: the only tags are the vendor, the DAG, the
document type and the outcome. ``METRICS`` is the one list of them (the docs' table is checked
against it).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from erp_outbound.core.http import TransientError

PREFIX = "erp_outbound"


@dataclass(frozen=True, kw_only=True)
class Metric:
    name: str  # after PREFIX
    kind: str  # counter, timer, gauge
    tags: tuple[str, ...]
    meaning: str

    @property
    def full_name(self) -> str:
        return f"{PREFIX}.{self.name}"

    def legacy_name(self, tags: dict[str, str]) -> str:
        return ".".join([self.full_name, *(_name_part(tags[t]) for t in self.tags)])


PER_TYPE = ("vendor", "dag_id", "doc_type")
PER_VENDOR = ("vendor", "dag_id")
DOCUMENTS = Metric(name="documents", kind="counter", tags=(*PER_TYPE, "outcome"),
                   meaning="Documents of a run by outcome (TRANSMITTED, NO_ACTION, REJECTED, BUILD_ERROR, "
                           "DEFERRED, UNCERTAIN, ...), counted once the run is reconciled")
REQUESTS = Metric(name="requests", kind="counter", tags=PER_TYPE,
                  meaning="Requests sent for documents (every try; a GEP batch counts once, under the type "
                          "of its first document)")
RETRIES = Metric(name="retries", kind="counter", tags=PER_TYPE,
                 meaning="Of those, tries after a transient failure (429, 5xx, a cut connection, a timeout)")
THROTTLED = Metric(name="throttled", kind="counter", tags=PER_TYPE,
                   meaning="Tries the vendor answered 429 (Too Many Requests)")
LOST_ANSWERS_ASKED = Metric(name="lost_answers_asked", kind="counter", tags=PER_TYPE,
                            meaning="Documents whose answer was lost and that were asked of the vendor after "
                                    "the sends (Procuros GET /v2/all-transactions)")
REQUEST_DURATION = Metric(name="request_duration", kind="timer", tags=PER_TYPE,
                          meaning="Time of one try, from its turn under the pace to the vendor's answer (ms)")
TOKEN_GRANTS = Metric(name="token_grants", kind="counter", tags=PER_VENDOR,
                      meaning="Access tokens the vendor granted a load task (RamBase, GEP; Procuros has none)")
PACE = Metric(name="pace", kind="gauge", tags=PER_VENDOR,
              meaning="Requests per second the rate controller held when the load ended; 0 when no limit "
                      "was found (not paced)")
METRICS = (DOCUMENTS, REQUESTS, RETRIES, THROTTLED, LOST_ANSWERS_ASKED, REQUEST_DURATION, TOKEN_GRANTS, PACE)


def _name_part(value: Any) -> str:
    # StatsD's hierarchy separator is '.', and Airflow's validators allow [A-Za-z0-9_.-]: as Airflow does
    # for a task id in a task group, a dot inside a value becomes "__".
    text = str(value).replace(".", "__")
    return "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in text)


def _stats():
    # Imported where metrics are sent, never at DAG-parse time.
    from airflow.sdk.observability import stats

    return stats


def _legacy_names_on() -> bool:
    from airflow.sdk.configuration import conf

    return conf.getboolean("metrics", "legacy_names_on", fallback=True)


def _metrics_on() -> bool:
    """Whether the deployment sends metrics anywhere ([metrics] statsd_on, statsd_datadog_enabled or otel_on)."""
    from airflow.sdk._shared.observability.metrics.base_stats_logger import NoStatsLogger
    from airflow.sdk.observability.metrics.stats_utils import get_stats_factory

    return get_stats_factory() is not NoStatsLogger


class Emitter:
    """Sends metrics under both names (tagged, and legacy while ``legacy_names_on``)."""

    def __init__(self) -> None:
        self.stats = _stats()
        self.legacy = _legacy_names_on()
        # Off, a timer per request would still cost the sender two calls into Airflow's stats for nothing.
        self.on = _metrics_on()

    def count(self, metric: Metric, n: int, tags: dict[str, str]) -> None:
        if n:
            if self.legacy:
                self.stats.incr(metric.legacy_name(tags), count=n)
            self.stats.incr(metric.full_name, count=n, tags=tags)

    def gauge(self, metric: Metric, value: float, tags: dict[str, str]) -> None:
        if self.legacy:
            self.stats.gauge(metric.legacy_name(tags), value)
        self.stats.gauge(metric.full_name, value, tags=tags)

    def timing(self, metric: Metric, seconds: float, tags: dict[str, str]) -> None:
        dt = timedelta(seconds=seconds)
        if self.legacy:
            self.stats.timing(metric.legacy_name(tags), dt)
        self.stats.timing(metric.full_name, dt, tags=tags)


def emit_outcomes(vendor: str, dag_id: str, counts: dict[str, dict[str, int]]) -> None:
    """Documents by outcome, from a run report's counts ({doc_type: {outcome: n}})."""
    emitter = Emitter()
    for doc_type, outcomes in counts.items():
        for outcome, n in outcomes.items():
            emitter.count(DOCUMENTS, n, {"vendor": vendor, "dag_id": dag_id, "doc_type": doc_type,
                                         "outcome": outcome})


def _doc_type(item: Any) -> str:
    """The type of an engine item: a load step's Request (its first document's), or a staged document."""
    documents = getattr(item, "documents", None) or (item if isinstance(item, list) else [item])
    first = documents[0] if documents else None
    return first.get("doc_type", "unknown") if isinstance(first, dict) else "unknown"


class DeliveryMeter:
    """Counts a load's tries per document type as the engine makes them, and times each.

    Wraps the engine's ``send`` and ``defer`` callables: every call of ``send`` is one try of one
    item; a second call for the same item is a retry. An item is known until its verdict (send
    returned) or its deferral, so the count per item stays small.
    """

    def __init__(self, vendor: str, dag_id: str) -> None:
        self.vendor = vendor
        self.dag_id = dag_id
        self.emitter = Emitter()
        self.requests: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self._tries: dict[int, int] = {}  # id(item) -> tries so far, while the item is in flight

    def tags(self, doc_type: str | None = None) -> dict[str, str]:
        tags = {"vendor": self.vendor, "dag_id": self.dag_id}
        return tags if doc_type is None else tags | {"doc_type": doc_type}

    def send(self, send: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
        async def metered(item):
            doc_type, key = _doc_type(item), id(item)
            tries = self._tries.get(key, 0)
            self._tries[key] = tries + 1
            self.requests[doc_type] += 1
            if tries:
                self.retries[doc_type] += 1
            started = time.perf_counter()
            try:
                result = await send(item)
            except TransientError as exc:
                if exc.status == 429:
                    self.throttled[doc_type] += 1
                raise
            finally:
                if self.emitter.on:
                    self.emitter.timing(REQUEST_DURATION, time.perf_counter() - started, self.tags(doc_type))
            self._tries.pop(key, None)
            return result
        return metered

    def defer(self, defer: Callable[[Any, TransientError], Any]) -> Callable[[Any, TransientError], Any]:
        def forget_then_defer(item, error: TransientError):
            self._tries.pop(id(item), None)
            return defer(item, error)
        return forget_then_defer

    def emit(self, stats: dict) -> None:
        """The counters of the load, with the client's token grants and pace from ``stats``."""
        for metric, counter in ((REQUESTS, self.requests), (RETRIES, self.retries), (THROTTLED, self.throttled),
                                (LOST_ANSWERS_ASKED, Counter(stats.get("lost_answers_asked") or {}))):
            for doc_type, n in counter.items():
                self.emitter.count(metric, n, self.tags(doc_type))
        self.emitter.count(TOKEN_GRANTS, stats.get("token_grants") or 0, self.tags())
        self.emitter.gauge(PACE, float(stats.get("rate_now") or 0), self.tags())
