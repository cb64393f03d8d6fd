"""The run report in every form: the log table, JSON, CSV and a self-contained HTML page.

Each failed document carries its vendor link (Procuros' error URL, RamBase's error id and
operation, GEP's error codes); hostile text is escaped; the files land in a local folder and
on object storage alike.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from conftest import connect, connect_gep, connect_rambase
from erp_outbound.core.report import FAILURE_COLUMNS, RunReport
from erp_outbound.core.storage import Folder
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.dag_defaults import DOCUMENT_TYPE_NAMES
from erp_outbound_tools.demo.run import load_dag
from erp_outbound_tools.demo.erp import build_demo_erp
from fsspec.implementations.memory import MemoryFileSystem

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
PROCUROS_URL = "https://portal.procuros.io/errors/7f3a?tab=details&x=1"


def verdicts() -> list[Verdict]:
    return [
        Verdict(vendor="procuros", doc_type="ORDER", document_id="1", identifier="PO-1", outcome=Outcome.DELIVERED,
                status="TRANSMITTED", vendor_reference="tx-1"),
        Verdict(vendor="procuros", doc_type="ORDER", document_id="2", identifier="PO-2", outcome=Outcome.REJECTED,
                message="Could not resolve party", errors={"receiver": ["unknown GLN"]}, error_url=PROCUROS_URL,
                attempts_before=1),
        Verdict(vendor="procuros", doc_type="INVOICE", document_id="3", identifier="RE-3", outcome=Outcome.BUILD_ERROR,
                message=f"cannot build {HOSTILE}"),
        Verdict(vendor="procuros", doc_type="INVOICE", document_id="4", identifier="RE-4", outcome=Outcome.REJECTED,
                message="odd link", error_url="javascript:alert(document.cookie)"),
        Verdict(vendor="procuros", doc_type="INVOICE", document_id="5", identifier="RE-5", outcome=Outcome.DEFERRED,
                message="HTTP 503"),
    ]


def rambase_and_gep() -> list[Verdict]:
    return [
        Verdict(vendor="rambase", doc_type="PURCHASE_ORDER_UPDATE", document_id="10", identifier="100010",
                outcome=Outcome.REJECTED, message="Currency mismatch (RamBase error 108018)", error_code="108018"),
        Verdict(vendor="rambase", doc_type="INVOICE_FORWARDING", document_id="11", identifier="100011",
                outcome=Outcome.REJECTED, message="operation failed", error_code="100089", vendor_reference="5001"),
        Verdict(vendor="gep", doc_type="POR_STATUS", document_id="12", identifier="X-12", outcome=Outcome.REJECTED,
                message="E100: Invalid Order Number", error_code="E100,E200"),
    ]


def parse_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_html_escapes_hostile_text_and_links_only_web_urls(tmp_path):
    report = RunReport("procuros", "procuros_outgoing", "manual__2026-01-01T00:00:00+00:00", verdicts=verdicts(),
                       notes=[f"note {HOSTILE}"])
    page = report.to_html()

    assert "<script" not in page and "<img" not in page, "hostile text must be escaped"
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") == 2  # the reason and the note
    href = PROCUROS_URL.replace("&", "&amp;")
    assert f'<a href="{href}" rel="noopener noreferrer">{href}</a>' in page
    assert "javascript:alert(document.cookie)" in page, "a non-web URL is still shown"
    assert 'href="javascript' not in page, "but never as a link"
    # Self-contained: no script, stylesheet, image or font from anywhere; the only URLs are the error links.
    tags = set(re.findall(r"<\s*([!a-zA-Z0-9]+)", page))
    assert tags <= {"!DOCTYPE", "html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "b", "table",
                    "thead", "tbody", "tr", "th", "td", "a", "ul", "li"}, tags
    assert "@import" not in page and "url(" not in page
    assert re.findall(r'href="([^"]+)"', page) == [href]
    # Counts table and the attention list.
    assert "<td>ORDER</td><td>1</td><td>0</td><td>1</td><td>0</td><td>0</td><td>0</td><td>2</td>" in page
    assert "Documents that need attention (4)" in page


def test_every_form_carries_the_vendor_link_of_each_vendor(tmp_path):
    for vendor, items in (("procuros", verdicts()), ("rambase", rambase_and_gep()[:2]), ("gep", rambase_and_gep()[2:])):
        report = RunReport(vendor, f"{vendor}_dag", "run-1", verdicts=items)
        files = report.write(Folder(tmp_path / vendor))
        data = json.loads(Path(files["json"]).read_text())
        rows = parse_csv(Path(files["csv"]).read_text())
        page = Path(files["html"]).read_text()
        log = report.render()
        links = {f["identifier"]: f["vendor_link"] for f in data["failures"]}
        assert links == {r["identifier"]: r["vendor_link"] for r in rows}, "JSON and CSV agree"
        expected = {
            "procuros": {"PO-2": PROCUROS_URL, "RE-3": "", "RE-4": "javascript:alert(document.cookie)", "RE-5": ""},
            "rambase": {"100010": "RamBase error 108018", "100011": "RamBase error 100089 | RamBase operation 5001"},
            "gep": {"X-12": "GEP error E100,E200"},
        }[vendor]
        assert links == expected
        for link in filter(None, expected.values()):
            assert link in log, f"the log table shows {link}"
            assert link.replace("&", "&amp;") in page, f"the page shows {link}"


def test_no_secret_or_payload_field_in_the_files(tmp_path):
    report = RunReport("procuros", "procuros_outgoing", "run-1", verdicts=verdicts())
    files = report.write(Folder(tmp_path))
    data = json.loads(Path(files["json"]).read_text())
    assert set(data) == {"vendor", "dry_run", "totals", "by_type", "dag_id", "run_id", "created_at", "notes",
                         "failures", "uncertain"}
    assert all(list(f) == FAILURE_COLUMNS for f in data["failures"])
    assert list(parse_csv(Path(files["csv"]).read_text())[0]) == FAILURE_COLUMNS
    assert not re.search(r"token|password|secret|payload|body", json.dumps(data), re.IGNORECASE)


def test_the_csv_neutralises_formulas_and_the_json_keeps_the_text(tmp_path):
    """Issue 23, point 10 (OWASP CSV injection): a cell a spreadsheet would run starts with an apostrophe."""
    hostile = ['=HYPERLINK("http://evil.example","click")', "+SUM(1,2)", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]
    items = [Verdict(vendor="procuros", doc_type="ORDER", document_id=str(i), identifier=number,
                     outcome=Outcome.REJECTED, message=number, attempts_before=1) for i, number in enumerate(hostile)]
    report = RunReport("procuros", "procuros_outgoing", "run-1", verdicts=items)
    files = report.write(Folder(tmp_path))
    with open(files["csv"], newline="", encoding="utf-8") as file:  # a CR stays a CR
        rows = parse_csv(file.read())
    assert [r["identifier"] for r in rows] == ["'" + h for h in hostile]
    assert all(r["reason"].startswith("'") for r in rows)
    assert [r["attempts"] for r in rows] == ["2"] * len(hostile), "numbers stay numbers"
    assert [f["identifier"] for f in json.loads(Path(files["json"]).read_text())["failures"]] == hostile


def test_the_log_fits_100_characters_whatever_the_types_and_wraps_reasons_without_cutting_them():
    """Issue 23, point 3: the viewer shows about 130 characters beside the grid and indents the report's lines."""
    types = list(DOCUMENT_TYPE_NAMES)
    items = [Verdict(vendor="procuros", doc_type=t, document_id=f"{t}-{o.value}", identifier=f"N-{t}-{o.value}",
                     outcome=o, message="reason of " + t) for t in types for o in Outcome]
    report = RunReport("procuros", "procuros_outgoing", "manual__2026-11-30T01:34:59.236176+00:00", verdicts=items)
    log = report.render()
    assert max(map(len, log.splitlines())) <= 100, max(log.splitlines(), key=len)
    for doc_type in types:  # every type's counts, each count with its outcome on one line
        line = " ".join(re.search(rf"^  {doc_type} .*(?:\n {{10,}}\S.*)*", log, re.M).group(0).split())
        assert all(f"1 {o.value}" in line for o in Outcome), line


def test_the_log_wraps_reasons_without_cutting_them():
    reason = " ".join(f"receiver GLN 40{i:011d} is not known to Procuros (line {i})" for i in range(8))
    url = "https://portal.procuros.io/errors/0f8e1a7c-1234-4567-89ab-cdef01234567"
    items = [Verdict(vendor="rambase", doc_type="PURCHASE_ORDER_UPDATE", document_id=str(i),
                     identifier=f"PO-2026-{i:06d}", outcome=outcome, message=reason,
                     errors={"lines[0].gtin": ["missing, needs 13 digits"]}, error_url=url, attempts_before=2)
             for i, outcome in enumerate([Outcome.REJECTED, Outcome.BUILD_ERROR, Outcome.DEFERRED])]
    report = RunReport("rambase", "rambase_purchase_orders", "manual__2026-11-30T01:34:59.236176+00:00",
                       dry_run=True, verdicts=items, notes=["an interrupted run left " + "many words " * 40],
                       reported={("PURCHASE_ORDER_UPDATE", "1"): "not reported: Procuros unavailable"})
    log = report.render()
    lines = log.splitlines()
    assert max(map(len, lines)) <= 100, max(lines, key=len)
    assert "…" not in log
    # Each reason is all there, wrapped inside its column: its words in order, whatever comes between.
    words = report.failures()[0]["reason"].split()
    assert len(words) > 60 and re.search(".*?".join(map(re.escape, words)), log, re.DOTALL)
    assert "PURCHASE_ORDER_UPDATE" in log and "PO-2026-000001" in log  # short columns are not broken
    assert url in log, "a vendor link is never broken: the log viewer makes it a link"
    # The files keep every reason whole.
    assert report.failures()[0]["reason"].startswith(reason)


@pytest.fixture
def memory_storage():
    """An fsspec memory filesystem attached to Airflow's ObjectStoragePath as memory://."""
    from airflow.sdk.io.store import _STORE_CACHE, attach

    fs = MemoryFileSystem()
    attach("memory", fs=fs)
    yield fs
    if fs.exists("/reports-bucket"):
        fs.rm("/reports-bucket", recursive=True)
    _STORE_CACHE.pop("memory", None)


def test_files_land_in_a_local_folder_and_on_object_storage(tmp_path, memory_storage):
    from airflow.sdk import ObjectStoragePath

    report = RunReport("procuros", "procuros_outgoing", "manual__2026-01-01T00:00:00+00:00", verdicts=verdicts())
    local = report.write(Folder(tmp_path / "reports"))
    remote = report.write(Folder("memory://reports-bucket/erp"))
    assert set(local) == set(remote) == {"json", "csv", "html"}
    stem = "procuros_outgoing__manual__2026-01-01T00_00_00_00_00"
    for kind in ("json", "csv", "html"):
        assert local[kind] == str(tmp_path / "reports" / f"{stem}.{kind}")
        assert remote[kind] == f"memory://reports-bucket/erp/{stem}.{kind}"
        assert ObjectStoragePath(remote[kind]).read_text() == Path(local[kind]).read_text()
    # Airflow's own local:// scheme goes through ObjectStoragePath too, and lands on disk.
    via_airflow = report.write(Folder(f"local://{tmp_path}/via-objectstorage"))
    assert via_airflow["html"].startswith("local://")
    assert (tmp_path / "via-objectstorage" / f"{stem}.html").read_text() == report.to_html()


@pytest.mark.airflow
def test_dag_runs_write_vendor_links_everywhere_and_log_where(tmp_path, files, sandbox_with, monkeypatch, capfd,
                                                              memory_storage):
    """Real runs of the Procuros, RamBase and GEP DAGs: every failed document has its vendor link."""
    from airflow.sdk import ObjectStoragePath

    url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 300, seed=21)
    sandbox = sandbox_with()
    connect(monkeypatch, url, sandbox.base_url)
    connect_rambase(monkeypatch, sandbox.base_url)
    connect_gep(monkeypatch, sandbox.base_url)
    monkeypatch.setenv("ERP_OUTBOUND_REPORTS", "memory://reports-bucket/runs")

    checked = {}
    for dag_id, conf in (("procuros_outgoing", {"report_after": 1}), ("rambase_purchase_orders", {}),
                         ("rambase_invoice_forwarding", {}), ("gep_por_status", {})):
        capfd.readouterr()
        dag_run = load_dag(dag_id).test(run_conf=conf)
        out, err = capfd.readouterr()
        assert str(dag_run.state).endswith("success"), dag_id
        (logged,) = re.findall(r"Report files:\s+(\S+)\s+(\S+)\s+(\S+)", out + err)
        assert all(path.startswith("memory://reports-bucket/runs/") for path in logged), "reconcile says where"
        json_path, csv_path, html_path = logged
        data = json.loads(ObjectStoragePath(json_path).read_text())
        rows = {(r["doc_type"], r["document_id"]): r for r in parse_csv(ObjectStoragePath(csv_path).read_text())}
        page = ObjectStoragePath(html_path).read_text()
        failed = [f for f in data["failures"] if f["outcome"] in ("REJECTED", "BUILD_ERROR")]
        assert failed, f"{dag_id}: the demo has failing documents"
        for f in failed:
            assert rows[f["doc_type"], f["document_id"]]["vendor_link"] == f["vendor_link"]
            if dag_id == "procuros_outgoing":  # every failure is reported or refused: each has its portal link
                assert f["error_url"].startswith(sandbox.base_url) and f["vendor_link"] == f["error_url"]
                assert f'<a href="{f["error_url"]}"' in page
            elif f["error_code"]:
                name = "GEP" if dag_id == "gep_por_status" else "RamBase"
                assert f"{name} error {f['error_code']}" in f["vendor_link"]
                assert f["vendor_link"] in page and f["vendor_link"][:60] in out + err
        checked[dag_id] = [f["vendor_link"] for f in failed if f["vendor_link"]]
    assert checked["procuros_outgoing"] and checked["gep_por_status"]
    assert any(link.startswith("RamBase error 108018") for link in checked["rambase_purchase_orders"])
    assert any(re.fullmatch(r"RamBase error \d+ \| RamBase operation \d+", link)
               for link in checked["rambase_invoice_forwarding"]), "an operation in status 7 names its instance"


def test_uncertain_documents_are_listed_apart_with_what_to_check_and_count_no_attempt(tmp_path):
    """Issue 15, point 2: an answer lost after the vendor may have acted is neither a refusal nor an attempt."""
    lost = Verdict(vendor="rambase", doc_type="INVOICE_FORWARDING", document_id="7", identifier="151150",
                   outcome=Outcome.UNCERTAIN, attempts_before=0,
                   message="No answer to the forwarding request (timeout): RamBase may have run it. Check in RamBase "
                           "whether the items of order response 151150 are on supplier invoice 311899")
    refused = Verdict(vendor="rambase", doc_type="INVOICE_FORWARDING", document_id="8", identifier="151151",
                      outcome=Outcome.REJECTED, message="Product not found", error_code="100089",
                      vendor_reference="400009", attempts_before=1)
    report = RunReport("rambase", "rambase_invoice_forwarding", "scheduled__1", verdicts=[lost, refused])
    assert not Outcome.UNCERTAIN.is_final and not Outcome.UNCERTAIN.counts_attempt
    assert report.totals()["UNCERTAIN"] == 1 and report.totals()["REJECTED"] == 1
    assert [f["document_id"] for f in report.failures()] == ["8"]
    [uncertain] = report.uncertain()
    assert (uncertain["outcome"], uncertain["attempts"]) == ("UNCERTAIN", 0)

    text = report.render()
    attention, apart = text.split("Uncertain: check at the vendor (1):")
    assert "Documents that need attention (1)" in attention and "151150" not in attention
    assert "order response 151150 are on supplier invoice 311899" in " ".join(apart.split())
    assert ("Once checked: erp-outbound release --vendor rambase --dag rambase_invoice_forwarding "
            "--as delivered|pending 7") in " ".join(apart.split())

    files = report.write(Folder(tmp_path))
    data = json.loads(Path(files["json"]).read_text())
    assert [u["document_id"] for u in data["uncertain"]] == ["7"]
    assert [f["document_id"] for f in data["failures"]] == ["8"]
    assert data["release_command"].startswith("erp-outbound release --vendor rambase --dag rambase_invoice_forwarding")
    assert {r["document_id"]: r["outcome"] for r in parse_csv(Path(files["csv"]).read_text())} == \
        {"8": "REJECTED", "7": "UNCERTAIN"}
    page = Path(files["html"]).read_text()
    assert "Uncertain: check at the vendor (1)" in page and "supplier invoice 311899" in page


def test_uncertain_documents_without_a_release_say_what_a_person_does(tmp_path):
    """Procuros' uncertain rows stay pending: the report prints what to do, never a release command."""
    failed = Verdict(vendor="procuros", doc_type="INVOICE", document_id="7", identifier="RE-7",
                     outcome=Outcome.UNCERTAIN, vendor_reference="tx-9",
                     message="Asked Procuros after a lost answer: transaction tx-9 is FAILED")
    report = RunReport("procuros", "procuros_invoices", "scheduled__1", verdicts=[failed],
                       uncertain_action="nothing to release: look tx up in the Procuros portal")
    text = " ".join(report.render().split())
    assert "Once checked: nothing to release: look tx up in the Procuros portal" in text
    assert "erp-outbound release" not in text
    files = report.write(Folder(tmp_path))
    data = json.loads(Path(files["json"]).read_text())
    assert "release_command" not in data and data["uncertain_action"].startswith("nothing to release")
    page = Path(files["html"]).read_text()
    assert "erp-outbound release" not in page and "not sent again until" not in page
    assert "nothing to release" in page
