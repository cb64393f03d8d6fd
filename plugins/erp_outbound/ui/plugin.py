"""The Airflow plugin (entry point ``airflow.plugins``): the Deliveries page and the Test-button fix.

Every Airflow process loads plugins, task processes included; only the API server reads
``fastapi_apps`` and ``fastapi_root_middlewares``, so the web app is imported only there.
"""

from __future__ import annotations

from functools import cached_property

from airflow.plugins_manager import AirflowPlugin

from erp_outbound.core.links import URL_PREFIX, RunReportLink


class ErpOutboundPlugin(AirflowPlugin):
    name = "erp_outbound"
    # Browse -> Deliveries: the page inside the Airflow UI (an iframe of our FastAPI app, same origin and login).
    external_views = [{
        "name": "Deliveries",
        "href": f"{URL_PREFIX}/deliveries",
        "url_route": "deliveries",
        "destination": "nav",
        "category": "browse",
    }]
    operator_extra_links = [RunReportLink()]

    @cached_property
    def listeners(self) -> list:
        # Writes the reconcile step's note onto the run when it ends (run_notes.py says why a listener).
        from erp_outbound.ui import run_notes

        return [run_notes]

    @cached_property
    def fastapi_apps(self) -> list[dict]:
        from erp_outbound.ui.app import app

        return [{"app": app, "url_prefix": URL_PREFIX, "name": "erp-outbound Deliveries"}]

    @cached_property
    def fastapi_root_middlewares(self) -> list[dict]:
        from erp_outbound.ui.connection_test import PortlessConnectionTest

        return [{"middleware": PortlessConnectionTest, "args": [], "kwargs": {},
                 "name": "erp-outbound: Test on connections without a port"}]
