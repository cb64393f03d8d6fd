"""``make screenshots``: pictures of the running local Airflow's UI for the documentation (docs/screenshots/).

Logs in through Airflow's login form, then takes with Playwright driving Debian's headless
chromium (never a downloaded browser): the Deliveries page (Browse -> Deliveries) and a run's
report that a reconcile task's "Run report" link opens, its actions (Resend now on a document that
needs attention, and what that did once its run finished), the trigger form of procuros_outgoing, a
finished run's reconcile log with the run report, the procuros connection form, and the
connection list after its Test button. Needs ``make airflow`` running; triggers a run of each
delivery DAG that has none yet.
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
# Each has a run on the Deliveries page: Procuros, RamBase and GEP documents that need attention.
DELIVERY_DAGS = ("procuros_outgoing", "rambase_purchase_orders", "rambase_invoice_forwarding", "gep_por_status")


def log_in(page: Page, url: str, username: str, password: str) -> None:
    """Through Airflow's login form, as a person does (the UI then keeps the JWT in the ``_token`` cookie)."""
    page.goto(f"{url}/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda current: "/auth/login" not in current)


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
    return run_once(client, DAG_ID)


def run_once(client: AirflowRestClient, dag_id: str) -> str:
    print(f"No finished {dag_id} run yet: triggering one", flush=True)
    client.set_paused(dag_id, False)
    run_id = client.trigger(dag_id)["dag_run_id"]
    if client.wait_for_run(dag_id, run_id, timeout=300)["state"] != "success":
        raise SystemExit(f"{dag_id} run {run_id} failed; see its logs in the UI")
    return run_id


def every_vendor_ran(client: AirflowRestClient) -> None:
    for dag_id in DELIVERY_DAGS:
        if not client.request("GET", f"/api/v2/dags/{dag_id}/dagRuns", params={"state": "success", "limit": 1}
                              )["dag_runs"]:
            run_once(client, dag_id)


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


def deliveries(page: Page, url: str, path: Path) -> None:
    page.goto(f"{url}/")
    _shown(page, page.get_by_role("button", name="Browse"), "the Browse menu").click()
    _shown(page, page.get_by_role("menuitem", name="Deliveries"), "Browse -> Deliveries").click()
    desk = page.frame_locator("iframe[src*='/erp-outbound/deliveries']")
    _shown(page, desk.get_by_role("heading", name="Needs attention now"), "the Deliveries page")
    page.wait_for_timeout(500)
    page.screenshot(path=path)


def _deliveries_frame(page: Page, url: str):
    page.goto(f"{url}/")
    _shown(page, page.get_by_role("button", name="Browse"), "the Browse menu").click()
    _shown(page, page.get_by_role("menuitem", name="Deliveries"), "Browse -> Deliveries").click()
    desk = page.frame_locator("iframe[src*='/erp-outbound/deliveries']")
    _shown(page, desk.get_by_role("heading", name="Needs attention now"), "the Deliveries page")
    return desk


def deliveries_actions(page: Page, url: str, path: Path) -> None:
    """The page's action buttons, scrolled to the first group of documents that need attention."""
    desk = _deliveries_frame(page, url)
    group = _shown(page, desk.locator("form.actions"), "the action buttons (is the user allowed to trigger runs?)")
    group.evaluate("e => e.previousElementSibling.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    page.screenshot(path=path)


def deliveries_release(page: Page, url: str, path: Path) -> None:
    """The uncertain documents with their release controls (when a run left some: a lost answer)."""
    desk = _deliveries_frame(page, url)
    heading = _shown(page, desk.get_by_role("heading", name=re.compile(r"^Uncertain: check at the vendor")),
                     "the uncertain section")
    heading.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    page.screenshot(path=path)


def resend_feedback(page: Page, url: str, path: Path) -> None:
    """Resend now on the first document that needs attention, then what it did once its run finished."""
    desk = _deliveries_frame(page, url)
    _shown(page, desk.locator("td.act button", has_text="Resend now"), "a row's Resend now button").click()
    _shown(page, desk.get_by_role("heading", name=re.compile(r"^Resend: ")), "the feedback of Resend now", timeout=120)
    _shown(page, desk.get_by_text(re.compile("needs attention|not sent twice")), "the run's end", timeout=300)
    page.wait_for_timeout(500)
    page.screenshot(path=path)


def run_report(page: Page, url: str, run_id: str, path: Path) -> None:
    page.goto(f"{url}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}/tasks/reconcile")
    _shown(page, page.get_by_role("link", name="Details", exact=True), "the task's Details tab").click()
    _shown(page, page.get_by_role("link", name="Run report"), "the Run report link").click()
    _shown(page, page.get_by_role("heading", name=f"Run report: {DAG_ID}"), "the run's report")
    page.screenshot(path=path)


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


def guide(page: Page, url: str, path: Path) -> None:
    """A page of the documentation as the plugin serves it inside Airflow (the Guide tab)."""
    page.goto(f"{url}/erp-outbound/guide/operators/run-report")
    _shown(page, page.get_by_role("heading", name="Reading a run report", level=1), "the guide's run report page")
    page.screenshot(path=path)


def take_all(client: AirflowRestClient, password: str, run_id: str, out: Path, chromium: str) -> list[Path]:
    shots = [out / "trigger-form.png", out / "reconcile-log.png", out / "procuros-connection.png",
             out / "connection-test.png", out / "deliveries.png", out / "run-report.png", out / "guide.png",
             out / "deliveries-actions.png", out / "deliveries-resend-feedback.png", out / "deliveries-release.png"]
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1080})
            page = context.new_page()
            log_in(page, client.base_url, client.username, password)
            trigger_form(page, client.base_url, shots[0])
            page.set_viewport_size({"width": 1600, "height": 1000})  # the log (100 columns) beside the open grid
            reconcile_log(page, client.base_url, run_id, shots[1])
            page.set_viewport_size({"width": 1400, "height": 820})
            connection_form(page, client.base_url, shots[2])
            page.set_viewport_size({"width": 1400, "height": 600})
            connection_test(page, client.base_url, shots[3])
            page.set_viewport_size({"width": 1400, "height": 1000})
            deliveries(page, client.base_url, shots[4])
            page.set_viewport_size({"width": 1400, "height": 760})
            run_report(page, client.base_url, run_id, shots[5])
            page.set_viewport_size({"width": 1600, "height": 1000})
            guide(page, client.base_url, shots[6])
            deliveries_actions(page, client.base_url, shots[7])
            deliveries_release(page, client.base_url, shots[9])
            page.set_viewport_size({"width": 1600, "height": 700})
            resend_feedback(page, client.base_url, shots[8])
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
    password = read_admin_password(layout.password_file)
    client = AirflowRestClient(state.url, ADMIN_USER, password)
    every_vendor_ran(client)
    run_id = finished_run(client)
    for shot in take_all(client, password, run_id, Path(args.out), args.chromium):
        print(f"wrote {shot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
