"""The verdict is built with keywords only: moving a field can never shift another caller's values."""

from __future__ import annotations

import dataclasses

import pytest

from erp_outbound.core.verdict import Outcome, Verdict


def test_a_verdict_refuses_positional_arguments():
    with pytest.raises(TypeError):
        Verdict("gep", "POR_STATUS", "1", "PO-1", Outcome.DELIVERED)  # type: ignore[misc]


def test_a_verdict_built_with_keywords_keeps_each_value_in_its_field():
    verdict = Verdict(vendor="gep", doc_type="POR_STATUS", document_id="1", identifier="PO-1",
                      outcome=Outcome.REJECTED, http_status=400, attempts_before=2, error_code="E1")
    assert (verdict.vendor, verdict.doc_type, verdict.document_id, verdict.identifier) == (
        "gep", "POR_STATUS", "1", "PO-1")
    assert (verdict.outcome, verdict.http_status, verdict.attempts_before, verdict.error_code) == (
        Outcome.REJECTED, 400, 2, "E1")
    assert verdict.errors == {} and verdict.status is None


def test_every_field_is_keyword_only_and_verdicts_keep_slots():
    assert all(f.kw_only for f in dataclasses.fields(Verdict))
    assert not hasattr(Verdict(vendor="v", doc_type="T", document_id="1", identifier="1",
                               outcome=Outcome.DEFERRED), "__dict__")
