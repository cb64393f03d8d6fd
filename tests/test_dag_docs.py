"""Each DAG's Docs say what it does and link the guide pages a user needs, and every link leads somewhere.

The links point at the pages the plugin serves inside Airflow (``/erp-outbound/guide/<page>#<anchor>``): the
README at ``/erp-outbound/guide``, ``docs/<page>.md`` below it.
"""

from __future__ import annotations

import re

import pytest
from erp_outbound.ui.guide import guide_html, page_files
from erp_outbound_tools.demo.run import load_dag

DAG_IDS = ["procuros_outgoing", "procuros_tasks", "rambase_purchase_orders", "rambase_invoice_forwarding",
           "gep_por_status"]
BASE = "/erp-outbound/guide"
GUIDE_LINK = re.compile(r"\]\(/erp-outbound/guide(?:/([^)#]*))?(?:#([^)]+))?\)")


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_the_docs_say_what_the_dag_does_and_link_the_guide(dag_id):
    doc = load_dag(dag_id).doc_md
    assert "**What it does.**" in doc and len(doc.split("**Where to read more**")[0]) > 400
    links = GUIDE_LINK.findall(doc)
    pages = {page for page, _ in links}
    assert {"operators/trigger-forms", "operators/run-report", "integrators/connections"} <= pages, links
    files = page_files()
    for page, anchor in links:
        assert page in files, f"{dag_id} links {page!r}, which the guide does not have"
        ids = set(re.findall(r'<h[1-6] id="([^"]+)"', guide_html(page, BASE)))
        assert not anchor or anchor in ids, f"{dag_id} links {page}#{anchor}, a section the page does not have"


def test_the_guide_serves_the_readme_and_the_pages_with_anchors_and_no_raw_html():
    assert '<h2 id="the-two-commands">The two commands</h2>' in guide_html("", BASE)
    assert '<h1 id="the-deliveries-page">The Deliveries page</h1>' in guide_html("operators/deliveries", BASE)
    assert '<h1 id="trigger-forms">Trigger forms</h1>' in guide_html("operators/trigger-forms", BASE)
    for page in page_files():
        html = guide_html(page, BASE)
        assert "<img" not in html and "<script" not in html, page


def test_procuros_outgoing_docs_name_every_document_type_it_sends():
    """Issue 23, point 7: the Docs named 5 of the 12 types."""
    from erp_outbound.dag_defaults import DOCUMENT_TYPE_NAMES
    from erp_outbound.procuros.flows import FLOWS

    doc = load_dag("procuros_outgoing").doc_md
    what = doc.split("**Where to read more**")[0]
    assert len(FLOWS) == 12
    assert [t for t in FLOWS if f"`{t}`" not in what or DOCUMENT_TYPE_NAMES[t].lower() not in what] == []
