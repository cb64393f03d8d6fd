"""Parsing a DAG file imports no pandas, pyarrow, aiohttp, alembic or SQLAlchemy code of its own.

Airflow parses every DAG file again every 30 seconds in a process of its own: the heavy libraries are
imported where the work happens (an operator's execute, a flow's build), never at a module's top in
anything a DAG file imports. Each file is parsed in a fresh interpreter, and what it brought into
``sys.modules`` beyond ``import airflow.sdk`` alone is checked. (SQLAlchemy's core and engine come
with ``airflow.sdk`` itself; what matters is that a DAG file adds none.) The parse times are
``make bench``'s (LEGS=parse), never asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DAG_FILES = sorted((REPO / "dags").glob("*.py"))
PROBE = Path(__file__).with_name("dag_parse_probe.py")
HEAVY = {"pandas", "pyarrow", "numpy", "aiohttp", "alembic", "sqlalchemy", "erp_outbound_tools"}


def parse_in_a_fresh_interpreter(dag_file: Path | None) -> dict:
    done = subprocess.run([sys.executable, str(PROBE), *([str(dag_file)] if dag_file else [])],
                          capture_output=True, text=True, env=os.environ.copy(), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("DAG-PARSE "))
    return json.loads(line.removeprefix("DAG-PARSE "))


def test_import_airflow_sdk_alone_brings_sqlalchemy_but_none_of_the_others():
    """The baseline the DAG files are measured against (if Airflow changes this, the test below must too)."""
    found = parse_in_a_fresh_interpreter(None)
    assert found["brought"] == [] and found["dag_ids"] == []
    done = subprocess.run([sys.executable, "-c", "import sys, airflow.sdk; print(sorted({m.split('.')[0] for m in "
                           "sys.modules} & {'pandas', 'pyarrow', 'aiohttp', 'alembic', 'sqlalchemy'}))"],
                          capture_output=True, text=True, check=True, timeout=300)
    assert done.stdout.split("\n")[-2] == "['sqlalchemy']"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=[path.stem for path in DAG_FILES])
def test_parsing_a_dag_file_imports_nothing_heavy(dag_file):
    found = parse_in_a_fresh_interpreter(dag_file)
    assert found["dag_ids"] == [dag_file.stem], "the probe really parsed the DAG file"
    assert "erp_outbound" in found["brought"]
    assert sorted(HEAVY & set(found["brought"])) == []


def test_every_flow_names_a_builder_that_exists():
    """Flows name their pandas builders by path (imported when a run builds): each path must resolve."""
    import importlib

    from erp_outbound.core.flows import flows

    for vendor in ("procuros", "rambase", "gep"):
        for doc_flow in flows(vendor).values():
            module, _, function = doc_flow.builder.partition(":")
            assert callable(getattr(importlib.import_module(module), function)), doc_flow.builder
