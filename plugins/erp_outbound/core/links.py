"""Where a run's report lives on the Deliveries page, and the extra link on the tasks that report a run.

The steps (reconcile, the Procuros tasks' report) and the UI plugin both use it; the runtime
steps import nothing of ``ui/``.
"""

from __future__ import annotations

from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

URL_PREFIX = "/erp-outbound"  # where the plugin's FastAPI app is mounted in the API server


def run_page_path(dag_id: str, run_id: str) -> str:
    return f"{URL_PREFIX}/runs/{quote(dag_id, safe='')}/{quote(run_id, safe='')}"


class RunReportLink(BaseOperatorLink):
    """``Run report`` on the task's page opens the run's report on the Deliveries page.

    The worker computes it when the task ends (Airflow keeps it as an XCom), from ``[api] base_url``.
    """

    name = "Run report"

    def get_link(self, operator, *, ti_key) -> str:
        from airflow.configuration import conf

        base = conf.get("api", "base_url", fallback="") or ""
        return base.rstrip("/") + run_page_path(ti_key.dag_id, ti_key.run_id)
