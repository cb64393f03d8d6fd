"""The emulator's own checks of Procuros transaction bodies.

A cheap, hand-written subset of the OpenAPI spec (required fields, party
identifiers, DateTime with UTC offset, currency, country, unit of measure,
item GTINs), so the sandbox answers 422 like Procuros without loading the
spec. Error keys and messages follow Procuros' Laravel style:
``{"content.header.buyer.identifiers": ["The ... field is required."]}``.

``SpecValidator`` adds full validation against the published spec when a
spec file is configured.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable

Errors = dict[str, list[str]]

TRANSACTION_TYPES = (
    "ORDER",
    "ORDER_RESPONSE",
    "SHIPPING_NOTICE",
    "INVOICE",
    "CREDIT_NOTE",
    "DISPATCH_INSTRUCTION",
    "DISPATCH_INSTRUCTION_RESPONSE",
    "RECEIVAL_NOTICE",
    "REMITTANCE_ADVICE",
    "PRODUCT_CATALOG",
    "INVENTORY_REPORT",
    "SALES_REPORT",
)
PARTY_DOMAINS = frozenset({"GS1", "DUNS", "VAT_DE", "FED_TAX", "SENDER_INTERNAL", "RECEIVER_INTERNAL"})
ITEM_DOMAINS = frozenset({"GS1", "BUYER", "SUPPLIER"})
UNITS_OF_MEASURE = frozenset(
    "EA GRM HUR KGM LTR MLT MTK MTR PCK SET CS CA DAY WEE MON CT CQ CU BJ BO MTQ PF BG RO TNE BE CMT KMT PR TU".split()
)
# Header keys holding a Party (identifiers required); shipTo is a ShipToParty (identifiers optional).
PARTY_KEYS = frozenset(
    {
        "buyer", "supplier", "billTo", "billFrom", "shipFrom", "finalRecipient",
        "technicalRecipient", "technicalSender", "customer", "payFrom", "payTo",
        "sender", "receiver", "manufacturer", "warehouse", "goodsOwner",
    }
)
# Fields typed `Date` in the spec (all other "...Date" fields are `DateTime`).
DATE_ONLY_KEYS = frozenset({"expirationDate", "slaughterDate", "birthdate"})
NOT_A_DATE_KEYS = frozenset({"hasExpiryDate"})

_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
_GTIN_LENGTHS = frozenset({8, 12, 13, 14})

_INVOICE_ITEM = ("lineNumber", "identifiers", "isDepositItem", "isInvoicedItem", "quantity", "unitPrice", "tax")
_SHIPPING_ITEM = ("lineNumber", "identifiers", "isDepositItem", "orderedQuantity", "shippedQuantity")


@dataclass(frozen=True)
class TypeRule:
    identifier: str | None  # header field naming the document (duplicate detection)
    receiver: str | None  # header party Procuros must resolve
    header: tuple[str, ...]  # required header fields
    content: tuple[str, ...]  # required non-empty content parts
    item: tuple[str, ...] = ()  # required fields of each item (and sub-item)
    summary: tuple[str, ...] = ()  # required amounts of the summary


TYPE_RULES: dict[str, TypeRule] = {
    "ORDER": TypeRule("orderIdentifier", "supplier", ("buyer", "supplier", "orderIdentifier", "orderDate"), ("items",)),
    "ORDER_RESPONSE": TypeRule(
        "orderResponseIdentifier", "buyer",
        ("buyer", "supplier", "orderResponseIdentifier", "orderResponseDate", "orderIdentifier"), (),
    ),
    "SHIPPING_NOTICE": TypeRule(
        "shippingNoticeIdentifier", "buyer",
        ("buyer", "supplier", "shippingNoticeIdentifier", "shippingNoticeDate", "orderIdentifier"),
        ("transportUnits",), _SHIPPING_ITEM,
    ),
    "INVOICE": TypeRule(
        "invoiceIdentifier", "buyer",
        ("buyer", "supplier", "invoiceIdentifier", "invoiceDate", "shippingNoticeIdentifier",
         "shippingNoticeDate", "orderIdentifier", "orderDate"),
        ("items",), _INVOICE_ITEM,
    ),
    "CREDIT_NOTE": TypeRule(
        "creditNoteIdentifier", "buyer", ("buyer", "supplier", "creditNoteIdentifier", "creditNoteDate"),
        ("items", "summary"), _INVOICE_ITEM, ("dueAmount",),
    ),
    # The fulfilment provider ships: shipFrom receives the instruction.
    "DISPATCH_INSTRUCTION": TypeRule(
        "shipmentIdentifier", "shipFrom", ("shipmentIdentifier", "shipFrom"), ("items",),
        ("shippingNoticeLineNumber", "shippedQuantity", "orderedQuantity", "identifiers", "batches"),
    ),
    "DISPATCH_INSTRUCTION_RESPONSE": TypeRule(
        "shippingNoticeIdentifier", "supplier", ("shippingNoticeIdentifier", "supplier"), ("transportUnits",)
    ),
    # The customer that received the goods tells its supplier (EDI RECADV).
    "RECEIVAL_NOTICE": TypeRule(
        "receivalAdviceNumber", "supplier", ("receivalAdviceNumber", "receivalDate", "supplier", "customer"),
        ("transportUnits",),
    ),
    "REMITTANCE_ADVICE": TypeRule("adviceNumber", "payTo", ("adviceNumber", "adviceDate"), ("items", "summary")),
    # No required number: catalogNumber names a catalog when there is one.
    "PRODUCT_CATALOG": TypeRule(
        "catalogNumber", "receiver", ("catalogDate", "sender", "receiver"), ("items",),
        ("lineNumber", "quantity", "identity"),
    ),
    "INVENTORY_REPORT": TypeRule(
        "inventoryReportIdentifier", "goodsOwner",
        ("inventoryReportIdentifier", "inventoryReportDate", "warehouse", "goodsOwner"), ("items",),
    ),
    "SALES_REPORT": TypeRule(
        "salesReportIdentifier", "supplier",
        ("salesReportIdentifier", "salesReportDate", "salesPeriodStartDate", "salesPeriodEndDate", "supplier", "buyer"),
        ("locations",), ("lineNumber", "identifiers", "salesQuantity"),
    ),
}


def document_key(body: Any) -> tuple[str | None, Any, Any]:
    """(type, business identifier, header.version) of a transaction body, best effort."""
    if not isinstance(body, dict):
        return None, None, None
    tx_type = body.get("type") if isinstance(body.get("type"), str) else None
    content = body.get("content")
    header = content.get("header") if isinstance(content, dict) else None
    if not isinstance(header, dict):
        return tx_type, None, None
    rule = TYPE_RULES.get(tx_type or "")
    identifier = header.get(rule.identifier) if rule and rule.identifier else None
    return tx_type, identifier, header.get("version")


def receiver_gs1_ids(body: dict[str, Any]) -> list[str]:
    """GS1 identifiers of the party the document is addressed to (body already valid)."""
    rule = TYPE_RULES[body["type"]]
    party = body["content"]["header"].get(rule.receiver) if rule.receiver else None
    if not isinstance(party, dict):
        return []
    return [
        i["identifier"]
        for i in party.get("identifiers") or ()
        if isinstance(i, dict) and i.get("domain", "GS1") == "GS1" and isinstance(i.get("identifier"), str)
    ]


def receiver_field(tx_type: str) -> str | None:
    rule = TYPE_RULES[tx_type]
    return f"content.header.{rule.receiver}" if rule.receiver else None


# --- checks -----------------------------------------------------------------


def check_transaction(body: Any) -> Errors:
    """Return Laravel-style validation errors of a transaction body ({} if valid)."""
    errors: Errors = {}
    if not isinstance(body, dict):
        body = {}
    tx_type = body.get("type")
    if _blank(tx_type):
        _add(errors, "type", "The type field is required.")
    elif tx_type not in TYPE_RULES:
        _add(errors, "type", "The selected type is invalid.")
    content = body.get("content")
    if _blank(content):
        _add(errors, "content", "The content field is required.")
        return errors
    if not isinstance(content, dict):
        _add(errors, "content", "The content field must be an object.")
        return errors
    header = content.get("header")
    if _blank(header):
        _add(errors, "content.header", "The content.header field is required.")
    elif not isinstance(header, dict):
        _add(errors, "content.header", "The content.header field must be an object.")
    rule = TYPE_RULES.get(tx_type) if isinstance(tx_type, str) else None
    if rule is not None:
        if isinstance(header, dict):
            _check_header(header, rule, errors)
        _check_content(content, rule, errors)
    _walk(content, "content", errors)
    return errors


def _check_header(header: dict[str, Any], rule: TypeRule, errors: Errors) -> None:
    for name in rule.header:
        if _blank(header.get(name)):
            _add(errors, f"content.header.{name}", f"The content.header.{name} field is required.")
    for name, value in header.items():
        if value is None or isinstance(value, str):
            continue
        if name in PARTY_KEYS:
            _check_party(value, f"content.header.{name}", errors, identifiers_required=True)
        elif name == "shipTo":
            _check_party(value, "content.header.shipTo", errors, identifiers_required=False)
        elif name.endswith(("Identifier", "Number")):
            _add(errors, f"content.header.{name}", f"The content.header.{name} field must be a string.")
    version = header.get("version")
    if version is not None and not _is_int(version):
        _add(errors, "content.header.version", "The content.header.version field must be an integer.")


def _check_party(party: Any, path: str, errors: Errors, identifiers_required: bool) -> None:
    if not isinstance(party, dict):
        _add(errors, path, f"The {path} field must be an object.")
        return
    ids = party.get("identifiers")
    ids_path = path + ".identifiers"
    if ids is None and not identifiers_required:
        return
    if not isinstance(ids, list) or not ids:
        if identifiers_required:
            _add(errors, ids_path, f"The {ids_path} field is required.")
        elif ids is not None:
            _add(errors, ids_path, f"The {ids_path} field must be an array.")
        return
    for i, ident in enumerate(ids):
        p = f"{ids_path}.{i}"
        if not isinstance(ident, dict):
            _add(errors, p, f"The {p} field must be an object.")
            continue
        if _blank(ident.get("identifier")) or not isinstance(ident.get("identifier"), str):
            _add(errors, p + ".identifier", f"The {p}.identifier field is required.")
        domain = ident.get("domain")
        if _blank(domain):
            _add(errors, p + ".domain", f"The {p}.domain field is required.")
        elif domain not in PARTY_DOMAINS:
            _add(errors, p + ".domain", f"The selected {p}.domain is invalid.")


def _check_content(content: dict[str, Any], rule: TypeRule, errors: Errors) -> None:
    for part in rule.content:
        value = content.get(part)
        path = f"content.{part}"
        if _blank(value):
            _add(errors, path, f"The {path} field is required.")
        elif part == "summary":
            if not isinstance(value, dict):
                _add(errors, path, f"The {path} field must be an object.")
                continue
            for name in rule.summary:
                if not _is_number(value.get(name)):
                    _add(errors, f"{path}.{name}", f"The {path}.{name} field is required and must be a number.")
        elif not isinstance(value, list):
            _add(errors, path, f"The {path} field must be an array.")
    if "transportUnits" in rule.content:
        _check_transport_units(content.get("transportUnits"), "content.transportUnits", rule.item, errors)
    elif "locations" in rule.content:
        _check_locations(content.get("locations"), "content.locations", rule.item, errors)
    elif rule.item:
        _check_items(content.get("items"), "content.items", rule.item, errors)


def _check_locations(locations: Any, path: str, required: tuple[str, ...], errors: Errors) -> None:
    """A sales report's locations: each a party with identifiers, and its non-empty items."""
    if not isinstance(locations, list):
        return
    for i, location in enumerate(locations):
        p = f"{path}.{i}"
        if not isinstance(location, dict):
            _add(errors, p, f"The {p} field must be an object.")
            continue
        if _blank(location.get("location")):
            _add(errors, p + ".location", f"The {p}.location field is required.")
        else:
            _check_party(location["location"], p + ".location", errors, identifiers_required=True)
        if _blank(location.get("items")):
            _add(errors, p + ".items", f"The {p}.items field is required.")
        _check_items(location.get("items"), p + ".items", required, errors)


def _check_transport_units(units: Any, path: str, required: tuple[str, ...], errors: Errors) -> None:
    if not isinstance(units, list):
        return
    for i, unit in enumerate(units):
        p = f"{path}.{i}"
        if not isinstance(unit, dict):
            _add(errors, p, f"The {p} field must be an object.")
            continue
        items = unit.get("items")
        if items is None:
            _add(errors, p + ".items", f"The {p}.items field is required.")
        elif not isinstance(items, list):
            _add(errors, p + ".items", f"The {p}.items field must be an array.")
        else:
            _check_items(items, p + ".items", required, errors)
        _check_transport_units(unit.get("transportUnits"), p + ".transportUnits", required, errors)


def _check_items(items: Any, path: str, required: tuple[str, ...], errors: Errors) -> None:
    if not isinstance(items, list):
        return
    for i, item in enumerate(items):
        p = f"{path}.{i}"
        if not isinstance(item, dict):
            _add(errors, p, f"The {p} field must be an object.")
            continue
        for name in required:
            value = item.get(name)
            if name == "identifiers":
                continue
            if name == "batches":  # required, but an empty list is fine: no batch prescribed
                message = None if isinstance(value, list) else "The {} field is required and must be an array."
            elif _blank(value):
                message = "The {} field is required."
            elif name == "lineNumber":
                message = None if _is_int(value) else "The {} field must be an integer."
            elif name == "identity":
                message = None if isinstance(value, dict) else "The {} field must be an object."
            elif name.startswith("is"):
                message = None if isinstance(value, bool) else "The {} field must be true or false."
            elif name == "tax":
                _check_tax(value, f"{p}.tax", errors)
                message = None
            else:  # quantities and prices
                message = None if _is_number(value) else "The {} field must be a number."
            if message is not None:
                fp = f"{p}.{name}"
                _add(errors, fp, message.format(fp))
        # _walk checks identifiers given; only a missing list is reported here.
        if "identifiers" in required and item.get("identifiers") is None:
            _add(errors, p + ".identifiers", f"The {p}.identifiers field is required.")
        _check_items(item.get("subItems"), p + ".subItems", required, errors)


def _check_tax(tax: Any, path: str, errors: Errors) -> None:
    if not isinstance(tax, dict):
        _add(errors, path, f"The {path} field must be an object.")
        return
    for name in ("amount", "percentage"):
        if not _is_number(tax.get(name)):
            _add(errors, f"{path}.{name}", f"The {path}.{name} field is required and must be a number.")


def _walk(node: Any, path: str, errors: Errors) -> None:
    """Format checks that apply wherever a field appears in the document.

    Hot path (every request): paths are only built for containers and errors.
    """
    if type(node) is list:
        for i, value in enumerate(node):
            if type(value) is dict or type(value) is list:
                _walk(value, f"{path}.{i}", errors)
        return
    if type(node) is not dict:
        return
    for key, value in node.items():
        kind = type(value)  # exact types: json.loads only makes these
        if kind is str:
            check = _key_check(key)
            if check is not None and (message := check(value)) is not None:
                p = f"{path}.{key}"
                _add(errors, p, message.format(p))
        elif kind is dict:
            _walk(value, f"{path}.{key}", errors)
        elif kind is list:
            p = f"{path}.{key}"
            if key == "items" or key == "subItems":
                for i, item in enumerate(value):
                    if type(item) is dict and item.get("identifiers") is not None:
                        _check_item_identifiers(item["identifiers"], f"{p}.{i}.identifiers", errors)
            _walk(value, p, errors)
        elif value is not None and _key_check(key) is not None:
            p = f"{path}.{key}"
            _add(errors, p, f"The {p} field must be a string.")


_Check = Callable[[str], "str | None"]  # value -> message template ("{}" = path) or None
_KEY_CHECKS: dict[str, "_Check | None"] = {}


def _key_check(key: str) -> "_Check | None":
    try:
        return _KEY_CHECKS[key]
    except KeyError:
        pass
    check: _Check | None = None
    if key in DATE_ONLY_KEYS:
        check = lambda v: None if _is_date(v) else "The {} field must be a date in the format Y-m-d."  # noqa: E731
    elif key.endswith("Date") and key not in NOT_A_DATE_KEYS:
        check = lambda v: None if _is_datetime(v) else (  # noqa: E731
            "The {} field must be an ISO 8601 date-time with a UTC offset (e.g. 2024-03-01T09:30:00Z)."
        )
    elif key == "currency":
        check = lambda v: None if _CURRENCY_RE.match(v) else "The {} field format is invalid."  # noqa: E731
    elif key == "countryCode":
        check = lambda v: None if _COUNTRY_RE.match(v) else "The {} field format is invalid."  # noqa: E731
    elif key == "unitOfMeasure":
        check = lambda v: None if v in UNITS_OF_MEASURE else "The selected {} is invalid."  # noqa: E731
    if len(_KEY_CHECKS) < 10_000:  # bounded: keys come from clients
        _KEY_CHECKS[key] = check
    return check


def _check_item_identifiers(ids: Any, path: str, errors: Errors) -> None:
    if not isinstance(ids, list) or not ids:
        _add(errors, path, f"The {path} field must have at least 1 items.")
        return
    for i, ident in enumerate(ids):
        p = f"{path}.{i}"
        if not isinstance(ident, dict):
            _add(errors, p, f"The {p} field must be an object.")
            continue
        value = ident.get("identifier")
        domain = ident.get("domain", "GS1")  # the spec's default domain
        if not isinstance(value, str) or not value:
            _add(errors, p + ".identifier", f"The {p}.identifier field is required.")
        elif domain == "GS1" and not (value.isascii() and value.isdigit() and len(value) in _GTIN_LENGTHS):
            _add(errors, p + ".identifier", f"The {p}.identifier field must be a GTIN of 8, 12, 13 or 14 digits.")
        if domain not in ITEM_DOMAINS:
            _add(errors, p + ".domain", f"The selected {p}.domain is invalid.")


# --- small helpers ------------------------------------------------------------


def _add(errors: Errors, path: str, message: str) -> None:
    errors.setdefault(path, []).append(message)


def _blank(value: Any) -> bool:
    # Laravel's "required": null, "" and empty arrays/objects all fail.
    return value is None or value == "" or (isinstance(value, (list, dict)) and not value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_datetime(value: str) -> bool:
    if not _DATETIME_RE.match(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_date(value: str) -> bool:
    if not _DATE_RE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


# --- validation against the published OpenAPI spec ----------------------------------


class SpecValidator:
    """Validates bodies against components/schemas/Sent<Type>Transaction of the spec.

    The runtime's ``ProcurosSpec`` parses the spec once and builds one validator per type; this
    only turns its findings into Procuros' error shape.
    """

    def __init__(self, spec_path: str) -> None:
        from erp_outbound.procuros.spec import load_spec

        self._spec = load_spec(str(spec_path))

    def _validator(self, tx_type: Any) -> Any:
        from erp_outbound.procuros.spec import transaction_schema

        name = transaction_schema(tx_type) if isinstance(tx_type, str) else None
        if name not in self._spec.schemas:
            raise KeyError(name)
        return self._spec.validator(name)

    def errors(self, body: dict[str, Any]) -> Errors:
        errors: Errors = {}
        try:
            validator = self._validator(body.get("type"))
        except KeyError:
            return {"type": ["The selected type is invalid."]}
        for error in validator.iter_errors(body):
            parts = [str(p) for p in error.absolute_path]
            if error.validator == "required" and error.message.endswith(" is a required property"):
                try:
                    parts.append(str(ast.literal_eval(error.message[: -len(" is a required property")])))
                except (ValueError, SyntaxError):
                    pass
            message = error.message if len(error.message) <= 300 else error.message[:297] + "..."
            path = ".".join(parts) or "body"
            if message not in errors.get(path, ()):
                _add(errors, path, message)
        return errors
