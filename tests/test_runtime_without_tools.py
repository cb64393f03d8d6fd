"""The runtime never imports the tools: a worker with only ``pip install erp-outbound`` has everything it needs.

- no runtime module imports ``erp_outbound_tools``, not even inside a function;
- with the tools made unimportable, every runtime module imports, ``erp-outbound db upgrade`` works,
  its help names the missing tools, and Airflow parses every DAG;
- ``pip install .`` without extras into a fresh virtualenv does the same (marker ``install``: a few
  minutes; ``make test-runtime-install`` runs it alone).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_dags_parse import EXPECTED

REPO = Path(__file__).resolve().parents[1]
RUNTIME = REPO / "plugins" / "erp_outbound"
PROBE = Path(__file__).with_name("runtime_only.py")


def probe(python: str, tmp_path: Path, *args: str, env: dict | None = None) -> dict:
    """Run tests/runtime_only.py in a fresh process; its JSON line."""
    home = tmp_path / "airflow_home"
    home.mkdir(exist_ok=True)
    env = (env or os.environ.copy()) | {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                                        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags")}
    done = subprocess.run([python, str(PROBE), str(REPO / "dags"), f"sqlite:///{tmp_path / 'erp.db'}", *args],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("RUNTIME-ONLY "))
    return json.loads(line.removeprefix("RUNTIME-ONLY "))


def assert_a_working_runtime(found: dict) -> None:
    assert len(found["modules"]) > 50 and "erp_outbound.erp.migrations" in found["modules"]
    assert found["tools_imported"] == []
    code, said = found["db_upgrade"]
    assert code == 0 and "went from revision (none) to" in said
    assert found["import_errors"] == {}
    assert set(found["dag_ids"]) == EXPECTED


def test_no_runtime_module_imports_the_tools():
    offenders = []
    for path in sorted(RUNTIME.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.relative_to(REPO)}:{node.lineno} {n}" for n in names
                          if n.split(".")[0] == "erp_outbound_tools"]
    assert offenders == []


def test_the_runtime_works_with_the_tools_blocked(tmp_path):
    found = probe(sys.executable, tmp_path, "--block-tools")
    assert_a_working_runtime(found)
    assert "status" in found["help"] and "db" in found["help"]
    assert "demo-erp" not in found["help"], "the tools' commands are not offered without the tools"
    assert "pip install 'erp-outbound[tools]'" in found["help"]


def test_with_the_tools_the_command_offers_theirs_too(tmp_path):
    done = subprocess.run([sys.executable, "-m", "erp_outbound.cli", "--help"], capture_output=True, text=True,
                          check=True)
    for command in ("status", "db", "demo-erp", "sandbox", "demo", "airflow", "airflow-stop"):
        assert command in done.stdout


@pytest.mark.install
def test_a_runtime_only_install_imports_every_module_and_parses_the_dags(tmp_path):
    """``pip install .`` without extras (pinned by constraints.txt) into a fresh virtualenv."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "constraints.txt"):
        shutil.copy(REPO / name, source / name)
    for name in ("plugins", "include", "docs"):  # setup.py bundles include/ and docs/ into the package
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-c", str(source / "constraints.txt"), str(source)], check=True, timeout=1500)

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    found = probe(python, tmp_path, env=env)
    assert_a_working_runtime(found)
    assert not found["playwright_installed"], "the tools' dependencies come only with the tools extra"
    assert "demo-erp" not in found["help"] and "pip install 'erp-outbound[tools]'" in found["help"]
