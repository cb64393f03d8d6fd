"""One declared time zone for every time written onto an ERP row: ERP_OUTBOUND_TIMEZONE, whatever the worker's TZ.

The ERP's own naive timestamps are read in ERP_OUTBOUND_TIMEZONE (transforms, README), so the times
erp-outbound writes beside them (last_attempt_at, operation_requested_at) are wall times in that zone
too. The worker runs in a subprocess whose TZ is many hours away from the ERP's zone.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PROBE = Path(__file__).with_name("erp_times_probe.py")
WORKER_TZ = "Pacific/Kiritimati"  # UTC+14 all year: never the ERP's wall time below


def times_written(tmp_path: Path, erp_zone: str) -> dict:
    env = os.environ | {"TZ": WORKER_TZ, "ERP_OUTBOUND_TIMEZONE": erp_zone}
    done = subprocess.run([sys.executable, str(PROBE), str(tmp_path / "erp.db")], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(next(line for line in done.stdout.splitlines()
                           if line.startswith("ERP-TIMES ")).removeprefix("ERP-TIMES "))


@pytest.mark.parametrize("erp_zone", ["Europe/Berlin", "UTC", "America/Los_Angeles"])
def test_times_written_onto_erp_rows_are_in_the_erp_zone_not_the_workers(tmp_path, erp_zone):
    found = times_written(tmp_path, erp_zone)
    local_offset = datetime.fromisoformat(found["before"]["local"]) - datetime.fromisoformat(found["before"]["erp"])
    assert abs(local_offset.total_seconds()) > 3600, "the worker's TZ really differs from the ERP's zone"
    earliest = datetime.fromisoformat(found["before"]["erp"]).replace(microsecond=0)
    latest = datetime.fromisoformat(found["after"]["erp"])
    assert set(found["written"]) == {"po_0", "po_1", "released"}
    for row, written in found["written"].items():
        assert earliest <= datetime.fromisoformat(written) <= latest, (row, written, found)


def test_a_time_zone_that_does_not_exist_is_named_in_the_error(monkeypatch):
    from erp_outbound.core.settings import erp_now

    monkeypatch.setenv("ERP_OUTBOUND_TIMEZONE", "Europe/Nowhere")
    with pytest.raises(ValueError, match="ERP_OUTBOUND_TIMEZONE='Europe/Nowhere' is not a time zone name"):
        erp_now()


def test_no_runtime_code_asks_for_the_workers_local_time():
    """datetime.now() without a zone (or today(), utcnow()) is the worker's TZ: erp_now() or utcnow() instead."""
    offenders = []
    for path in sorted((REPO / "plugins" / "erp_outbound").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and ast.unparse(node.func.value) in ("datetime", "datetime.datetime", "date", "datetime.date")
                    and (node.func.attr in ("today", "utcnow") or (node.func.attr == "now" and not node.args
                                                                   and not node.keywords))):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno} {ast.unparse(node)}")
    assert offenders == []
