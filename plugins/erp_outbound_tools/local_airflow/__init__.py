"""``make airflow``: a real local Airflow (api-server, scheduler, dag-processor, triggerer) for this project.

Everything lives in one work folder (``.airflow-local/`` by default): its own AIRFLOW_HOME, a
demo ERP, the vendor sandbox, the run reports and one log file per process.

- ``config``: what to start (port, executor, metadata DB, demo secrets) and the environment it gets
- ``layout``: where every file of the work folder lives
- ``processes``: child processes in process groups of their own, stopped without orphans
- ``state``: the pid file ``make airflow-stop`` reads
- ``bootstrap``: demo ERP, metadata DB migration, connections and pools
- ``launcher``: starts it all, waits until it is ready, stops it
- ``rest``: a small client of Airflow's REST API v2 (the e2e test and the screenshots use it)
- ``screenshots``: pictures of the UI, Playwright driving headless chromium
"""

from erp_outbound_tools.local_airflow.config import DemoSecrets, LocalAirflowConfig
from erp_outbound_tools.local_airflow.launcher import (
    LocalAirflow,
    run_foreground,
    stop_running,
)

__all__ = ["DemoSecrets", "LocalAirflow", "LocalAirflowConfig", "run_foreground", "stop_running"]
