"""The demo ERP's documents of the seven later Procuros types.

:func:`add_documents` fills the tables of ``include/erp/demo_schema.sql`` for RECEIVAL_NOTICE,
REMITTANCE_ADVICE, SALES_REPORT, PRODUCT_CATALOG, INVENTORY_REPORT, DISPATCH_INSTRUCTION and
DISPATCH_INSTRUCTION_RESPONSE, beside the five types :mod:`erp_outbound_tools.demo.erp` makes, from
a random generator of its own (``default_rng([seed, 3])``): a seed's other data stays as it was.

The demo company (``OWN``) plays every role a type needs: it receives goods from suppliers and
reports them (RECEIVAL_NOTICE), pays suppliers (REMITTANCE_ADVICE), reports its sell-out per
store (SALES_REPORT), sends customers its price lists (PRODUCT_CATALOG), instructs a logistics
partner to ship to customers (DISPATCH_INSTRUCTION), and, as a fulfilment provider for some
customers, reports their stock (INVENTORY_REPORT) and what it shipped for them
(DISPATCH_INSTRUCTION_RESPONSE).

Each type gets ``round(documents * SHARE)`` documents. From :data:`PLANTED_FROM` documents on,
at least two cannot be built (each for one reason of :data:`REASONS`, the type's own check
first), one goes to an inactive partner (NO_ACTION) and one to a partner Procuros does not
know (REJECTED); the rest are expected to be TRANSMITTED.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np

from erp_outbound_tools.demo.erp import (
    ANCHOR,
    INVALID_CURRENCY,
    MISSING_GTIN,
    PARTNER_WITHOUT_IDENTIFIER,
    gs1_check_digit,
)

SHARE = 0.04
PLANTED_FROM = 8
OUTCOMES = ("TRANSMITTED", "NO_ACTION", "REJECTED", "BUILD_ERROR")

REJECTED_WITHOUT_REASON = "rejected_without_reason"
AMOUNTS_DO_NOT_ADD_UP = "amounts_do_not_add_up"
LOCATION_WITHOUT_GLN = "location_without_gln"
UNKNOWN_ACTION = "unknown_action"
NEGATIVE_STOCK = "negative_stock"
SHIPS_MORE_THAN_ORDERED = "ships_more_than_ordered"

#: Type -> (table, line table, foreign key of the lines, column of the receiving partner, reasons it
#: cannot be built (its own check first)).
TYPES: dict[str, tuple[str, str, str, str, tuple[str, ...]]] = {
    "RECEIVAL_NOTICE": ("goods_receipts", "goods_receipt_lines", "receipt_id", "supplier_id",
                        (REJECTED_WITHOUT_REASON, MISSING_GTIN, PARTNER_WITHOUT_IDENTIFIER)),
    "REMITTANCE_ADVICE": ("payments", "payment_items", "payment_id", "supplier_id",
                          (AMOUNTS_DO_NOT_ADD_UP, PARTNER_WITHOUT_IDENTIFIER, INVALID_CURRENCY)),
    "SALES_REPORT": ("sales_reports", "sales_report_lines", "report_id", "supplier_id",
                     (LOCATION_WITHOUT_GLN, MISSING_GTIN, PARTNER_WITHOUT_IDENTIFIER)),
    "PRODUCT_CATALOG": ("product_catalogs", "product_catalog_items", "catalog_id", "customer_id",
                        (UNKNOWN_ACTION, MISSING_GTIN, INVALID_CURRENCY)),
    "INVENTORY_REPORT": ("stock_reports", "stock_report_lines", "report_id", "owner_id",
                         (NEGATIVE_STOCK, MISSING_GTIN, PARTNER_WITHOUT_IDENTIFIER)),
    "DISPATCH_INSTRUCTION": ("dispatch_instructions", "dispatch_instruction_lines", "instruction_id",
                             "logistics_partner_id", (SHIPS_MORE_THAN_ORDERED, MISSING_GTIN,
                                                      PARTNER_WITHOUT_IDENTIFIER)),
    "DISPATCH_INSTRUCTION_RESPONSE": ("dispatch_confirmations", "dispatch_confirmation_lines", "confirmation_id",
                                      "client_id", (SHIPS_MORE_THAN_ORDERED, MISSING_GTIN,
                                                    PARTNER_WITHOUT_IDENTIFIER)),
}
#: Our stores, the selling locations of the sales reports (partner_addresses of OWN); the last
#: has no GLN yet: a report naming it cannot be built.
STORES = (("OWN-M1", "Spreeland Markt Berlin-Mitte", "Rosenthaler Straße 40", "Berlin", "10178", 31),
          ("OWN-M2", "Spreeland Markt Potsdam", "Brandenburger Straße 12", "Potsdam", "14467", 32),
          ("OWN-M3", "Spreeland Markt Leipzig", "Petersstraße 8", "Leipzig", "04109", 33),
          ("OWN-M9", "Spreeland Pop-up Store Hamburg", "Spitalerstraße 1", "Hamburg", "20095", None))
WAREHOUSES = ("OWN-S1", "OWN-S2")

#: The partner category a document's fate needs (demo.py's categories); the others go to normal partners.
_CATEGORY = {"inactive": "inactive", "unknown": "unknown", PARTNER_WITHOUT_IDENTIFIER: "noid"}
_REJECT_REASONS = ("Transportschaden", "Mindesthaltbarkeit unterschritten", "Verpackung beschädigt",
                   "Falsche Ware geliefert")
_METHODS = ("SEPA credit transfer", "SEPA credit transfer", "SEPA credit transfer", "SEPA direct debit", "cheque")
_CARRIERS = ("DHL Freight", "DB Schenker", "Dachser", "Kühne + Nagel", "GLS")
_SHIPPING = ("Stückgut", "Paket", "Komplettladung", "Express")
_NOTES = ("Anlieferung nur werktags 7-15 Uhr.", "Avis 24 h vorher.", "Rampe 2.", "Palettentausch.", None, None)


def add_documents(seed: int, b, documents: int, customers, suppliers) -> dict:
    """Fill the seven types' tables into the demo builder ``b``; their summary (see :func:`with_more`)."""
    rng = np.random.default_rng([seed, 3])
    w = _World(rng, b, customers, suppliers)
    counts = {t: int(round(documents * SHARE)) for t in TYPES}
    plans = {t: _plan(rng, n, TYPES[t][4]) for t, n in counts.items()}
    w.add_stores()
    _receival_notices(w, plans["RECEIVAL_NOTICE"])
    _payments(w, plans["REMITTANCE_ADVICE"])
    _sales_reports(w, plans["SALES_REPORT"])
    _catalogs(w, plans["PRODUCT_CATALOG"])
    _stock_reports(w, plans["INVENTORY_REPORT"])
    _dispatch_instructions(w, plans["DISPATCH_INSTRUCTION"])
    _dispatch_confirmations(w, plans["DISPATCH_INSTRUCTION_RESPONSE"])
    return {
        "documents_by_type": {t: len(p) for t, p in plans.items()},
        "expected_outcomes_by_type": {t: _outcomes(p) for t, p in plans.items()},
        "unbuildable_by_type": {t: {r: int((p == r).sum()) for r in TYPES[t][4]} for t, p in plans.items()},
    }


def with_more(summary: dict, more: dict) -> dict:
    """The demo summary with the seven types added to its per-type and total counts."""
    for key in ("documents_by_type", "expected_outcomes_by_type", "unbuildable_by_type"):
        summary[key] = summary[key] | more[key]
    summary["expected_outcomes"] = {o: sum(v[o] for v in summary["expected_outcomes_by_type"].values())
                                    for o in OUTCOMES}
    unbuildable: dict[str, int] = defaultdict(int)
    for reasons in summary["unbuildable_by_type"].values():
        for reason, n in reasons.items():
            unbuildable[reason] += n
    summary["unbuildable"] = dict(unbuildable)
    return summary


# --------------------------------------------------------------------------- plans and partners


def _plan(rng: np.random.Generator, n: int, reasons: tuple[str, ...]) -> np.ndarray:
    """The fate of each document: ok | inactive | unknown | one reason it cannot be built."""
    plan = np.full(n, "ok", dtype=object)
    if n < PLANTED_FROM:
        return plan
    n_bad, n_inactive, n_unknown = max(2, round(n * 0.05)), max(1, round(n * 0.03)), max(1, round(n * 0.03))
    order = rng.permutation(n)
    plan[order[:n_bad]] = [reasons[k % len(reasons)] for k in range(n_bad)]
    plan[order[n_bad:n_bad + n_inactive]] = "inactive"
    plan[order[n_bad + n_inactive:n_bad + n_inactive + n_unknown]] = "unknown"
    return plan


def _outcomes(plan: np.ndarray) -> dict[str, int]:
    inactive, unknown, ok = (int((plan == k).sum()) for k in ("inactive", "unknown", "ok"))
    return {"TRANSMITTED": ok, "NO_ACTION": inactive, "REJECTED": unknown,
            "BUILD_ERROR": len(plan) - ok - inactive - unknown}


class _World:
    """The demo's partners, addresses and products as the document makers need them."""

    def __init__(self, rng: np.random.Generator, b, customers, suppliers):
        self.rng, self.b, self.customers, self.suppliers = rng, b, customers, suppliers
        products = b.tables["products"]
        gtin = np.array(products["gtin"], dtype=object)
        self.product_ids = np.array(products["id"], dtype=object)
        self.products = np.flatnonzero(gtin != None)  # noqa: E711 - elementwise
        self.gtinless = np.flatnonzero(gtin == None)  # noqa: E711
        self.food = np.array(products["tax_rate"], dtype=float) < 10  # reduced VAT: food, with batches
        self.uom = np.array(products["unit_of_measure"], dtype=object)
        self.addresses: dict[tuple[str, str], list[str]] = defaultdict(list)
        addresses = b.tables["partner_addresses"]
        for aid, partner, role in zip(addresses["id"], addresses["partner_id"], addresses["role"]):
            self.addresses[(partner, role)].append(aid)
        self.own_prefix = b.tables["partners"]["gln"][b.tables["partners"]["id"].index("OWN")][:9]

    def receivers(self, plan: np.ndarray, partners) -> list[str]:
        """The receiving partner of each document, from the pool its fate needs."""
        out = []
        for fate in plan.tolist():
            pool = partners.pool(_CATEGORY.get(fate, "normal"))
            out.append(str(partners.ids[pool[int(self.rng.integers(len(pool)))]]))
        return out

    def normal(self, partners) -> str:
        pool = partners.pool("normal")
        return str(partners.ids[pool[int(self.rng.integers(len(pool)))]])

    def ship_to(self, customer: str) -> str | None:
        places = self.addresses.get((customer, "shipTo"))
        return places[int(self.rng.integers(len(places)))] if places else None

    def items(self, fate: str, lo: int, hi: int) -> list[int]:
        """Distinct product indexes for a document's lines; a planted MISSING_GTIN gets one without GTIN."""
        k = int(self.rng.integers(lo, hi + 1))
        chosen = [int(p) for p in self.rng.choice(self.products, size=min(k, len(self.products)), replace=False)]
        if fate == MISSING_GTIN:
            chosen[int(self.rng.integers(len(chosen)))] = int(self.rng.choice(self.gtinless))
        return chosen

    def quantity(self, product: int) -> float:
        if self.uom[product] in ("KGM", "LTR", "MTR"):
            return round(float(self.rng.gamma(2.0, 15.0)) + 0.5, 1)
        return float(self.rng.choice([6, 10, 12, 20, 24, 30, 48, 60, 100, 120]))

    def moment(self, days_back_lo: int, days_back_hi: int) -> dt.datetime:
        day = ANCHOR.date() - dt.timedelta(days=int(self.rng.integers(days_back_lo, days_back_hi + 1)))
        return dt.datetime.combine(day, dt.time(int(self.rng.integers(7, 18)), int(self.rng.integers(60))))

    def batch(self, product: int, when: dt.datetime) -> tuple[str | None, dt.date | None]:
        if not self.food[product]:
            return None, None
        best_before = when.date() + dt.timedelta(days=int(self.rng.integers(60, 540)))
        return f"L{int(self.rng.integers(10**6, 10**7))}", best_before

    def sscc(self, serial: int) -> str:
        body = f"3{self.own_prefix[:7]}{serial:09d}"
        return body + gs1_check_digit(body)

    def currency(self, fate: str) -> str:
        if fate == INVALID_CURRENCY:
            return str(self.rng.choice(["eur", "EU", "€"]))
        return "EUR" if self.rng.random() < 0.97 else "CHF"

    def add_stores(self) -> None:
        addresses = self.b.tables["partner_addresses"]
        for sid, name, street, city, postal, location in STORES:
            gln = None
            if location is not None:
                body = f"{self.own_prefix}{location:03d}"
                gln = body + gs1_check_digit(body)
            row = dict(id=sid, partner_id="OWN", role="shipTo", name=name, gln=gln, street=street, city=city,
                       postal_code=postal, country_code="DE", contact_first_name="Marktleitung",
                       contact_last_name=city, contact_email=f"markt.{sid[-2:].lower()}@spreeland-handel.de",
                       contact_phone="+49 30 2345670-60")
            for key, values in addresses.items():
                values.append(row[key])

    def table(self, name: str, rows: list[dict], pending: bool = True, version: bool = True) -> None:
        if pending:
            for row in rows:
                if version:
                    row["version"] = 1
                row.update(status=None, error_url=None, attempts=0, last_error=None, procuros_transaction_id=None,
                           procuros_status=None, last_attempt_at=None)
        if rows:
            self.b.add_rows(name, rows)


def _number(prefix: str, i: int) -> str:
    return f"{prefix}-{ANCHOR.year}-{i:06d}"


# --------------------------------------------------------------------------- the seven types


def _receival_notices(w: _World, plan: np.ndarray) -> None:
    heads, lines = [], []
    orders = defaultdict(list)  # our purchase orders per supplier: receipts refer to them
    po = w.b.tables.get("purchase_orders", {})
    for number, date, supplier in zip(po.get("order_number", []), po.get("order_date", []), po.get("supplier_id", [])):
        orders[supplier].append((number, date))
    for i, (fate, supplier) in enumerate(zip(plan.tolist(), w.receivers(plan, w.suppliers)), start=1):
        when = w.moment(1, 30)
        known = [o for o in orders.get(supplier, ()) if o[1] < when - dt.timedelta(days=1)]
        order = (known[int(w.rng.integers(len(known)))] if known
                 else (_number("PO", 900000 + i), when - dt.timedelta(days=6)))  # an order from before the demo
        note_date = when - dt.timedelta(days=int(w.rng.integers(0, 3)), hours=int(w.rng.integers(1, 6)))
        heads.append(dict(id=i, receipt_number=_number("WE", i), receipt_date=when, supplier_id=supplier,
                          warehouse_id=str(w.rng.choice(WAREHOUSES)), purchase_order_number=order[0],
                          purchase_order_date=order[1], delivery_note_number=f"LF{int(w.rng.integers(10**6, 10**7))}",
                          delivery_note_date=note_date, package_id=w.sscc(500000 + i),
                          package_type=str(w.rng.choice(["EURO_PALLET", "EURO_PALLET", "EURO_PALLET_HALF", "CARTON"])),
                          comments=None))
        products = w.items(fate, 1, 6)
        damaged = int(w.rng.integers(len(products))) if fate == REJECTED_WITHOUT_REASON or w.rng.random() < 0.15 else -1
        for n, product in enumerate(products, start=1):
            ordered = w.quantity(product)
            delivered = ordered if w.rng.random() < 0.9 else max(1.0, float(np.floor(ordered * 0.8)))
            rejected = float(max(1, int(delivered // 10))) if n - 1 == damaged else 0.0
            reason = None if fate == REJECTED_WITHOUT_REASON or not rejected else str(w.rng.choice(_REJECT_REASONS))
            batch, best_before = w.batch(product, when)
            lines.append(dict(receipt_id=i, line_number=n, order_line_number=n * 10,
                              product_id=w.product_ids[product], ordered_quantity=ordered,
                              delivered_quantity=delivered, received_quantity=delivered - rejected,
                              rejected_quantity=rejected, reject_reason=reason, batch_number=batch,
                              best_before_date=best_before))
    w.table("goods_receipts", heads)
    w.table("goods_receipt_lines", lines, pending=False)


def _payments(w: _World, plan: np.ndarray) -> None:
    heads, lines = [], []
    for i, (fate, supplier) in enumerate(zip(plan.tolist(), w.receivers(plan, w.suppliers)), start=1):
        when = w.moment(0, 20)
        payees = w.addresses.get((supplier, "payTo"))
        heads.append(dict(id=i, advice_number=_number("ZA", i), advice_date=when,
                          payment_date=(when + dt.timedelta(days=1)).date(), supplier_id=supplier,
                          payee_id=payees[0] if payees else None, payment_method=str(w.rng.choice(_METHODS)),
                          bank_reference=f"SEPA-{ANCHOR.year}{int(w.rng.integers(10**8, 10**9))}",
                          currency=w.currency(fate)))
        k = int(w.rng.integers(1, 6))
        off = int(w.rng.integers(k)) if fate == AMOUNTS_DO_NOT_ADD_UP else -1
        for n in range(1, k + 1):
            credit = w.rng.random() < 0.1
            due = round(float(w.rng.gamma(2.0, 600.0)) + 20, 2) * (-0.2 if credit else 1)
            discount = round(due * 0.02, 2) if not credit and w.rng.random() < 0.4 else 0.0
            paid = round(due - discount, 2) - (10.0 if n - 1 == off else 0.0)
            lines.append(dict(payment_id=i, line_number=n,
                              document_number=f"{'GS' if credit else 'RG'}{int(w.rng.integers(10**5, 10**6))}",
                              document_date=when - dt.timedelta(days=int(w.rng.integers(10, 40))),
                              document_type="CREDIT_NOTE" if credit else "INVOICE", due_amount=round(due, 2),
                              discount_amount=discount, discount_reason="Skonto 2 %" if discount else None,
                              paid_amount=round(paid, 2)))
    w.table("payments", heads)
    w.table("payment_items", lines, pending=False)


def _sales_reports(w: _World, plan: np.ndarray) -> None:
    heads, lines = [], []
    monday = ANCHOR.date() - dt.timedelta(days=ANCHOR.weekday())
    stores = [s[0] for s in STORES if s[5] is not None]
    for i, (fate, supplier) in enumerate(zip(plan.tolist(), w.receivers(plan, w.suppliers)), start=1):
        start = monday - dt.timedelta(weeks=int(w.rng.integers(1, 9)))
        heads.append(dict(id=i, report_number=_number("SR", i),
                          report_date=dt.datetime.combine(start + dt.timedelta(days=7), dt.time(6, 0)),
                          period_start=start, period_end=start + dt.timedelta(days=6), supplier_id=supplier,
                          currency="EUR", comments=f"KW {start.isocalendar()[1]}"))
        where = list(w.rng.choice(stores, size=int(w.rng.integers(1, len(stores) + 1)), replace=False))
        if fate == LOCATION_WITHOUT_GLN:
            where.append(STORES[-1][0])
        n = 0
        for store in where:
            for product in w.items(fate if n == 0 else "ok", 2, 5):
                n += 1
                sold = w.quantity(product) / 2 if w.rng.random() < 0.97 else -1.0  # returns exceeded sales
                price = round(float(w.rng.uniform(1.5, 60.0)), 2)
                lines.append(dict(report_id=i, line_number=n, location_id=store, product_id=w.product_ids[product],
                                  quantity=round(sold, 3), unit_price=price))
    w.table("sales_reports", heads, version=False)  # the spec's sales report has no version
    w.table("sales_report_lines", lines, pending=False)


def _catalogs(w: _World, plan: np.ndarray) -> None:
    heads, lines = [], []
    for i, (fate, customer) in enumerate(zip(plan.tolist(), w.receivers(plan, w.customers)), start=1):
        when = w.moment(1, 20)
        valid_from = (when.replace(day=1) + dt.timedelta(days=32)).replace(day=1).date()
        heads.append(dict(id=i, catalog_number=_number("PK", i), catalog_date=when, customer_id=customer,
                          currency=w.currency(fate), comments=f"Preise gültig ab {valid_from:%d.%m.%Y}"))
        rebate = float(w.rng.choice([0.0, 0.03, 0.05, 0.08]))
        products = w.items(fate, 3, 10)
        odd = int(w.rng.integers(len(products))) if fate == UNKNOWN_ACTION else -1
        for n, product in enumerate(products, start=1):
            action = str(w.rng.choice(["NEW", "CHANGED", "DELETED"], p=[0.6, 0.35, 0.05]))
            action = "UPDATE" if n - 1 == odd else action  # the ERP's own code, not Procuros'

            price = round(float(w.rng.uniform(0.8, 90.0)) * (1 - rebate), 2)
            lines.append(dict(catalog_id=i, line_number=n, product_id=w.product_ids[product],
                              customer_article_number=f"{customer[-4:]}-{int(w.rng.integers(10**4, 10**5))}"
                              if w.rng.random() < 0.7 else None,
                              action=action, pack_quantity=1, is_orderable=action != "DELETED",
                              unit_price=None if action == "DELETED" else price, price_valid_from=valid_from,
                              price_valid_until=valid_from + dt.timedelta(days=90) if w.rng.random() < 0.2 else None,
                              recommended_retail_price=round(price * 1.6, 1) - 0.01 if w.rng.random() < 0.6 else None,
                              minimum_order_quantity=float(w.rng.choice([1, 6, 12, 24]))))
    w.table("product_catalogs", heads)
    w.table("product_catalog_items", lines, pending=False)


def _stock_reports(w: _World, plan: np.ndarray) -> None:
    heads, lines = [], []
    for i, (fate, owner) in enumerate(zip(plan.tolist(), w.receivers(plan, w.customers)), start=1):
        when = w.moment(0, 14).replace(hour=5, minute=30)
        heads.append(dict(id=i, report_number=_number("BB", i), report_date=when,
                          warehouse_id=str(w.rng.choice(WAREHOUSES)), owner_id=owner, comments=None))
        products = w.items(fate, 3, 12)
        short = int(w.rng.integers(len(products))) if fate == NEGATIVE_STOCK else -1
        for n, product in enumerate(products, start=1):
            available = w.quantity(product) * float(w.rng.integers(1, 8))
            available = -float(w.rng.integers(1, 12)) if n - 1 == short else available  # booked out twice
            batch, best_before = w.batch(product, when)
            lines.append(dict(report_id=i, line_number=n, product_id=w.product_ids[product],
                              available_quantity=round(available, 3),
                              blocked_quantity=float(w.rng.integers(0, 6)) if w.rng.random() < 0.2 else 0.0,
                              inbound_quantity=w.quantity(product) if w.rng.random() < 0.3 else None,
                              batch_number=batch, best_before_date=best_before))
    w.table("stock_reports", heads)
    w.table("stock_report_lines", lines, pending=False)


def _dispatch_instructions(w: _World, plan: np.ndarray) -> None:
    heads, lines = [], []
    for i, (fate, provider) in enumerate(zip(plan.tolist(), w.receivers(plan, w.suppliers)), start=1):
        when = w.moment(0, 10)
        customer = w.normal(w.customers)
        heads.append(dict(id=i, shipment_number=_number("VA", i), instruction_date=when,
                          logistics_partner_id=provider, customer_id=customer, ship_to_id=w.ship_to(customer),
                          customer_order_number=f"{int(w.rng.integers(10**6, 10**8))}",
                          customer_order_date=when - dt.timedelta(days=int(w.rng.integers(1, 5))),
                          requested_delivery_date=(when + dt.timedelta(days=int(w.rng.integers(2, 6)))).date(),
                          requested_despatch_date=(when + dt.timedelta(days=1)).date(),
                          shipping_method=str(w.rng.choice(_SHIPPING)), delivery_notes=w.rng.choice(_NOTES),
                          currency=w.currency(fate)))
        products = w.items(fate, 1, 6)
        over = int(w.rng.integers(len(products))) if fate == SHIPS_MORE_THAN_ORDERED else -1
        for n, product in enumerate(products, start=1):
            ordered = w.quantity(product)
            batch, _ = w.batch(product, when) if w.rng.random() < 0.2 else (None, None)
            lines.append(dict(instruction_id=i, line_number=n, order_line_number=n, product_id=w.product_ids[product],
                              ordered_quantity=ordered, quantity_to_ship=ordered + (6 if n - 1 == over else 0),
                              unit_price=round(float(w.rng.uniform(1.0, 80.0)), 2), batch_number=batch))
    w.table("dispatch_instructions", heads)
    w.table("dispatch_instruction_lines", lines, pending=False)


def _dispatch_confirmations(w: _World, plan: np.ndarray) -> None:
    heads, lines = [], []
    for i, (fate, client) in enumerate(zip(plan.tolist(), w.receivers(plan, w.customers)), start=1):
        when = w.moment(0, 10)
        consignee = w.normal(w.customers)
        despatch = when - dt.timedelta(hours=int(w.rng.integers(1, 6)))
        heads.append(dict(id=i, shipment_number=f"DI-{int(w.rng.integers(10**5, 10**6))}-{i}", response_date=when,
                          client_id=client, warehouse_id=str(w.rng.choice(WAREHOUSES)),
                          ship_to_id=w.ship_to(consignee), order_number=f"{int(w.rng.integers(10**6, 10**8))}",
                          order_date=when - dt.timedelta(days=int(w.rng.integers(1, 6))), despatch_date=despatch,
                          expected_delivery_date=despatch + dt.timedelta(days=int(w.rng.integers(1, 4))),
                          carrier=str(w.rng.choice(_CARRIERS)), tracking_number=f"{int(w.rng.integers(10**9, 10**10))}",
                          package_id=w.sscc(700000 + i), package_type="EURO_PALLET"))
        products = w.items(fate, 1, 6)
        over = int(w.rng.integers(len(products))) if fate == SHIPS_MORE_THAN_ORDERED else -1
        for n, product in enumerate(products, start=1):
            ordered = w.quantity(product)
            shipped = ordered if w.rng.random() < 0.9 else float(np.floor(ordered / 2))
            shipped = ordered + 2 if n - 1 == over else shipped
            batch, best_before = w.batch(product, when)
            lines.append(dict(confirmation_id=i, line_number=n, instruction_line_number=n,
                              product_id=w.product_ids[product], ordered_quantity=ordered, shipped_quantity=shipped,
                              open_quantity_action="DELIVERED_LATER" if shipped < ordered else None,
                              batch_number=batch, best_before_date=best_before))
    w.table("dispatch_confirmations", heads)
    w.table("dispatch_confirmation_lines", lines, pending=False)
