"""End to end: a real local Airflow (``make airflow``), driven only through its REST API v2.

Starts api-server, scheduler, dag-processor, triggerer and the sandbox in a folder of the
test's own, triggers ``procuros_outgoing`` as the UI's trigger form does, reads the
reconcile task's log through the API, tests the stored connections, and stops everything.
Fails (never skips) when Airflow cannot start.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests
from erp_outbound.dag_defaults import DOCUMENT_TYPE_NAMES
from erp_outbound_tools.local_airflow import DemoSecrets, LocalAirflow, LocalAirflowConfig
from erp_outbound_tools.local_airflow.processes import running
from erp_outbound_tools.local_airflow.screenshots import trigger_form
from playwright.sync_api import sync_playwright
from erp_outbound.pools import POOLS
from erp_outbound.procuros.flows import FLOWS

pytestmark = pytest.mark.e2e

# Distinctive, so finding one anywhere cannot be a coincidence.
SECRETS = DemoSecrets(procuros_token="e2e-procuros-token-5b1d93c8",
                      rambase_client_secret="e2e-rambase-secret-a7c2049e",
                      gep_auth_key="e2e-gep-auth-key-3f9e61d4")
CONF = {"doc_types": ["ORDER", "INVOICE"], "limit": 20, "report_after": 1}
DAG_ID = "procuros_outgoing"
TASKS = ["extract", "transform", "load", "reconcile"]


def counts_table(log: str) -> dict[str, dict[str, int]]:
    """The report's first table, ``{type: {outcome: n}}``, read from the log text."""
    lines = log.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("type") and "DELIVERED" in line)
    header = lines[start].split()[1:]
    table = {}
    for line in lines[start + 2:]:
        cells = line.split()
        if len(cells) != len(header) + 1 or not all(c.isdigit() for c in cells[1:]):
            break
        table[cells[0]] = dict(zip(header, map(int, cells[1:])))
    return table


def test_procuros_outgoing_runs_in_a_local_airflow_through_the_rest_api(tmp_path):
    config = LocalAirflowConfig(workdir=tmp_path / "airflow-local", port=0, documents=80, seed=3,
                                schedules=False, secrets=SECRETS, start_timeout=180, stop_grace=15)
    airflow = LocalAirflow(config, say=print)
    airflow.start()  # raises (the test fails) when any process cannot start or the DAGs do not parse
    try:
        client = airflow.client()
        assert client.health()["scheduler"]["status"] == "healthy"
        assert airflow.dags[DAG_ID]["is_paused"] is True, airflow.import_errors  # as Airflow creates it

        # -- a run, as Trigger DAG -> with config makes it ------------------------------------
        assert client.set_paused(DAG_ID, False)["is_paused"] is False
        run_id = client.trigger(DAG_ID, CONF)["dag_run_id"]
        run = client.wait_for_run(DAG_ID, run_id, timeout=150)
        instances = client.task_instances(DAG_ID, run_id)  # load is mapped: one instance per load part
        states = [(t["task_id"], t["map_index"], t["state"]) for t in instances]
        failed_logs = [_log(client, run_id, t)[-3000:] for t in instances if t["state"] != "success"]
        assert run["state"] == "success", f"{states}\n" + "\n".join(failed_logs)
        assert run["conf"] == CONF
        assert {t["task_id"] for t in instances} == set(TASKS)
        assert all(t["state"] == "success" for t in instances), states

        log = client.task_log(DAG_ID, run_id, "reconcile")
        assert f"erp-outbound run report: procuros / {DAG_ID} / {run_id}" in log
        table = counts_table(log)
        assert set(table) == {"ORDER", "INVOICE", "TOTAL"}  # only the types of the conf
        assert all(row["total"] <= 20 for name, row in table.items() if name != "TOTAL")  # its limit
        total = table["TOTAL"]
        assert total["DELIVERED"] > 0
        # The sandbox got one transaction for each document it decided on (build errors are not sent).
        record = requests.get(f"{airflow.sandbox_url}/_sandbox/record", timeout=10).json()
        assert len(record["procuros"]["transactions"]) == total["DELIVERED"] + total["NO_ACTION"] + total["REJECTED"]
        saved = json.loads(next(config.layout.reports.glob(f"{DAG_ID}__*.json")).read_text())
        assert saved["totals"]["DELIVERED"] == total["DELIVERED"]

        # -- connections and pools live in the metadata DB, as the UI shows them ------------------
        host = client.connection("procuros_default")["host"]
        assert client.test_connection("procuros_default", "procuros", host=host) == {
            "status": True, "message": f"Procuros answered /v2/ping at {host}"}
        refused = client.test_connection("procuros_default", "procuros", host=host, password="not-the-token")
        assert refused["status"] is False
        # The Test button of the UI's connection list sends the listed fields (port 0, token masked).
        assert client.test_connection_as_the_ui("procuros_default")["status"] is True
        for conn_id, conn_type in [("rambase_default", "rambase"), ("gep_smart_default", "gep_smart")]:
            answer = client.test_connection(conn_id, conn_type, host=client.connection(conn_id)["host"])
            assert answer["status"] is True, answer
        types = client.connection_types()
        assert {"procuros", "rambase", "gep_smart", "erp"} <= set(types)
        assert types["procuros"]["standard_fields"]["password"]["title"] == "API token"
        assert "max_concurrency" in types["procuros"]["extra_fields"]
        pools = client.pools()
        assert {p.name: p.slots for p in POOLS.values()} == {n: pools[n]["slots"] for n in pools if n in
                                                             {p.name for p in POOLS.values()}}

        # -- the trigger form, in a real browser, offers every Procuros document type --------------
        form = _trigger_form_text(client, tmp_path / "trigger-form.png")
        assert "Document types" in form, form[:500]
        missing = [t for t in FLOWS if DOCUMENT_TYPE_NAMES[t] not in form]
        assert missing == [], f"not in the form: {missing}\n{form[:2000]}"

        # -- no secret in any log the API serves, nor in any answer ------------------------------
        texts = [_log(client, run_id, t) for t in instances]
        texts += [json.dumps(client.connection(c)) for c in ("procuros_default", "rambase_default",
                                                              "gep_smart_default")]
        for secret in SECRETS.values():
            assert not any(secret in text for text in texts), f"a secret leaked: {secret}"
        processes = airflow.processes()
        assert len(processes) >= 6  # sandbox, 4 Airflow components, and what they started
    finally:
        airflow.stop()

    # -- nothing is left running, nothing leaked into the files --------------------------------
    assert [p.pid for p in processes if running(p)] == []
    assert not config.layout.state_file.exists()
    leaks = [(path, secret) for path in _text_files(config.layout.logs, config.layout.airflow_home / "logs",
                                                     config.layout.reports)
             for secret in SECRETS.values() if secret in path.read_text(errors="replace")]
    assert leaks == []


def _trigger_form_text(client, shot: Path) -> str:
    """The text of procuros_outgoing's trigger form with its "What to send" section open (chromium)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1080})
            context.add_cookies([{"name": "_token", "value": client.token(),  # how the UI keeps its login
                                  "url": client.base_url}])
            page = context.new_page()
            trigger_form(page, client.base_url, shot)
            # the trigger form and any popover the page has open
            return page.evaluate("Array.from(document.querySelectorAll('[role=dialog]')).map(d => d.innerText)"
                                 ".join('\\n')")
        finally:
            browser.close()


def _log(client, run_id: str, instance: dict) -> str:
    return client.task_log(DAG_ID, run_id, instance["task_id"], instance["try_number"], instance["map_index"])


def _text_files(*folders: Path) -> list[Path]:
    files = [p for folder in folders for p in folder.rglob("*") if p.is_file()]
    assert files, "no logs were written"
    return [p for p in files if re.search(r"\.(log|json|csv|html|txt)$", p.name)]
