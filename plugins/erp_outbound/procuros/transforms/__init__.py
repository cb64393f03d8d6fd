"""pandas builders of Procuros transaction payloads, one per document type."""

from __future__ import annotations

from collections.abc import Callable

from erp_outbound.core.batch import Built, Extracted
from erp_outbound.procuros.flows import FLOWS

Builder = Callable[[Extracted, str], Built]

# The builders by type, as procuros/flows.py names them (one list of which function builds which type).
BUILDERS: dict[str, Builder] = {doc_type: flow.build for doc_type, flow in FLOWS.items()}

__all__ = ["BUILDERS", "Built", "Extracted"]
