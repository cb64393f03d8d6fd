"""One pipeline step in its own process, so its time and peak memory are its own.

``python -m erp_outbound_tools.bench.step STEP IN.json OUT.json`` runs the step's operator
``execute`` with the previous step's XCom from IN.json and writes its XCom and timing to OUT.json.
IN.json's ``vendor`` picks the pipeline: procuros (ORDERs, the default), rambase (purchase-order
updates) or gep (purchase order response statuses).
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from types import SimpleNamespace

from erp_outbound.gep.flows import POR_STATUS
from erp_outbound.gep.operators import POR_STATUS_PATH, GepAcknowledgeStatusOperator
from erp_outbound.procuros.operators import ProcurosReconcileOperator, ProcurosSendTransactionsOperator
from erp_outbound.rambase.flows import PURCHASE_ORDER_UPDATE
from erp_outbound.rambase.operators import RambaseUpdatePurchaseOrdersOperator
from erp_outbound.steps.extract import ExtractDocumentsOperator
from erp_outbound.steps.reconcile import ReconcileOperator
from erp_outbound.steps.transform import BuildPayloadsOperator

# vendor -> (document type, the load operator and its own arguments, the reconcile operator)
PIPELINES = {
    "procuros": ("ORDER", ProcurosSendTransactionsOperator, {}, ProcurosReconcileOperator),
    "rambase": (PURCHASE_ORDER_UPDATE, RambaseUpdatePurchaseOrdersOperator, {}, ReconcileOperator),
    "gep": (POR_STATUS, GepAcknowledgeStatusOperator, {"path": POR_STATUS_PATH, "batch_size": 100},
            ReconcileOperator),
}


def operators(step: str, inputs: dict) -> list:
    """The step's operators; the load step has one per load part, run one after another
    (as a pool with one slot would)."""
    vendor = inputs.get("vendor", "procuros")
    doc_type, load, load_args, reconcile = PIPELINES[vendor]
    common = {"task_id": step}
    if step == "extract":
        return [ExtractDocumentsOperator(vendor=vendor, doc_types=[doc_type], **common)]
    if step == "transform":
        return [BuildPayloadsOperator(vendor=vendor, chunks=inputs["extract"], **common)]
    if step == "load":
        return [load(batches=part, extracted=inputs["extract"], **load_args, **common) for part in inputs["transform"]]
    if step == "reconcile":
        vendor_arg = {} if reconcile is ProcurosReconcileOperator else {"vendor": vendor}
        return [reconcile(extracted=inputs["extract"], built=inputs["transform"], delivered=inputs["load"],
                          **vendor_arg, **common)]
    raise SystemExit(f"unknown step {step}")


class PushedXComs(dict):
    """Stands in for the task instance's ``xcom_push`` outside Airflow."""

    map_index = -1

    def xcom_push(self, key: str, value) -> None:
        self[key] = value


def main() -> None:
    step, source, target = sys.argv[1:4]
    inputs = json.loads(open(source).read())
    vendor = inputs.get("vendor", "procuros")
    dag_id = "bench_procuros_outgoing" if vendor == "procuros" else f"bench_{vendor}"
    context = {"run_id": inputs["run_id"], "dag": SimpleNamespace(dag_id=dag_id),
               "ti": PushedXComs(), "outlet_events": defaultdict(lambda: SimpleNamespace(add=lambda *a, **k: None))}
    tasks = operators(step, inputs)
    started, cpu_started = time.perf_counter(), time.process_time()
    results = [task.execute(context) for task in tasks]
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    with open(target, "w") as fh:  # cpu_seconds: every thread of this process, inside execute only
        json.dump({"xcom": results if step == "load" else results[0], "pushed": context["ti"], "seconds": seconds,
                   "cpu_seconds": cpu_seconds}, fh, default=str)


if __name__ == "__main__":
    main()
