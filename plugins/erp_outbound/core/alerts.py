"""Optional alerts: tell people when documents fail in a new way, or when a run fails.

Off unless the Airflow Variable ``erp_outbound_alerts`` holds JSON such as::

    {"webhook_conn_id": "alerts_webhook",
     "smtp_conn_id": "smtp_default", "to": ["ops@example.com"], "from_email": "erp@example.com",
     "on": ["new_errors", "run_failed"], "max_failures": 20}

The webhook gets the alert as JSON (``WebhookNotifier``, through the HTTP provider's hook: the
connection's host is the URL, its extra the headers); e-mail goes through the SMTP provider's
``SmtpNotifier``. Alerts carry counts, document numbers, reasons and vendor links, never payloads
or credentials. A broken configuration or an unreachable receiver never fails a run, nor loses
a verdict: it is logged as a warning.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass

from airflow.sdk import BaseNotifier, Variable

from erp_outbound.core import settings as paths
from erp_outbound.core.report import RunReport, vendor_link_html

log = logging.getLogger(__name__)

VARIABLE = "erp_outbound_alerts"
EVENTS = ("new_errors", "run_failed")
ALERT_FIELDS = ("doc_type", "identifier", "document_id", "outcome", "attempts", "reason", "vendor_link",
                "error_url", "error_code", "vendor_reference")


@dataclass(frozen=True)
class AlertSettings:
    webhook_conn_id: str | None = None
    smtp_conn_id: str | None = None
    to: tuple[str, ...] = ()
    from_email: str | None = None
    on: frozenset[str] = frozenset(EVENTS)
    max_failures: int = 20
    timeout: float = 10.0

    @classmethod
    def parse(cls, config) -> AlertSettings:
        if not isinstance(config, dict):
            raise TypeError("expected a JSON object")
        unknown = set(config) - {"webhook_conn_id", "smtp_conn_id", "to", "from_email", "on", "max_failures",
                                 "timeout"}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        to = config.get("to") or ()
        to = (to,) if isinstance(to, str) else tuple(to)
        on = config.get("on", EVENTS)
        if isinstance(on, str) or not set(on) <= set(EVENTS):
            raise ValueError(f"'on' must be a list of {list(EVENTS)}")
        if not config.get("webhook_conn_id") and not config.get("smtp_conn_id"):
            raise ValueError("it names no receiver: set webhook_conn_id and/or smtp_conn_id")
        if config.get("smtp_conn_id") and not to:
            raise ValueError("smtp_conn_id needs 'to' (a list of addresses)")
        return cls(config.get("webhook_conn_id"), config.get("smtp_conn_id"), to, config.get("from_email"),
                   frozenset(on), int(config.get("max_failures", 20)), float(config.get("timeout", 10)))

    def wants(self, event: str) -> bool:
        return event in self.on


def load_settings(logger=log) -> AlertSettings | None:
    """The alert settings, or None when alerts are off. A broken Variable is a warning, never an error."""
    try:
        value = Variable.get(VARIABLE, default=None)
        if value in (None, ""):
            return None
        return AlertSettings.parse(json.loads(value) if isinstance(value, str) else value)
    except Exception as exc:  # noqa: BLE001 - alerts must never break a delivery run
        logger.warning("Alerts are off: the Airflow Variable %r is not a valid alert configuration (%s). "
                       "See the guide's page Alerts (docs/platform/alerts.md).", VARIABLE, exc)
        return None


class WebhookNotifier(BaseNotifier):
    """POST an alert as JSON to an HTTP connection: its host is the URL, its extra the headers."""

    def __init__(self, http_conn_id: str, alert: dict, timeout: float = 10.0) -> None:
        super().__init__()
        self.http_conn_id = http_conn_id
        self.alert = alert
        self.timeout = timeout

    def notify(self, context) -> None:
        from airflow.providers.http.hooks.http import HttpHook

        HttpHook(method="POST", http_conn_id=self.http_conn_id).run(json=self.alert,
                                                                     extra_options={"timeout": self.timeout})


def notifiers(config: AlertSettings, alert: dict) -> list[BaseNotifier]:
    found: list[BaseNotifier] = []
    if config.webhook_conn_id:
        found.append(WebhookNotifier(config.webhook_conn_id, alert, config.timeout))
    if config.smtp_conn_id:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        found.append(SmtpNotifier(to=list(config.to), from_email=config.from_email, smtp_conn_id=config.smtp_conn_id,
                                  subject=alert["title"], html_content=alert_html(alert)))
    return found


def send(config: AlertSettings, alert: dict, context=None, logger=log) -> int:
    """Send to every configured receiver; returns how many took it. Failures are warnings (in ``logger``)."""
    sent = 0
    for notifier in notifiers(config, alert):
        try:
            # notify(), not notifier(context): the alert holds vendor and ERP text that must not be
            # rendered as a Jinja template.
            notifier.notify(context or {})
            sent += 1
        except Exception as exc:  # noqa: BLE001 - an alert receiver must never fail the run
            logger.warning("Could not send the %s alert through %s: %s. The run itself is not affected.",
                           alert["event"], type(notifier).__name__, exc)
    if sent:
        logger.info("Sent the %s alert to %d receiver(s)", alert["event"], sent)
    return sent


def new_errors_alert(report: RunReport, new: list[dict], report_files: dict[str, str], limit: int) -> dict:
    return {
        "event": "new_errors",
        "title": f"erp-outbound: {len(new)} new document error(s) in {report.dag_id}",
        "dag_id": report.dag_id,
        "run_id": report.run_id,
        "vendor": report.vendor,
        "totals": report.totals(),
        "new_errors": len(new),
        "failures": [{k: f[k] for k in ALERT_FIELDS} | {"reason": f["reason"][:500]} for f in new[:limit]],
        "more": max(0, len(new) - limit),
        "report_files": report_files,
    }


def run_failed_alert(context) -> dict:
    dag = context.get("dag")
    dag_id = getattr(dag, "dag_id", None) or str(context.get("dag_id", "?"))
    run_id = context.get("run_id") or getattr(context.get("dag_run"), "run_id", "?")
    task = getattr(context.get("ti"), "task_id", None)
    return {
        "event": "run_failed",
        "title": f"erp-outbound: run {run_id} of {dag_id} failed",
        "dag_id": dag_id,
        "run_id": run_id,
        "reason": str(context.get("reason") or "failed"),
        "task_id": task,
        "reports": paths.reports_url(),
    }


class RunFailedNotifier(BaseNotifier):
    """A DAG's on_failure_callback: sends the run_failed alert when the Variable asks for it."""

    def render_template_fields(self, context, jinja_env=None) -> None:
        """Nothing to render (and dag.test() hands callbacks a DAG without a template environment)."""

    def notify(self, context) -> None:
        config = load_settings(self.log)
        if config is not None and config.wants("run_failed"):
            send(config, run_failed_alert(context), context, self.log)


def alert_html(alert: dict) -> str:
    """The e-mail body: every text escaped; only http(s) error URLs become links."""
    e = html.escape
    lines = [f"<h2>{e(alert['title'])}</h2>",
             f"<p>DAG <b>{e(str(alert['dag_id']))}</b>, run <b>{e(str(alert['run_id']))}</b></p>"]
    if alert["event"] == "run_failed":
        lines.append(f"<p>Reason: {e(alert['reason'])}" + (f"; task {e(alert['task_id'])}" if alert["task_id"] else "")
                     + f". Run reports: {e(alert['reports'])}</p>")
        return "\n".join(lines)
    totals = ", ".join(f"{e(k)} {v}" for k, v in alert["totals"].items())
    rows = "".join(
        f"<tr><td>{e(f['doc_type'])}</td><td>{e(f['identifier'])}</td><td>{e(f['outcome'])}</td>"
        f"<td>{e(f['reason'])}</td><td>{vendor_link_html(alert['vendor'], f)}</td></tr>" for f in alert["failures"])
    lines += [f"<p>This run: {totals}.</p>",
              ("<table border='1' cellpadding='4'><tr><th>type</th><th>document</th><th>outcome</th><th>reason</th>"
               f"<th>vendor link</th></tr>{rows}</table>")]
    if alert["more"]:
        lines.append(f"<p>... and {alert['more']} more new errors.</p>")
    lines.append("<p>Report files: " + ", ".join(e(v) for v in alert["report_files"].values()) + "</p>")
    return "\n".join(lines)
