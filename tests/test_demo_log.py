"""`make demo`'s log raises no false alarm: no [error] line (e.g. "XCom not found ... task 'load'", which the
reconcile step's reading of the mapped load results caused in every run) and no plugin warning."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.airflow

ERROR_LINE = re.compile(r"\[error\s*\]")


def test_make_demos_log_has_no_error_line_and_no_plugin_warning(tmp_path):
    command = Path(sys.executable).with_name("erp-outbound")
    env = os.environ | {"ERP_OUTBOUND_REPORTS": str(tmp_path / "reports"),
                        "ERP_OUTBOUND_STAGING": str(tmp_path / "staging")}
    done = subprocess.run([str(command), "demo", "--workdir", str(tmp_path / "demo"), "--documents", "20"],
                          env=env, capture_output=True, text=True, timeout=900)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    assert "rambase_purchase_orders run" in log and "procuros_outgoing run" in log  # the demo ran its DAGs
    errors = [line for line in log.splitlines() if ERROR_LINE.search(line)]
    assert errors == []
    assert "already registered" not in log
    assert "XCom not found" not in log
