"""Acting from the Deliveries page (issue 22), in-process: resend, release, who may, forged requests, audit.

The app is mounted as Airflow's API server mounts it, behind the real ``get_user`` and
``requires_access_dag``, against a stand-in auth manager (an editor may create runs, a reader may
only read). Airflow's trigger endpoint is replaced by a recorder here (a real one would need the
DAGs serialized in a metadata DB); the end-to-end test (test_e2e_actions.py) triggers real runs in a
real Airflow. The ERP is a demo ERP on SQLite with a verdict journal.
"""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jwt import InvalidTokenError
from sqlalchemy import insert, select, text

from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp.hook import make_engine
from erp_outbound.erp.journal import Journal
from erp_outbound.erp.state import actions as action_table
from erp_outbound.erp.state import claims, ensure_tables, utcnow, verdicts
from erp_outbound.erp.writeback import apply_verdicts
from erp_outbound_tools.demo.erp import build_demo_erp

DAGS = {"procuros_outgoing": "procuros", "rambase_invoice_forwarding": "rambase"}
USERS = {"editor": "edit", "other-editor": "edit", "reader": "read"}
SITE = "http://testserver"
FIRST_RUN = "manual__2026-12-01T10:00:00+00:00"


class User:
    def __init__(self, name: str) -> None:
        self.name = name

    def get_id(self) -> str:
        return self.name

    def get_name(self) -> str:
        return self.name


class StandInAuthManager:
    async def get_user_from_token(self, token: str) -> User:
        if token not in USERS:
            raise InvalidTokenError("not one of ours")
        return User(token)

    def get_authorized_dag_ids(self, *, user, method="GET", session=None) -> set[str]:
        return set(DAGS) if method == "GET" or USERS[user.name] == "edit" else set()

    def is_authorized_dag(self, *, method, access_entity=None, details=None, user) -> bool:
        return method == "GET" or USERS[user.name] == "edit"


@pytest.fixture
def erp(tmp_path):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 60, seed=4)
    engine = make_engine(url)
    ensure_tables(engine)
    with engine.begin() as conn:
        for table in ("erp_outbound_verdicts", "erp_outbound_claims", "erp_outbound_actions"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
    yield engine
    engine.dispose()


@pytest.fixture
def build_errors(erp):
    """Two Procuros ORDERs the last run could not build."""
    Journal(erp, FIRST_RUN, dag_id="procuros_outgoing").record([
        Verdict(vendor="procuros", doc_type="ORDER", document_id=i, identifier=f"PO-{i}",
                outcome=Outcome.BUILD_ERROR, message="currency: 'EURO' is not a currency code") for i in ("1", "2")])
    return ["1", "2"]


@pytest.fixture
def uncertain(erp):
    """Three RamBase forwardings whose answer was lost: uncertain, as the load step leaves them."""
    with erp.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text(
            "SELECT * FROM rambase_invoice_matches WHERE supplier_invoice_id IS NOT NULL ORDER BY id LIMIT 3"))]
    with erp.begin() as conn:
        for r in rows:
            conn.execute(text("UPDATE rambase_invoice_matches SET operation_requested_at = CURRENT_TIMESTAMP, "
                              "operation_instance_id = NULL, attempts = 0 WHERE id = :i"), {"i": r["id"]})
    journal = Journal(erp, "scheduled__1", dag_id="rambase_invoice_forwarding")
    journal.record([Verdict(vendor="rambase", doc_type="INVOICE_FORWARDING", document_id=str(r["id"]),
                            identifier=str(r["purchase_order_response_id"]), outcome=Outcome.UNCERTAIN,
                            message="check it in RamBase") for r in rows])
    apply_verdicts(erp, journal, journal.unapplied("rambase"))
    return [str(r["id"]) for r in rows]


@pytest.fixture
def site(erp, monkeypatch):
    """The app as Airflow mounts it; ``site.triggered`` records the runs Airflow's trigger endpoint was asked for."""
    from airflow.api_fastapi import app as airflow_app
    from airflow.api_fastapi.common.db.common import _get_session

    from erp_outbound.ui import app as deliveries
    from erp_outbound.ui import runs

    triggered, states = [], {}

    def trigger_dag_run(dag_id, body, dag_bag, user, session, request):
        run_id = f"manual__2026-12-07T10:0{len(triggered)}:00+00:00"
        triggered.append(SimpleNamespace(dag_id=dag_id, conf=body.conf, note=body.note, user=user.get_name(),
                                         run_id=run_id, referer=request.headers.get("referer")))
        states[(dag_id, run_id)] = "queued"
        return SimpleNamespace(run_id=run_id)

    monkeypatch.setattr("airflow.api_fastapi.core_api.routes.public.dag_run.trigger_dag_run", trigger_dag_run)
    monkeypatch.setattr("airflow.api_fastapi.common.dagbag.get_latest_version_of_dag",
                        lambda bag, dag_id, session: SimpleNamespace(
                            params={"procuros_outgoing": {"dry_run": 0, "doc_types": 0, "only_ids": 0}}.get(
                                dag_id, {"dry_run": 0, "only_ids": 0})))
    monkeypatch.setattr(deliveries, "dag_bag", lambda: object())
    monkeypatch.setattr(airflow_app._AuthManagerState, "instance", StandInAuthManager())
    monkeypatch.setattr(deliveries, "erp_engine", lambda: erp)
    monkeypatch.setattr(runs, "our_dags", lambda session: dict(DAGS))
    monkeypatch.setattr(runs, "run_dags", lambda session, run_ids, dag_ids: {})
    monkeypatch.setattr(runs, "recent_runs", lambda session, dag_ids, limit=25, folder=None: [])
    monkeypatch.setattr(runs, "dag_run", lambda session, dag_id, run_id: runs.RecentRun(
        dag_id, run_id, states[(dag_id, run_id)], None, None, None) if (dag_id, run_id) in states else None)
    monkeypatch.setattr("airflow.models.dag.DagModel.get_team_name", staticmethod(lambda dag_id, **kw: None))

    airflow = FastAPI()
    airflow.mount("/erp-outbound", deliveries.app)
    deliveries.app.dependency_overrides[_get_session] = lambda: SimpleNamespace(commit=lambda: None,
                                                                                rollback=lambda: None)
    yield SimpleNamespace(client=TestClient(airflow, base_url=SITE), triggered=triggered, states=states, erp=erp)
    deliveries.app.dependency_overrides.clear()


def as_user(name: str, **headers) -> dict:
    return {"Authorization": f"Bearer {name}", "Accept": "text/html"} | headers


def page_of(site, user: str) -> str:
    answer = site.client.get("/erp-outbound/deliveries", headers=as_user(user))
    assert answer.status_code == 200, answer.text
    return answer.text


def token_on(page: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', page).group(1)


def post(site, path: str, user: str, data: dict, origin: str | None = SITE, **headers):
    if origin is not None:
        headers["Origin"] = origin
    return site.client.post(f"/erp-outbound{path}", data=data, headers=as_user(user, **headers),
                            follow_redirects=False)


def audit(erp) -> list[dict]:
    with erp.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(action_table).order_by(action_table.c.id))]


def test_an_editor_resends_one_document_a_run_of_its_dag_with_only_it(site, build_errors):
    page = page_of(site, "editor")
    assert "Resend now" in page and 'aria-label="Choose PO-1"' in page
    answer = post(site, "/actions/procuros_outgoing/resend?document=ORDER%2F1", "editor",
                  {"token": token_on(page), "document": ["ORDER/2"]},  # ticked, but the row's own button wins
                  Referer=f"{SITE}/erp-outbound/deliveries")
    assert answer.status_code == 303
    (run,) = site.triggered
    assert run.dag_id == "procuros_outgoing" and run.user == "editor"
    assert run.conf == {"only_ids": ["1"], "doc_types": ["ORDER"]}
    assert run.note == "Resend from the Deliveries page by editor: ORDER PO-1 (ERP id 1)"
    assert run.referer  # Airflow's trigger marks the run as triggered from the UI
    (row,) = audit(site.erp)
    assert (row["user_name"], row["action"], row["document_id"], row["result"], row["run_id"]) == (
        "editor", "resend", "1", "started", run.run_id)
    assert answer.headers["location"] == f"/erp-outbound/actions/{row['action_id']}"

    # Feedback: the run and its state; the page reloads itself until it finished.
    feedback = site.client.get(answer.headers["location"], headers=as_user("editor")).text
    assert run.run_id in feedback and "queued" in feedback and 'http-equiv="refresh"' in feedback
    assert "waiting for the run" in feedback
    # Beside the document, while the run is on its way.
    assert re.search(r"PO-1<br><a class=\"audit\" [^>]*>resent by editor, \d{4}-\d\d-\d\d \d\d:\d\d UTC", page_of(site, "editor"))
    # The run delivered it: the page says so, and stops reloading.
    Journal(site.erp, run.run_id, dag_id="procuros_outgoing").record([Verdict(
        vendor="procuros", doc_type="ORDER", document_id="1", identifier="PO-1", outcome=Outcome.DELIVERED)])
    site.states[("procuros_outgoing", run.run_id)] = "success"
    feedback = site.client.get(answer.headers["location"], headers=as_user("editor")).text
    assert "DELIVERED" in feedback and "no longer needs attention" in feedback
    assert 'http-equiv="refresh"' not in feedback
    # PO-1 left "needs attention"; the recent actions keep who resent it.
    page = page_of(site, "editor")
    assert "PO-1" not in page.split('id="attention"')[1].split('id="actions"')[0]
    recent = page.split('id="actions"')[1].split('id="runs"')[0]
    assert "editor" in recent and "PO-1" in recent and run.run_id in recent


def test_a_whole_group_is_resent_in_one_run(site, build_errors):
    page = page_of(site, "editor")
    answer = post(site, "/actions/procuros_outgoing/resend", "editor", {"token": token_on(page),
                                                                        "group": "procuros/ORDER"})
    assert answer.status_code == 303
    (run,) = site.triggered
    assert sorted(run.conf["only_ids"]) == ["1", "2"]
    assert "PO-1 (ERP id 1)" in run.note and "PO-2 (ERP id 2)" in run.note


def test_a_document_a_run_already_holds_is_named_and_not_sent_twice(site, build_errors):
    page = page_of(site, "editor")
    first = post(site, "/actions/procuros_outgoing/resend?document=ORDER%2F1", "editor", {"token": token_on(page)})
    assert first.status_code == 303 and len(site.triggered) == 1
    # A second operator presses Resend on the same document while that run is queued.
    other = page_of(site, "other-editor")
    second = post(site, "/actions/procuros_outgoing/resend?document=ORDER%2F1", "other-editor",
                  {"token": token_on(other)})
    assert second.status_code == 303 and len(site.triggered) == 1, "no second run"
    feedback = site.client.get(second.headers["location"], headers=as_user("other-editor")).text
    assert "not sent twice" in feedback and site.triggered[0].run_id in feedback and "editor resent it" in feedback
    # A claim of a run (not started from this page) holds a document just the same.
    with site.erp.begin() as conn:
        conn.execute(insert(claims).values(vendor="procuros", doc_type="ORDER", document_id="2",
                                           run_id="scheduled__x", dag_id="procuros_outgoing", token="t",
                                           lease_until=utcnow() + timedelta(minutes=5)))
    third = post(site, "/actions/procuros_outgoing/resend?document=ORDER%2F2", "other-editor",
                 {"token": token_on(other)})
    assert len(site.triggered) == 1
    text_ = site.client.get(third.headers["location"], headers=as_user("other-editor")).text
    assert "the run scheduled__x of procuros_outgoing is sending it now" in text_
    assert [r["result"] for r in audit(site.erp)] == ["started", "held", "held"]


def test_a_reader_sees_no_buttons_and_may_not_act(site, build_errors, uncertain):
    page = page_of(site, "reader")
    assert "Resend" not in page and "Release" not in page.split('id="uncertain"')[1].split("erp-outbound release")[1]
    assert 'name="token"' not in page and "<form" in page  # the filters only
    editor_token = token_on(page_of(site, "editor"))
    for path in ("/actions/procuros_outgoing/resend?document=ORDER%2F1",
                 f"/actions/rambase_invoice_forwarding/release/pending?document=INVOICE_FORWARDING%2F{uncertain[0]}"):
        answer = post(site, path, "reader", {"token": editor_token})
        assert answer.status_code == 403, path
    assert site.triggered == [] and audit(site.erp) == []


@pytest.mark.parametrize("origin, headers, token", [
    ("http://evil.example", {}, "good"),  # another site
    ("null", {}, "good"),  # a sandboxed frame or a data: page
    (None, {}, "good"),  # no Origin, no Referer
    (None, {"Referer": "http://evil.example/page"}, "good"),
    (SITE, {}, None),  # no token
    (SITE, {}, "forged"),
    (SITE, {}, "other-editor's"),
])
def test_a_forged_request_is_refused(site, build_errors, origin, headers, token):
    tokens = {"good": token_on(page_of(site, "editor")), None: None, "forged": "x.y.z",
              "other-editor's": token_on(page_of(site, "other-editor"))}
    data = {"token": tokens[token]} if tokens[token] else {}
    answer = post(site, "/actions/procuros_outgoing/resend?document=ORDER%2F1", "editor", data, origin=origin,
                  **headers)
    assert answer.status_code == 403
    assert site.triggered == [] and audit(site.erp) == []


def test_actions_are_posts_only_and_the_page_keeps_its_policy(site, build_errors):
    assert site.client.get("/erp-outbound/actions/procuros_outgoing/resend", headers=as_user("editor")
                           ).status_code in (404, 405)
    answer = site.client.get("/erp-outbound/deliveries", headers=as_user("editor"))
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "form-action 'self'" in policy and "script" not in policy
    assert "<script" not in answer.text


def test_an_uncertain_document_is_not_resent(site, uncertain):
    page = page_of(site, "editor")
    answer = post(site, f"/actions/rambase_invoice_forwarding/resend?document=INVOICE_FORWARDING%2F{uncertain[0]}",
                  "editor", {"token": token_on(page)})
    assert site.triggered == []
    feedback = site.client.get(answer.headers["location"], headers=as_user("editor")).text
    assert "uncertain: the vendor may have acted on it" in feedback


def test_release_as_delivered_with_a_reference_and_as_pending_as_erp_outbound_release_does(site, uncertain):
    page = page_of(site, "editor")
    assert "Release the chosen ones as delivered" in page
    token = token_on(page)
    delivered, pending, left = uncertain
    answer = post(site, f"/actions/rambase_invoice_forwarding/release/delivered?document=INVOICE_FORWARDING%2F"
                        f"{delivered}", "editor",
                  {"token": token, f"reference:INVOICE_FORWARDING/{delivered}": "RB-4711",
                   f"reference:INVOICE_FORWARDING/{pending}": "not this one"})
    assert answer.status_code == 303
    feedback = site.client.get(answer.headers["location"], headers=as_user("editor")).text
    assert f"ERP id {delivered}) as delivered: the final status is written, it is never sent again" in feedback
    assert "RB-4711" in feedback
    post(site, "/actions/rambase_invoice_forwarding/release/pending", "editor",
         {"token": token, "document": [f"INVOICE_FORWARDING/{pending}", f"INVOICE_FORWARDING/{delivered}"]})
    with site.erp.connect() as conn:
        rows = {str(r.id): r for r in conn.execute(text("SELECT * FROM rambase_invoice_matches"))}
        journal = {r.document_id: r for r in conn.execute(select(verdicts).order_by(verdicts.c.id))}
    assert rows[delivered].forward_status == "FORWARDED" and rows[pending].operation_requested_at is None
    assert rows[left].operation_requested_at is not None, "only the chosen rows change"
    assert journal[delivered].vendor_reference == "RB-4711"
    assert journal[delivered].message == "released as delivered by editor, who checked it at the vendor"
    assert journal[pending].outcome == "DEFERRED" and "released as pending by editor" in journal[pending].message
    log = audit(site.erp)
    assert [(r["action"], r["document_id"], r["result"], r["reference"]) for r in log] == [
        ("release_delivered", delivered, "released", "RB-4711"),
        ("release_pending", pending, "released", None),
        ("release_pending", delivered, "refused", None)]
    # The refusal in release()'s words, as erp-outbound release prints it.
    assert log[2]["detail"] == (f"Not released: ERP id {delivered}: not an uncertain INVOICE_FORWARDING document; "
                                "left as it is.")
    # The pending one still needs attention (sent by the next run), with who released it beside it.
    page = page_of(site, "editor")
    assert re.search(r"released as pending by editor, \d{4}-\d\d-\d\d \d\d:\d\d UTC", page)
    assert site.triggered == []


def test_a_release_on_another_dags_document_is_refused_with_why(site, uncertain):
    token = token_on(page_of(site, "editor"))
    answer = post(site, f"/actions/procuros_outgoing/release/pending?document=INVOICE_FORWARDING%2F{uncertain[0]}",
                  "editor", {"token": token})
    feedback = site.client.get(answer.headers["location"], headers=as_user("editor")).text
    assert "procuros has no document type INVOICE_FORWARDING whose uncertain documents can be released" in feedback


def test_a_long_selection_keeps_the_run_note_within_airflows_1000_characters():
    from erp_outbound.ui.actions import NOTE_LIMIT, run_note
    from erp_outbound.ui.attention import Document

    documents = [Document(vendor="procuros", doc_type="ORDER", document_id=str(i), identifier=f"PO-2026-{i:06d}",
                          outcome="BUILD_ERROR", status=None, reason="", attempts=1, last_failure=None, run_id="r",
                          error_url="", error_code="", vendor_reference="") for i in range(200)]
    note = run_note("alice", documents)
    assert len(note) <= NOTE_LIMIT
    assert note.startswith("Resend from the Deliveries page by alice: ORDER PO-2026-000000 (ERP id 0), ")
    shown = note.count("(ERP id ")
    assert note.endswith(f" and {200 - shown} more") and 0 < shown < 200


def test_the_origin_check_reads_the_referer_when_a_request_has_no_origin():
    from erp_outbound.ui.actions import ForgedRequest, check_origin

    own = {"http://127.0.0.1:8080"}
    check_origin({"origin": "http://127.0.0.1:8080"}, own)
    check_origin({"referer": "http://127.0.0.1:8080/erp-outbound/deliveries"}, own)
    for headers in ({"origin": "http://127.0.0.1:8081"}, {"referer": "http://127.0.0.1:8080.evil.example/x"}, {}):
        with pytest.raises(ForgedRequest):
            check_origin(headers, own)
