"""The demo credentials live in one module: the README documents them, make airflow prints them, the sandbox takes them."""

from __future__ import annotations

import re

import requests
from conftest import REPO
from erp_outbound_tools.demo.run import connections_env
from erp_outbound_tools.local_airflow import LocalAirflow, LocalAirflowConfig
from erp_outbound_tools.local_airflow.bootstrap import demo_connections
from erp_outbound_tools.local_airflow.config import sandbox_environment
from erp_outbound_tools.sandbox import SandboxConfig, SandboxServer
from erp_outbound_tools.sandbox.credentials import DEMO

BLOCK = re.compile(r"<!-- demo-credentials:[^>]*-->\n(.*?)\n<!-- /demo-credentials -->", re.S)


def readme_credentials() -> dict[tuple[str, str], str]:
    """The README's table: (connection, field) -> value."""
    blocks = BLOCK.findall((REPO / "README.md").read_text())
    assert len(blocks) == 1, "the README documents the demo credentials once, in a demo-credentials block"
    assert blocks[0] == DEMO.markdown_table(), "the README's table differs from sandbox/credentials.py"
    rows = [line.strip("|").split("|") for line in blocks[0].splitlines()[2:]]
    return {(c.strip().strip("`"), f.strip()): v.strip().strip("`") for c, f, v in rows}


def accepted(base_url: str, credentials: dict[tuple[str, str], str]) -> dict[str, int]:
    """What the sandbox answers each vendor's credentials from the README."""
    procuros = requests.get(f"{base_url}/v2/ping", timeout=10, headers={
        "Authorization": f"Bearer {credentials['procuros_default', 'API token (password)']}"})
    rambase = requests.post(f"{base_url}/oauth2/access_token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": credentials["rambase_default", "Client id (login)"],
        "client_secret": credentials["rambase_default", "Client secret (password)"]})
    gep = requests.get(f"{base_url}/token/gep", timeout=10,
                       headers={"gep-auth-key": credentials["gep_smart_default", "gep-auth-key (password)"]})
    return {"procuros": procuros.ok, "rambase": rambase.ok, "gep": gep.ok}


def test_the_sandbox_of_make_airflow_and_of_make_demo_accepts_the_readmes_credentials(tmp_path):
    credentials = readme_credentials()
    local_airflow = SandboxConfig().with_env(sandbox_environment(LocalAirflowConfig(workdir=tmp_path)))
    for config in (local_airflow, SandboxConfig()):  # make airflow's sandbox; make demo's and `erp-outbound sandbox`
        assert config.rambase.db == credentials["rambase_default", "`$db` (extra `db`)"]
        with SandboxServer(config) as sandbox:
            assert accepted(sandbox.base_url, credentials) == {"procuros": True, "rambase": True, "gep": True}


def test_the_demo_connections_carry_the_readmes_credentials(tmp_path):
    credentials = set(readme_credentials().values())
    stored = demo_connections("sqlite:///erp.db", "http://127.0.0.1:1", LocalAirflowConfig(workdir=tmp_path).secrets)
    demo = connections_env("sqlite:///erp.db", "http://127.0.0.1:1")
    for connections in (stored, {k: v for k, v in demo.items()}):
        text = repr(connections)
        assert all(value in text for value in credentials), connections


def test_make_airflow_prints_the_credentials_and_the_readme_shows_the_same_lines(tmp_path):
    banner = LocalAirflow(LocalAirflowConfig(workdir=tmp_path)).banner()
    for line in DEMO.lines():
        assert f"    {line}" in banner.splitlines()
    readme = (REPO / "README.md").read_text()
    assert all(f"    {line}\n" in readme for line in DEMO.lines()), "the README's banner example is out of date"
