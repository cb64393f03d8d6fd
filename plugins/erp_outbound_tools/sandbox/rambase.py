"""RamBase REST API emulator: OAuth2 tokens, purchase order PUT, API operation 100860 and its polling.

Endpoint names (for fault tables and ``missing_duties``): rambase.token, rambase.orders,
rambase.orders_list, rambase.operations, rambase.operation_instances. Answers are JSON whatever ``$format`` says; the values seen are recorded.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Callable, Optional

from aiohttp import web

from .config import RambaseConfig, SandboxConfig
from .tokens import IssuedTokens

if TYPE_CHECKING:
    from .server import SandboxRecord

try:
    from zoneinfo import ZoneInfo

    _OSLO: Any = ZoneInfo("Europe/Oslo")  # RamBase datetimes carry no offset and mean CET/CEST
except Exception:  # pragma: no cover - no tz database
    _OSLO = None

FORWARD_TO_SUPPLIER_INVOICE = "100860"
STARTED, FAILED, FINISHED = 2, 7, 9
SANDBOX_USER_ID = 100
MISSING_DUTY = "Purchase order administrator"
INCOTERMS_2020 = frozenset({"EXW", "FCA", "CPT", "CIP", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF"})

# errorMessageIds. From the seeds:
E_PRODUCT_NOT_FOUND = 100089
E_DOCUMENT_ID = 100209
E_CURRENCY = 100563
E_AVAILABLE = 103244
E_NOT_REGISTERED = 103682
E_RESERVED = 103849
E_CURRENCY_MISMATCH = 108018
# The sandbox's own (RamBase publishes none for these):
E_TOKEN = 100001
E_DB = 100002
E_DUTY = 100004
E_JSON = 100010
E_FIELD = 100011
E_REQUIRED = 100012
E_VALUE = 100013
E_MINIMUM = 100014
E_INCOTERM = 100015
E_NO_INSTANCE = 100016
E_NO_OPERATION = 100017

# errorMessageId -> (HTTP status, message template); {0}, {1} are the error's parameters.
ERRORS: dict[int, tuple[int, str]] = {
    E_PRODUCT_NOT_FOUND: (404, "Product not found"),
    E_DOCUMENT_ID: (400, "Illegal document Id {0}"),
    E_CURRENCY: (400, "Currency {0} is not supported by the system"),
    E_AVAILABLE: (400, "Reserved quantity can not exceed available quantity."),
    E_NOT_REGISTERED: (
        400,
        "The purchase order response item needs to be registered (status higher than 1) "
        "before quantity can be reserved.",
    ),
    E_RESERVED: (400, "Reserved quantity can not exceed remaining quantity."),
    E_CURRENCY_MISMATCH: (400, "Currency mismatch"),
    E_TOKEN: (401, "Invalid or expired access token"),
    E_DB: (400, "Unknown database"),
    E_DUTY: (403, "Missing duty: {0}"),
    E_JSON: (400, "The request body is not valid JSON"),
    E_FIELD: (400, "Unknown field {0}"),
    E_REQUIRED: (400, "{0} is required"),
    E_VALUE: (400, "Invalid value {1} for {0}"),
    E_MINIMUM: (400, "{0} must be at least {1}"),
    E_INCOTERM: (400, "Delivery terms {0} is not an Incoterms 2020 code"),
    E_NO_INSTANCE: (404, "Operation instance {0} not found"),
    E_NO_OPERATION: (404, "API operation {0} not found"),
}

Problem = Optional[tuple[int, tuple[Any, ...]]]  # (errorMessageId, parameters) or None


def error_object(base: str, error_id: int, *params: Any, inner: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """RamBase's Error object; the message is the template expanded with the parameters."""
    message = ERRORS[error_id][1].format(*params)
    return {
        "message": message,
        "translatedMessage": message,  # no $lang support: English only
        "errorMessage": {"errorMessageId": error_id, "errorMessageLink": f"{base}/system/error-messages/{error_id}"},
        "parameters": [{"index": i, "value": str(p)} for i, p in enumerate(params)],
        "innerErrors": inner or [],
    }


def _in(value: int, bounds: list[int]) -> bool:
    return bounds[0] <= value <= bounds[1]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _now_local() -> str:
    return datetime.now(_OSLO).replace(tzinfo=None, microsecond=0).isoformat()


# --- body validation: a schema is a dict of field -> nested schema or leaf check -------------


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _text(value: Any, where: str) -> Problem:
    return None if isinstance(value, str) else (E_VALUE, (where, _show(value)))


def _at_least(minimum: int) -> Callable[[Any, str], Problem]:
    def check(value: Any, where: str) -> Problem:
        if not _is_int(value):
            return E_VALUE, (where, _show(value))
        return (E_MINIMUM, (where, minimum)) if value < minimum else None

    return check


def _document_id(value: Any, where: str) -> Problem:
    if not _is_int(value):
        return E_VALUE, (where, _show(value))
    return (E_DOCUMENT_ID, (value,)) if value < 100000 else None


def _currency(value: Any, where: str) -> Problem:
    if not isinstance(value, str):
        return E_VALUE, (where, _show(value))
    return None if re.fullmatch(r"[A-Z]{3}", value) else (E_CURRENCY, (value,))


def _incoterm(value: Any, where: str) -> Problem:
    if not isinstance(value, str):
        return E_VALUE, (where, _show(value))
    return None if value in INCOTERMS_2020 else (E_INCOTERM, (value,))


PURCHASE_ORDER = {
    "suppliersReference": _text,
    "suppliersReferenceNumber": _text,
    "currency": _currency,
    "note": _text,
    "shipToAttention": _text,
    "location": {"locationId": _at_least(10000)},
    "assignee": {"userId": _at_least(100)},
    "supplier": {"supplierId": _at_least(100)},
    "shipFrom": {"addressId": _at_least(1)},
    "shipment": {
        "deliveryTerms": _incoterm,
        "deliveryTermPlace": _text,
        "shippingService": {"shippingServiceId": _at_least(100000)},
    },
    "payment": {"paymentTerms": _text},
}
ORDER_BODY = {"purchaseOrder": PURCHASE_ORDER}
OPERATION_BODY = {"parameters": {"supplierInvoiceId": _document_id}}


def check_body(body: Any, schema: dict[str, Any], path: str = "") -> Problem:
    """The first problem of ``body``, in body order; unknown field names are errors."""
    if not isinstance(body, dict):
        return E_VALUE, (path or "body", _show(body))
    for key, value in body.items():
        where = f"{path}.{key}" if path else key
        rule = schema.get(key)
        if rule is None:
            return E_FIELD, (where,)
        if isinstance(rule, dict):
            problem = check_body(value, rule, where)
        else:
            problem = None if value is None else rule(value, where)  # null clears an optional field
        if problem:
            return problem
    return None


def _merge(stored: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """PUT semantics: only the fields sent change, nested objects included."""
    merged = copy.deepcopy(stored)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# --- state -----------------------------------------------------------------------------------


@dataclass
class OperationRun:
    """One operation instance; ``outcome`` is "finished", "slow", "failing" or "failed"."""

    instance_id: int
    job_id: int | None
    response_id: int
    supplier_invoice_id: int
    outcome: str
    created_at: str
    polls: int = 0

    def status(self, polls_to_finish: int) -> int:
        if self.outcome == "finished":
            return FINISHED
        if self.outcome == "failed":
            return FAILED
        if self.polls < polls_to_finish:
            return STARTED
        return FINISHED if self.outcome == "slow" else FAILED

    def percent(self, polls_to_finish: int) -> int:
        if self.status(polls_to_finish) == FINISHED:
            return 100
        # Rises with each poll; a failing job stops short of 100.
        return min(self.polls, polls_to_finish - 1) * 100 // polls_to_finish if polls_to_finish else 0


class RambaseState:
    """What the RamBase emulator remembers. Reset keeps issued tokens, so a client's cached token stays valid."""

    def __init__(self, config: RambaseConfig) -> None:
        self.config = config
        self.missing_duties = dict(config.missing_duties)  # endpoint name -> duty; kept by reset
        self.tokens = IssuedTokens()
        self.refresh_tokens: set[str] = set()
        self.reset()

    def reset(self) -> None:
        self.token_grants = 0
        self.grant_types: Counter[str] = Counter()
        self.unauthorized = 0
        self.access_token_in_query = 0
        self.formats_seen: list[str | None] = []
        self.order_puts: list[dict[str, Any]] = []
        self.orders: dict[str, dict[str, Any]] = {}
        self.operation_posts: Counter[str] = Counter()
        self.duty_refusals: Counter[str] = Counter()
        self.runs: dict[int, OperationRun] = {}
        self._next_instance_id = 400001
        self._next_job_id = 700001

    def issue_tokens(self, grant_type: str) -> tuple[str, str]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.tokens.issue(access, self.config.token_ttl_s)
        self.refresh_tokens.add(refresh)
        self.token_grants += 1
        self.grant_types[grant_type] += 1
        return access, refresh

    def use_token(self, token: str | None) -> bool:
        return self.tokens.use(token, self.config.revoke_after_requests)

    def new_run(self, response_id: int, supplier_invoice_id: int, outcome: str) -> OperationRun:
        job_id = None
        if outcome in ("slow", "failing"):  # only a system job reports progress
            job_id, self._next_job_id = self._next_job_id, self._next_job_id + 1
        run = OperationRun(self._next_instance_id, job_id, response_id, supplier_invoice_id, outcome, _now_local())
        self._next_instance_id += 1
        self.runs[run.instance_id] = run
        self.operation_posts[str(response_id)] += 1
        return run

    def snapshot(self) -> dict[str, Any]:
        n = self.config.polls_to_finish
        return {
            "token_grants": self.token_grants,
            "token_grant_types": dict(self.grant_types),
            "unauthorized": self.unauthorized,
            "access_token_in_query": self.access_token_in_query,
            "formats_seen": list(self.formats_seen),
            "order_puts": copy.deepcopy(self.order_puts),
            "orders": copy.deepcopy(self.orders),
            "operation_posts": dict(self.operation_posts),
            "duty_refusals": dict(self.duty_refusals),
            "operation_instances": {
                str(run.instance_id): {
                    "status": run.status(n),
                    "polls": run.polls,
                    "response_id": run.response_id,
                    "supplier_invoice_id": run.supplier_invoice_id,
                }
                for run in self.runs.values()
            },
        }


# --- routes ----------------------------------------------------------------------------------

_NOT_JSON = object()


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return _NOT_JSON


def _int(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() else None


class RambaseApi:
    def __init__(self, config: SandboxConfig, state: RambaseState) -> None:
        self.config = config.rambase
        self.public_url = config.public_url.rstrip("/") if config.public_url else None
        self.state = state

    def _base(self, request: web.Request) -> str:
        return self.public_url or f"{request.scheme}://{request.host}"

    def _error(self, request: web.Request, error_id: int, *params: Any, inner: list[dict[str, Any]] | None = None,
               headers: dict[str, str] | None = None) -> web.Response:
        status = ERRORS[error_id][0]
        body = {
            "httpStatusCode": status,
            "httpStatusDescription": HTTPStatus(status).phrase,
            **error_object(self._base(request), error_id, *params, inner=inner),
        }
        return web.json_response({"error": body} if self.config.wrap_errors else body, status=status, headers=headers)

    def _problem(self, request: web.Request, problem: tuple[int, tuple[Any, ...]]) -> web.Response:
        return self._error(request, problem[0], *problem[1])

    def _gate(self, request: web.Request) -> web.Response | None:
        """Checks of every API call: the bearer token (header, else $access_token), then $db."""
        query = request.query
        state = self.state
        if query.get("$format") not in state.formats_seen:
            state.formats_seen.append(query.get("$format"))
        query_token = query.get("$access_token")
        if query_token is not None:
            state.access_token_in_query += 1  # works, but our client must never leak tokens into URLs
        scheme, _, header_token = request.headers.get("Authorization", "").partition(" ")
        token = header_token.strip() if scheme.lower() == "bearer" else query_token
        if not state.use_token(token):
            state.unauthorized += 1
            return self._error(request, E_TOKEN, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if query.get("$db") != self.config.db:
            return self._error(request, E_DB, query.get("$db") or "")
        route = request.match_info.route.name
        if duty := state.missing_duties.get(route or ""):
            state.duty_refusals[route] += 1
            return self._error(request, E_DUTY, duty)
        return None

    # --- OAuth2 ---------------------------------------------------------------------------

    async def access_token(self, request: web.Request) -> web.Response:
        def refuse(status: int, error: str, description: str) -> web.Response:
            return web.json_response({"error": error, "error_description": description}, status=status)

        if request.content_type != "application/x-www-form-urlencoded":
            return refuse(400, "invalid_request", "The token request must be form-encoded")
        form = await request.post()
        grant = form.get("grant_type")
        cfg = self.config
        if not grant:
            return refuse(400, "invalid_request", "grant_type is required")
        if grant not in ("client_credentials", "password", "refresh_token"):
            return refuse(400, "unsupported_grant_type", f"Unsupported grant type {grant}")
        if (form.get("client_id"), form.get("client_secret")) != (cfg.client_id, cfg.client_secret):
            return refuse(401, "invalid_client", "Unknown client or wrong secret")
        if grant == "password" and (form.get("username"), form.get("password")) != (cfg.username, cfg.password):
            return refuse(401, "invalid_grant", "Wrong username or password")
        if grant == "refresh_token":
            refresh = form.get("refresh_token")
            if refresh not in self.state.refresh_tokens:
                return refuse(401, "invalid_grant", "Unknown or used refresh token")
            self.state.refresh_tokens.discard(refresh)  # refresh tokens are single use
        access, refresh = self.state.issue_tokens(str(grant))
        ttl = cfg.token_ttl_s
        return web.json_response(
            {
                "access_token": access,
                "refresh_token": refresh,
                "expires_in": int(ttl) if float(ttl).is_integer() else ttl,
                "token_type": "Bearer",
            }
        )

    # --- purchase orders ------------------------------------------------------------------

    async def list_orders(self, request: web.Request) -> web.Response:
        """GET procurement/orders: the orders this sandbox has stored ($top limits them)."""
        if response := self._gate(request):
            return response
        top = _int(request.query.get("$top", "")) or 100
        orders = [{"purchaseOrderId": int(k) if str(k).isdigit() else k, **v}
                  for k, v in list(self.state.orders.items())[:top]]
        return web.json_response({"purchaseOrders": [{"purchaseOrder": o} for o in orders]})

    async def put_order(self, request: web.Request) -> web.Response:
        raw_id = request.match_info["purchase_order_id"]
        body = await _json_body(request)
        order_id = _int(raw_id)
        entry = {
            "id": raw_id if order_id is None else order_id,
            "body": (await request.text()) if body is _NOT_JSON else body,
            "status_code": 0,
        }
        self.state.order_puts.append(entry)
        response = self._gate(request) or self._update_order(request, raw_id, body)
        entry["status_code"] = response.status
        return response

    def _update_order(self, request: web.Request, raw_id: str, body: Any) -> web.Response:
        order_id = _int(raw_id)
        if order_id is None or order_id < 100000:
            return self._error(request, E_DOCUMENT_ID, raw_id)
        if body is _NOT_JSON:
            return self._error(request, E_JSON)
        body = {} if body is None else body
        if problem := check_body(body, ORDER_BODY):
            return self._problem(request, problem)
        update = body.get("purchaseOrder") or {}
        cfg = self.config
        if _in(order_id, cfg.order_forbidden_ids):
            return self._error(request, E_DUTY, MISSING_DUTY)
        if _in(order_id, cfg.order_not_found_ids):
            return self._error(request, E_PRODUCT_NOT_FOUND)
        currency = update.get("currency")
        if _in(order_id, cfg.order_currency_ids) and currency is not None and currency != cfg.order_currency:
            return self._error(request, E_CURRENCY_MISMATCH)
        stored = self.state.orders[str(order_id)] = _merge(self.state.orders.get(str(order_id), {}), update)
        return web.json_response({"purchaseOrder": {"purchaseOrderId": order_id, **copy.deepcopy(stored)}})

    # --- API operations -------------------------------------------------------------------

    async def start_operation(self, request: web.Request) -> web.Response:
        if denied := self._gate(request):
            return denied
        operation = request.match_info["operation_id"]
        if operation != FORWARD_TO_SUPPLIER_INVOICE:
            return self._error(request, E_NO_OPERATION, operation)
        raw_id = request.match_info["response_id"]
        response_id = _int(raw_id)
        if response_id is None or response_id < 100000:
            return self._error(request, E_DOCUMENT_ID, raw_id)
        body = await _json_body(request)
        if body is _NOT_JSON:
            return self._error(request, E_JSON)
        body = {} if body is None else body
        if problem := check_body(body, OPERATION_BODY):
            return self._problem(request, problem)
        invoice_id = (body.get("parameters") or {}).get("supplierInvoiceId")
        if invoice_id is None:
            return self._error(request, E_REQUIRED, "parameters.supplierInvoiceId")
        # Not idempotent, like RamBase: every accepted POST runs the operation again.
        run = self.state.new_run(response_id, invoice_id, self._outcome(response_id))
        return web.json_response({"operationInstance": self._instance(request, run)})

    def _outcome(self, response_id: int) -> str:
        cfg = self.config
        if _in(response_id, cfg.operation_failed_ids):
            return "failed"
        if _in(response_id, cfg.operation_failing_ids):
            return "failing"
        if _in(response_id, cfg.operation_slow_ids):
            return "slow"
        return "finished"

    async def get_instance(self, request: web.Request) -> web.Response:
        if denied := self._gate(request):
            return denied
        raw_id = request.match_info["instance_id"]
        run = self.state.runs.get(_int(raw_id) or -1)
        if run is None:
            return self._error(request, E_NO_INSTANCE, raw_id)
        run.polls += 1  # each GET moves a slow instance on
        return web.json_response({"operationInstance": self._instance(request, run)})

    def _instance(self, request: web.Request, run: OperationRun) -> dict[str, Any]:
        base = self._base(request)
        n = self.config.polls_to_finish
        status = run.status(n)
        system_job = None
        if run.job_id is not None:
            system_job = {
                "objectId": run.job_id,
                "objectType": "SYJ",
                self.config.progress_key: run.percent(n),
                "objectLink": f"{base}/system/jobs/{run.job_id}",
            }
        return {
            "operationInstanceId": run.instance_id,
            "status": status,
            "createdAt": run.created_at,
            "createdBy": {"userId": SANDBOX_USER_ID, "userLink": f"{base}/system/users/{SANDBOX_USER_ID}"},
            "createdFor": {
                "objectId": str(run.response_id),  # a string, as in the seed and RamBase's SDK
                "objectType": "POR",
                "objectLink": f"{base}/procurement/order-responses/{run.response_id}",
                "itemId": None,
                "itemType": None,
                "itemLink": None,
                "ramBaseKey": f"POR{run.response_id}",
            },
            "apiOperation": {
                "apiOprationId": int(FORWARD_TO_SUPPLIER_INVOICE),  # RamBase's spelling
                "apiOperationLink": f"{base}/system/api/operations/{FORWARD_TO_SUPPLIER_INVOICE}",
            },
            "objectReference": {
                "objectId": str(run.supplier_invoice_id),
                "objectType": "SIN",
                "objectLink": f"{base}/finance/supplier-invoices/{run.supplier_invoice_id}",
                "itemId": None,
                "itemType": None,
                "itemLink": None,
                "ramBaseKey": f"SIN{run.supplier_invoice_id}",
            },
            "error": _reservation_error(base) if status == FAILED else None,
            "resultValues": [],
            "systemJob": system_job,
            "operationInstanceLink": f"{base}/system/api/operation-instances/{run.instance_id}",
        }


def _reservation_error(base: str) -> dict[str, Any]:
    inner = [error_object(base, E_AVAILABLE), error_object(base, E_NOT_REGISTERED)]
    return error_object(base, E_RESERVED, inner=inner)


def add_rambase_routes(app: web.Application, config: SandboxConfig, record: "SandboxRecord") -> RambaseState:
    """Mount the RamBase emulator on ``app`` and register its state in ``record``."""
    state = RambaseState(config.rambase)
    api = RambaseApi(config, state)
    record.register("rambase", state)
    app.router.add_post("/oauth2/access_token", api.access_token, name="rambase.token")
    app.router.add_put("/procurement/orders/{purchase_order_id}", api.put_order, name="rambase.orders")
    app.router.add_get("/procurement/orders", api.list_orders, name="rambase.orders_list")
    app.router.add_post(
        "/procurement/order-responses/{response_id}/api-operations/{operation_id}/instances",
        api.start_operation,
        name="rambase.operations",
    )
    app.router.add_get(
        "/system/api/operation-instances/{instance_id}", api.get_instance, name="rambase.operation_instances"
    )

    async def set_missing_duties(request: web.Request) -> web.Response:
        """Runtime switch: the body {endpoint name: duty} replaces the duties the client lacks."""
        try:
            duties = await request.json()
            RambaseConfig(missing_duties=duties)  # the same checks as the config file
        except ValueError as exc:
            return web.json_response({"message": str(exc)}, status=400)
        state.missing_duties = dict(duties)
        return web.json_response({"message": "OK."})

    app.router.add_put("/_sandbox/rambase/duties", set_missing_duties, name="_sandbox.rambase_duties")
    return state
