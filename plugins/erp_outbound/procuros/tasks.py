"""Procuros tasks (seed 000): what each task type asks of the ERP, and the answer it gets.

EXPORT_CUSTOMERS / EXPORT_SUPPLIERS only read master data. SYNC_ENABLED_TRADE_PARTNERS
sets the "via Procuros" flag on exactly the listed partners: running it twice changes
nothing more, so handling a task again after a crash is harmless.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field

import pandas as pd
from sqlalchemy.engine import Engine

from erp_outbound.core.batch import id_text
from erp_outbound.erp.sql import statement
from erp_outbound.procuros.master_data import export_result

log = logging.getLogger(__name__)

EXPORTS = {"EXPORT_CUSTOMERS": "customers", "EXPORT_SUPPLIERS": "suppliers"}
SYNC = "SYNC_ENABLED_TRADE_PARTNERS"


@dataclass
class TaskOutcome:
    """How a task was handled and the body that marks it processed."""

    task_id: str
    task_type: str
    success: bool
    body: str  # JSON text for PUT /v2/tasks/{id}
    partners: int = 0
    unknown: list[str] = field(default_factory=list)
    reason: str | None = None

    def as_line(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


def _read(engine: Engine, name: str, params: dict | None = None) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(statement("procuros", "tasks", name), conn, params=params or {})


def _failed(task: dict, reason: str) -> TaskOutcome:
    body = json.dumps({"success": False, "result": [], "errorReason": reason})
    return TaskOutcome(str(task.get("procurosTaskId")), str(task.get("type")), False, body, reason=reason)


def _export(task: dict, engine: Engine, which: str) -> TaskOutcome:
    partners = _read(engine, which)
    ids = id_text(partners["party_id"]).dropna().tolist()
    addresses = _read(engine, "additional_parties", {"partner_ids": ids}) if ids else pd.DataFrame(
        columns=["partner_id", "party_id", "role"])
    result = export_result(partners, addresses)
    body = '{"success":true,"result":' + result + "}"
    return TaskOutcome(str(task["procurosTaskId"]), task["type"], True, body, partners=len(partners))


def _id_list(payload: dict, *names: str) -> list[str]:
    for name in names:
        if name in payload:
            value = payload[name]
            if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
                raise ValueError(f"payload.{name} must be a list of ERP ids")
            return [str(v) for v in value]
    return []


def _sync(task: dict, engine: Engine, dry_run: bool) -> TaskOutcome:
    payload = task.get("payload")
    if not isinstance(payload, dict):
        raise ValueError("the task has no payload with customers and suppliers")
    wanted = {
        # One published example spells it "supplier": accept both.
        "customers": _id_list(payload, "customers", "customer"),
        "suppliers": _id_list(payload, "suppliers", "supplier"),
    }
    enabled, unknown = 0, []
    for which, ids in wanted.items():
        known = set(id_text(_read(engine, which)["party_id"]).dropna())
        unknown += [f"{which[:-1]} {i}" for i in ids if i not in known]
        chosen = sorted(set(ids) & known)
        enabled += len(chosen)
        if not dry_run:
            with engine.begin() as conn:
                conn.execute(statement("procuros", "tasks", f"sync_{which}"), {"enabled_ids": chosen})
    if unknown:
        log.warning("Task %s names partners the ERP does not know: %s", task["procurosTaskId"], ", ".join(unknown))
    body = json.dumps({"success": True, "result": []})
    return TaskOutcome(str(task["procurosTaskId"]), SYNC, True, body, partners=enabled, unknown=unknown)


def handle(task: dict, engine: Engine, dry_run: bool = False) -> TaskOutcome:
    """Handle one task. Bad task data gives success=false; an ERP failure raises (the task comes back)."""
    task_type = task.get("type")
    try:
        if task_type in EXPORTS:
            return _export(task, engine, EXPORTS[task_type])
        if task_type == SYNC:
            return _sync(task, engine, dry_run)
        return _failed(task, f"unknown task type {task_type!r}: erp-outbound handles "
                             f"{', '.join([*EXPORTS, SYNC])}")
    except (ValueError, KeyError, TypeError) as exc:
        return _failed(task, f"cannot build the result: {exc}")
