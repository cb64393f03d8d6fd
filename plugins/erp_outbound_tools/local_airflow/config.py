"""What the local Airflow is started with, and the environment every process of it gets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from erp_outbound_tools.local_airflow.layout import DAGS_FOLDER, DEFAULT_WORKDIR, Layout
from erp_outbound_tools.sandbox.credentials import DemoCredentials

SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
ADMIN_USER = "admin"
# The simple auth manager's users and roles: the admin, an operator who may trigger runs (and so act on the
# Deliveries page), and a reader who may only look. Their passwords are generated into the passwords file.
OPERATOR_USER, READER_USER = "operator", "reader"
USERS = {ADMIN_USER: "admin", OPERATOR_USER: "user", READER_USER: "viewer"}


# The credentials the sandbox accepts and the demo connections carry (sandbox/credentials.py's by default).
DemoSecrets = DemoCredentials


@dataclass
class LocalAirflowConfig:
    workdir: Path = DEFAULT_WORKDIR
    port: int = 8080  # 0 = any free port
    sandbox_port: int = 0  # 0 = any free port
    documents: int = 300
    seed: int = 7
    executor: str = "LocalExecutor"  # SQLite works with it in Airflow 3 (``airflow standalone`` runs so)
    parallelism: int = 8  # task slots (LocalExecutor starts a worker process per slot; the default 32 is a lot)
    sql_alchemy_conn: str | None = None  # None = SQLite in AIRFLOW_HOME
    # False (the default): the scheduler starts only triggered runs, never the 15-minute ones, and the DAGs are
    # created unpaused, so a triggered (dry) run starts at once and nothing real runs before it. True: the
    # DAGs run every 15 minutes once unpaused, and are created paused as Airflow does.
    schedules: bool = False
    secrets: DemoSecrets = field(default_factory=DemoSecrets)
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. a Celery broker, later
    start_timeout: float = 240.0
    stop_grace: float = 20.0  # seconds between SIGTERM and SIGKILL

    @property
    def layout(self) -> Layout:
        return Layout.at(self.workdir)

    def metadata_db_url(self) -> str:
        return self.sql_alchemy_conn or f"sqlite:///{self.layout.metadata_db}"


def base_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without what would point our processes elsewhere.

    AIRFLOW_CONN_* variables would hide the connections of the metadata DB (the UI's list),
    and ERP_OUTBOUND_SANDBOX_* ones would change the sandbox behind the demo's back.
    """
    environ = os.environ if environ is None else environ
    return {k: v for k, v in environ.items()
            if not k.startswith(("AIRFLOW_CONN_", "ERP_OUTBOUND_SANDBOX_"))}


def airflow_environment(config: LocalAirflowConfig, port: int,
                        environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every Airflow process (and CLI call) of this local Airflow."""
    layout = config.layout
    base_url = f"http://127.0.0.1:{port}"
    env = base_environment(environ) | {
        "AIRFLOW_HOME": str(layout.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": config.executor,
        "AIRFLOW__CORE__PARALLELISM": str(config.parallelism),
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{user}:{role}" for user, role in USERS.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(layout.password_file),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": config.metadata_db_url(),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API__WORKERS": "1",  # one uvicorn worker is plenty locally and saves memory
        # On SQLite the API server's writes for a task (e.g. "running") wait for the scheduler's and the
        # dag-processor's: on a busy machine that took 20-40 s, and a task whose call gave up after the
        # default 5 s failed before it began.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "90",
        # New and changed DAG files show up within seconds, not the default 5 minutes.
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
        # A task's calls to the API server (its state, XComs) may wait longer than the default 5 s on a busy
        # machine; past the timeout the task fails with nothing wrong in it.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(config.schedules),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": str(config.schedules),
        "ERP_OUTBOUND_REPORTS": str(layout.reports),
        "ERP_OUTBOUND_STAGING": str(layout.staging),
    }
    return env | config.extra_env


def sandbox_environment(config: LocalAirflowConfig, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The sandbox accepts exactly the demo connections' credentials."""
    secrets = config.secrets
    return base_environment(environ) | {
        "ERP_OUTBOUND_SANDBOX_PROCUROS_TOKENS": secrets.procuros_token,
        "ERP_OUTBOUND_SANDBOX_RAMBASE_CLIENT_ID": secrets.rambase_client_id,
        "ERP_OUTBOUND_SANDBOX_RAMBASE_DB": secrets.rambase_db,
        "ERP_OUTBOUND_SANDBOX_RAMBASE_CLIENT_SECRET": secrets.rambase_client_secret,
        "ERP_OUTBOUND_SANDBOX_GEP_AUTH_KEY": secrets.gep_auth_key,
    }
