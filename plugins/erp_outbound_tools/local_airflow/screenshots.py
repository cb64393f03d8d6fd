"""``make screenshots``: pictures of the running local Airflow's UI for the README.

Logs in as the UI does (the JWT from ``POST /auth/token`` in the ``_token`` cookie), then
takes with headless chromium: the trigger form of procuros_outgoing, a finished run's
reconcile log with the run report, the procuros connection form, and the connection list
after its Test button. Needs ``make airflow`` running; triggers a run if none has finished.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from urllib.parse import quote

from erp_outbound_tools.local_airflow.cdp import CHROMIUM, Chromium, Page
from erp_outbound_tools.local_airflow.config import ADMIN_USER
from erp_outbound_tools.local_airflow.layout import DEFAULT_WORKDIR, REPO, Layout
from erp_outbound_tools.local_airflow.readiness import read_admin_password
from erp_outbound_tools.local_airflow.rest import AirflowApiError, AirflowRestClient
from erp_outbound_tools.local_airflow.state import RunningState

DAG_ID = "procuros_outgoing"
CONNECTION = "procuros_default"


def _row_button(conn_id: str, label: str) -> str:
    """JavaScript: the button ``label`` in the connection list's row of ``conn_id``."""
    return (f"Array.from(document.querySelectorAll('tr')).find(r => r.innerText.includes('{conn_id}'))"
            f".querySelector('button[aria-label=\"{label}\"]')")


def finished_run(client: AirflowRestClient) -> str:
    """The latest successful run that delivered documents (or any successful one); triggers one when none."""
    runs = client.request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns",
                          params={"state": "success", "order_by": "-run_after", "limit": 20})["dag_runs"]
    for run in runs:
        try:
            entry = client.request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run['dag_run_id'], safe='')}"
                                          "/taskInstances/reconcile/xcomEntries/return_value")
        except AirflowApiError:
            continue
        if entry["value"].get("totals", {}).get("DELIVERED"):
            return run["dag_run_id"]
    if runs:
        return runs[0]["dag_run_id"]
    print(f"No finished {DAG_ID} run yet: unpausing it and triggering one", flush=True)
    client.set_paused(DAG_ID, False)
    run_id = client.trigger(DAG_ID)["dag_run_id"]
    if client.wait_for_run(DAG_ID, run_id, timeout=300)["state"] != "success":
        raise SystemExit(f"{DAG_ID} run {run_id} failed; see its logs in the UI")
    return run_id


async def trigger_form(page: Page, url: str, path: Path) -> None:
    await page.goto(f"{url}/dags/{DAG_ID}")
    await page.click("document.querySelector('[data-testid=trigger-dag-button]')", "the Trigger button")
    # The form groups the DAG's fields in sections: open the first one (not Airflow's "Advanced Options").
    sections = "Array.from(document.querySelectorAll('[role=dialog] [data-scope=accordion][data-part=item-trigger]'))"
    await page.click(f"{sections}.find(b => b.innerText.trim() != 'Advanced Options')", "a section of the trigger form")
    await page.wait_for(f"{sections}.some(b => b.getAttribute('aria-expanded') == 'true')",
                        "an open section of the trigger form")
    await asyncio.sleep(1)  # the section's opening animation
    await page.screenshot(path)


async def reconcile_log(page: Page, url: str, run_id: str, path: Path) -> None:
    await page.goto(f"{url}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}/tasks/reconcile")
    await page.wait_for("document.body.innerText.includes('erp-outbound run report')", "the run report in the log")
    await asyncio.sleep(1)  # the log view scrolls to its end once loaded; then we scroll to the report's title
    await page.evaluate(
        "(() => { const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);"
        " while (walk.nextNode()) { if (walk.currentNode.textContent.includes('erp-outbound run report')) {"
        " walk.currentNode.parentElement.scrollIntoView({block: 'start', inline: 'nearest'}); return true; } } return false; })()")
    await asyncio.sleep(0.5)
    await page.screenshot(path)


async def connection_form(page: Page, url: str, path: Path) -> None:
    await page.goto(f"{url}/connections")
    await page.click(_row_button(CONNECTION, "Edit Connection"), f"the Edit button of {CONNECTION}")
    await page.wait_for("(document.querySelector('[role=dialog]') || {innerText: ''}).innerText.includes('API token')",
                        "the procuros connection form")
    await asyncio.sleep(1)  # the dialog fades in
    await page.screenshot(path)


async def connection_test(page: Page, url: str, path: Path) -> None:
    await page.goto(f"{url}/connections")
    await page.click(_row_button(CONNECTION, "Test Connection"), f"the Test button of {CONNECTION}")
    outcome = await page.wait_for("(t => t.includes('Test Connection Failed') ? 'failed' : "
                                  "t.includes('Procuros answered') ? 'ok' : null)(document.body.innerText)",
                                  "the answer of Test connection")
    await page.screenshot(path)
    if outcome != "ok":
        raise SystemExit(f"Test connection of {CONNECTION} failed in the UI; see {path}")


async def take_all(client: AirflowRestClient, run_id: str, out: Path, chromium: str) -> list[Path]:
    shots = [out / "trigger-form.png", out / "reconcile-log.png", out / "procuros-connection.png",
             out / "connection-test.png"]
    async with Chromium(chromium, width=1400, height=1000) as browser:
        page = await browser.page()
        await page.set_cookie(client.base_url, "_token", client.token())  # how the UI keeps its login
        await page.resize(1400, 1080)
        await trigger_form(page, client.base_url, shots[0])
        await page.resize(1400, 1000)
        await reconcile_log(page, client.base_url, run_id, shots[1])
        await page.resize(1400, 820)
        await connection_form(page, client.base_url, shots[2])
        await page.resize(1400, 600)
        await connection_test(page, client.base_url, shots[3])
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default=str(DEFAULT_WORKDIR), help="the workdir of the running make airflow")
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args(argv)
    layout = Layout.at(args.workdir)
    state = RunningState.read(layout.state_file)
    if state is None or not state.launcher_alive():
        print(f"No local Airflow runs from {layout.workdir}: start it with `make airflow` first.", file=sys.stderr)
        return 1
    client = AirflowRestClient(state.url, ADMIN_USER, read_admin_password(layout.password_file))
    run_id = finished_run(client)
    for shot in asyncio.run(take_all(client, run_id, Path(args.out), args.chromium)):
        print(f"wrote {shot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
