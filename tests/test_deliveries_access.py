"""The Deliveries app behind Airflow's own security dependencies, in-process.

The app is mounted under /erp-outbound as Airflow's API server mounts it, and the real
``get_user`` and ``requires_access_dag`` run against a stand-in auth manager: who may read which
DAG is its answer. The end-to-end test (test_e2e_airflow.py) does the same through a real Airflow.
"""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jwt import InvalidTokenError
from sqlalchemy import create_engine

from erp_outbound.core.report import RunReport
from erp_outbound.core.storage import Folder
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp.journal import Journal
from erp_outbound.erp.state import ensure_tables
from erp_outbound.ui.app import erp_engine as real_erp_engine

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
DAGS = {"procuros_outgoing": "procuros", "gep_por_status": "gep"}
PROCUROS_RUN, GEP_RUN = "manual__2026-11-30T10:00:00+00:00", "manual__2026-11-30T10:05:00+00:00"
USERS = {"admin-token": set(DAGS), "gep-token": {"gep_por_status"}, "nobody-token": set()}


class User:
    def __init__(self, token: str) -> None:
        self.token = token

    def get_id(self) -> str:
        return self.token

    def get_name(self) -> str:
        return self.token


class StandInAuthManager:
    """Answers as Airflow's auth managers do: a user from a token, the DAGs the user may read."""

    async def get_user_from_token(self, token: str) -> User:
        if token not in USERS:
            raise InvalidTokenError("not one of ours")
        return User(token)

    def get_authorized_dag_ids(self, *, user, method="GET", session=None) -> set[str]:
        return USERS[user.token] if method == "GET" else set()

    def is_authorized_dag(self, *, method, access_entity=None, details=None, user) -> bool:
        return method == "GET" and details is not None and details.id in USERS[user.token]


@pytest.fixture
def client(tmp_path, monkeypatch):
    from airflow.api_fastapi import app as airflow_app
    from airflow.api_fastapi.common.db.common import _get_session

    from erp_outbound.ui import app as deliveries
    from erp_outbound.ui import runs

    engine = create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    ensure_tables(engine)
    Journal(engine, PROCUROS_RUN, dag_id=None).record([
        Verdict(vendor="procuros", doc_type="ORDER", document_id="1", identifier="PO-1", outcome=Outcome.REJECTED,
                message=f"refused {HOSTILE}", error_url="javascript:alert(document.cookie)"),
        Verdict(vendor="procuros", doc_type="ORDER", document_id="2", identifier="PO-2", outcome=Outcome.BUILD_ERROR,
                message="no GTIN", error_url="https://portal.procuros.io/errors/2")])
    Journal(engine, GEP_RUN, dag_id=None).record([Verdict(vendor="gep", doc_type="POR_STATUS", document_id="3",
                                                          identifier="X-3", outcome=Outcome.REJECTED,
                                                          message="Invalid Order Number", error_code="E100")])
    monkeypatch.setenv("ERP_OUTBOUND_REPORTS", str(tmp_path / "reports"))
    RunReport("procuros", "procuros_outgoing", PROCUROS_RUN, verdicts=[
        Verdict(vendor="procuros", doc_type="ORDER", document_id="1", identifier="PO-1", outcome=Outcome.REJECTED,
                message=f"refused {HOSTILE}")]
    ).write(Folder(tmp_path / "reports"))

    monkeypatch.setattr(airflow_app._AuthManagerState, "instance", StandInAuthManager())
    monkeypatch.setattr(deliveries, "erp_engine", lambda: engine)
    monkeypatch.setattr(runs, "our_dags", lambda session: dict(DAGS))
    monkeypatch.setattr(runs, "run_dags", lambda session, run_ids, dag_ids: {
        r: {d for d, run in (("procuros_outgoing", PROCUROS_RUN), ("gep_por_status", GEP_RUN))
            if run == r and d in set(dag_ids)} for r in run_ids})
    monkeypatch.setattr(runs, "recent_runs", lambda session, dag_ids, limit=25, folder=None: [
        runs.RecentRun(d, r, "success", None, None, None, runs.report_summary(d, r))
        for d, r in (("procuros_outgoing", PROCUROS_RUN), ("gep_por_status", GEP_RUN)) if d in set(dag_ids)])
    monkeypatch.setattr(runs, "dag_run", lambda session, dag_id, run_id: runs.RecentRun(
        dag_id, run_id, "success", None, None, None))
    monkeypatch.setattr("airflow.models.dag.DagModel.get_team_name", staticmethod(lambda dag_id, **kw: None))

    airflow = FastAPI()
    airflow.mount("/erp-outbound", deliveries.app)  # as Airflow's API server mounts a plugin's app
    deliveries.app.dependency_overrides[_get_session] = lambda: None
    yield TestClient(airflow)
    deliveries.app.dependency_overrides.clear()
    engine.dispose()


def as_user(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


ENDPOINTS = ["/erp-outbound/deliveries", "/erp-outbound/deliveries.json", "/erp-outbound/guide",
             f"/erp-outbound/runs/procuros_outgoing/{PROCUROS_RUN}",
             f"/erp-outbound/reports/procuros_outgoing/html/{PROCUROS_RUN}"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_nothing_without_a_login(client, path):
    assert client.get(path).status_code == 401
    assert client.get(path, cookies={"_token": "forged"}).status_code == 403  # the UI's cookie, not valid
    assert client.get(path, headers=as_user("forged")).status_code == 403
    page = client.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 401 and "Log in to Airflow first" in page.text and "PO-1" not in page.text


def test_the_ui_login_cookie_opens_the_page(client):
    answer = client.get("/erp-outbound/deliveries.json", cookies={"_token": "admin-token"})
    assert answer.status_code == 200
    assert {d["document_id"] for d in answer.json()["documents"]} == {"1", "2", "3"}


def test_a_user_sees_only_the_dags_they_may_read(client):
    gep = as_user("gep-token")
    data = client.get("/erp-outbound/deliveries.json", headers=gep).json()
    assert [(d["document_id"], d["dag_id"]) for d in data["documents"]] == [("3", "gep_por_status")]
    assert [r["dag_id"] for r in data["runs"]] == ["gep_por_status"]
    page = client.get("/erp-outbound/deliveries", headers=gep).text
    assert "X-3" in page and "PO-1" not in page and "procuros_outgoing" not in page
    assert client.get("/erp-outbound/deliveries.json?dag_id=procuros_outgoing", headers=gep).status_code == 403
    for path in ENDPOINTS[3:]:
        assert client.get(path, headers=gep).status_code == 403, path
    for path in ENDPOINTS[:2]:
        assert client.get(path, headers=as_user("nobody-token")).status_code == 403, path


def test_filters_narrow_what_is_shown(client):
    admin = as_user("admin-token")

    def shown(query: str) -> set[str]:
        data = client.get(f"/erp-outbound/deliveries.json?{query}", headers=admin).json()
        return {d["document_id"] for d in data["documents"]}

    assert shown("") == {"1", "2", "3"}
    assert shown("vendor=gep") == {"3"}
    assert shown("dag_id=procuros_outgoing") == {"1", "2"}
    assert shown("doc_type=ORDER&outcome=BUILD_ERROR") == {"2"}
    assert shown("outcome=DEFERRED") == set()


def test_pages_escape_what_vendors_and_the_erp_wrote_and_run_no_script(client):
    admin = as_user("admin-token")
    for path in ("/erp-outbound/deliveries", f"/erp-outbound/runs/procuros_outgoing/{PROCUROS_RUN}",
                 f"/erp-outbound/reports/procuros_outgoing/html/{PROCUROS_RUN}"):
        answer = client.get(path, headers=admin)
        assert answer.status_code == 200, path
        assert "<script" not in answer.text and "<img" not in answer.text, path
        assert "&lt;script&gt;" in answer.text, path
        assert "script-src" not in answer.headers["content-security-policy"]
        assert "default-src 'none'" in answer.headers["content-security-policy"]
    page = client.get("/erp-outbound/deliveries", headers=admin).text
    assert 'href="javascript' not in page and "javascript:alert(document.cookie)" in page
    assert 'href="https://portal.procuros.io/errors/2"' in page
    csv = client.get(f"/erp-outbound/reports/procuros_outgoing/csv/{PROCUROS_RUN}", headers=admin)
    assert csv.status_code == 200 and "attachment" in csv.headers["content-disposition"]
    assert client.get(f"/erp-outbound/reports/gep_por_status/html/{GEP_RUN}", headers=admin).status_code == 404



def test_an_erp_that_cannot_be_read_is_named_and_its_secrets_are_not(client, monkeypatch, tmp_path):
    from erp_outbound.ui import app as deliveries

    monkeypatch.setattr(deliveries, "erp_engine", real_erp_engine)
    monkeypatch.setattr(deliveries, "_engines", {})
    admin = as_user("admin-token")
    monkeypatch.setenv("AIRFLOW_CONN_ERP_DEFAULT", json.dumps(
        {"conn_type": "erp", "host": "postgresql+psycopg2://erp:s3cret-pw-91@127.0.0.1:1/erp"}))
    answer = client.get("/erp-outbound/deliveries", headers=admin | {"Accept": "text/html"})
    assert answer.status_code == 503 and "erp_default" in answer.text and "s3cret-pw-91" not in answer.text
    # An ERP without the bookkeeping tables: the command that creates them.
    monkeypatch.setenv("AIRFLOW_CONN_ERP_DEFAULT", json.dumps(
        {"conn_type": "erp", "host": f"sqlite:///{tmp_path / 'empty.db'}"}))
    answer = client.get("/erp-outbound/deliveries.json", headers=admin)
    assert answer.status_code == 503 and "erp-outbound db upgrade" in answer.json()["detail"]


def test_the_guide_serves_the_docs_pages_behind_the_login(client):
    path = "/erp-outbound/guide/operators/run-report"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=as_user("forged")).status_code == 403
    page = client.get(path, headers=as_user("nobody-token"))  # a login is enough: the guide holds no data
    assert page.status_code == 200 and '<h1 id="reading-a-run-report">' in page.text
    assert 'href="/erp-outbound/guide/operators/deliveries"' in page.text  # links lead to the guide's pages
    home = client.get("/erp-outbound/guide", headers=as_user("nobody-token")).text
    assert 'href="/erp-outbound/guide/operators/run-report"' in home
    for missing in ("/erp-outbound/guide/no/such/page", "/erp-outbound/guide/..%2F..%2Fpyproject"):
        assert client.get(missing, headers=as_user("nobody-token")).status_code == 404, missing


def test_a_page_view_reads_only_the_reports_of_the_runs_it_lists(client, monkeypatch):
    """Who sees a journal entry comes from the journal (issue 27, point 7): the only report files a view
    reads are those of the recent runs it shows."""
    read = []
    original = Folder.read_text
    monkeypatch.setattr(Folder, "read_text", lambda self, name: read.append(name) or original(self, name))
    data = client.get("/erp-outbound/deliveries.json", headers=as_user("admin-token")).json()
    from erp_outbound.core.report import report_stem

    listed = {f"{report_stem(r['dag_id'], r['run_id'])}.json" for r in data["runs"]}
    assert set(read) <= listed and len(read) == len(set(read))
