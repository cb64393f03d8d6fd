"""``make screenshots``: pictures of the running local Airflow's UI for the README.

Logs in as the UI does (the JWT from ``POST /auth/token`` in the ``_token`` cookie), then
takes with Playwright driving Debian's headless chromium (never a downloaded browser): the
trigger form of procuros_outgoing, a finished run's reconcile log with the run report, the
procuros connection form, and the connection list after its Test button. Needs ``make airflow``
running; triggers a run if none has finished.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import Locator, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from erp_outbound_tools.local_airflow.config import ADMIN_USER
from erp_outbound_tools.local_airflow.layout import DEFAULT_WORKDIR, REPO, Layout
from erp_outbound_tools.local_airflow.readiness import read_admin_password
from erp_outbound_tools.local_airflow.rest import AirflowApiError, AirflowRestClient
from erp_outbound_tools.local_airflow.state import RunningState

CHROMIUM = "/usr/bin/chromium"

DAG_ID = "procuros_outgoing"
CONNECTION = "procuros_default"


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


def _shown(page: Page, locator: Locator, what: str, timeout: float = 30) -> Locator:
    """The first element ``locator`` finds once it is visible (the UI renders after its API calls answer)."""
    first = locator.first
    try:
        first.wait_for(state="visible", timeout=timeout * 1000)
    except PlaywrightTimeout:
        text = page.evaluate("document.body ? document.body.innerText.slice(0, 300) : ''")
        raise SystemExit(f"waited {timeout:.0f} s for {what}; the page shows: {text!r}") from None
    return first


def _row_button(page: Page, conn_id: str, label: str) -> Locator:
    """The button ``label`` in the connection list's row of ``conn_id``."""
    return page.locator("tr", has_text=conn_id).locator(f'button[aria-label="{label}"]')


def trigger_form(page: Page, url: str, path: Path) -> None:
    page.goto(f"{url}/dags/{DAG_ID}")
    _shown(page, page.get_by_test_id("trigger-dag-button"), "the Trigger button").click()
    # The form groups the DAG's fields in sections: open the first one (not Airflow's "Advanced Options").
    sections = page.locator("[role=dialog] [data-scope=accordion][data-part=item-trigger]")
    _shown(page, sections.filter(has_not_text="Advanced Options"), "a section of the trigger form").click()
    _shown(page, sections.and_(page.locator("[aria-expanded=true]")), "an open section of the trigger form")
    page.wait_for_timeout(1000)  # the section's opening animation
    page.screenshot(path=path)


def reconcile_log(page: Page, url: str, run_id: str, path: Path) -> None:
    page.goto(f"{url}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}/tasks/reconcile")
    title = _shown(page, page.get_by_text("erp-outbound run report"), "the run report in the log")
    page.wait_for_timeout(1000)  # the log view scrolls to its end once loaded; then we scroll to the report's title
    title.evaluate("e => e.scrollIntoView({block: 'start', inline: 'nearest'})")
    page.wait_for_timeout(500)
    page.screenshot(path=path)


def connection_form(page: Page, url: str, path: Path) -> None:
    page.goto(f"{url}/connections")
    _shown(page, _row_button(page, CONNECTION, "Edit Connection"), f"the Edit button of {CONNECTION}").click()
    _shown(page, page.locator("[role=dialog]", has_text="API token"), "the procuros connection form")
    page.wait_for_timeout(1000)  # the dialog fades in
    page.screenshot(path=path)


def connection_test(page: Page, url: str, path: Path) -> None:
    page.goto(f"{url}/connections")
    _shown(page, _row_button(page, CONNECTION, "Test Connection"), f"the Test button of {CONNECTION}").click()
    answer = _shown(page, page.get_by_text(re.compile("Test Connection Failed|Procuros answered")),
                    "the answer of Test connection")
    page.screenshot(path=path)
    if "Procuros answered" not in answer.inner_text():
        raise SystemExit(f"Test connection of {CONNECTION} failed in the UI; see {path}")


def take_all(client: AirflowRestClient, run_id: str, out: Path, chromium: str) -> list[Path]:
    shots = [out / "trigger-form.png", out / "reconcile-log.png", out / "procuros-connection.png",
             out / "connection-test.png"]
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1080})
            context.add_cookies([{"name": "_token", "value": client.token(),  # how the UI keeps its login
                                  "url": client.base_url}])
            page = context.new_page()
            trigger_form(page, client.base_url, shots[0])
            page.set_viewport_size({"width": 1400, "height": 1000})
            reconcile_log(page, client.base_url, run_id, shots[1])
            page.set_viewport_size({"width": 1400, "height": 820})
            connection_form(page, client.base_url, shots[2])
            page.set_viewport_size({"width": 1400, "height": 600})
            connection_test(page, client.base_url, shots[3])
        finally:
            browser.close()
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
    for shot in take_all(client, run_id, Path(args.out), args.chromium):
        print(f"wrote {shot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
