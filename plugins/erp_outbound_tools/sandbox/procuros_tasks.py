"""A task queue worth draining: every task type, both payload spellings, and an unknown type."""

from __future__ import annotations


def demo_tasks() -> list[dict]:
    """Tasks for the demo ERP's partners (customers KU-1000..., suppliers LI-2000...)."""
    return [
        {"type": "EXPORT_CUSTOMERS"},
        {"type": "EXPORT_SUPPLIERS"},
        {"type": "SYNC_ENABLED_TRADE_PARTNERS",
         "payload": {"customers": ["KU-1000", "KU-1001", "KU-1002", "KU-9999"], "suppliers": ["LI-2000"]}},
        # One published example spells the key "supplier".
        {"type": "SYNC_ENABLED_TRADE_PARTNERS",
         "payload": {"customers": ["KU-1000", "KU-1001", "KU-1002"], "supplier": ["LI-2000", "LI-2001"]}},
        {"type": "EXPORT_PRODUCTS"},
    ]
