"""The Test button on our port-less connection types (Airflow 3.3.2 sends port 0; the API then refuses).

The middleware drops ``"port": 0`` from ``POST /api/v2/connections/test`` for our types only, before
Airflow reads the body; everything else passes untouched. The end-to-end test presses Test, as the
UI does, on freshly created connections of each type in a real Airflow.
"""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from erp_outbound.ui.connection_test import PORTLESS_TYPES, PortlessConnectionTest, without_port_zero


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"body": json.loads(body), "content_length": request.headers.get("content-length"),
                         "length": len(body)})


@pytest.fixture
def client():
    routes = [Route(path, echo, methods=["POST"]) for path in ("/api/v2/connections/test", "/api/v2/connections")]
    return TestClient(PortlessConnectionTest(Starlette(routes=routes)))


def test_our_types_are_the_port_less_ones():
    assert PORTLESS_TYPES == {"procuros", "rambase", "gep_smart", "erp"}


@pytest.mark.parametrize("conn_type", sorted(PORTLESS_TYPES))
def test_a_test_of_our_type_loses_the_port_the_ui_made_up(client, conn_type):
    sent = {"connection_id": "mine", "conn_type": conn_type, "host": "https://api.example.com", "password": "***",
            "port": 0, "extra": "{}", "login": "", "schema": "", "description": ""}
    echoed = client.post("/api/v2/connections/test", json=sent).json()
    assert echoed["body"] == {k: v for k, v in sent.items() if k != "port"}
    assert int(echoed["content_length"]) == echoed["length"]


@pytest.mark.parametrize("path, body", [
    ("/api/v2/connections/test", {"conn_type": "http", "host": "h", "port": 0}),  # not ours: Airflow decides
    ("/api/v2/connections/test", {"conn_type": "procuros", "host": "h", "port": 8443}),  # a real port stays
    ("/api/v2/connections", {"conn_type": "procuros", "connection_id": "c", "port": 0}),  # only the test route
])
def test_everything_else_passes_untouched(client, path, body):
    assert client.post(path, json=body).json()["body"] == body


def test_a_body_that_is_not_json_is_left_to_airflow():
    assert without_port_zero(b"not json") == b"not json"
    assert without_port_zero(b'{"conn_type": "erp", "port": false}') == b'{"conn_type": "erp", "port": false}'
