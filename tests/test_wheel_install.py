"""The wheel runs: built, installed (not editable) into a fresh virtualenv, as a platform team would.

One virtualenv for every check (marker ``install``; a few minutes, most of it pip): the wheel with
the tools extra (the sandbox and the demo ERP), pinned by constraints.txt, Airflow 3.3.2 repeated.
Airflow's dags folder is a copy of dags/, its plugins folder empty, the working directory outside
the repository, so nothing can come from the checkout:

- no DAG import errors, and the plugin registers once (``airflow plugins``);
- ``erp-outbound db upgrade`` migrates an ERP; the pools import;
- the SQL and the guide come from the installed package, the SQL from ERP_OUTBOUND_SQL_DIR when set;
- procuros_outgoing runs to success against the sandbox and the ERP rows say so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_dags_parse import EXPECTED

REPO = Path(__file__).resolve().parents[1]
PROBE = Path(__file__).with_name("wheel_probe.py")
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "constraints.txt", "plugins", "include", "docs",
           "dags")


def copy_sources(target: Path) -> Path:
    """What a clone holds, without the checkout's build leftovers and caches."""
    target.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "bundled")
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy(source, target / name)
    return target


def run(command: list[str], env: dict, cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
    assert done.returncode == 0, f"{command}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done


def test_a_checkout_reads_the_repositorys_own_sql_and_guide(monkeypatch, tmp_path):
    """No bundled copy in a checkout or an editable install: an edit of include/ or docs/ shows at once."""
    from erp_outbound import resources
    from erp_outbound.erp.sql import sql_root
    from erp_outbound.ui.guide import guide_root

    monkeypatch.delenv("ERP_OUTBOUND_SQL_DIR", raising=False)
    assert not resources.from_the_wheel()
    assert sql_root() == REPO / "include" / "sql" and guide_root() == REPO
    monkeypatch.setenv("ERP_OUTBOUND_SQL_DIR", str(tmp_path))
    assert sql_root() == tmp_path


@pytest.mark.install
def test_the_wheel_installs_parses_migrates_and_runs_a_dag(tmp_path):
    source = copy_sources(tmp_path / "src")
    (tmp_path / "src" / "dags").rename(tmp_path / "dags")  # Airflow's dags folder: a copy, beside no code
    plain = {k: v for k, v in os.environ.items()
             if k not in ("PYTHONPATH", "VIRTUAL_ENV", "ERP_OUTBOUND_SQL_DIR") and not k.startswith("AIRFLOW")}
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check",
         "-w", str(tmp_path / "dist"), str(source)], plain, tmp_path)
    wheel = next((tmp_path / "dist").glob("erp_outbound-*.whl"))

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], plain, tmp_path)
    bin_ = venv / "bin"
    run([str(bin_ / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-c", str(source / "constraints.txt"), f"{wheel}[tools]", "apache-airflow==3.3.2"], plain, tmp_path,
        timeout=1800)

    work = tmp_path / "work"
    (work / "plugins").mkdir(parents=True)
    env = plain | {
        "PATH": f"{bin_}:{plain.get('PATH', '')}",
        "AIRFLOW_HOME": str(work / "airflow_home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(work / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "ERP_OUTBOUND_STAGING": str(work / "staging"),
        "ERP_OUTBOUND_REPORTS": str(work / "reports"),
    }
    run([str(bin_ / "airflow"), "db", "migrate"], env, work)
    pools = run([str(bin_ / "python"), "-m", "erp_outbound.pools"], env, work).stdout
    (work / "pools.json").write_text(pools)
    run([str(bin_ / "airflow"), "pools", "import", str(work / "pools.json")], env, work)
    listed = run([str(bin_ / "airflow"), "plugins", "--output", "json"], env, work).stdout
    plugins = json.loads(listed[listed.index("["):])
    assert [p["name"] for p in plugins].count("erp_outbound") == 1, plugins

    found = json.loads(next(line for line in run([str(bin_ / "python"), str(PROBE), str(work)], env, work)
                            .stdout.splitlines() if line.startswith("WHEEL ")).removeprefix("WHEEL "))
    installed = Path(found["package"]).parent
    assert installed.is_relative_to(venv) and not installed.is_relative_to(REPO), found["package"]
    assert found["sql_root"] == str(installed / "bundled" / "include" / "sql")
    assert found["guide_root"] == str(installed / "bundled" / "guide")
    assert found["guide_has_install_section"]
    assert {"README.md", "docs/platform/install.md"} <= set(found["guide_pages"])
    assert found["sql_root_when_set"] == str(work / "my_sql") and "'mine'" in found["statement_when_set"]
    code, said = found["db_upgrade"]
    assert code == 0 and "went from revision (none) to" in said
    assert found["import_errors"] == {} and set(found["dag_ids"]) == EXPECTED
    assert found["run_state"] == "success"
    assert found["received"] > 0 and found["orders_transmitted"] > 0
