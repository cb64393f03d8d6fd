"""Airflow registers the Deliveries plugin once: no "Plugin 'erp_outbound' already registered" import error.

An editable install (``make install``: ``pip install -e``) puts plugins/ on sys.path; package metadata that
setuptools writes into plugins/ is then a second erp-outbound distribution, and Airflow loads the
``airflow.plugins`` entry point of both. This builds the metadata exactly as ``pip install -e`` does (setuptools'
egg_info command, which reads setup.cfg) in a copy of the project, puts the copy's plugins/ on sys.path as the
editable install does, and asks Airflow's plugins manager in a process configured as ``make airflow`` configures
its processes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from conftest import REPO
from erp_outbound_tools.local_airflow import LocalAirflowConfig
from erp_outbound_tools.local_airflow.config import airflow_environment

PACKAGING = ("pyproject.toml", "setup.cfg", "MANIFEST.in", "README.md", ".install")
ASK_AIRFLOW = """
import json
from airflow import plugins_manager
plugins, errors = plugins_manager._get_plugins()
print("PLUGINS " + json.dumps({"names": [p.name for p in plugins], "errors": errors}))
"""


def project_copy(target):
    target.mkdir()
    for name in PACKAGING:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        elif source.exists():
            shutil.copy(source, target / name)
    for package in ("erp_outbound", "erp_outbound_tools"):
        shutil.copytree(REPO / "plugins" / package, target / "plugins" / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return target


def test_an_editable_install_leaves_no_metadata_in_plugins_and_airflow_loads_the_plugin_once(tmp_path):
    project = project_copy(tmp_path / "project")
    subprocess.run([sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "egg_info"],
                   cwd=project, check=True, capture_output=True)
    assert not list((project / "plugins").glob("*.egg-info")), "package metadata on sys.path (plugins/)"
    assert list(project.glob("*/erp_outbound.egg-info/entry_points.txt")), "egg_info wrote no metadata"

    env = airflow_environment(LocalAirflowConfig(workdir=tmp_path / "airflow-local"), port=8080)
    env["PYTHONPATH"] = str(project / "plugins")  # what the editable install's .pth adds to sys.path
    (tmp_path / "airflow-local" / "airflow_home").mkdir(parents=True)
    done = subprocess.run([sys.executable, "-c", ASK_AIRFLOW], env=env, capture_output=True, text=True,
                          timeout=300, check=True)
    found = json.loads(done.stdout.split("PLUGINS ", 1)[1])
    assert found["errors"] == {}
    assert found["names"].count("erp_outbound") == 1
    assert "already registered" not in done.stdout + done.stderr
