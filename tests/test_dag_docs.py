"""Each DAG's Docs say what it does and link the guide sections a user needs, and every link leads somewhere.

The links point at the README as the plugin serves it inside Airflow (``/erp-outbound/guide``).
"""

from __future__ import annotations

import re

import pytest
from erp_outbound.ui.guide import guide_html
from erp_outbound_tools.demo.run import load_dag

DAG_IDS = ["procuros_outgoing", "procuros_tasks", "rambase_purchase_orders", "rambase_invoice_forwarding",
           "gep_por_status"]
GUIDE_LINK = re.compile(r"\]\(/erp-outbound/guide#([^)]+)\)")


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_the_docs_say_what_the_dag_does_and_link_the_guide(dag_id):
    doc = load_dag(dag_id).doc_md
    assert "**What it does.**" in doc and len(doc.split("**Where to read more**")[0]) > 400
    anchors = GUIDE_LINK.findall(doc)
    assert {"trigger-forms", "reading-a-run-report", "connections"} <= set(anchors), anchors
    ids = set(re.findall(r'<h[1-6] id="([^"]+)"', guide_html()))
    assert [a for a in anchors if a not in ids] == [], f"{dag_id} links sections the guide does not have"


def test_the_guide_is_the_readme_with_anchors_and_no_raw_html():
    page = guide_html()
    assert '<h2 id="the-deliveries-page">The Deliveries page</h2>' in page
    assert '<h3 id="trigger-forms">Trigger forms</h3>' in page
    assert "<img" not in page and "<script" not in page


def test_procuros_outgoing_docs_name_every_document_type_it_sends():
    """Issue 23, point 7: the Docs named 5 of the 12 types."""
    from erp_outbound.dag_defaults import DOCUMENT_TYPE_NAMES
    from erp_outbound.procuros.flows import FLOWS

    doc = load_dag("procuros_outgoing").doc_md
    what = doc.split("**Where to read more**")[0]
    assert len(FLOWS) == 12
    assert [t for t in FLOWS if f"`{t}`" not in what or DOCUMENT_TYPE_NAMES[t].lower() not in what] == []
