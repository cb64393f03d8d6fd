"""The Deliveries page's FastAPI app, mounted by Airflow's API server under ``/erp-outbound``.

Every route depends on Airflow's own security dependencies: ``get_user`` (the ``_token`` cookie the
UI's login sets, or a Bearer token) answers 401 without a login and 403 for a token that is not
valid; the data is cut to the DAGs the user may read (the auth manager's answer), and a run's pages
ask ``requires_access_dag`` for that DAG's runs. Pages are rendered on the server with Jinja2's
autoescaping and carry no script at all (their Content-Security-Policy forbids one).
"""

from __future__ import annotations

import logging
import os
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlencode

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from airflow.models.connection import Connection
from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from erp_outbound.core.links import URL_PREFIX, run_page_path
from erp_outbound.core.report import VENDOR_NAMES, is_web_link, report_stem, vendor_ids
from erp_outbound.erp import migrations
from erp_outbound.erp.hook import ErpHook, make_engine, sqlalchemy_url
from erp_outbound.ui import attention, runs
from erp_outbound.ui.guide import guide_html

ERP_CONN_ID_VARIABLE = "ERP_OUTBOUND_ERP_CONN_ID"  # the ERP whose journal the page reads (default erp_default)
SHOWN_PER_TYPE = 200  # documents listed per vendor and type; the rest are counted
# No script, no plugin, no foreign style; only Airflow's own UI may frame the pages.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
log = logging.getLogger(__name__)


def external_link(url: str) -> Markup:
    """An http(s) URL as a link that opens beside Airflow; anything else (javascript:...) as text."""
    if not is_web_link(url):
        return escape(url)
    return Markup('<a href="{0}" rel="noopener noreferrer" target="_blank">{0}</a>').format(url)


def vendor_link(vendor: str, error_url: str | None, error_code: str | None, reference: str | None) -> Markup:
    parts = [external_link(error_url)] if error_url else []
    if ids := vendor_ids(vendor, error_code, reference):
        parts.append(escape(ids))
    return Markup(" | ").join(parts) if parts else Markup("-")


templates = Environment(loader=PackageLoader("erp_outbound.ui", "templates"), autoescape=select_autoescape(["html"]))
templates.filters["when"] = lambda t: t.strftime("%Y-%m-%d %H:%M UTC") if t else "-"
templates.filters["vendor_link"] = lambda d: vendor_link(d.vendor, d.error_url, d.error_code, d.vendor_reference)
templates.filters["failure_link"] = lambda f, vendor: vendor_link(vendor, f.get("error_url"), f.get("error_code"),
                                                                  f.get("vendor_reference"))
templates.globals.update(run_page=run_page_path, quote=lambda v: quote(v, safe=""),
                         vendor_name=lambda v: VENDOR_NAMES.get(v, v))

app = FastAPI(title="erp-outbound Deliveries", docs_url=None, redoc_url=None, openapi_url=None)


def erp_conn_id() -> str:
    return os.environ.get(ERP_CONN_ID_VARIABLE) or ErpHook.default_conn_name


_engines: dict[str, Engine] = {}


def erp_engine() -> Engine:
    """The ERP's engine in the API server (from the connection, as Airflow's own API reads it).

    When the ERP cannot be read the page says so (503) without the database's answer, which may
    name its host and user; the API server's log has it.
    """
    conn_id = erp_conn_id()
    try:
        url = sqlalchemy_url(Connection.get_connection_from_secrets(conn_id))
        key = url.render_as_string(hide_password=False)
        if key not in _engines:
            engine = make_engine(url)
            migrations.check(engine, conn_id)
            _engines[key] = engine
        return _engines[key]
    except migrations.ErpSchemaError as exc:  # names the database without its password, and the command
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    except Exception:
        log.exception("The Deliveries page cannot read the ERP of connection %s", conn_id)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"The ERP of connection {conn_id!r} cannot be read (the API server's log says why). "
                            f"Check the connection (Admin -> Connections -> Test), or set {ERP_CONN_ID_VARIABLE} "
                            "to the ERP connection your DAGs use.") from None


@dataclass
class Desk:
    """What the user may see: our DAGs (all, for working out owners) and the ones they may read."""

    dags: dict[str, str]  # dag_id -> vendor, every DAG of ours
    readable: dict[str, str]  # the ones this user may read


def desk(user: GetUserDep, session: SessionDep) -> Desk:
    # Airflow's auth manager (our app is mounted, so app.state is not Airflow's: ask for it directly).
    dags = runs.our_dags(session)
    allowed = get_auth_manager().get_authorized_dag_ids(user=user, method="GET", session=session)
    readable = {d: v for d, v in dags.items() if d in allowed}
    if not readable:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "You may not read any erp-outbound DAG.")
    return Desk(dags, readable)


DeskDep = Annotated[Desk, Depends(desk)]
RunAccess = Depends(requires_access_dag("GET", DagAccessEntity.RUN))


@dataclass
class Filters:
    dag_id: str | None
    vendor: str | None
    doc_type: str | None
    outcome: str | None

    def query(self, **changes) -> str:
        values = {"dag_id": self.dag_id, "vendor": self.vendor, "doc_type": self.doc_type,
                  "outcome": self.outcome} | changes
        return urlencode({k: v for k, v in values.items() if v})


def filters(dag_id: Annotated[str | None, Query()] = None, vendor: Annotated[str | None, Query()] = None,
            doc_type: Annotated[str | None, Query()] = None, outcome: Annotated[str | None, Query()] = None) -> Filters:
    return Filters(dag_id or None, vendor or None, doc_type or None, outcome or None)


FiltersDep = Annotated[Filters, Depends(filters)]


def attention_now(session, seen: Desk, chosen: Filters) -> dict:
    """The page's data: documents that need attention (uncertain ones apart) and recent runs."""
    if chosen.dag_id and chosen.dag_id not in seen.readable:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"You may not read the DAG {chosen.dag_id!r} "
                                                       "(or it is not an erp-outbound DAG).")
    dags = {d: v for d, v in seen.readable.items()
            if (not chosen.dag_id or d == chosen.dag_id) and (not chosen.vendor or v == chosen.vendor)}
    engine = erp_engine()
    documents = attention.open_documents(engine, vendors=set(dags.values()), doc_type=chosen.doc_type,
                                         outcome=chosen.outcome)
    owners = runs.Owners(session, seen.dags).resolve(documents)
    shown = []
    for i, document in enumerate(documents):
        dag_ids = owners[i]
        # Only what the user may read, all of it: a document whose DAG is not certain needs every candidate.
        if dag_ids and dag_ids <= set(seen.readable) and (not chosen.dag_id or chosen.dag_id in dag_ids):
            shown.append((document, sorted(dag_ids)))
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for document, dag_ids in shown:
        if not document.uncertain:
            groups[(document.vendor, document.doc_type)].append((document, dag_ids))
    return {
        "groups": dict(sorted(groups.items())),
        "uncertain": [(d, o) for d, o in shown if d.uncertain],
        "summary": summarise(shown),
        "runs": runs.recent_runs(session, dags),
        "dags": seen.readable,
        "vendors": sorted(set(seen.readable.values())),
        "types": [t for t in attention.known_types(engine) if t[0] in set(seen.readable.values())],
        "outcomes": attention.known_outcomes(engine),
        "erp_conn_id": erp_conn_id(),
    }


def summarise(shown: list) -> list[dict]:
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for document, _ in shown:
        counts[(document.vendor, document.doc_type)][attention.UNCERTAIN if document.uncertain else document.outcome] += 1
    return [{"vendor": v, "doc_type": t, "total": sum(c.values()), "outcomes": dict(c)}
            for (v, t), c in sorted(counts.items())]


def page(request: Request, name: str, status_code: int = 200, **values) -> HTMLResponse:
    base = request.scope.get("root_path", "").rstrip("/")  # where Airflow mounted us, e.g. /erp-outbound
    airflow = base.removesuffix(URL_PREFIX)
    return HTMLResponse(templates.get_template(name).render(base=base, airflow=airflow, **values),
                        status_code=status_code, headers=SECURITY_HEADERS)


@app.get("/deliveries", response_class=HTMLResponse)
def deliveries(request: Request, user: GetUserDep, session: SessionDep, seen: DeskDep, chosen: FiltersDep):
    data = attention_now(session, seen, chosen)
    columns = list(dict.fromkeys(outcome for run in data["runs"] for outcome in run.outcomes))
    return page(request, "deliveries.html", here="deliveries", filters=chosen, shown_per_type=SHOWN_PER_TYPE,
                outcome_columns=columns, **data)


@app.get("/deliveries.json")
def deliveries_data(session: SessionDep, seen: DeskDep, chosen: FiltersDep) -> JSONResponse:
    data = attention_now(session, seen, chosen)
    def described(document, dag_ids: list[str]) -> dict:
        return document.as_dict() | {"dags": dag_ids, "dag_id": dag_ids[0] if len(dag_ids) == 1 else None}

    return JSONResponse({
        "documents": [described(d, o) for group in data["groups"].values() for d, o in group],
        "uncertain": [described(d, o) for d, o in data["uncertain"]],
        "summary": data["summary"],
        "runs": [r.as_dict() for r in data["runs"]],
    }, headers={"Cache-Control": "no-store"})


@app.get("/runs/{dag_id}/{run_id:path}", response_class=HTMLResponse, dependencies=[RunAccess])
def run_report(dag_id: str, run_id: str, request: Request, session: SessionDep, seen: DeskDep):
    if dag_id not in seen.readable:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{dag_id!r} is not an erp-outbound DAG.")
    run = runs.dag_run(session, dag_id, run_id)
    report = runs.report_summary(dag_id, run_id)
    if run is None and report is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No run {run_id!r} of {dag_id!r}.")
    # A report's "items" (one row per task of procuros_tasks) apart: report.items would be the dict's method.
    return page(request, "run.html", dag_id=dag_id, run_id=run_id, run=run, report=report,
                items=(report or {}).get("items") or [], vendor=seen.readable[dag_id])


@app.get("/reports/{dag_id}/{kind}/{run_id:path}", dependencies=[RunAccess])
def report_file(dag_id: str, kind: str, run_id: str, seen: DeskDep) -> Response:
    if dag_id not in seen.readable or kind not in runs.REPORT_KINDS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such report.")
    text = runs.read_report(dag_id, run_id, kind)
    if text is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No {kind} report for run {run_id!r} of {dag_id!r}.")
    headers = dict(SECURITY_HEADERS)
    if kind != "html":
        headers["Content-Disposition"] = f'attachment; filename="{report_stem(dag_id, run_id)}.{kind}"'
    return Response(text, media_type=runs.REPORT_KINDS[kind], headers=headers)


@app.get("/guide", response_class=HTMLResponse)
def guide(request: Request, user: GetUserDep):
    return page(request, "guide.html", here="guide", body=Markup(guide_html()))


@app.exception_handler(StarletteHTTPException)
async def refused(request: Request, exc: StarletteHTTPException) -> Response:
    """401/403/404 as a short page for a person, as JSON for a program (the status stays the same)."""
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    return page(request, "refused.html", status_code=exc.status_code, detail=exc.detail, code=exc.status_code)
