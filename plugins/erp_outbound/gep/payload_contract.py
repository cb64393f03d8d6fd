"""GEP SMART's contract for an acknowledgement entry, from its documentation (seed 004, UpdateProcessedPORStatus).

One entry of ``{"model": [...]}`` per document: the batch operator joins them. The documentation
names seven string properties, of which ``key`` is mandatory ("Key is mandatory"); it states no
lengths, so none are checked. A property it does not name is a mistake of ours, not a GEP field.
"""

from __future__ import annotations

from erp_outbound.core.contract import SCHEMA_DIALECT, Contract
from erp_outbound.gep.flows import POR_STATUS

_TEXT = {"type": "string", "minLength": 1}

STATUS_ENTRY = {
    "$schema": SCHEMA_DIALECT,
    "title": "UpdateProcessedDocumentStatusModel (seed 004)",
    "type": "object",
    "required": ["key"],
    "properties": {name: _TEXT for name in (
        "key", "status", "description", "sourceSystemName", "sourceSystemValue", "lob", "errorCode")},
    "additionalProperties": False,
}


def contract() -> Contract:
    return Contract("gep", {POR_STATUS: STATUS_ENTRY})
