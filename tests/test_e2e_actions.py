"""End to end (issue 22): acting on deliveries from the Deliveries page of a real local Airflow, in Chromium.

One Airflow for the module (``make airflow``'s processes in a folder of the test's own, users
admin, operator (role USER: may trigger runs) and reader (role VIEWER)), driven as people do in
headless Debian chromium:

- the operator fixes a build-error order in the ERP, presses Resend now on the page, sees the run
  start and finish, and the order leave "needs attention"; the run's note and the ERP's audit name
  the operator;
- two people press Resend on the same order: one run, one delivery, and the second is told which
  run holds it;
- uncertain RamBase forwardings (their answer lost): released as pending, POSTed exactly once by
  the next run; released as delivered, never;
- the reader sees no button and the action endpoints answer 403; a form posted from another site
  with the operator's cookies is refused.
"""

from __future__ import annotations

import http.server
import re
import threading
from urllib.parse import quote

import pytest
import requests
from erp_outbound_tools.local_airflow import DemoSecrets, LocalAirflow, LocalAirflowConfig
from erp_outbound_tools.local_airflow.config import OPERATOR_USER, READER_USER
from erp_outbound_tools.local_airflow.screenshots import CHROMIUM, log_in
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import create_engine, select, text

from erp_outbound.erp.state import actions as action_table

pytestmark = pytest.mark.e2e

SECRETS = DemoSecrets(procuros_token="e2e-actions-token-91c0", rambase_client_secret="e2e-actions-rb-42d7",
                      gep_auth_key="e2e-actions-gep-6e15")
PROCUROS = "procuros_outgoing"
FORWARDING = "rambase_invoice_forwarding"
UI_TIMEOUT = 60_000  # ms
RUN_TIMEOUT = 240_000  # ms: a run on a machine other test sessions share
API_TIMEOUT = 120.0  # s: the REST API of an Airflow on a busy machine


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    config = LocalAirflowConfig(workdir=tmp_path_factory.mktemp("e2e-actions") / "airflow-local", port=0,
                                documents=80, seed=3, secrets=SECRETS, start_timeout=240, stop_grace=15)
    airflow = LocalAirflow(config, say=print)
    airflow.start()
    try:
        yield airflow
    finally:
        airflow.stop()


@pytest.fixture(scope="module")
def erp(airflow):
    engine = create_engine(airflow.erp_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def broken_orders(airflow, erp) -> list[dict]:
    """Two pending orders with a currency Procuros refuses ('eur'), sent once: BUILD_ERROR, needs attention."""
    with erp.begin() as conn:
        orders = [dict(r._mapping) for r in conn.execute(text(
            "SELECT id, order_number FROM purchase_orders WHERE status IS NULL OR status = '' ORDER BY id LIMIT 2"))]
        conn.execute(text("UPDATE purchase_orders SET currency = 'eur' WHERE id IN (:a, :b)"),
                     {"a": orders[0]["id"], "b": orders[1]["id"]})
    client = airflow.client(timeout=API_TIMEOUT)
    run_id = client.trigger(PROCUROS, {"doc_types": ["ORDER"], "limit": 5})["dag_run_id"]
    assert client.wait_for_run(PROCUROS, run_id, timeout=240)["state"] == "success"
    attention = {d["document_id"]: d for d in client.request("GET", "/erp-outbound/deliveries.json")["documents"]}
    for order in orders:
        assert attention[str(order["id"])]["outcome"] == "BUILD_ERROR", attention.get(str(order["id"]))
    return [{"id": str(o["id"]), "number": o["order_number"]} for o in orders]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def tab(browser, airflow):
    """``tab(user)``: a browser tab of that user, logged in through Airflow's login form."""
    contexts = []

    def open_as(user: str):
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        context.set_default_timeout(UI_TIMEOUT)
        contexts.append(context)
        page = context.new_page()
        log_in(page, airflow.url, user, airflow.password_of(user))
        return page

    yield open_as
    for context in contexts:
        context.close()


def deliveries(page, airflow):
    """Browse -> Deliveries: the page inside the Airflow UI (its iframe)."""
    page.goto(f"{airflow.url}/")
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="Deliveries").click()
    desk = page.frame_locator("iframe[src*='/erp-outbound/deliveries']")
    expect(desk.get_by_role("heading", name="Needs attention now")).to_be_visible()
    return desk


def ledger_count(airflow, number: str) -> int:
    """How many transactions the Procuros sandbox took for this order number."""
    record = requests.get(f"{airflow.sandbox_url}/_sandbox/record", timeout=10).json()["procuros"]
    return sum(1 for tx in record["ledger"] if tx["type"] == "ORDER" and tx["identifier"] == number)


def audit_rows(erp, **where) -> list[dict]:
    query = select(action_table).order_by(action_table.c.id)
    for name, value in where.items():
        query = query.where(action_table.c[name] == value)
    with erp.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def test_an_operator_fixes_a_build_error_resends_it_and_watches_it_leave_needs_attention(
        airflow, erp, broken_orders, tab):
    order = broken_orders[0]
    with erp.begin() as conn:  # the fix in the ERP
        conn.execute(text("UPDATE purchase_orders SET currency = 'EUR' WHERE id = :i"), {"i": order["id"]})
    assert ledger_count(airflow, order["number"]) == 0, "a build error was never sent"

    page = tab(OPERATOR_USER)
    desk = deliveries(page, airflow)
    desk.get_by_role("button", name=f"Resend {order['number']} now", exact=True).click()
    # The feedback: the run it started and its state, until it finished; then the order's new outcome.
    expect(desk.get_by_role("heading", name=f"Resend: {PROCUROS}")).to_be_visible()
    run_link = desk.get_by_role("link", name=re.compile(r"^manual__"))
    expect(run_link).to_be_visible()
    run_id = run_link.inner_text()
    expect(desk.locator("td.run-state")).to_have_text(re.compile("queued|running|success"))
    expect(desk.get_by_text("no longer needs attention")).to_be_visible(timeout=RUN_TIMEOUT)
    expect(desk.locator("td.run-state")).to_have_text("success")
    expect(desk.locator("td.outcome-now .outcome")).to_have_text("DELIVERED")

    desk.get_by_role("link", name="Back to Deliveries").click()
    expect(desk.get_by_role("heading", name="Needs attention now")).to_be_visible()
    expect(desk.get_by_role("checkbox", name=f"Choose {order['number']}", exact=True)).to_have_count(0)
    expect(desk.get_by_role("checkbox", name=f"Choose {broken_orders[1]['number']}", exact=True)).to_have_count(1)
    recent = desk.locator("table.actions-log tr", has_text=order["number"])
    expect(recent).to_contain_text(OPERATOR_USER)
    expect(recent).to_contain_text(run_id)

    # A run made as the trigger form makes one, in the operator's name, with a note saying who and what.
    run = airflow.client(timeout=API_TIMEOUT).dag_run(PROCUROS, run_id)
    assert run["conf"] == {"only_ids": [order["id"]], "doc_types": ["ORDER"]}
    assert run["run_type"] == "manual" and run["triggering_user_name"] == OPERATOR_USER
    # The Resend's note stays first; the run's own note (issue 23: its counts) follows it once the run ended.
    said, _, counts = run["note"].partition("\n\n")
    assert said == (f"Resend from the Deliveries page by {OPERATOR_USER}: ORDER {order['number']} "
                    f"(ERP id {order['id']})")
    assert counts == "1 documents: 1 delivered."
    assert ledger_count(airflow, order["number"]) == 1
    (row,) = audit_rows(erp, document_id=order["id"], doc_type="ORDER")
    assert (row["user_name"], row["action"], row["result"], row["run_id"]) == (OPERATOR_USER, "resend", "started",
                                                                                run_id)


def test_two_people_press_resend_on_one_order_one_run_one_delivery(airflow, erp, broken_orders, tab):
    order = broken_orders[1]
    with erp.begin() as conn:
        conn.execute(text("UPDATE purchase_orders SET currency = 'EUR' WHERE id = :i"), {"i": order["id"]})
    operator, admin = deliveries(tab(OPERATOR_USER), airflow), deliveries(tab("admin"), airflow)
    operator.get_by_role("button", name=f"Resend {order['number']} now", exact=True).click()
    expect(operator.get_by_role("heading", name=f"Resend: {PROCUROS}")).to_be_visible()
    admin.get_by_role("button", name=f"Resend {order['number']} now", exact=True).click()  # the page they had open
    expect(admin.get_by_text("not sent twice")).to_be_visible()
    first, second = audit_rows(erp, document_id=order["id"], doc_type="ORDER")
    assert (first["user_name"], first["result"]) == (OPERATOR_USER, "started")
    assert (second["user_name"], second["result"], second["run_id"]) == ("admin", "held", first["run_id"])
    expect(admin.get_by_text(f"{OPERATOR_USER} resent it")).to_be_visible()
    expect(operator.get_by_text("no longer needs attention")).to_be_visible(timeout=RUN_TIMEOUT)
    assert ledger_count(airflow, order["number"]) == 1
    runs = airflow.client(timeout=API_TIMEOUT).request("GET", f"/api/v2/dags/{PROCUROS}/dagRuns")["dag_runs"]
    assert sum(1 for r in runs if order["id"] in ((r.get("conf") or {}).get("only_ids") or [])) == 1


def test_uncertain_forwardings_released_as_pending_are_sent_once_as_delivered_never(airflow, erp, tab):
    client = airflow.client(timeout=API_TIMEOUT)
    requests.put(f"{airflow.sandbox_url}/_sandbox/faults", json={"rambase.operations": {"accept_then_drop": 1.0}},
                 timeout=10).raise_for_status()
    run_id = client.trigger(FORWARDING, {"limit": 3})["dag_run_id"]
    assert client.wait_for_run(FORWARDING, run_id, timeout=240)["state"] == "success"
    requests.put(f"{airflow.sandbox_url}/_sandbox/faults", json={}, timeout=10).raise_for_status()
    uncertain = [d for d in client.request("GET", "/erp-outbound/deliveries.json")["uncertain"]
                 if d["dag_id"] == FORWARDING]
    assert len(uncertain) == 3, uncertain
    delivered, pending, left = uncertain
    posts = requests.get(f"{airflow.sandbox_url}/_sandbox/record", timeout=10).json()["rambase"]["operation_posts"]
    assert [posts.get(d["identifier"]) for d in uncertain] == [1, 1, 1]

    desk = deliveries(tab(OPERATOR_USER), airflow)
    desk.get_by_role("textbox", name=f"Vendor reference of {delivered['identifier']}").fill("RB-OP-4711")
    desk.get_by_role("button", name=f"Release {delivered['identifier']} as delivered").click()
    expect(desk.get_by_text(f"(ERP id {delivered['document_id']}) as delivered: the final status is written"
                            )).to_be_visible()
    desk.get_by_role("link", name="Back to Deliveries").click()
    desk.get_by_role("button", name=f"Release {pending['identifier']} as pending").click()
    expect(desk.get_by_text(f"(ERP id {pending['document_id']}) as pending: the next run of the DAG sends it "
                            "again")).to_be_visible()
    desk.get_by_role("link", name="Back to Deliveries").click()
    # Beside the document, who released it; the one released as delivered no longer needs attention.
    row = desk.locator("tr", has=desk.get_by_role("checkbox", name=f"Choose {pending['identifier']}", exact=True))
    expect(row.locator(".audit")).to_contain_text(f"released as pending by {OPERATOR_USER}, ")
    expect(desk.get_by_role("button", name=f"Release {delivered['identifier']} as delivered")).to_have_count(0)
    expect(desk.get_by_role("button", name=f"Release {left['identifier']} as delivered")).to_have_count(1)

    # The next run, asked for all three: the pending one is POSTed once more, the others not at all.
    ids = [d["document_id"] for d in uncertain]
    next_run = client.trigger(FORWARDING, {"only_ids": ids})["dag_run_id"]
    assert client.wait_for_run(FORWARDING, next_run, timeout=240)["state"] == "success"
    posts = requests.get(f"{airflow.sandbox_url}/_sandbox/record", timeout=10).json()["rambase"]["operation_posts"]
    assert [posts.get(d["identifier"]) for d in uncertain] == [1, 2, 1]
    log = audit_rows(erp, dag_id=FORWARDING)
    assert [(r["user_name"], r["action"], r["document_id"], r["result"], r["reference"]) for r in log] == [
        (OPERATOR_USER, "release_delivered", delivered["document_id"], "released", "RB-OP-4711"),
        (OPERATOR_USER, "release_pending", pending["document_id"], "released", None)]


def test_a_reader_sees_no_button_and_the_action_endpoints_answer_403(airflow, broken_orders, tab):
    page = tab(READER_USER)
    page.goto(f"{airflow.url}/erp-outbound/deliveries")
    expect(page.get_by_role("heading", name="Needs attention now")).to_be_visible()
    expect(page.get_by_role("heading", name="Recent actions")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Resend|Release|Delivered|Pending"))
           ).to_have_count(0)
    assert page.locator("input[name=token]").count() == 0
    token = airflow.client(READER_USER, timeout=API_TIMEOUT).token()
    for path in (f"/erp-outbound/actions/{PROCUROS}/resend?document=ORDER%2F{broken_orders[1]['id']}",
                 f"/erp-outbound/actions/{FORWARDING}/release/pending?document=INVOICE_FORWARDING%2F1"):
        answer = requests.post(airflow.url + path, data={"token": "x"}, timeout=API_TIMEOUT,
                               headers={"Authorization": f"Bearer {token}", "Origin": airflow.url})
        assert answer.status_code == 403, (path, answer.text[:300])


def test_a_form_posted_from_another_site_is_refused(airflow, broken_orders, tab):
    page = tab(OPERATOR_USER)
    page.goto(f"{airflow.url}/erp-outbound/deliveries")
    token = page.locator("input[name=token]").first.get_attribute("value")  # even a leaked token does not help
    target = f"{airflow.url}/erp-outbound/actions/{PROCUROS}/resend?document=ORDER%2F{quote(broken_orders[1]['id'])}"
    evil = (f'<form id="f" method="post" action="{target}"><input name="token" value="{token}"></form>'
            '<script>document.getElementById("f").submit()</script>').encode()

    class Evil(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(evil)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Evil)  # another origin, the operator's cookie goes
    threading.Thread(target=server.serve_forever, daemon=True).start()
    runs_before = airflow.client(timeout=API_TIMEOUT).request("GET", f"/api/v2/dags/{PROCUROS}/dagRuns")["total_entries"]
    try:
        with page.expect_response(lambda r: "/erp-outbound/actions/" in r.url) as answer:
            page.goto(f"http://127.0.0.1:{server.server_port}/")
        assert answer.value.status == 403
        expect(page.get_by_text(f"A request from http://127.0.0.1:{server.server_port} may not act here")
               ).to_be_visible()
    finally:
        server.shutdown()
        server.server_close()
    assert airflow.client(timeout=API_TIMEOUT).request("GET", f"/api/v2/dags/{PROCUROS}/dagRuns")["total_entries"] == runs_before
