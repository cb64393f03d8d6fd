"""Where erp-outbound keeps files. Environment variables override the defaults."""

from __future__ import annotations

import os
from pathlib import Path


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")


def staging_url() -> str:
    """Batches between tasks: a local folder, or an object storage URL (s3://, gs://...)."""
    return os.environ.get("ERP_OUTBOUND_STAGING") or str(airflow_home() / "erp_outbound" / "staging")


def reports_url() -> str:
    """Run reports (JSON and CSV): a local folder, or an object storage URL."""
    return os.environ.get("ERP_OUTBOUND_REPORTS") or str(airflow_home() / "erp_outbound" / "reports")


def erp_timezone() -> str:
    """The time zone of the ERP's naive timestamps (Procuros wants an explicit UTC offset)."""
    return os.environ.get("ERP_OUTBOUND_TIMEZONE", "Europe/Berlin")


def chunk_size() -> int:
    """Documents per chunk in extract, transform and reconcile."""
    return int(os.environ.get("ERP_OUTBOUND_CHUNK_SIZE", 5000))


def load_task_size() -> int:
    """Documents per load task: a larger backlog is sent by several mapped load tasks,
    which the executor spreads over its workers (the vendor's pool bounds how many run at once)."""
    return int(os.environ.get("ERP_OUTBOUND_LOAD_TASK_SIZE", 20000))
