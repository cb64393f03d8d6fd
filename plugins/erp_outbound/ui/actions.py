"""Acting on a delivery from the Deliveries page: resend now, release an uncertain document, and the audit of both.

- **Resend now** starts a run of the document's own DAG restricted to the chosen documents (the
  trigger form's "Only these"), made as Airflow's own trigger endpoint makes it
  (``trigger_dag_run``): a manual run, triggered by the user, with a note naming who and what.
  A document that a run already holds (a live claim in ``erp_outbound_claims``, or a resend from
  this page whose run has not finished) is named with that run and not sent again. Should two
  presses still race past that check, the claims (erp/claims.py) let only one run send it.
- **Release** is ``erp-outbound release`` (erp/release.py): the same rules, the same messages.
- Every action is written to ``erp_outbound_actions`` in the ERP: who, what, which document, when,
  and what came of it; the page shows it beside the document and follows it until the run finished.

Only a user who may create runs of the DAG (Airflow's auth manager: POST on the DAG's runs) sees the
buttons or may use them. Forms are POSTs carrying a token signed with the API server's secret key
for this user, and must come from this site (Origin, else Referer): a page elsewhere cannot act in
the user's name.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from erp_outbound.erp import release as releasing
from erp_outbound.erp.state import actions, claims, utcnow, verdicts
from erp_outbound.ui.attention import Document

RESEND = "resend"
RELEASE_DELIVERED = f"release_{releasing.AS_DELIVERED}"
RELEASE_PENDING = f"release_{releasing.AS_PENDING}"
ACTION_NAMES = {RESEND: "resend", RELEASE_DELIVERED: "released as delivered", RELEASE_PENDING: "released as pending"}
# What came of an action, per document.
STARTED, HELD, RELEASED, REFUSED = "started", "held", "released", "refused"
UNFINISHED_RUN_STATES = frozenset({"queued", "running"})
TOKEN_SALT = "erp-outbound deliveries actions"
TOKEN_MAX_AGE = 12 * 3600  # seconds: a page left open over a working day still acts
NOTE_LIMIT = 1000  # Airflow's run note holds up to 1,000 characters


class ForgedRequest(Exception):
    """The request did not come from this site's page (origin or token): refused with 403."""


# -- who may act, and proof the request comes from our page --------------------------------------------
def editable_dags(user, dag_ids: Iterable[str]) -> set[str]:
    """Of ``dag_ids``, those whose runs the user may create (the check Airflow's trigger endpoint makes)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
    from airflow.models.dag import DagModel

    manager = get_auth_manager()
    return {dag_id for dag_id in dag_ids if manager.is_authorized_dag(
        method="POST", access_entity=DagAccessEntity.RUN, user=user,
        details=DagDetails(id=dag_id, team_name=DagModel.get_team_name(dag_id)))}


def _serializer():
    from airflow.api_fastapi.auth.tokens import get_signing_key
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(get_signing_key("api", "secret_key"), salt=TOKEN_SALT)


def form_token(user) -> str:
    """The token the page's action forms carry: this user's id, signed with the API server's secret key."""
    return _serializer().dumps(str(user.get_id()))


def check_token(user, token: str | None) -> None:
    from itsdangerous import BadSignature

    try:
        signed_for = _serializer().loads(token or "", max_age=TOKEN_MAX_AGE)
    except BadSignature:  # also SignatureExpired
        raise ForgedRequest("The form's token is missing, expired or not valid: reload the Deliveries page "
                            "and act from there.") from None
    if signed_for != str(user.get_id()):
        raise ForgedRequest("The form's token belongs to another user: reload the Deliveries page.")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def check_origin(headers, own_origins: set[str]) -> None:
    """The request comes from one of ``own_origins``: its Origin header says so (a browser sends one with
    every POST), else its Referer. Neither, or another site: refused."""
    origin = headers.get("origin")
    if origin is None and headers.get("referer"):
        origin = origin_of(headers["referer"])
    if not origin:
        raise ForgedRequest("The request says not which page it comes from (no Origin, no Referer): act from "
                            "the Deliveries page.")
    if origin.lower() not in own_origins:
        raise ForgedRequest(f"A request from {origin} may not act here: act from the Deliveries page.")


# -- the audit ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActionRow:
    """One document of one action, as ``erp_outbound_actions`` keeps it."""

    action_id: str
    action: str
    user_name: str
    acted_at: datetime
    dag_id: str
    vendor: str
    doc_type: str
    document_id: str
    identifier: str
    result: str
    run_id: str | None = None
    reference: str | None = None
    detail: str | None = None

    @property
    def line(self) -> str:
        """How the page names it beside the document: "released as delivered by alice, 10:42 UTC"."""
        what = ACTION_NAMES.get(self.action, self.action)
        if self.action == RESEND:
            what = {STARTED: "resent", HELD: "resend asked (already held)", REFUSED: "resend refused"}.get(
                self.result, what)
        elif self.result == REFUSED:
            what = f"release refused ({what.removeprefix('released ')})"
        return f"{what} by {self.user_name}, {self.acted_at:%Y-%m-%d %H:%M} UTC"


def record(engine: Engine, rows: list[ActionRow]) -> None:
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(actions), [_as_row(r) for r in rows])


def _as_row(row: ActionRow) -> dict:
    return {name: getattr(row, name) for name in ActionRow.__dataclass_fields__}


def action_rows(engine: Engine, action_id: str) -> list[ActionRow]:
    with engine.connect() as conn:
        found = conn.execute(select(actions).where(actions.c.action_id == action_id).order_by(actions.c.id))
        return [_from_row(r._mapping) for r in found]


def latest_per_document(engine: Engine, documents: Iterable[Document]) -> dict[tuple[str, str, str], ActionRow]:
    """The latest action on each of these documents, keyed by (vendor, document type, ERP id)."""
    keys = {(d.vendor, d.doc_type, d.document_id) for d in documents}
    if not keys:
        return {}
    a = actions.c
    found: dict[tuple[str, str, str], ActionRow] = {}
    ids = sorted({k[2] for k in keys})
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            latest = (select(func.max(a.id)).where(a.document_id.in_(ids[start:start + 500]))
                      .group_by(a.vendor, a.doc_type, a.document_id))
            for r in conn.execute(select(actions).where(a.id.in_(latest))):
                row = _from_row(r._mapping)
                if (row.vendor, row.doc_type, row.document_id) in keys:
                    found[(row.vendor, row.doc_type, row.document_id)] = row
    return found


@dataclass
class ActionSummary:
    """One press of a button: who, what, when, on how many documents, and the runs it started."""

    action_id: str
    action: str
    user_name: str
    acted_at: datetime
    dag_id: str
    rows: list[ActionRow] = field(default_factory=list)

    @property
    def name(self) -> str:
        return ACTION_NAMES.get(self.action, self.action)

    @property
    def run_ids(self) -> list[str]:
        return list(dict.fromkeys(r.run_id for r in self.rows if r.result == STARTED and r.run_id))

    @property
    def identifiers(self) -> str:
        names = [r.identifier for r in self.rows]
        return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")

    @property
    def results(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for r in self.rows:
            counts[r.result] += 1
        return dict(counts)


def recent_actions(engine: Engine, dag_ids: Iterable[str], limit: int = 15) -> list[ActionSummary]:
    """The latest actions on these DAGs, newest first."""
    dag_ids = sorted(set(dag_ids))
    if not dag_ids:
        return []
    a = actions.c
    with engine.connect() as conn:
        latest = (select(a.action_id, func.max(a.id).label("last")).where(a.dag_id.in_(dag_ids))
                  .group_by(a.action_id).order_by(func.max(a.id).desc()).limit(limit)).subquery()
        rows = [_from_row(r._mapping) for r in conn.execute(
            select(actions).join(latest, a.action_id == latest.c.action_id).order_by(latest.c.last.desc(), a.id))]
    summaries: dict[str, ActionSummary] = {}
    for row in rows:
        summary = summaries.setdefault(row.action_id, ActionSummary(
            action_id=row.action_id, action=row.action, user_name=row.user_name, acted_at=row.acted_at,
            dag_id=row.dag_id))
        summary.rows.append(row)
    return list(summaries.values())


def _from_row(m) -> ActionRow:
    return ActionRow(**{name: m[name] for name in ActionRow.__dataclass_fields__})


# -- resend -----------------------------------------------------------------------------------------------
@dataclass
class ResendPlan:
    """What a Resend press will do: per document type the documents to send, and the others with why not."""

    to_send: dict[str, list[Document]] = field(default_factory=dict)  # doc type -> documents
    held: list[tuple[Document, str, str]] = field(default_factory=list)  # (document, run id, why)
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # (doc type, ERP id, why)


def plan_resend(engine: Engine, session, dag_id: str, chosen: list[tuple[str, str]],
                candidates: dict[tuple[str, str], tuple[Document, frozenset[str]]]) -> ResendPlan:
    """Sort the chosen (doc type, ERP id) pairs: to send, held by another run, or refused (and why).

    ``candidates`` are the documents that need attention now, with the DAGs each belongs to.
    """
    plan = ResendPlan()
    wanted: list[Document] = []
    for doc_type, document_id in dict.fromkeys(chosen):
        found = candidates.get((doc_type, document_id))
        if found is None:
            plan.refused.append((doc_type, document_id, f"not a {doc_type} document that needs attention now "
                                                        "(its latest verdict is final, or it was never sent)"))
            continue
        document, owners = found
        if owners != frozenset({dag_id}):
            named = " or ".join(sorted(owners))
            plan.refused.append((doc_type, document_id, f"sent by the DAG {named}, not {dag_id}"))
        elif document.uncertain:
            plan.refused.append((doc_type, document_id, "uncertain: the vendor may have acted on it; check it at "
                                                        "the vendor and release it (sending it again could deliver "
                                                        "it twice)"))
        else:
            wanted.append(document)
    holders = holding_runs(engine, session, wanted)
    for document in wanted:
        holder = holders.get((document.vendor, document.doc_type, document.document_id))
        if holder:
            plan.held.append((document, *holder))
        else:
            plan.to_send.setdefault(document.doc_type, []).append(document)
    return plan


def holding_runs(engine: Engine, session, documents: list[Document]) -> dict[tuple[str, str, str], tuple[str, str]]:
    """Which run already holds each document: (run id, why) for a live claim or a resend not finished yet."""
    if not documents:
        return {}
    from erp_outbound.ui import runs

    keys = {(d.vendor, d.doc_type, d.document_id) for d in documents}
    ids = sorted({k[2] for k in keys})
    held: dict[tuple[str, str, str], tuple[str, str]] = {}
    now = utcnow()
    with engine.connect() as conn:
        for r in conn.execute(select(claims).where(claims.c.document_id.in_(ids), claims.c.lease_until >= now)):
            key = (r.vendor, r.doc_type, r.document_id)
            if key in keys:
                held[key] = (r.run_id, f"the run {r.run_id} of {r.dag_id or 'an erp-outbound DAG'} is sending it now")
        a = actions.c
        started = conn.execute(select(actions).where(a.action == RESEND, a.result == STARTED,
                                                     a.document_id.in_(ids)).order_by(a.id.desc()))
        for r in started:
            key = (r.vendor, r.doc_type, r.document_id)
            if key not in keys or key in held:
                continue
            run = runs.dag_run(session, r.dag_id, r.run_id)
            if run is not None and run.state in UNFINISHED_RUN_STATES:
                held[key] = (r.run_id, f"{r.user_name} resent it at {r.acted_at:%H:%M} UTC: the run {r.run_id} "
                                       f"is {run.state}")
    return held


def run_note(user_name: str, documents: list[Document]) -> str:
    """The started run's note: who resent what from the Deliveries page."""
    names = [f"{d.identifier} (ERP id {d.document_id})" for d in documents]
    head = f"Resend from the Deliveries page by {user_name}: {documents[0].doc_type} "
    text = head + ", ".join(names)
    if len(text) <= NOTE_LIMIT:
        return text
    shown, rest = [], len(names)
    for name in names:
        if len(head) + len(", ".join([*shown, name])) + 20 > NOTE_LIMIT:
            break
        shown.append(name)
        rest -= 1
    return f"{head}{', '.join(shown)} and {rest} more"


def run_conf(dag_params: Iterable[str], doc_type: str, documents: list[Document]) -> dict:
    """The trigger form's values for a run of just these documents of one type."""
    conf: dict = {"only_ids": [d.document_id for d in documents]}
    if "doc_types" in dag_params:  # a DAG of several types sends this one only: no ERP id of another type matches
        conf["doc_types"] = [doc_type]
    return conf


# -- release ----------------------------------------------------------------------------------------------
def release_documents(engine: Engine, vendor: str, dag_id: str, as_: str, chosen: list[tuple[str, str]],
                      references: dict[tuple[str, str], str], user_name: str
                      ) -> tuple[list[releasing.UncertainRow], list[tuple[str, str, str]]]:
    """``erp-outbound release`` for the chosen (doc type, ERP id) pairs; a reference goes with its own document.

    Returns those released and the refused ones as (doc type, ERP id, why), in release()'s words.
    """
    batches: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for doc_type, document_id in dict.fromkeys(chosen):
        reference = (references.get((doc_type, document_id)) or "").strip() or None
        if as_ != releasing.AS_DELIVERED:
            reference = None
        batches[(doc_type, reference)].append(document_id)
    released, refused = [], []
    for (doc_type, reference), ids in batches.items():
        groups = [[i] for i in ids] if reference else [ids]
        for group in groups:
            try:
                done, left = releasing.release(engine, vendor, dag_id, group, as_, doc_type, reference, by=user_name)
            except ValueError as exc:
                refused.extend((doc_type, i, str(exc)) for i in group)
                continue
            released.extend(done)
            refused.extend((doc_type, i, why) for i, why in left.items())
    return released, refused


# -- feedback -------------------------------------------------------------------------------------------
def outcomes_now(engine: Engine, rows: list[ActionRow]) -> dict[tuple[str, str, str], dict]:
    """Each document's latest verdict of a real run now: outcome, message, run."""
    keys = {(r.vendor, r.doc_type, r.document_id) for r in rows}
    if not keys:
        return {}
    v = verdicts.c
    ids = sorted({k[2] for k in keys})
    found = {}
    with engine.connect() as conn:
        latest = (select(func.max(v.id)).where(v.document_id.in_(ids), v.dry_run.is_(False))
                  .group_by(v.vendor, v.doc_type, v.document_id))
        for r in conn.execute(select(verdicts).where(v.id.in_(latest))):
            key = (r.vendor, r.doc_type, r.document_id)
            if key in keys:
                found[key] = {"outcome": r.outcome, "message": r.message or "", "run_id": r.run_id,
                              "dag_id": r.dag_id, "recorded_at": r.recorded_at}
    return found


def new_action_id() -> str:
    return str(uuid.uuid4())
