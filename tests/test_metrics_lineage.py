"""Delivery metrics (Airflow's metrics, to a StatsD listener on loopback) and OpenLineage events (the
provider's file transport) of real DAG runs against the sandbox, checked against the run's report."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from conftest import SANDBOX_TOKEN
from erp_outbound.core.metrics import METRICS
from erp_outbound_tools.demo.erp import build_demo_erp
from processes import TESTS, airflow_home_copy

pytestmark = pytest.mark.airflow
DOCS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "platform" / "metrics-lineage.md"


class StatsdListener:
    """A StatsD server on loopback that keeps every line it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                continue
            self.lines += data.decode().splitlines()

    def stop(self) -> list[str]:
        # Every datagram was sent before the run's process ended; one more timeout drains the socket.
        self._stop.set()
        self._thread.join()
        self.sock.close()
        return self.lines


def parse(lines: list[str]) -> list[tuple[str, dict[str, str], float, str]]:
    """(name, tags, value, kind) of each StatsD line; InfluxDB-style tags: name,k=v,k=v:value|kind."""
    parsed = []
    for line in lines:
        head, _, rest = line.partition(":")
        value, _, kind = rest.partition("|")
        name, *pairs = head.split(",")
        parsed.append((name, dict(p.split("=", 1) for p in pairs), float(value), kind.split("|")[0]))
    return parsed


def run_dag(tmp_path: Path, dag_id: str, env: dict[str, str]) -> str:
    home = airflow_home_copy(tmp_path / "airflow-home")
    environment = {**__import__("os").environ, **env, "AIRFLOW_HOME": str(home),
                   "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}"}
    done = subprocess.run([sys.executable, str(TESTS / "run_dag.py"), dag_id, "{}"], env=environment,
                          capture_output=True, text=True, timeout=600)
    assert "RUN-STATE success" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_a_procuros_run_sends_its_metrics_and_lineage(tmp_path, sandbox_with):
    erp_url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(erp_url, 60, seed=3)
    # 30% of first tries answered 429, 500 or 503: retries and 429s to count.
    server = sandbox_with(pressure={"first_attempt_faults": {"share": 0.3}})
    listener = StatsdListener()
    events = tmp_path / "openlineage.jsonl"
    reports = tmp_path / "reports"
    env = {
        "AIRFLOW_CONN_ERP_DEFAULT": json.dumps({"conn_type": "erp", "host": erp_url}),
        "AIRFLOW_CONN_PROCUROS_DEFAULT": json.dumps({
            "conn_type": "procuros", "host": server.base_url, "password": SANDBOX_TOKEN,
            "extra": {"max_tries": 5, "backoff_initial": 0.01, "max_retry_wait": 2}}),
        "ERP_OUTBOUND_STAGING": str(tmp_path / "staging"), "ERP_OUTBOUND_REPORTS": str(reports),
        "AIRFLOW__METRICS__STATSD_ON": "True", "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
        "AIRFLOW__METRICS__STATSD_PORT": str(listener.port), "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
        "AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED": "True",  # tags travel as name,k=v (InfluxDB style)
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(events),
                                                        "append": True}),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "erp-outbound-test",
    }
    try:
        run_dag(tmp_path, "procuros_outgoing", env)
    finally:
        lines = listener.stop()
    ours = [m for m in parse(lines) if m[0].startswith("airflow.erp_outbound.")]
    [report_file] = reports.glob("procuros_outgoing__*.json")
    report = json.loads(report_file.read_text())
    record = server.snapshot()

    # Documents by outcome: the tagged name and the legacy name both say what the report says.
    tagged, legacy = Counter(), Counter()
    for name, tags, value, kind in ours:
        if name == "airflow.erp_outbound.documents":
            assert kind == "c" and set(tags) == {"vendor", "dag_id", "doc_type", "outcome"}
            tagged[(tags["doc_type"], tags["outcome"])] += value
        elif name.startswith("airflow.erp_outbound.documents."):
            vendor, dag_id, doc_type, outcome = name.split(".")[3:]
            assert (vendor, dag_id) == ("procuros", "procuros_outgoing")
            legacy[(doc_type, outcome)] += value
    expected = Counter({(t, o): n for t, outcomes in report["by_type"].items() for o, n in outcomes.items() if n})
    assert tagged == expected and legacy == expected and sum(expected.values()) >= 60

    def total(metric: str) -> float:
        return sum(v for n, t, v, k in ours if n == f"airflow.erp_outbound.{metric}" and t.get("vendor") == "procuros")

    # Requests: every POST /v2/transactions the sandbox received, 429s as it answered them.
    transactions = [e for e in record["requests"] if "transactions" in e]
    received = sum(record["requests"][e] for e in transactions)
    answered_429 = sum(record["answers"][e].get("429", 0) for e in transactions)
    assert total("requests") == received > 0
    assert total("throttled") == answered_429 > 0
    assert 0 < total("retries") < received  # every fault was retried (max_tries 5)
    timings = [m for m in ours if m[0] == "airflow.erp_outbound.request_duration"]
    assert len(timings) == received and all(k == "ms" and v >= 0 for _, _, v, k in timings)
    assert {t["doc_type"] for _, t, _, _ in timings} <= set(report["by_type"])
    paces = [m for m in ours if m[0] == "airflow.erp_outbound.pace"]
    assert paces and all(k == "g" for *_, k in paces)

    # No document id, number or secret in any name or tag.
    allowed = {"procuros", "procuros_outgoing", *report["by_type"], *(o for o in report["totals"])}
    for name, tags, _, _ in ours:
        assert set(tags.values()) <= allowed, tags
        assert SANDBOX_TOKEN not in name
    numbers = {f["identifier"] for f in report["failures"] if f.get("identifier")}  # document numbers
    assert numbers and not any(n in line for n in numbers for line in lines)

    # Lineage: one COMPLETE event per load task, ERP tables in, /v2/transactions out, the counts.
    completes = [e for e in map(json.loads, events.read_text().splitlines())
                 if e["eventType"] == "COMPLETE" and e["job"]["name"].startswith("procuros_outgoing.load")]
    assert completes
    sent = 0
    for event in completes:
        inputs = {(d["namespace"], d["name"]) for d in event["inputs"]}
        assert (f"sqlite://{tmp_path / 'erp.db'}", "purchase_orders") in inputs
        assert (f"sqlite://{tmp_path / 'erp.db'}", "purchase_order_lines") in inputs
        assert "SELECT" in event["job"]["facets"]["sql"]["query"]
        [output] = event["outputs"]
        assert (output["namespace"], output["name"]) == (server.base_url, "/v2/transactions")
        delivery = event["run"]["facets"]["erpOutboundDelivery"]
        assert output["outputFacets"]["outputStatistics"]["rowCount"] == delivery["answered"] + delivery["deferred"]
        sent += delivery["answered"] + delivery["deferred"]
        assert SANDBOX_TOKEN not in json.dumps(event)
    delivered = sum(n for (t, o), n in expected.items() if o != "BUILD_ERROR")
    assert sent == delivered


def test_the_docs_table_lists_every_metric():
    page = DOCS_PAGE.read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `erp_outbound\.([a-z_]+)`", page, flags=re.MULTILINE))
    assert listed == {m.name for m in METRICS}
    for metric in METRICS:
        row = next(line for line in page.splitlines() if line.startswith(f"| `{metric.full_name}`"))
        assert metric.kind in row and all(f"`{tag}`" in row for tag in metric.tags), row


@pytest.mark.parametrize("url, namespace, name", [
    ("postgresql+psycopg2://erp:s3cret-pw@db.example:5433/erp", "postgres://db.example:5433", "erp.public.purchase_orders"),
    ("mysql+pymysql://root:s3cret-pw@maria.example/erp", "mysql://maria.example:3306", "erp.purchase_orders"),
    ("sqlite:////data/erp.db", "sqlite:///data/erp.db", "purchase_orders"),
])
def test_erp_tables_are_named_as_openlineage_names_them_without_credentials(url, namespace, name):
    from sqlalchemy.engine import make_url

    from erp_outbound.core.lineage import erp_tables, load_lineage, load_sql, tables_read

    sql = load_sql("procuros", ["ORDER"])
    assert set(tables_read(sql)) == {"purchase_orders", "purchase_order_lines", "products", "partners",
                                     "partner_addresses"}
    [table] = erp_tables(make_url(url), ["purchase_orders"])
    assert (table.namespace, table.name) == (namespace, name)
    lineage = load_lineage(vendor="procuros", base_url="https://api.procuros.example", endpoint="v2/transactions",
                           erp_url=make_url(url), doc_types=["ORDER"], counts={"answered": 7, "deferred": 2})
    assert "s3cret" not in repr(lineage)
    assert lineage.outputs[0].outputFacets["outputStatistics"].rowCount == 9


class RecordingStats:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, float, dict | None]] = []

    def incr(self, stat, count=1, tags=None):
        self.sent.append(("incr", stat, count, tags))

    def gauge(self, stat, value, tags=None):
        self.sent.append(("gauge", stat, value, tags))

    def timing(self, stat, dt, tags=None):
        self.sent.append(("timing", stat, dt.total_seconds(), tags))


def test_the_meter_counts_tries_retries_and_429s_per_type_and_sends_grants_and_pace(monkeypatch):
    import asyncio

    from erp_outbound.core import metrics
    from erp_outbound.core.http import TransientError

    recording = RecordingStats()
    monkeypatch.setattr(metrics, "_stats", lambda: recording)
    monkeypatch.setattr(metrics, "_legacy_names_on", lambda: True)
    monkeypatch.setattr(metrics, "_metrics_on", lambda: True)
    meter = metrics.DeliveryMeter("gep", "gep.por_status")  # a dot in a value: "__" in the legacy name
    answers = {"a": [TransientError("busy", status=429), "ok"], "b": ["ok"]}

    async def send(item):
        answer = answers[item[0]["key"]].pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    send_metered = meter.send(send)
    batch_a, batch_b = [{"doc_type": "POR_STATUS", "key": "a"}], [{"doc_type": "POR_STATUS", "key": "b"}]

    async def deliver():
        for item in (batch_a, batch_b):
            try:
                await send_metered(item)
            except TransientError:
                await send_metered(item)  # the engine's retry of the same item
    asyncio.run(deliver())
    meter.defer(lambda item, error: None)([{"doc_type": "POR_STATUS"}], TransientError("gone"))
    meter.emit({"token_grants": 2, "rate_now": 41.5})

    def sent(kind, name):
        return [(v, t) for k, n, v, t in recording.sent if k == kind and n == name]

    tags = {"vendor": "gep", "dag_id": "gep.por_status", "doc_type": "POR_STATUS"}
    assert sent("incr", "erp_outbound.requests") == [(3, tags)]
    assert sent("incr", "erp_outbound.retries") == [(1, tags)]
    assert sent("incr", "erp_outbound.throttled") == [(1, tags)]
    assert sent("incr", "erp_outbound.requests.gep.gep__por_status.POR_STATUS") == [(3, None)]
    assert len(sent("timing", "erp_outbound.request_duration")) == 3
    assert sent("incr", "erp_outbound.token_grants") == [(2, {"vendor": "gep", "dag_id": "gep.por_status"})]
    assert sent("gauge", "erp_outbound.pace") == [(41.5, {"vendor": "gep", "dag_id": "gep.por_status"})]
    assert meter._tries == {}  # nothing in flight is remembered after its verdict or deferral
