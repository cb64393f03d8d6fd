"""Where erp-outbound keeps files. Environment variables override the defaults."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


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


def erp_now() -> datetime:
    """Now as the ERP's naive timestamps say it: wall time in ERP_OUTBOUND_TIMEZONE, to the second.

    Every time written onto an ERP row (last_attempt_at, operation_requested_at, ...) is this one,
    whatever the worker's TZ: the ERP's own times are read in that zone, so ours sit beside them.
    """
    name = erp_timezone()
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"ERP_OUTBOUND_TIMEZONE={name!r} is not a time zone name (e.g. Europe/Berlin, UTC)") from exc
    return datetime.now(zone).replace(microsecond=0, tzinfo=None)


def chunk_size() -> int:
    """Documents per chunk in extract, transform and reconcile."""
    return int(os.environ.get("ERP_OUTBOUND_CHUNK_SIZE", 5000))


def load_task_size() -> int:
    """Documents per load task: a larger backlog is sent by several mapped load tasks,
    which the executor spreads over its workers (the vendor's pool bounds how many run at once)."""
    return int(os.environ.get("ERP_OUTBOUND_LOAD_TASK_SIZE", 20000))
