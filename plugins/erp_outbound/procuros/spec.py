"""Procuros' published OpenAPI description, as a validator of what we send (and, in the sandbox, of what it receives).

Validation covers the schema (types, required fields, enums, patterns, formats such as
the UTC offset of a date-time) and, because no Procuros schema forbids unknown
properties, a walk that reports property names the schema does not know: a misspelt
optional field would otherwise pass silently.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import FormatChecker
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_URI = "urn:procuros-openapi-v2"
SHARED_SPEC = Path(__file__).resolve().parents[3].parent / "shared" / "specs" / "procuros-openapi-v2.yaml"

# The request schema of POST /v2/transactions for each type.
TRANSACTION_SCHEMAS = {
    "ORDER": "SentOrderTransaction",
    "ORDER_RESPONSE": "SentOrderResponseTransaction",
    "SHIPPING_NOTICE": "SentShippingNoticeTransaction",
    "INVOICE": "SentInvoiceTransaction",
    "CREDIT_NOTE": "SentCreditNoteTransaction",
}


def transaction_schema(tx_type: str) -> str:
    """The request schema of POST /v2/transactions for a type: ORDER_RESPONSE -> SentOrderResponseTransaction."""
    return "Sent" + "".join(word.capitalize() for word in tx_type.split("_")) + "Transaction"


def spec_path() -> Path | None:
    """PROCUROS_OPENAPI_SPEC, else the shared spec beside the repository, else None."""
    configured = os.environ.get("PROCUROS_OPENAPI_SPEC")
    if configured:
        return Path(configured)
    return SHARED_SPEC if SHARED_SPEC.is_file() else None


class ProcurosSpec:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when there: the spec is large
        self.document = yaml.load(self.path.read_text(encoding="utf-8"), Loader=loader)
        resource = Resource(contents=self.document, specification=DRAFT4)
        self.registry = Registry().with_resource(SPEC_URI, resource)
        self.schemas = self.document["components"]["schemas"]
        self._format_checker = FormatChecker()

    def validator(self, schema_name: str) -> OAS30Validator:
        return _validator(self, schema_name)

    def errors(self, schema_name: str, instance: Any) -> list[str]:
        """Every problem with ``instance``: schema violations, then unknown property names."""
        found = [
            f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
            for e in self.validator(schema_name).iter_errors(instance)
        ]
        found += [f"{path}: unknown property" for path in self.unknown_properties(schema_name, instance)]
        return found

    def request_errors(self, path: str, method: str, instance: Any) -> list[str]:
        """Problems with a request body of ``method path`` (e.g. POST /v2/errors)."""
        pointer = f"/paths/{path.replace('~', '~0').replace('/', '~1')}/{method.lower()}" \
                  "/requestBody/content/application~1json/schema"
        validator = OAS30Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=self.registry,
                                   format_checker=self._format_checker)
        return [f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
                for e in validator.iter_errors(instance)]

    def transaction_errors(self, body: dict) -> list[str]:
        schema = TRANSACTION_SCHEMAS.get(body.get("type"))
        if schema is None:
            return [f"type: {body.get('type')!r} is not a type erp-outbound sends"]
        return self.errors(schema, body)

    # -- unknown properties -------------------------------------------------
    def _resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def _properties(self, schema: dict) -> tuple[dict, dict | None]:
        """The known properties of an object schema (through $ref and allOf), and its items schema."""
        schema = self._resolve(schema)
        properties = dict(schema.get("properties", {}))
        for part in schema.get("allOf", []) + schema.get("oneOf", []) + schema.get("anyOf", []):
            more, _ = self._properties(part)
            properties.update(more)
        items = schema.get("items")
        return properties, items

    def unknown_properties(self, schema_name: str, instance: Any) -> list[str]:
        found: list[str] = []
        self._walk(self.schemas[schema_name], instance, "", found)
        return found

    def _walk(self, schema: dict, instance: Any, path: str, found: list[str]) -> None:
        properties, items = self._properties(schema)
        additional = self._resolve(schema).get("additionalProperties")
        if isinstance(instance, dict) and (properties or additional is None):
            for key, value in instance.items():
                where = f"{path}.{key}" if path else key
                if key in properties:
                    self._walk(properties[key], value, where, found)
                elif not additional:
                    found.append(where)
        elif isinstance(instance, list) and items:
            for i, value in enumerate(instance):
                self._walk(items, value, f"{path}[{i}]", found)


@lru_cache(maxsize=64)
def _validator(spec: ProcurosSpec, schema_name: str) -> OAS30Validator:
    schema = {"$ref": f"{SPEC_URI}#/components/schemas/{schema_name}"}
    return OAS30Validator(schema, registry=spec.registry, format_checker=spec._format_checker)


@lru_cache(maxsize=4)
def load_spec(path: str | None = None) -> ProcurosSpec | None:
    chosen = Path(path) if path else spec_path()
    return ProcurosSpec(chosen) if chosen and chosen.is_file() else None
