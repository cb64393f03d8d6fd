"""The engine legs of ``make bench``: every vendor endpoint beside a bare aiohttp client, clean and under pressure.

``python -m erp_outbound_tools.bench.engine --documents 3000`` (or ``make bench LEGS=engine``).

Each leg builds a fresh ERP, runs extract and transform, then times our load step (the
operator's ``execute`` in its own process, as ``make bench`` does) and reconciles; then it
checks every document's ERP status against what the sandbox recorded, resets the sandbox and
sends the same staged requests with the bare client (bare.py) under the same conditions.

Legs are ``vendor`` (clean) or ``vendor:condition``:
- procuros: POST /v2/transactions (ORDERs, 5 lines); rambase: PUT procurement/orders/{id}
  (with the OAuth token); gep: PUT Order/PORStatus (batches of 100 keys; 10x the documents).
- rate_limit: the sandbox enforces 200 requests/s per vendor (token bucket 20 deep; 429 with
  Retry-After: 1 beyond it, not processed).
- faults: 30 % of first attempts get 429 (Retry-After: 1), 500 or 503 (not processed); a retry
  of the same request goes through.
Clean legs run at every ``--concurrency``, pressure legs at every ``--pressure-concurrency`` (16 and 64).
Every leg runs ``--runs`` times (3): the table shows the median run of our load step (by docs/s) beside
the median run of the bare client, and the docs/s of every run.
A leg at concurrency c sends ``--documents`` x c/16 documents (at least ``--documents``; rate-limit legs
``--documents``; ``--no-scale-documents`` turns this off): 64 senders clear 3,000 documents in about 1.5 s, where the
fixed costs (process start-up work, the preflight, the last verdicts' commit) and, under faults, the last
Retry-After of 1 s would be measured instead of the throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests
import sqlalchemy as sa
from tabulate import tabulate

from erp_outbound_tools.bench import bare
from erp_outbound_tools.bench.run import TOKEN, run_step, start_sandbox
from erp_outbound_tools.bench.workload import build_orders, build_po_updates, build_por_statuses
from erp_outbound_tools.sandbox.credentials import DEMO

VENDORS = ("procuros", "rambase", "gep")
RATE_LIMIT = 200  # requests/s of the rate_limit condition
CONDITIONS = {
    "clean": {},
    "rate_limit": {"rate_limit": {"requests_per_s": RATE_LIMIT}},
    "faults": {"first_attempt_faults": {"share": 0.3, "kinds": ["rate_limit", "error_500", "error_503"]}},
}
DEFAULT_LEGS = "procuros,rambase,gep,procuros:rate_limit,procuros:faults"
GEP_BATCH = 100  # the load operator's default batch_size (bench/step.py)
# GEP carries 100 keys a request: its legs take 10x the documents, so that they make as many requests
# as a leg of 1,000 single documents (300 for 3,000), and the wire is measured, not two round trips.
GEP_DOCUMENTS_FACTOR = 10
GEP_PATH = "/SmartInterfaceAPI/api/Order/PORStatus"
# the endpoint carrying the documents, per vendor (sandbox endpoint names)
DATA_ENDPOINT = {"procuros": "procuros.transactions", "rambase": "rambase.orders", "gep": "gep.status"}
TARGETS = {"clean": "load >= 0.9x bare", "rate_limit": f">= 95% of {RATE_LIMIT}/s, <= 0.05 429/doc",
           "faults": ">= 70% of clean docs/s"}
# GEP at 64: the bare client keeps nothing and is bound by this machine's two cores, so the ratio measures the
# machine; the leg reports keys/s and CPU seconds per 1,000 keys beside the bare client instead of a target.
NO_RATIO_TARGET = {("gep", "clean", 64): "keys/s and CPU s per 1,000 keys beside bare"}


@dataclass(frozen=True)
class Leg:
    vendor: str
    condition: str
    concurrency: int

    @property
    def name(self) -> str:
        return f"{self.vendor}:{self.condition}@{self.concurrency}"


def parse_legs(spec: str, concurrency: list[int], pressure_concurrency: list[int]) -> list[Leg]:
    """``procuros,gep:faults`` -> legs; ``engine`` stands for the default set."""
    legs: list[Leg] = []
    for token in spec.replace("engine", DEFAULT_LEGS).split(","):
        token = token.strip()
        if not token:
            continue
        vendor, _, condition = token.partition(":")
        condition = condition or "clean"
        if vendor not in VENDORS or condition not in CONDITIONS:
            raise SystemExit(f"unknown leg {token!r}: use vendor[:condition] with vendor in {', '.join(VENDORS)} "
                             f"and condition in {', '.join(CONDITIONS)}")
        for c in concurrency if condition == "clean" else pressure_concurrency:
            leg = Leg(vendor, condition, c)
            if leg not in legs:
                legs.append(leg)
    return legs


def step_env(workdir: Path, erp_url: str, sandbox_url: str, concurrency: int) -> dict[str, str]:
    """The connections a new user would make, at the leg's concurrency; everything else at its default."""
    extra = {"max_concurrency": concurrency}
    return os.environ | {
        "AIRFLOW_CONN_ERP_DEFAULT": json.dumps({"conn_type": "erp", "host": erp_url}),
        "AIRFLOW_CONN_PROCUROS_DEFAULT": json.dumps({"conn_type": "procuros", "host": sandbox_url, "password": TOKEN,
                                                     "extra": extra}),
        "AIRFLOW_CONN_RAMBASE_DEFAULT": json.dumps({"conn_type": "rambase", "host": sandbox_url,
                                                    "login": DEMO.rambase_client_id,
                                                    "password": DEMO.rambase_client_secret,
                                                    "extra": extra | {"db": DEMO.rambase_db}}),
        "AIRFLOW_CONN_GEP_SMART_DEFAULT": json.dumps({"conn_type": "gep_smart", "host": sandbox_url,
                                                      "password": DEMO.gep_auth_key,
                                                      "extra": extra | {"auth_url": f"{sandbox_url}/token/gep"}}),
        "ERP_OUTBOUND_STAGING": str(workdir / "staging"),
        "ERP_OUTBOUND_REPORTS": str(workdir / "reports"),
        "ERP_OUTBOUND_LOAD_TASK_SIZE": str(10**9),  # one load task at the connection's concurrency
    }


def build_erp(vendor: str, url: str, documents: int) -> None:
    {"procuros": build_orders, "rambase": build_po_updates, "gep": build_por_statuses}[vendor](url, documents)


def staged_requests(vendor: str, parts: list[dict]) -> list[bare.Request]:
    """The requests our load step sends, from the transform step's staged payloads."""
    from erp_outbound.core.storage import read_records

    docs = [({k: v for k, v in doc.items() if k != "body"}, doc["body"])
            for part in parts for batch in part["batches"] for docs in read_records(batch["ref"]) for doc in docs]
    if vendor == "procuros":
        return [bare.Request("POST", "/v2/transactions", body.encode()) for _, body in docs]
    if vendor == "rambase":
        return [bare.Request("PUT", f"/procurement/orders/{keys['identifier']}?$db=SANDBOX&$format=json",
                             body.encode()) for keys, body in docs]
    batches = [docs[i:i + GEP_BATCH] for i in range(0, len(docs), GEP_BATCH)]
    return [bare.Request("PUT", GEP_PATH, ('{"model":[' + ",".join(b for _, b in batch) + "]}").encode(), len(batch))
            for batch in batches]


# -- the verdict check ------------------------------------------------------------------------------

# vendor -> (ERP table, the column the vendor knows the document by, the status column)
ERP_ROWS = {"procuros": ("purchase_orders", "order_number", "status"),
            "rambase": ("rambase_po_updates", "purchase_order_id", "rambase_status"),
            "gep": ("gep_por_statuses", "order_number", "ack_status")}


def vendor_took(vendor: str, record: dict) -> dict[str, str | None]:
    """What the sandbox took, by the vendor's key: key -> the vendor's reference (Procuros' transaction id)."""
    if vendor == "procuros":
        return {str(t["identifier"]): t["procurosTransactionId"] for t in record["procuros"]["transactions"]
                if t["status_code"] in (201, 202)}
    if vendor == "rambase":
        return {str(p["id"]): None for p in record["rambase"]["order_puts"] if p["status_code"] == 200}
    return {key: None for key in record["gep"]["acknowledged"].get(GEP_PATH, {})}


def check_verdicts(vendor: str, erp_url: str, record: dict) -> dict:
    """Every document's ERP status against the sandbox's record.

    wrong: the ERP says delivered and the vendor did not take it (or took it under another id), or
    the ERP counted a refusal for a document the vendor took. lost: the vendor took it and the ERP
    does not know. pending: neither (no final answer this run; it goes again).
    """
    table, key, status = ERP_ROWS[vendor]
    took = vendor_took(vendor, record)
    extra = ", procuros_transaction_id" if vendor == "procuros" else ""
    engine = sa.create_engine(erp_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(f"SELECT {key}, {status}, attempts{extra} FROM {table}")).all()
    finally:
        engine.dispose()
    result: dict = {"documents": len(rows), "delivered": 0, "pending": 0, "wrong": [], "lost": []}
    for row in rows:
        doc, state, attempts = str(row[0]), row[1], row[2]
        if state:
            if doc not in took:
                result["wrong"].append(f"{doc}: ERP {state}, the vendor never took it")
            elif vendor == "procuros" and row[3] != took[doc]:
                result["wrong"].append(f"{doc}: ERP transaction id {row[3]}, the vendor's {took[doc]}")
            else:
                result["delivered"] += 1
        elif doc in took:
            result["wrong" if attempts else "lost"].append(
                f"{doc}: the vendor took it, the ERP {'counted a refusal' if attempts else 'does not know'}")
        else:
            result["pending"] += 1
    result["ok"] = not result["wrong"] and not result["lost"]
    return result


# -- one leg ----------------------------------------------------------------------------------------


def sandbox_figures(vendor: str, record: dict, documents: int, requests_sent: int) -> dict:
    """429 answers per document and retries (requests of the data endpoint beyond one per request)."""
    data_requests = record["requests"].get(DATA_ENDPOINT[vendor], 0)
    return {"answers_429": record["answers_429"], "per_doc_429": round(record["answers_429"] / max(documents, 1), 3),
            "retries": max(0, data_requests - requests_sent), "sandbox_requests": sum(record["requests"].values())}


def run_leg(leg: Leg, documents: int, workdir: Path, sandbox_url: str, run: int = 1) -> dict:
    legdir = workdir / (leg.name.replace(":", "-").replace("@", "-c") + (f"-run{run}" if run > 1 else ""))
    legdir.mkdir(parents=True, exist_ok=True)
    erp_url = f"sqlite:///{legdir / 'erp.db'}"
    env = step_env(legdir, erp_url, sandbox_url, leg.concurrency)
    build_erp(leg.vendor, erp_url, documents)
    pressure = CONDITIONS[leg.condition]

    def reset() -> None:
        requests.post(f"{sandbox_url}/_sandbox/reset", timeout=10).raise_for_status()
        requests.put(f"{sandbox_url}/_sandbox/pressure", json=pressure, timeout=10).raise_for_status()

    inputs: dict = {"run_id": f"bench-{leg.name}-{int(time.time())}", "vendor": leg.vendor}
    for step in ("extract", "transform"):
        out, _, _ = run_step(step, inputs, legdir, env)
        inputs[step] = out["xcom"]
        if step == "transform":
            inputs["transform_summary"] = out["pushed"]["summary"]
    staged = staged_requests(leg.vendor, inputs["transform"])

    reset()
    out, seconds, _ = run_step("load", inputs, legdir, env)
    inputs["load"] = out["xcom"]
    record = requests.get(f"{sandbox_url}/_sandbox/record", timeout=60).json()
    (legdir / "record.json").write_text(json.dumps(record))  # what check_verdicts compared the ERP with
    run_step("reconcile", inputs, legdir, env)
    verdicts = check_verdicts(leg.vendor, erp_url, record)
    # seconds: the load step's execute. delivery_seconds: the engine's own span inside it (first read to last
    # answer), without the set-up before it and the final journal commit after it.
    delivery = sum(r.get("seconds", 0.0) for r in out["xcom"] if isinstance(r, dict))
    ours = {"seconds": round(seconds, 3), "delivery_seconds": round(delivery, 3),
            "cpu_seconds": round(out.get("cpu_seconds", float("nan")), 3),
            "docs_per_second": round(verdicts["delivered"] / seconds, 1),
            "delivered": verdicts["delivered"], "pending": verdicts["pending"]}
    ours |= sandbox_figures(leg.vendor, record, documents, len(staged))

    reset()
    theirs = bare.run(leg.vendor, sandbox_url, staged, leg.concurrency, TOKEN)
    record = requests.get(f"{sandbox_url}/_sandbox/record", timeout=60).json()
    theirs |= sandbox_figures(leg.vendor, record, documents, len(staged))
    requests.put(f"{sandbox_url}/_sandbox/pressure", json={}, timeout=10).raise_for_status()
    return {"leg": leg.name, "vendor": leg.vendor, "condition": leg.condition, "concurrency": leg.concurrency,
            "documents": documents, "load": ours, "bare": theirs,
            "verdicts": {k: (v[:5] if isinstance(v, list) else v) for k, v in verdicts.items()}
            | {"wrong_count": len(verdicts["wrong"]), "lost_count": len(verdicts["lost"])}}


def median_of(runs: list[dict]) -> dict:
    """One leg's runs as one result: our median run (by docs/s) beside the bare client's median run; the verdict
    check holds only if it held in every run."""
    def median(side: str) -> dict:
        return sorted(runs, key=lambda r: r[side]["docs_per_second"])[len(runs) // 2]

    result = dict(median("load"))
    result["bare"] = median("bare")["bare"]
    result["runs"] = [{"load_docs_per_second": r["load"]["docs_per_second"],
                       "bare_docs_per_second": r["bare"]["docs_per_second"], "per_doc_429": r["load"]["per_doc_429"],
                       "verdicts_ok": r["verdicts"]["ok"]} for r in runs]
    result["verdicts"] = dict(result["verdicts"]) | {
        "ok": all(r["verdicts"]["ok"] for r in runs),
        "wrong_count": sum(r["verdicts"]["wrong_count"] for r in runs),
        "lost_count": sum(r["verdicts"]["lost_count"] for r in runs)}
    return result


def target_of(result: dict) -> str:
    key = (result["vendor"], result["condition"], result["concurrency"])
    return NO_RATIO_TARGET.get(key) or TARGETS[result["condition"]]


def per_thousand_cpu(side: dict, documents: int) -> float:
    return round(1000 * side.get("cpu_seconds", float("nan")) / max(documents, 1), 3)


def verdict_line(result: dict, results: list[dict]) -> str:
    """Whether the leg meets its target, from its (median) figures."""
    ours, condition = result["load"], result["condition"]
    if (result["vendor"], condition, result["concurrency"]) in NO_RATIO_TARGET:
        theirs = result["bare"]
        return (f"{ours['docs_per_second']:,.0f} vs {theirs['docs_per_second']:,.0f} keys/s, CPU s per 1,000 keys "
                f"{per_thousand_cpu(ours, result['documents'])} vs {per_thousand_cpu(theirs, result['documents'])}")
    if condition == "clean":
        met = ours["docs_per_second"] >= 0.9 * result["bare"]["docs_per_second"]
    elif condition == "rate_limit":
        met = ours["docs_per_second"] >= 0.95 * RATE_LIMIT and ours["per_doc_429"] <= 0.05
    else:
        clean = next((r for r in results if r["vendor"] == result["vendor"] and r["condition"] == "clean"
                      and r["concurrency"] == result["concurrency"]), None)
        if clean is None:
            return "n/a (no clean leg)"
        share = ours["docs_per_second"] / clean["load"]["docs_per_second"]
        return f"{share:.0%} of clean: {'met' if share >= 0.7 else 'NOT met'}"
    return "met" if met else "NOT met"


def table(results: list[dict]) -> str:
    rows = []
    for r in results:
        ours, theirs, v = r["load"], r["bare"], r["verdicts"]
        ratio = ours["docs_per_second"] / theirs["docs_per_second"] if theirs["docs_per_second"] else float("nan")
        runs = " / ".join(f"{run['load_docs_per_second']:g}" for run in r.get("runs", []))
        rows.append([r["leg"], r["documents"], ours["docs_per_second"], runs, f"{ours['seconds']:.2f} / "
                     f"{ours.get('delivery_seconds', float('nan')):.2f} / {theirs['seconds']:.2f}",
                     theirs["docs_per_second"], f"{ratio:.2f}x",
                     f"{per_thousand_cpu(ours, r['documents'])} / {per_thousand_cpu(theirs, r['documents'])}",
                     ours["per_doc_429"], theirs["per_doc_429"], ours["retries"], theirs["retries"],
                     f"{ours['delivered']}/{r['documents']}",
                     "ok" if v["ok"] else f"{v['wrong_count']} wrong, {v['lost_count']} lost",
                     f"{target_of(r)}: {verdict_line(r, results)}"])
    return tabulate(rows, tablefmt="github", headers=[
        "leg", "docs", "load docs/s (median)", "every run", "s: load / its delivery / bare", "bare docs/s (median)",
        "load/bare", "CPU s/1k docs load / bare", "429/doc load", "429/doc bare", "retries load", "retries bare",
        "delivered", "verdicts", "target"])


def leg_documents(leg: Leg, documents: int, scale: bool = True) -> int:
    """Documents (GEP: keys) the leg sends: more senders get more documents when ``scale`` (not under the
    rate limit: 200 requests/s bound it whatever the senders, and 3,000 documents already take 15 s)."""
    n = documents * (max(1, leg.concurrency // 16) if scale and leg.condition != "rate_limit" else 1)
    return n * (GEP_DOCUMENTS_FACTOR if leg.vendor == "gep" else 1)


def run(legs: list[Leg], documents: int, latency_ms: float, port: int, workdir: Path, scale: bool = True,
        runs: int = 3) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    sandbox_url = f"http://127.0.0.1:{port}"
    sandbox = start_sandbox(port, latency_ms, workdir / "sandbox.log")
    results: list[dict] = []
    try:
        for leg in legs:
            n = leg_documents(leg, documents, scale)
            print(f"... engine leg {leg.name}: {n} documents, our load step then the bare client, {runs} runs",
                  flush=True)
            results.append(median_of([run_leg(leg, n, workdir, sandbox_url, i + 1) for i in range(runs)]))
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    return {"latency_ms": latency_ms, "documents": documents, "scale_documents": scale, "runs": runs,
            "legs": results}


def report(engine: dict) -> None:
    print()
    per_leg = "x concurrency/16" if engine.get("scale_documents") else "a leg"
    print(f"Engine legs against the sandbox at {engine['latency_ms']:g} ms, the median of {engine.get('runs', 1)} runs "
          f"({engine['documents']} documents {per_leg}, "
          f"GEP {GEP_DOCUMENTS_FACTOR}x as many keys in batches of {GEP_BATCH}). Load: the load step's execute "
          "(ERP engine, claims, preflight, delivery, every verdict committed to the journal). "
          "Bare: aiohttp, one session, as many workers as the concurrency; it retries a 429, 5xx or cut "
          "connection after Retry-After (1 s without), up to 10 tries.")
    print(table(engine["legs"]))


def add_arguments(parser: argparse.ArgumentParser, standalone: bool = False) -> None:
    parser.add_argument("--documents", type=int, default=3000, help="documents per engine leg")
    names = ["--engine-concurrency"] + (["--concurrency"] if standalone else [])
    parser.add_argument(*names, dest="engine_concurrency", default="16,64",
                        help="concurrencies of the clean engine legs")
    parser.add_argument("--pressure-concurrency", default="16,64", help="concurrencies of the pressure legs")
    parser.add_argument("--runs", type=int, default=3, help="runs per leg; the table shows the median")
    parser.add_argument("--scale-documents", action=argparse.BooleanOptionalAction, default=True,
                        help="a leg at concurrency c sends --documents x c/16 documents")


def legs_from(args: argparse.Namespace, spec: str) -> list[Leg]:
    return parse_legs(spec, [int(c) for c in args.engine_concurrency.split(",") if c],
                      [int(c) for c in args.pressure_concurrency.split(",") if c])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m erp_outbound_tools.bench.engine", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--legs", default="engine", help=f"legs, comma-separated (engine = {DEFAULT_LEGS})")
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--port", type=int, default=8796)
    parser.add_argument("--workdir", default=".bench/engine")
    add_arguments(parser, standalone=True)
    args = parser.parse_args(argv)
    engine = run(legs_from(args, args.legs), args.documents, args.latency_ms, args.port, Path(args.workdir).resolve(),
                 args.scale_documents, args.runs)
    report(engine)
    print("\nBENCH " + json.dumps({"engine": engine}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
