"""GEP SMART emulator: the token service and the SmartInterfaceAPI acknowledgement PUTs.

Routes: ``GET /token/gep`` and ``PUT /SmartInterfaceAPI/api/{document}/{action}`` for the
six paths of ``gep_rules.STATUS_PATHS`` (others answer 404). Endpoint names (for fault
tables): gep.token, gep.status (every acknowledgement path).

Checks of an acknowledgement PUT, in order: Ocp-Apim-Subscription-Key when configured
(401 in Azure API Management's shape, as that gateway answers), the bearer token (401
in GEP's shape), Content-Type application/json (415), the body shape (400), then one
outcome per key (200, see ``gep_rules``). The per-key rules and answers live in gep_rules.py.

A batch limit (``max_batch_items``, or at runtime ``PUT /_sandbox/gep/batch-limit``
``{"max_items": n | null}``) refuses bigger batches as a whole: HTTP 400 with one error
naming no key, and nothing decided for any key.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import gep_rules as rules
from .config import GepConfig, SandboxConfig
from .tokens import IssuedTokens

if TYPE_CHECKING:
    from .server import SandboxRecord

SUBSCRIPTION_HEADER = "Ocp-Apim-Subscription-Key"
APIM_MISSING_KEY = (
    "Access denied due to missing subscription key. Make sure to include subscription key when making "
    "requests to an API."
)
APIM_INVALID_KEY = (
    "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."
)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _new_jwt(minutes: float) -> str:
    """A JWT-looking token: header.payload.signature, base64url; the signature is random."""
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"iss": "gep-sandbox", "iat": now, "exp": now + int(minutes * 60), "jti": secrets.token_hex(8)}
    parts = [json.dumps(header).encode(), json.dumps(claims).encode(), secrets.token_bytes(32)]
    return ".".join(_b64url(p) for p in parts)


def _minutes(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


class GepState:
    """What the GEP emulator remembers. Reset keeps issued tokens, so a client's cached token stays valid."""

    def __init__(self, config: GepConfig) -> None:
        self.config = config
        self.max_batch_items = config.max_batch_items  # kept by reset; switched at runtime
        self.tokens = IssuedTokens()
        self.reset()

    def reset(self) -> None:
        self.token_grants = 0
        self.token_refusals = 0
        self.unauthorized = 0
        self.puts: list[dict[str, Any]] = []
        self.acknowledged: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.errors: defaultdict[str, dict[str, list[str]]] = defaultdict(dict)
        self.dropped: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.batch_sizes: list[int] = []
        self.refused_batches: list[int] = []  # sizes of the batches refused for the batch limit

    def issue_token(self) -> str:
        token = _new_jwt(self.config.token_minutes)
        self.tokens.issue(token, self.config.token_minutes * 60)
        self.token_grants += 1
        return token

    def use_token(self, token: str | None) -> bool:
        return self.tokens.use(token, self.config.revoke_after_requests)

    def remember(self, path: str, outcome: rules.Outcome) -> None:
        for key in outcome.succeeded:
            self.acknowledged[path][key] += 1
        for key, errors in outcome.failed:
            self.errors[path].setdefault(key, []).extend(e["errorCode"] for e in errors)
        for key in outcome.dropped:
            self.dropped[path][key] += 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "token_grants": self.token_grants,
            "token_refusals": self.token_refusals,
            "unauthorized": self.unauthorized,
            "puts": [dict(p, keys=list(p["keys"])) for p in self.puts],
            "acknowledged": {path: dict(keys) for path, keys in self.acknowledged.items()},
            "errors": {path: {k: list(codes) for k, codes in keys.items()} for path, keys in self.errors.items()},
            "dropped": {path: dict(keys) for path, keys in self.dropped.items()},
            "batch_sizes": list(self.batch_sizes),
            "refused_batches": list(self.refused_batches),
        }


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None  # answered like any other malformed body


class GepApi:
    def __init__(self, config: SandboxConfig, state: GepState) -> None:
        self.config = config.gep
        self.state = state

    def _subscription_problem(self, request: web.Request) -> str | None:
        """None when no subscription key is configured or the header carries it, else why not."""
        expected = self.config.subscription_key
        if expected is None:
            return None
        sent = request.headers.get(SUBSCRIPTION_HEADER)
        if sent == expected:
            return None
        return APIM_MISSING_KEY if not sent else APIM_INVALID_KEY

    # --- token service ------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.Response:
        def refuse(message: str) -> web.Response:
            self.state.token_refusals += 1
            body = {"Expires": 0, "Token": None, "StatusCode": 401, "ErrorMessage": message}
            return web.json_response(body, status=401)

        if self._subscription_problem(request):
            return refuse("Invalid subscription key")
        if request.headers.get("gep-auth-key") != self.config.auth_key:
            return refuse("Invalid gep-auth-key")
        token = self.state.issue_token()
        body = {"Expires": _minutes(self.config.token_minutes), "Token": token, "StatusCode": 200, "ErrorMessage": None}
        return web.json_response(body)

    # --- acknowledgements -----------------------------------------------------------------

    async def put_status(self, request: web.Request) -> web.Response:
        path = f"{request.match_info['document']}/{request.match_info['action']}"
        if path not in rules.STATUS_PATHS:
            return web.Response(status=404)
        full_path = rules.API_PREFIX + path
        body = await _json_body(request)
        entry = {"path": full_path, "keys": rules.keys_of(body), "status_code": 0}
        self.state.puts.append(entry)
        response = self._acknowledge(request, full_path, body)
        entry["status_code"] = response.status
        return response

    def _acknowledge(self, request: web.Request, path: str, body: Any) -> web.Response:
        if message := self._subscription_problem(request):
            self.state.unauthorized += 1
            return web.json_response({"statusCode": 401, "message": message}, status=401)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not self.state.use_token(token.strip()):
            self.state.unauthorized += 1
            return web.json_response(rules.unauthorized(), status=401)
        if request.content_type != "application/json":
            message = f"The request entity's media type '{request.content_type}' is not supported for this resource."
            return web.json_response({"Message": message}, status=415)
        items = rules.model_items(body)
        if items is None:
            return web.json_response(rules.bad_request(), status=400)
        limit = self.state.max_batch_items
        if limit is not None and len(items) > limit:
            self.state.refused_batches.append(len(items))
            return web.json_response(rules.too_many_items(limit), status=400)
        self.state.batch_sizes.append(len(items))
        outcome = rules.judge(items, self.config)
        self.state.remember(path, outcome)
        return web.json_response(rules.answer(outcome, self.config.quirks))


def add_gep_routes(app: web.Application, config: SandboxConfig, record: "SandboxRecord") -> GepState:
    """Mount the GEP SMART emulator on ``app`` and register its state in ``record``."""
    state = GepState(config.gep)
    api = GepApi(config, state)
    record.register("gep", state)
    app.router.add_get("/token/gep", api.token, name="gep.token")
    app.router.add_put(rules.API_PREFIX + "{document}/{action}", api.put_status, name="gep.status")

    async def set_batch_limit(request: web.Request) -> web.Response:
        """Runtime switch: {"max_items": n} refuses batches above n; null lifts the limit."""
        try:
            body = await request.json()
            limit = body.get("max_items") if isinstance(body, dict) else "?"
            GepConfig(max_batch_items=limit)  # the same checks as the config file
        except ValueError as exc:
            return web.json_response({"message": str(exc)}, status=400)
        state.max_batch_items = limit
        return web.json_response({"message": "OK."})

    app.router.add_put("/_sandbox/gep/batch-limit", set_batch_limit, name="_sandbox.gep_batch_limit")
    return state
