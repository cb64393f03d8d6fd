"""The load's counts as an OpenLineage run facet (imported only when lineage is built: see core/lineage.py)."""

from __future__ import annotations

from attrs import define
from openlineage.client.facet_v2 import RunFacet


@define
class DeliveryRunFacet(RunFacet):
    """What one load task did: documents answered or left for the next run, build errors, requests."""

    vendor: str
    documentTypes: list[str]
    answered: int
    deferred: int
    requests: int
    retries: int
    throttled: int
    skipped_claims: int
    buildErrors: int

    # Names of types and the vendor, never data: nothing here to redact.
    _additional_skip_redact = ["vendor", "documentTypes"]
