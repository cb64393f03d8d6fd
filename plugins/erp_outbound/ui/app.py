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
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from erp_outbound.core.links import URL_PREFIX, run_page_path
from erp_outbound.core.report import VENDOR_NAMES, is_web_link, report_stem, vendor_ids
from erp_outbound.erp import migrations
from erp_outbound.erp.hook import ErpHook, make_engine, sqlalchemy_url
from erp_outbound.erp.state import utcnow
from erp_outbound.ui import actions, attention, runs
from erp_outbound.ui.guide import HOME, NoSuchPage, guide_html

ERP_CONN_ID_VARIABLE = "ERP_OUTBOUND_ERP_CONN_ID"  # the ERP whose journal the page reads (default erp_default)
SHOWN_PER_TYPE = 200  # documents listed per vendor and type; the rest are counted
# No script, no plugin, no foreign style; only Airflow's own UI may frame the pages.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    # Within this site a link or form says where it comes from (the action forms' origin check reads
    # Origin, which no-referrer would make "null"); to other sites nothing.
    "Referrer-Policy": "same-origin",
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
# An action on a DAG's documents needs what Airflow's own trigger endpoint needs: to create its runs.
ActionAccess = Depends(requires_access_dag("POST", DagAccessEntity.RUN))


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
                outcome_columns=columns, **data, **action_controls(user, seen, data))


def action_controls(user, seen: Desk, data: dict) -> dict:
    """What the page needs for its action forms: the DAGs this user may act on (none: no form at all), the
    form token, the latest action beside each document and the recent actions."""
    engine = erp_engine()
    editable = actions.editable_dags(user, seen.readable)
    shown = [d for rows in data["groups"].values() for d, _ in rows] + [d for d, _ in data["uncertain"]]

    def one_dag(rows) -> str | None:
        """The DAG a whole table's "chosen ones" buttons act on: the one DAG of all its rows, if the user may."""
        dags = {dag_id for _, dag_ids in rows for dag_id in dag_ids}
        if len(dags) == 1 and all(len(dag_ids) == 1 for _, dag_ids in rows) and dags <= editable:
            return dags.pop()
        return None

    return {
        "editable": editable,
        "token": actions.form_token(user) if editable else "",
        "group_dags": {key: one_dag(rows) for key, rows in data["groups"].items()},
        "uncertain_dag": one_dag(data["uncertain"]) if data["uncertain"] else None,
        "audit": actions.latest_per_document(engine, shown),
        "recent_actions": actions.recent_actions(engine, seen.readable),
    }


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


# -- actions: resend now, release uncertain documents (erp_outbound/ui/actions.py) ---------------------------
@dataclass
class ActionForm:
    chosen: list[tuple[str, str]]  # (doc type, ERP id)
    groups: set[tuple[str, str]]  # (vendor, doc type): every document of the group
    references: dict[tuple[str, str], str]


def _document_key(value: str) -> tuple[str, str]:
    doc_type, _, document_id = value.partition("/")
    if not doc_type or not document_id:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{value!r} names no document (DOC_TYPE/ERP id).")
    return doc_type, document_id


def own_origins(request: Request) -> set[str]:
    """This site as the browser sees it: the request's own host, and Airflow's [api] base_url."""
    from airflow.configuration import conf

    found = {actions.origin_of(str(request.base_url)), actions.origin_of(conf.get("api", "base_url", fallback=""))}
    return found - {""}


async def action_form(request: Request, user: GetUserDep) -> ActionForm:
    """The action form, once it is known to come from our page for this user (else 403)."""
    form = await request.form()
    try:
        actions.check_origin(request.headers, own_origins(request))
        actions.check_token(user, form.get("token"))
    except actions.ForgedRequest as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    # A row's own button names its document in the URL: that one alone, whatever else is ticked.
    one = request.query_params.getlist("document")
    chosen = [_document_key(v) for v in (one or form.getlist("document"))]
    groups = set() if one else {_document_key(v) for v in form.getlist("group")}
    references = {_document_key(k.removeprefix("reference:")): str(v) for k, v in form.multi_items()
                  if k.startswith("reference:") and str(v).strip()}
    return ActionForm(chosen, groups, references)


ActionFormDep = Annotated[ActionForm, Depends(action_form)]
_dag_bag = None


def dag_bag():
    """Airflow's DAG bag as its API server keeps one (our mounted app has no app.state.dag_bag of its own)."""
    global _dag_bag
    if _dag_bag is None:
        from airflow.api_fastapi.common.dagbag import create_dag_bag

        _dag_bag = create_dag_bag()
    return _dag_bag


def _acting_on(dag_id: str, seen: Desk, session) -> tuple[str, Engine, list, dict]:
    if dag_id not in seen.dags:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{dag_id!r} is not an erp-outbound DAG.")
    vendor = seen.dags[dag_id]
    engine = erp_engine()
    documents = attention.open_documents(engine, vendors={vendor})
    owners = runs.Owners(session, seen.dags).resolve(documents)
    return vendor, engine, documents, owners


def _chosen(form: ActionForm, dag_id: str, documents: list, owners: dict, uncertain: bool) -> list[tuple[str, str]]:
    chosen = list(form.chosen)
    for i, d in enumerate(documents):
        if (d.vendor, d.doc_type) in form.groups and owners[i] == frozenset({dag_id}) and d.uncertain == uncertain:
            chosen.append((d.doc_type, d.document_id))
    if not chosen:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Choose at least one document (its box, or a group's).")
    return chosen


def _to_feedback(request: Request, action_id: str) -> RedirectResponse:
    base = request.scope.get("root_path", "").rstrip("/")
    return RedirectResponse(f"{base}/actions/{action_id}", status_code=status.HTTP_303_SEE_OTHER)


@app.post("/actions/{dag_id}/resend", dependencies=[ActionAccess])
def resend(dag_id: str, request: Request, user: GetUserDep, session: SessionDep, seen: DeskDep,
           form: ActionFormDep) -> RedirectResponse:
    """Resend now: a run of the DAG with only these documents, as Airflow's trigger endpoint makes one."""
    from airflow.api_fastapi.common.dagbag import get_latest_version_of_dag
    from airflow.api_fastapi.core_api.datamodels.dag_run import TriggerDAGRunPostBody
    from airflow.api_fastapi.core_api.routes.public.dag_run import trigger_dag_run

    vendor, engine, documents, owners = _acting_on(dag_id, seen, session)
    candidates = {(d.doc_type, d.document_id): (d, owners[i]) for i, d in enumerate(documents)}
    plan = actions.plan_resend(engine, session, dag_id, _chosen(form, dag_id, documents, owners, False), candidates)
    action_id, now, name = actions.new_action_id(), utcnow(), user.get_name()

    def row(document, result, run_id=None, detail=None, doc_type=None, document_id=None):
        return actions.ActionRow(
            action_id=action_id, action=actions.RESEND, user_name=name, acted_at=now, dag_id=dag_id, vendor=vendor,
            doc_type=document.doc_type if document else doc_type,
            document_id=document.document_id if document else document_id,
            identifier=document.identifier if document else document_id, result=result, run_id=run_id, detail=detail)

    rows = []
    if plan.to_send:
        params = get_latest_version_of_dag(dag_bag(), dag_id, session).params
        for doc_type, chosen in plan.to_send.items():
            body = TriggerDAGRunPostBody(logical_date=None, conf=actions.run_conf(params, doc_type, chosen),
                                         note=actions.run_note(name, chosen))
            try:
                run = trigger_dag_run(dag_id, body, dag_bag(), user, session, request)
                session.commit()  # the feedback page, one redirect away, reads it
            except HTTPException as exc:
                session.rollback()
                rows += [row(d, actions.REFUSED, detail=f"Airflow refused the run: {exc.detail}") for d in chosen]
                continue
            rows += [row(d, actions.STARTED, run_id=run.run_id) for d in chosen]
    rows += [row(d, actions.HELD, run_id=run_id, detail=why) for d, run_id, why in plan.held]
    rows += [row(None, actions.REFUSED, detail=why, doc_type=t, document_id=i) for t, i, why in plan.refused]
    for r in rows:
        log.info("Deliveries page: %s %s %s %s of %s: %s %s", r.user_name, r.action, r.doc_type, r.document_id,
                 dag_id, r.result, r.run_id or r.detail or "")
    actions.record(engine, rows)
    return _to_feedback(request, action_id)


@app.post("/actions/{dag_id}/release/{as_}", dependencies=[ActionAccess])
def release_uncertain(dag_id: str, as_: str, request: Request, user: GetUserDep, session: SessionDep,
                      seen: DeskDep, form: ActionFormDep) -> RedirectResponse:
    """Release uncertain documents as delivered or pending: ``erp-outbound release``, in the user's name."""
    if as_ not in actions.releasing.RELEASED_AS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"Release as {as_!r}? As delivered or as pending.")
    vendor, engine, documents, owners = _acting_on(dag_id, seen, session)
    chosen = _chosen(form, dag_id, documents, owners, True)
    identifiers = {(d.doc_type, d.document_id): d.identifier for d in documents}
    name = user.get_name()
    released, refused = actions.release_documents(engine, vendor, dag_id, as_, chosen, form.references, name)
    action_id, now, action = actions.new_action_id(), utcnow(), f"release_{as_}"
    common = dict(action_id=action_id, action=action, user_name=name, acted_at=now, dag_id=dag_id, vendor=vendor)
    rows = [actions.ActionRow(**common, doc_type=r.doc_type, document_id=r.document_id, identifier=r.identifier,
                              result=actions.RELEASED, detail=actions.releasing.released_line(r, as_),
                              reference=form.references.get((r.doc_type, r.document_id)) if as_ == "delivered"
                              else None)
            for r in released]
    rows += [actions.ActionRow(**common, doc_type=t, document_id=i, identifier=identifiers.get((t, i), i),
                               result=actions.REFUSED, detail=actions.releasing.refused_line(i, why))
             for t, i, why in refused]
    for r in rows:
        log.info("Deliveries page: %s %s %s %s of %s: %s", name, action, r.doc_type, r.document_id, dag_id, r.result)
    actions.record(engine, rows)
    return _to_feedback(request, action_id)


@app.get("/actions/{action_id}", response_class=HTMLResponse)
def action_feedback(action_id: str, request: Request, session: SessionDep, seen: DeskDep):
    """What an action did: the runs it started with their state (the page reloads itself until they finished),
    then each document's outcome now."""
    engine = erp_engine()
    rows = actions.action_rows(engine, action_id)
    if not rows or rows[0].dag_id not in seen.readable:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such action (or not on a DAG you may read).")
    started = list(dict.fromkeys(r.run_id for r in rows if r.result == actions.STARTED and r.run_id))
    run_states = {run_id: runs.dag_run(session, rows[0].dag_id, run_id) for run_id in started}
    finished = all(run is not None and run.state not in actions.UNFINISHED_RUN_STATES for run in run_states.values())
    return page(request, "action.html", here="deliveries", rows=rows, first=rows[0], run_states=run_states,
                finished=finished, outcomes=actions.outcomes_now(engine, rows), final=attention.FINAL,
                names=actions.ACTION_NAMES, refresh=None if finished else 3)


@app.get("/guide", response_class=HTMLResponse)
def guide(request: Request, user: GetUserDep):
    return guide_page(request, HOME)


@app.get("/guide/{name:path}", response_class=HTMLResponse)
def guide_subpage(request: Request, name: str, user: GetUserDep):
    """A documentation page (docs/<name>.md), e.g. /guide/operators/run-report."""
    return guide_page(request, name)


def guide_page(request: Request, name: str) -> HTMLResponse:
    base = request.scope.get("root_path", "").rstrip("/") + "/guide"
    try:
        body = guide_html(name, base)
    except NoSuchPage:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"The guide has no page {name!r}.") from None
    return page(request, "guide.html", here="guide", body=Markup(body), guide=base, home=name == HOME)


@app.exception_handler(StarletteHTTPException)
async def refused(request: Request, exc: StarletteHTTPException) -> Response:
    """401/403/404 as a short page for a person, as JSON for a program (the status stays the same)."""
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    return page(request, "refused.html", status_code=exc.status_code, detail=exc.detail, code=exc.status_code)
