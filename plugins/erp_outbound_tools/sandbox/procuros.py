"""Procuros API v2 emulator: routes under /v2 plus its in-memory state and record.

Endpoint names (for fault tables): procuros.ping, procuros.transactions,
procuros.all_transactions, procuros.errors, procuros.tasks, procuros.tasks.mark.

Every transaction Procuros took (201 or 202) is listed by ``GET /v2/all-transactions``
with the status ``procuros.transaction_statuses`` gives its answer (201 SUCCESS, 202
DROPPED by default), also when the answer was lost; ``PUT /_sandbox/procuros/transactions/{id}``
``{"status": ...}`` changes one transaction's status.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from aiohttp import web

from erp_outbound.procuros.spec import spec_path

from . import procuros_rules as rules
from .config import TRANSACTION_STATUSES, ProcurosConfig, SandboxConfig
from .faults import FAULT_KEY

if TYPE_CHECKING:
    from .server import SandboxRecord

try:
    from zoneinfo import ZoneInfo

    _BERLIN: Any = ZoneInfo("Europe/Berlin")  # Procuros answers in Berlin time
except Exception:  # pragma: no cover - no tz database
    _BERLIN = timezone.utc

INVALID = "The given data was invalid."
ERROR_TYPES = ("DATA", "INTERNAL")


def _now_utc() -> str:
    return datetime.now(timezone.utc).isoformat()


def canonical_hash(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class ProcurosState:
    """Everything the Procuros emulator remembers; reset by /_sandbox/reset."""

    def __init__(self, config: ProcurosConfig) -> None:
        self._seed_tasks = list(config.tasks)
        self.statuses = dict(config.transaction_statuses)
        self.reset()

    def reset(self) -> None:
        self.ledger: list[dict[str, Any]] = []  # what GET /v2/all-transactions lists, oldest first
        self.transactions: list[dict[str, Any]] = []
        self.accepted: dict[str, int] = {}
        self.accepted_by_type: dict[str, dict[str, int]] = {}
        self.accepted_hashes: set[str] = set()
        self.errors: list[Any] = []  # reported bodies, exactly as received
        self.error_urls: list[str] = []  # errorUrl answered for errors[i]
        self.task_marks: list[dict[str, Any]] = []
        self.portal_errors: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}  # insertion order = stable listing order
        self.task_seq: dict[str, int] = {}
        self.processed: set[str] = set()
        self._next_seq = 0
        self.add_tasks(self._seed_tasks)

    def add_tasks(self, tasks: list[dict[str, Any]]) -> list[str]:
        if any(not isinstance(t, dict) or not isinstance(t.get("type"), str) for t in tasks):
            raise ValueError("each task needs a string 'type'")
        added = []
        for spec in tasks:
            task_id = str(spec.get("procurosTaskId") or uuid.uuid4())
            task = {
                "procurosTaskId": task_id,
                "createdAt": spec.get("createdAt") or datetime.now(_BERLIN).replace(microsecond=0).isoformat(),
                "type": spec["type"],
            }
            if spec.get("payload") is not None:
                task["payload"] = spec["payload"]
            self.tasks[task_id] = task
            self.task_seq[task_id] = self._next_seq
            self._next_seq += 1
            self.processed.discard(task_id)
            added.append(task_id)
        return added

    def new_error_url(self, base: str, summary: dict[str, Any]) -> str:
        error_id = str(uuid.uuid4())
        self.portal_errors[error_id] = summary
        return f"{base}/portal/errors/{error_id}"

    def snapshot(self) -> dict[str, Any]:
        return {
            "transactions": list(self.transactions),
            "ledger": [{**{k: v for k, v in tx.items() if k != "content"},
                        "identifier": rules.document_key({"type": tx["type"], "content": tx["content"]})[1]}
                       for tx in self.ledger],
            "accepted": dict(self.accepted),
            "accepted_by_type": {t: dict(c) for t, c in self.accepted_by_type.items()},
            "errors": list(self.errors),
            "error_urls": list(self.error_urls),
            "tasks_marked": list(self.task_marks),
            "tasks_pending": [t for t in self.tasks if t not in self.processed],
        }


class ProcurosApi:
    def __init__(self, config: SandboxConfig, state: ProcurosState) -> None:
        self.tokens = frozenset(config.procuros.tokens)
        self.unknown_prefixes = tuple(config.procuros.unknown_gln_prefixes)
        self.inactive_prefixes = tuple(config.procuros.inactive_gln_prefixes)
        self.public_url = config.public_url.rstrip("/") if config.public_url else None
        self.spec = rules.SpecValidator(config.procuros.spec_path or str(spec_path())) \
            if config.procuros.validate_against_spec else None
        self.state = state

    # --- helpers ---------------------------------------------------------------

    def _base(self, request: web.Request) -> str:
        return self.public_url or f"{request.scheme}://{request.host}"

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token.strip() in self.tokens

    @staticmethod
    async def _json_body(request: web.Request) -> Any:
        raw = await request.read()
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None  # Laravel treats an unparsable body as empty

    def _invalid(self, request: web.Request, errors: rules.Errors, with_url: bool = True) -> web.Response:
        body: dict[str, Any] = {"message": INVALID, "errors": errors}
        if with_url:
            body["errorUrl"] = self.state.new_error_url(self._base(request), {"message": INVALID, "errors": errors})
        return web.json_response(body, status=422)

    # --- routes ----------------------------------------------------------------

    async def ping(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def send_transaction(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        tx_type, identifier, version = rules.document_key(body)
        body_hash = canonical_hash(body)
        entry = {
            "type": tx_type,
            "identifier": identifier,
            "version": version,
            "status_code": 0,
            "body_hash": body_hash,
            "at": _now_utc(),
            "procurosTransactionId": None,
            "fault": request.get(FAULT_KEY),
        }
        self.state.transactions.append(entry)
        response, procuros_id = self._answer_transaction(request, body, body_hash)
        entry["status_code"] = response.status
        if procuros_id is not None:
            entry["procurosTransactionId"] = procuros_id
            self._remember_accepted(tx_type, identifier, body_hash)
            self.state.ledger.append({
                "procurosTransactionId": procuros_id, "type": tx_type, "flow": "LIVE",
                "status": self.state.statuses[str(response.status)],
                "createdAt": datetime.now(_BERLIN).replace(microsecond=0).isoformat(),
                "replacesProcurosTransactionId": None, "replacedByProcurosTransactionId": None,
                "isLatestVersion": True, "content": body.get("content"),
            })
        return response

    def _answer_transaction(
        self, request: web.Request, body: Any, body_hash: str
    ) -> tuple[web.Response, str | None]:
        """The answer, and the procurosTransactionId when the document is accepted."""
        errors = rules.check_transaction(body)
        if self.spec is not None and "type" not in errors:
            for path, messages in self.spec.errors(body).items():
                for message in messages:
                    if message not in errors.get(path, ()):
                        errors.setdefault(path, []).append(message)
        if errors:
            return self._invalid(request, errors), None
        if body_hash in self.state.accepted_hashes:
            return web.json_response({"message": "Payload already received"}, status=400), None

        gs1_ids = rules.receiver_gs1_ids(body)
        if any(i.startswith(self.unknown_prefixes) for i in gs1_ids):
            field = rules.receiver_field(body["type"]) or "content.header"
            return self._invalid(request, {field: ["Could not resolve party using provided identifiers"]}), None
        procuros_id = str(uuid.uuid4())
        if any(i.startswith(self.inactive_prefixes) for i in gs1_ids):
            body = {"message": "Trade relationship not yet active.", "procurosTransactionId": procuros_id}
            return web.json_response(body, status=202), procuros_id
        return web.json_response({"procurosTransactionId": procuros_id}, status=201), procuros_id

    def _remember_accepted(self, tx_type: str | None, identifier: Any, body_hash: str) -> None:
        state = self.state
        state.accepted_hashes.add(body_hash)
        key = str(identifier)
        state.accepted[key] = state.accepted.get(key, 0) + 1
        per_type = state.accepted_by_type.setdefault(str(tx_type), {})
        per_type[key] = per_type.get(key, 0) + 1

    async def list_all_transactions(self, request: web.Request) -> web.Response:
        """GET /v2/all-transactions: filter[type|flow|status|created_between], cursor pages of per_page."""
        query = request.query
        errors: rules.Errors = {}
        tx_type, flow, status = query.get("filter[type]"), query.get("filter[flow]"), query.get("filter[status]")
        if tx_type is not None and tx_type not in rules.TRANSACTION_TYPES:
            errors["filter.type"] = ["The selected filter.type is invalid."]
        if flow is not None and flow not in ("LIVE", "TEST"):
            errors["filter.flow"] = ["The selected filter.flow is invalid."]
        if status is not None and status not in TRANSACTION_STATUSES:
            errors["filter.status"] = ["The selected filter.status is invalid."]
        between = _date_range(query.get("filter[created_between]"))
        if between is False:
            errors["filter.created_between"] = ["The filter.created_between must be YYYY-MM-DD,YYYY-MM-DD."]
        try:
            per_page = int(query.get("per_page", "100"))
        except ValueError:
            per_page = 0
        if not 1 <= per_page <= 100:
            errors["per_page"] = ["The per page field must be between 1 and 100."]
        after = _decode_cursor(query.get("cursor"))
        if after is None:
            errors["cursor"] = ["The cursor is invalid."]
        if errors:
            return self._invalid(request, errors, with_url=False)

        def wanted(seq: int, tx: dict[str, Any]) -> bool:
            return (seq > after and (tx_type is None or tx["type"] == tx_type)
                    and (flow is None or tx["flow"] == flow) and (status is None or tx["status"] == status)
                    and (between is None or between[0] <= tx["createdAt"][:10] <= between[1]))

        matches = [(seq, tx) for seq, tx in enumerate(self.state.ledger) if wanted(seq, tx)]
        page, has_more = matches[:per_page], len(matches) > per_page
        next_cursor = _encode_cursor(page[-1][0]) if has_more else None
        next_url = None
        if next_cursor:
            kept = "&".join(f"{k}={v}" for k, v in query.items() if k != "cursor")
            next_url = f"{self._base(request)}/v2/all-transactions?{kept}&cursor={next_cursor}".replace("?&", "?")
        return web.json_response({"items": [dict(tx) for _, tx in page], "hasMore": has_more, "perPage": per_page,
                                  "count": len(page), "nextCursor": next_cursor, "nextPageUrl": next_url})

    async def set_transaction_status(self, request: web.Request) -> web.Response:
        """Runtime switch: PUT /_sandbox/procuros/transactions/{id} {"status": ...}."""
        body = await self._json_body(request)
        status = body.get("status") if isinstance(body, dict) else None
        if status not in TRANSACTION_STATUSES:
            return web.json_response({"message": f"status must be one of {', '.join(TRANSACTION_STATUSES)}"},
                                     status=400)
        for tx in self.state.ledger:
            if tx["procurosTransactionId"] == request.match_info["transaction_id"]:
                tx["status"] = status
                return web.json_response({"message": "OK."})
        return web.json_response({"message": "Not found."}, status=404)

    async def report_error(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        errors = _check_error_report(body)
        if errors:
            return self._invalid(request, errors, with_url=False)
        url = self.state.new_error_url(self._base(request), {"message": body["errorReason"], "report": body})
        self.state.errors.append(body)
        self.state.error_urls.append(url)
        return web.json_response({"message": "OK.", "errorUrl": url}, status=201)

    async def list_tasks(self, request: web.Request) -> web.Response:
        raw_per_page = request.query.get("per_page", "15")
        try:
            per_page = int(raw_per_page)
        except ValueError:
            return self._invalid(request, {"per_page": ["The per page field must be an integer."]}, with_url=False)
        if not 1 <= per_page <= 100:
            return self._invalid(
                request, {"per_page": ["The per page field must be between 1 and 100."]}, with_url=False
            )
        after = _decode_cursor(request.query.get("cursor"))
        if after is None:
            return self._invalid(request, {"cursor": ["The cursor is invalid."]}, with_url=False)

        state = self.state
        page: list[dict[str, Any]] = []
        has_more = False
        for task_id, task in state.tasks.items():
            if task_id in state.processed or state.task_seq[task_id] <= after:
                continue
            if len(page) == per_page:
                has_more = True
                break
            page.append(task)
        next_cursor = _encode_cursor(state.task_seq[page[-1]["procurosTaskId"]]) if has_more else None
        next_url = f"{self._base(request)}/v2/tasks?per_page={per_page}&cursor={next_cursor}" if next_cursor else None
        return web.json_response(
            {
                "items": page,
                "hasMore": has_more,
                "perPage": per_page,
                "count": len(page),
                "nextCursor": next_cursor,
                "nextPageUrl": next_url,
            }
        )

    async def mark_task(self, request: web.Request) -> web.Response:
        task_id = request.match_info["task_id"]
        if task_id not in self.state.tasks:
            return web.json_response({"message": "Not found."}, status=404)
        body = await self._json_body(request)
        errors: rules.Errors = {}
        if not isinstance(body, dict) or body.get("success") is None:
            errors["success"] = ["The success field is required."]
        elif not isinstance(body["success"], bool):
            errors["success"] = ["The success field must be true or false."]
        if isinstance(body, dict) and body.get("result") is not None and not isinstance(body["result"], list):
            errors["result"] = ["The result field must be an array."]
        if errors:
            return self._invalid(request, errors, with_url=False)
        # Any report, success or not, ends the task: it is no longer listed.
        self.state.processed.add(task_id)
        self.state.task_marks.append(
            {"procurosTaskId": task_id, "success": body["success"], "result": body.get("result"), "at": _now_utc()}
        )
        return web.json_response({"message": "OK."})

    async def portal_error(self, request: web.Request) -> web.Response:
        error_id = request.match_info["error_id"]
        summary = self.state.portal_errors.get(error_id)
        detail = (
            f"<pre>{html.escape(json.dumps(summary, indent=2, ensure_ascii=False))}</pre>"
            if summary
            else "<p>No details are stored for this error (the sandbox may have been reset).</p>"
        )
        page = (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>Procuros sandbox error {html.escape(error_id)}</title></head><body>"
            f"<h1>Transaction error</h1><p>Error id: <code>{html.escape(error_id)}</code></p>{detail}"
            "<p><small>erp-outbound Procuros sandbox</small></p></body></html>"
        )
        return web.Response(text=page, content_type="text/html")


def _check_error_report(body: Any) -> rules.Errors:
    errors: rules.Errors = {}
    if not isinstance(body, dict):
        body = {}
    reason = body.get("errorReason")
    if reason is None or reason == "":
        errors["errorReason"] = ["The error reason field is required."]
    elif not isinstance(reason, str):
        errors["errorReason"] = ["The error reason field must be a string."]
    error_type = body.get("errorType")
    if error_type is None or error_type == "":
        errors["errorType"] = ["The error type field is required."]
    elif error_type not in ERROR_TYPES:
        errors["errorType"] = ["The selected error type is invalid."]
    context = body.get("errorContext")
    if context is not None:
        if not isinstance(context, dict):
            errors["errorContext"] = ["The error context field must be an object."]
        else:
            for key, value in context.items():
                if not isinstance(value, str):
                    errors[f"errorContext.{key}"] = [f"The errorContext.{key} field must be a string."]
    identifier = body.get("transactionIdentifier")
    if identifier is not None and not isinstance(identifier, str):
        errors["transactionIdentifier"] = ["The transaction identifier field must be a string."]
    tx_type = body.get("transactionType")
    if tx_type is not None and tx_type not in rules.TRANSACTION_TYPES:
        errors["transactionType"] = ["The selected transaction type is invalid."]
    return errors


def _date_range(value: str | None) -> tuple[str, str] | None | bool:
    """"YYYY-MM-DD,YYYY-MM-DD" -> the two dates; None when absent, False when malformed."""
    if value is None:
        return None
    parts = value.split(",")
    try:
        first, last = (datetime.strptime(p, "%Y-%m-%d").date().isoformat() for p in parts)
    except ValueError:
        return False
    return first, last


def _encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": seq}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int | None:
    """Sequence number after which to list; -1 for the first page, None if invalid."""
    if not cursor:
        return -1
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after = data["after"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
    return after if isinstance(after, int) and not isinstance(after, bool) else None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _auth(api: ProcurosApi, handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        if not api._authorized(request):
            # The token itself is never logged nor echoed.
            return web.json_response({"message": "Unauthenticated."}, status=401)
        return await handler(request)

    return wrapped


def add_procuros_routes(app: web.Application, config: SandboxConfig, record: "SandboxRecord") -> ProcurosState:
    """Mount the Procuros emulator on ``app`` and register its state in ``record``."""
    state = ProcurosState(config.procuros)
    api = ProcurosApi(config, state)  # loads the spec once, here
    record.register("procuros", state)
    app.router.add_get("/v2/ping", _auth(api, api.ping), name="procuros.ping")
    app.router.add_post("/v2/transactions", _auth(api, api.send_transaction), name="procuros.transactions")
    app.router.add_get("/v2/all-transactions", _auth(api, api.list_all_transactions),
                       name="procuros.all_transactions")
    app.router.add_put("/_sandbox/procuros/transactions/{transaction_id}", api.set_transaction_status,
                       name="_sandbox.procuros_transaction")
    app.router.add_post("/v2/errors", _auth(api, api.report_error), name="procuros.errors")
    app.router.add_get("/v2/tasks", _auth(api, api.list_tasks), name="procuros.tasks")
    app.router.add_put("/v2/tasks/{task_id}", _auth(api, api.mark_task), name="procuros.tasks.mark")
    app.router.add_get("/portal/errors/{error_id}", api.portal_error, name="_portal.errors")
    return state
