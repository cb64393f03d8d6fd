"""Reliability: secrets never leak (docs/platform/guarantees.md: "Secrets stay secret").

Every DAG runs once against a sandbox that only accepts distinctive secrets. Afterwards
each secret, and every access token the sandbox issued, is looked for wherever a run
leaves text behind: what the runs printed, Airflow's log folder, the runs' XComs (and
rendered template fields) in the metadata database, the report and staging folders, and
every column of every ERP table (the documents' error fields, erp_outbound_verdicts, ...).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select, text

from conftest import connect, connect_gep, connect_rambase
from erp_outbound_tools.demo.run import load_dag
from erp_outbound_tools.demo.erp import build_demo_erp

pytestmark = pytest.mark.airflow

# One distinctive value per secret, so that a hit can only be a leak.
PROCUROS_TOKEN = "tok-PROCUROS-7Hq2Zx9"
RAMBASE_CLIENT_SECRET = "rb-CLIENTSECRET-k4Vw8Lp2"
RAMBASE_USER_PASSWORD = "rb-USERPASS-Qm3Tz6Yd"
GEP_AUTH_KEY = "gep-AUTHKEY-Nf5Rb1Xc"
GEP_SUBSCRIPTION_KEY = "gep-SUBKEY-Hs9Pj4We"

CONFIGURED_SECRETS = {
    "Procuros API token": PROCUROS_TOKEN,
    "RamBase client secret": RAMBASE_CLIENT_SECRET,
    "RamBase user password": RAMBASE_USER_PASSWORD,
    "GEP auth key": GEP_AUTH_KEY,
    "GEP subscription key": GEP_SUBSCRIPTION_KEY,
}

# Every DAG once, small: at most 16 documents per Procuros type, the demo's 40 / 20 / 40
# RamBase and GEP rows.
RUNS = [
    ("procuros_outgoing", {"limit": 16, "report_after": 1}),
    ("procuros_tasks", {"per_page": 2}),
    ("rambase_purchase_orders", {}),
    ("rambase_invoice_forwarding", {}),
    ("gep_por_status", {"batch_size": 10}),
]


# -- setting up --------------------------------------------------------------------------

def secret_sandbox(sandbox_with):
    """A sandbox that accepts only the distinctive secrets, with tasks queued for procuros_tasks."""
    tasks = [{"procurosTaskId": "export-customers", "type": "EXPORT_CUSTOMERS"},
             {"procurosTaskId": "export-suppliers", "type": "EXPORT_SUPPLIERS"},
             {"procurosTaskId": "sync-partners", "type": "SYNC_ENABLED_TRADE_PARTNERS",
              "payload": {"customers": ["KU-0000"], "suppliers": []}}]
    return sandbox_with(
        procuros={"tokens": [PROCUROS_TOKEN], "tasks": tasks},
        rambase={"client_secret": RAMBASE_CLIENT_SECRET, "password": RAMBASE_USER_PASSWORD,
                 "polls_to_finish": 1},
        gep={"auth_key": GEP_AUTH_KEY, "subscription_key": GEP_SUBSCRIPTION_KEY},
    )


def connect_everything(monkeypatch, erp_url: str, sandbox) -> None:
    """The four default connections, carrying the distinctive secrets (RamBase with the password grant)."""
    connect(monkeypatch, erp_url, sandbox.base_url, token=PROCUROS_TOKEN)
    connect_rambase(monkeypatch, sandbox.base_url, secret=RAMBASE_CLIENT_SECRET, grant_type="password",
                    username="sandbox-user", user_password=RAMBASE_USER_PASSWORD)
    connect_gep(monkeypatch, sandbox.base_url, auth_key=GEP_AUTH_KEY, subscription_api_key=GEP_SUBSCRIPTION_KEY)


def issued_tokens(sandbox) -> dict[str, str]:
    """Every access and refresh token the sandbox handed out (RamBase OAuth, GEP token service)."""
    sections = sandbox.record.sections

    def collect() -> dict[str, str]:
        found = {}
        for n, token in enumerate(sections["rambase"].tokens):
            found[f"RamBase access token #{n + 1}"] = token
        for n, token in enumerate(sections["rambase"].refresh_tokens):
            found[f"RamBase refresh token #{n + 1}"] = token
        for n, token in enumerate(sections["gep"].tokens):
            found[f"GEP token #{n + 1}"] = token
        return found

    return sandbox.call(collect)


# -- where a run leaves text behind ------------------------------------------------------

def files_under(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder``, as bytes (parquet and other binary files included)."""
    if not folder.exists():
        return {}
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def metadata_of_runs(runs: dict[str, str]) -> dict[str, str]:
    """The XCom values and rendered template fields of the given runs (dag_id -> run_id)."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    found: dict[str, str] = {}
    with create_session() as session:
        for dag_id, run_id in runs.items():
            xcoms = session.scalars(select(XComModel).where(XComModel.dag_id == dag_id,
                                                            XComModel.run_id == run_id)).all()
            assert xcoms, f"no XCom found for {dag_id} {run_id}: the search would prove nothing"
            for xcom in xcoms:
                found[f"XCom {dag_id}.{xcom.task_id}[{xcom.key}]"] = json.dumps(xcom.value, default=str)
            rendered = session.scalars(select(RenderedTaskInstanceFields).where(
                RenderedTaskInstanceFields.dag_id == dag_id, RenderedTaskInstanceFields.run_id == run_id)).all()
            for fields in rendered:
                found[f"rendered fields {dag_id}.{fields.task_id}"] = json.dumps(fields.rendered_fields, default=str)
    return found


def erp_text(url: str) -> dict[str, str]:
    """Every value of every ERP table (documents, partners, erp_outbound_*), one text per table."""
    engine = create_engine(url)
    found = {}
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
            found[f"ERP table {table}"] = "\n".join("\t".join("" if v is None else str(v) for v in row)
                                                    for row in rows)
    engine.dispose()
    return found


def fragments(secret: str) -> list[str]:
    """The whole secret, and for long ones a 16-character slice of its middle (a cut-off copy)."""
    if len(secret) < 32:
        return [secret]
    middle = len(secret) // 2
    return [secret, secret[middle - 8: middle + 8]]


def leaks(secrets: dict[str, str], places: dict[str, str | bytes]) -> list[str]:
    """``["<secret> in <place>", ...]`` for every secret found in any place."""
    found = []
    for place, content in places.items():
        for name, secret in secrets.items():
            for piece in fragments(secret):
                needle = piece.encode() if isinstance(content, bytes) else piece
                if needle in content:
                    found.append(f"{name} ({piece!r}) in {place}")
                    break
    return found


# -- the promises ------------------------------------------------------------------------

def test_no_secret_or_issued_token_appears_anywhere_after_every_dag_ran(
        tmp_path, files, sandbox_with, monkeypatch, capfd):
    """After one run of each DAG, neither a configured secret nor an issued token is in any output."""
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 400, seed=17)
    sandbox = secret_sandbox(sandbox_with)
    connect_everything(monkeypatch, url, sandbox)

    runs = {}
    for dag_id, conf in RUNS:
        dag_run = load_dag(dag_id).test(run_conf=conf)
        assert str(dag_run.state).endswith("success"), f"{dag_id} did not succeed"
        runs[dag_id] = dag_run.run_id
    out, err = capfd.readouterr()

    # The secrets really were used, so not finding them means something.
    record = sandbox.snapshot()
    assert record["procuros"]["transactions"] and record["procuros"]["tasks_marked"]
    assert record["rambase"]["token_grant_types"] == {"password": record["rambase"]["token_grants"]}
    assert record["rambase"]["order_puts"] and record["rambase"]["operation_posts"]
    assert record["gep"]["token_grants"] >= 1 and record["gep"]["puts"]
    secrets = CONFIGURED_SECRETS | issued_tokens(sandbox)
    assert any(name.startswith("RamBase access token") for name in secrets)
    assert any(name.startswith("GEP token") for name in secrets)
    assert "run report" in out + err, "the runs' output was not captured"

    airflow_home = Path(os.environ["AIRFLOW_HOME"])
    places: dict[str, str | bytes] = {"captured stdout": out, "captured stderr": err}
    places |= files_under(airflow_home / "logs")
    places |= metadata_of_runs(runs)
    reports = files_under(files / "reports")
    assert len([p for p in reports if p.endswith(".json")]) == len(RUNS)
    places |= reports
    places |= files_under(files / "staging")
    places |= erp_text(url)

    found = leaks(secrets, places)
    assert not found, "secrets leaked:\n" + "\n".join(found)


@pytest.mark.parametrize("dag_id, wrong_secret, connection", [
    ("procuros_outgoing", "tok-WRONG-Procuros-5Kd8", "procuros_default"),
    ("rambase_purchase_orders", "rb-WRONG-Secret-3Gh7", "rambase_default"),
    ("gep_por_status", "gep-WRONG-Key-8Vn2", "gep_smart_default"),
])
def test_a_refused_secret_is_named_by_its_connection_never_shown(
        tmp_path, files, sandbox_with, monkeypatch, capfd, dag_id, wrong_secret, connection):
    """A wrong token / client secret / auth key fails the run; the message names the connection, not the value."""
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 400, seed=18)
    sandbox = secret_sandbox(sandbox_with)
    connect_everything(monkeypatch, url, sandbox)
    if connection == "procuros_default":
        connect(monkeypatch, url, sandbox.base_url, token=wrong_secret)
    elif connection == "rambase_default":
        connect_rambase(monkeypatch, sandbox.base_url, secret=wrong_secret, grant_type="password",
                        username="sandbox-user", user_password=RAMBASE_USER_PASSWORD)
    else:
        connect_gep(monkeypatch, sandbox.base_url, auth_key=wrong_secret, subscription_api_key=GEP_SUBSCRIPTION_KEY)

    dag_run = load_dag(dag_id).test(run_conf={"limit": 16} if dag_id == "procuros_outgoing" else {})
    out, err = capfd.readouterr()

    assert str(dag_run.state).endswith("failed")
    output = out + err
    assert f"connection '{connection}'" in output, "the failure must say which connection to fix"
    assert wrong_secret not in output
    found = leaks(CONFIGURED_SECRETS | {"the wrong secret": wrong_secret},
                  {"captured output": output} | files_under(files / "reports") | erp_text(url))
    assert not found, "secrets leaked:\n" + "\n".join(found)
