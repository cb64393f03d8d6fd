"""The benchmark's ERP, built fast with executemany: N valid Procuros ORDERs with 5 lines each,
N valid RamBase purchase-order updates, or N GEP purchase order response statuses."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import insert

from erp_outbound_tools.demo.erp import create_schema, gs1_check_digit
from erp_outbound.erp.hook import make_engine
from erp_outbound.erp.state import ensure_tables

LINES_PER_ORDER = 5
SUPPLIERS = 50
PRODUCTS = 200
ANCHOR = datetime(2026, 11, 2, 9, 0)


def _gln(n: int) -> str:
    body = f"43{n:010d}"
    return body + gs1_check_digit(body)


def build_orders(url: str, orders: int, seed: int = 1) -> None:
    """A fresh ERP holding ``orders`` pending ORDERs (5 lines each) to 50 suppliers."""
    engine = make_engine(url)
    create_schema(engine, reset=True)
    ensure_tables(engine)
    rng = random.Random(seed)
    from sqlalchemy import MetaData

    meta = MetaData()
    meta.reflect(engine, only=["partners", "products", "purchase_orders", "purchase_order_lines"])
    t = meta.tables
    partners = [dict(id="OWN", kind="self", name="Bench GmbH", gln=_gln(1), vat_id="DE123456789",
                     street="Hauptstr. 1", city="Berlin", postal_code="10115", country_code="DE",
                     contact_email="edi@bench.example", is_enabled=True, via_procuros=True)]
    partners += [dict(id=f"LI-{2000 + i}", kind="supplier", name=f"Supplier {i} GmbH", gln=_gln(100 + i),
                      vat_id=None, street=f"Weg {i}", city="Hamburg", postal_code="20095", country_code="DE",
                      contact_email=f"edi{i}@supplier.example", is_enabled=True, via_procuros=True)
                 for i in range(SUPPLIERS)]
    products = []
    for i in range(PRODUCTS):
        body = f"400{i:09d}"
        products.append(dict(id=f"SKU-{i:05d}", gtin=body + gs1_check_digit(body), description=f"Article {i}",
                             unit_of_measure="EA", tax_rate=19))
    with engine.begin() as conn:
        conn.execute(insert(t["partners"]), partners)
        conn.execute(insert(t["products"]), products)
    step = 20_000
    for start in range(0, orders, step):
        heads, lines = [], []
        for n in range(start + 1, min(orders, start + step) + 1):
            heads.append(dict(id=n, order_number=f"PO-B-{n:07d}", order_date=ANCHOR - timedelta(minutes=n % 5000),
                              supplier_id=f"LI-{2000 + n % SUPPLIERS}", currency="EUR", version=1, attempts=0))
            for line in range(1, LINES_PER_ORDER + 1):
                lines.append(dict(order_id=n, line_number=line, product_id=f"SKU-{rng.randrange(PRODUCTS):05d}",
                                  quantity=rng.randint(1, 50), unit_price=round(rng.uniform(1, 100), 2)))
        with engine.begin() as conn:
            conn.execute(insert(t["purchase_orders"]), heads)
            conn.execute(insert(t["purchase_order_lines"]), lines)
    engine.dispose()


def _tables(url: str, *names: str):
    engine = make_engine(url)
    create_schema(engine, reset=True)
    ensure_tables(engine)
    from sqlalchemy import MetaData

    meta = MetaData()
    meta.reflect(engine, only=list(names))
    return engine, meta.tables


RAMBASE_FIRST_ID = 100001  # inside the sandbox's range of purchase orders that take every update


def build_po_updates(url: str, updates: int) -> None:
    """A fresh ERP holding ``updates`` pending RamBase purchase-order updates RamBase takes (200)."""
    engine, t = _tables(url, "rambase_po_updates")
    rows = [dict(id=n, purchase_order_id=RAMBASE_FIRST_ID + n, suppliers_reference=f"Buyer {n % 40}",
                 suppliers_reference_number=f"SO-2026-{n:05d}", currency="EUR", note="Deliver to gate 3",
                 ship_to_attention=None, location_id=10000, assignee_user_id=100 + n % 300, supplier_id=None,
                 ship_from_address_id=None, delivery_terms="DAP", delivery_term_place="Oslo",
                 shipping_service_id=None, payment_terms="NET30", rambase_status=None, rambase_error=None,
                 rambase_error_id=None, attempts=0, last_attempt_at=None) for n in range(1, updates + 1)]
    with engine.begin() as conn:
        conn.execute(insert(t["rambase_po_updates"]), rows)
    engine.dispose()


def build_por_statuses(url: str, statuses: int) -> None:
    """A fresh ERP holding ``statuses`` pending GEP acknowledgements GEP takes (every key succeeds)."""
    engine, t = _tables(url, "gep_por_statuses")
    rows = [dict(id=n, order_number=f"48{n:08d}", processing_status="Processed" if n % 5 else "Failed",
                 comment=None if n % 5 else "Price differs on line 1", source_system_name="SAP-ERP",
                 source_system_value="S4P-100", lob="Direct", error_code=None if n % 5 else "PRICE",
                 ack_status=None, ack_errors=None, attempts=0, last_attempt_at=None)
            for n in range(1, statuses + 1)]
    with engine.begin() as conn:
        conn.execute(insert(t["gep_por_statuses"]), rows)
    engine.dispose()
