"""Alerts: off by default; new document errors and failed runs reach a webhook or a mailbox once.

The receivers are local: an http.server webhook and a tiny SMTP server on 127.0.0.1.
"""

from __future__ import annotations

import email
import json
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import SANDBOX_TOKEN, connect
from erp_outbound.core import alerts
from erp_outbound.core.report import RunReport
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound_tools.demo.run import load_dag
from erp_outbound_tools.demo.erp import build_demo_erp
from erp_outbound.erp.hook import make_engine
from erp_outbound.erp.journal import Journal, new_failures
from erp_outbound.erp.state import ensure_tables

HOOK_SECRET = "hook-secret-Zq81"
RUN_CONF = {"doc_types": ["ORDER", "INVOICE"], "report_after": 1}


# -- local receivers ---------------------------------------------------------------------

class _Webhook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greeting, EHLO, MAIL, RCPT, DATA, QUIT."""

    def handle(self):
        def reply(line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        reply("220 test ESMTP")
        mail = {"from": "", "to": [], "data": ""}
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command[:4].upper()
            if verb == "MAIL":
                mail["from"] = command[10:]
                reply("250 OK")
            elif verb == "RCPT":
                mail["to"].append(command[8:])
                reply("250 OK")
            elif verb == "DATA":
                reply("354 end with <CRLF>.<CRLF>")
                data = []
                while (text := self.rfile.readline().decode()) not in (".\r\n", ""):
                    data.append(text)
                self.server.messages.append(mail | {"data": "".join(data)})
                reply("250 OK")
            elif verb == "QUIT":
                reply("221 bye")
                return
            else:  # EHLO, HELO, RSET, NOOP
                reply("250 test")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.daemon_threads = True
    server.messages = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alerts_config(monkeypatch, config) -> None:
    """The erp_outbound_alerts Variable, as Airflow reads it from the environment."""
    value = config if isinstance(config, str) else json.dumps(config)
    monkeypatch.setenv("AIRFLOW_VAR_ERP_OUTBOUND_ALERTS", value)


def webhook_connection(monkeypatch, port: int) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ALERTS_WEBHOOK", json.dumps({
        "conn_type": "http", "host": f"http://127.0.0.1:{port}/hooks/erp-outbound",
        "extra": {"X-Alert-Token": HOOK_SECRET}}))


@pytest.fixture
def erp(tmp_path, files, sandbox, monkeypatch):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 60, seed=11)
    connect(monkeypatch, url, sandbox.base_url)
    return url


def run(conf=None):
    dag_run = load_dag("procuros_outgoing").test(run_conf=conf or RUN_CONF)
    return dag_run


def report_of(files, run_id: str) -> dict:
    for path in (files / "reports").glob("procuros_outgoing__*.json"):
        data = json.loads(path.read_text())
        if data["run_id"] == run_id:
            return data | {"path": str(path)}
    raise AssertionError(f"no report for {run_id}")


def document_errors(report: dict) -> list[dict]:
    return [f for f in report["failures"] if f["outcome"] in ("REJECTED", "BUILD_ERROR")]


# -- the promises ------------------------------------------------------------------------

@pytest.mark.airflow
def test_off_by_default(erp, files, webhook, monkeypatch):
    """A webhook connection alone sends nothing: without the Variable there are no alerts."""
    monkeypatch.delenv("AIRFLOW_VAR_ERP_OUTBOUND_ALERTS", raising=False)
    webhook_connection(monkeypatch, webhook.server_port)
    assert alerts.load_settings() is None

    dag_run = run()
    assert str(dag_run.state).endswith("success")
    assert document_errors(report_of(files, dag_run.run_id)), "the run had errors to alert about"
    assert webhook.received == []


@pytest.mark.airflow
def test_the_webhook_gets_new_errors_once(erp, files, webhook, sandbox, monkeypatch, capfd):
    webhook_connection(monkeypatch, webhook.server_port)
    alerts_config(monkeypatch, {"webhook_conn_id": "alerts_webhook", "max_failures": 3})

    first = run()
    assert str(first.state).endswith("success")
    report = report_of(files, first.run_id)
    errors = document_errors(report)
    assert len(errors) > 3
    (post,) = webhook.received
    assert post["path"] == "/hooks/erp-outbound"
    assert post["headers"]["X-Alert-Token"] == HOOK_SECRET, "the connection's extra are the headers"
    assert post["headers"]["Content-Type"] == "application/json"
    alert = post["json"]
    assert alert["event"] == "new_errors"
    assert (alert["dag_id"], alert["run_id"], alert["vendor"]) == ("procuros_outgoing", first.run_id, "procuros")
    assert alert["new_errors"] == len(errors) and alert["more"] == len(errors) - 3
    assert alert["totals"] == report["totals"]
    assert alert["report_files"]["json"] == report["path"]
    assert alert["report_files"]["html"] == report["path"][:-len("json")] + "html"
    by_id = {(f["doc_type"], f["document_id"]): f for f in errors}
    assert len(alert["failures"]) == 3
    for failure in alert["failures"]:
        assert set(failure) == set(alerts.ALERT_FIELDS)
        expected = by_id[failure["doc_type"], failure["document_id"]]
        assert failure["vendor_link"] == expected["error_url"] and expected["error_url"].startswith(sandbox.base_url)
        assert failure["reason"] == expected["reason"][:500]
    assert SANDBOX_TOKEN not in json.dumps(alert)
    assert HOOK_SECRET not in "".join(capfd.readouterr())

    # The same documents fail again, with the same errors: nothing new, nothing sent.
    second = run()
    assert str(second.state).endswith("success")
    assert len(document_errors(report_of(files, second.run_id))) == len(errors)
    assert len(webhook.received) == 1


def test_a_first_failure_or_a_changed_error_is_new_an_unchanged_one_is_not(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'journal.db'}")
    ensure_tables(engine)

    def failing(run_id: str, reasons: dict[str, str], outcome=Outcome.REJECTED) -> list[dict]:
        verdicts = [Verdict(vendor="rambase", doc_type="PURCHASE_ORDER_UPDATE", document_id=doc,
                            identifier=f"10000{doc}", outcome=outcome, message=reason, error_code="108018") for doc, reason in reasons.items()]
        Journal(engine, run_id, dag_id="rambase_purchase_orders").record(verdicts)
        report = RunReport("rambase", "rambase_purchase_orders", run_id, verdicts=verdicts)
        return sorted(f["document_id"] for f in new_failures(engine, report))

    # What a dry run saw is no history: the first real failure is new.
    Journal(engine, "dry", dry_run=True, dag_id="rambase_purchase_orders").record([Verdict(vendor="rambase",
                                                                                           doc_type="PURCHASE_ORDER_UPDATE",
                                                                                           document_id="1",
                                                                                           identifier="100001",
                                                                                           outcome=Outcome.REJECTED,
                                                                                           message="Currency mismatch",
                                                                                           error_code="108018")])
    assert failing("run-1", {"1": "Currency mismatch", "2": "Currency mismatch"}) == ["1", "2"]
    assert failing("run-2", {"1": "Currency mismatch", "2": "Product not found"}) == ["2"]
    assert failing("run-3", {"1": "Currency mismatch", "2": "Product not found", "4": "x"}) == ["4"]
    # A deferral in between decides nothing; a build error after a rejection is new.
    Journal(engine, "run-4", dag_id="rambase_purchase_orders").record([Verdict(vendor="rambase",
                                                                               doc_type="PURCHASE_ORDER_UPDATE",
                                                                               document_id="1", identifier="100001",
                                                                               outcome=Outcome.DEFERRED)])
    assert failing("run-5", {"1": "Currency mismatch"}) == []
    assert failing("run-6", {"1": "Currency mismatch"}, Outcome.BUILD_ERROR) == ["1"]
    # A lost answer that may have run at the vendor: a person must check it, so it is announced once.
    assert failing("run-7", {"5": "No answer to the forwarding request"}, Outcome.UNCERTAIN) == ["5"]
    assert failing("run-8", {"5": "No answer to the forwarding request"}, Outcome.UNCERTAIN) == []


@pytest.mark.airflow
def test_smtp_sends_a_mail_about_new_errors(erp, files, smtp_server, sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ALERTS_SMTP", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": smtp_server.server_address[1],
        "extra": {"disable_ssl": True, "disable_tls": True, "timeout": 5, "retry_limit": 0}}))
    alerts_config(monkeypatch, {"smtp_conn_id": "alerts_smtp", "to": ["ops@example.com"],
                                "from_email": "erp-outbound@example.com", "on": ["new_errors"]})

    dag_run = run()
    assert str(dag_run.state).endswith("success")
    (mail,) = smtp_server.messages
    assert "ops@example.com" in mail["to"][0] and "erp-outbound@example.com" in mail["from"]
    message = email.message_from_string(mail["data"])
    errors = document_errors(report_of(files, dag_run.run_id))
    assert message["Subject"] == f"erp-outbound: {len(errors)} new document error(s) in procuros_outgoing"
    (html_part,) = [p for p in message.walk() if p.get_content_type() == "text/html"]
    body = html_part.get_payload(decode=True).decode()
    assert dag_run.run_id in body
    first = errors[0]
    assert first["identifier"] in body
    assert f'<a href="{first["error_url"]}"' in body, "the Procuros error URL is a link"
    assert SANDBOX_TOKEN not in body


@pytest.mark.airflow
@pytest.mark.parametrize("breakage, warning", [
    ("refused", "Could not send the new_errors alert through WebhookNotifier"),
    ("unknown connection", "Could not send the new_errors alert through WebhookNotifier"),
    ("not JSON", "Alerts are off: the Airflow Variable 'erp_outbound_alerts' is not a valid alert configuration"),
    ("no receiver", "it names no receiver"),
])
def test_a_broken_alert_configuration_never_fails_the_run(erp, files, monkeypatch, capfd, breakage, warning):
    config = {"webhook_conn_id": "alerts_webhook"}
    if breakage == "refused":
        webhook_connection(monkeypatch, closed_port())
    elif breakage == "unknown connection":
        config = {"webhook_conn_id": "no_such_connection"}
    alerts_config(monkeypatch, {"not JSON": "{webhook_conn_id: alerts_webhook", "no receiver": {"on": []}}.get(
        breakage, config))

    dag_run = run()
    output = "".join(capfd.readouterr())
    assert str(dag_run.state).endswith("success")
    assert warning in output
    report = report_of(files, dag_run.run_id)
    assert report["totals"]["DELIVERED"] > 0 and document_errors(report)
    # Every verdict reached the ERP all the same.
    from erp_rows import documents

    rows = documents(erp)
    assert (rows.status == "TRANSMITTED").sum() == report["totals"]["DELIVERED"]
    assert (rows.attempts > 0).sum() == len(document_errors(report))


@pytest.mark.airflow
def test_a_failing_run_sends_run_failed(tmp_path, files, sandbox, webhook, monkeypatch):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 40, seed=2)
    connect(monkeypatch, url, sandbox.base_url, token="wrong-token")
    webhook_connection(monkeypatch, webhook.server_port)
    alerts_config(monkeypatch, {"webhook_conn_id": "alerts_webhook"})

    dag_run = run()

    assert str(dag_run.state).endswith("failed")
    (post,) = webhook.received
    alert = post["json"]
    assert alert["event"] == "run_failed"
    assert (alert["dag_id"], alert["run_id"]) == ("procuros_outgoing", dag_run.run_id)
    assert alert["title"] == f"erp-outbound: run {dag_run.run_id} of procuros_outgoing failed"
    assert alert["reports"] == str(files / "reports")
    assert "wrong-token" not in json.dumps(alert)


@pytest.mark.airflow
def test_run_failed_can_be_switched_off(tmp_path, files, sandbox, webhook, monkeypatch):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 40, seed=2)
    connect(monkeypatch, url, sandbox.base_url, token="wrong-token")
    webhook_connection(monkeypatch, webhook.server_port)
    alerts_config(monkeypatch, {"webhook_conn_id": "alerts_webhook", "on": ["new_errors"]})

    assert str(run().state).endswith("failed")
    assert webhook.received == []
