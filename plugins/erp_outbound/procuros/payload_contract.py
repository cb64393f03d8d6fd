"""Procuros' contract: its published OpenAPI description (procuros/contract/) as JSON Schema 2020-12.

The description is OpenAPI 3.0 (a draft-4 dialect); jsonschema-rs compiles 2020-12, so each
schema is carried over as it is, with three translations:

- ``$ref: '#/components/schemas/X'`` points at ``#/$defs/X``;
- ``nullable: true`` adds ``null`` to the type (OpenAPI 3.0's way of saying it);
- no Procuros schema forbids unknown properties, yet a misspelt optional field would pass
  silently (spec.py's walk reports them for the same reason). Wherever a value sits (the root,
  a property, an array's items) and its schema declares properties and allows no others, it gets
  ``unevaluatedProperties: false``: 2020-12 counts the properties its ``allOf`` parts and the
  valid ``oneOf`` branch declare, as the walk does. Where the schema combines nothing, it is
  inlined with ``additionalProperties: false`` instead: the same rule, checked without collecting
  annotations (``plain_object``; tests/test_payload_contract.py holds both translations equal).

One schema per transaction type, the request schema of ``POST /v2/transactions`` that the
description's discriminator names (``SentInvoiceTransaction`` for INVOICE).
"""

from __future__ import annotations

from typing import Any

from erp_outbound.core.contract import SCHEMA_DIALECT, Contract
from erp_outbound.procuros.spec import SCHEMA_REF, load_spec

_DEFS = "#/$defs/"
# Siblings of a ``$ref`` that validate nothing (OpenAPI 3.0 ignores every sibling; 2020-12 applies them).
_ANNOTATIONS = {"description", "title", "default", "example", "examples", "deprecated", "readOnly", "writeOnly"}
# Kept out: annotations that are no validation, and OpenAPI words 2020-12 does not have.
_DROPPED = {"example", "examples", "discriminator", "nullable", "deprecated", "xml", "externalDocs",
            "readOnly", "writeOnly"}


class _Translation:
    def __init__(self, components: dict[str, dict], inline_plain_objects: bool = True):
        self.components = components
        self.inline_plain_objects = inline_plain_objects
        self.inlining: list[str] = []  # the schemas being inlined (plain_object), so a recursive one is not

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].removeprefix(SCHEMA_REF)]
        return schema

    def parts(self, schema: dict, seen: tuple = ()) -> list[dict]:
        """``schema`` and every schema it combines (allOf, oneOf, anyOf), refs resolved."""
        if "$ref" in schema and schema["$ref"] in seen:
            return []
        seen = seen + ((schema["$ref"],) if "$ref" in schema else ())
        schema = self.resolve(schema)
        found = [schema]
        for part in schema.get("allOf", []) + schema.get("oneOf", []) + schema.get("anyOf", []):
            found += self.parts(part, seen)
        return found

    def closed(self, schema: dict) -> bool:
        """Whether a value of ``schema`` may carry only the properties it declares."""
        parts = self.parts(schema)
        return any("properties" in p for p in parts) and not any("additionalProperties" in p for p in parts)

    def schema(self, schema: Any, where_a_value_sits: bool = False) -> Any:
        if not isinstance(schema, dict):
            return schema
        if where_a_value_sits and self.inline_plain_objects and self.closed(schema):
            plain = self.plain_object(schema)
            if plain is not None:
                return plain
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key in _DROPPED:
                continue
            if key == "$ref":
                out[key] = _DEFS + value.removeprefix(SCHEMA_REF)
            elif key == "properties":
                out[key] = {name: self.schema(item, True) for name, item in value.items()}
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                out[key] = self.schema(value, True)
            elif key in ("allOf", "oneOf", "anyOf"):
                out[key] = [self.schema(part) for part in value]
            else:
                out[key] = value
        if schema.get("nullable") and "type" in out:
            out["type"] = [out["type"], "null"]
        if where_a_value_sits and self.closed(schema):
            out["unevaluatedProperties"] = False
        return out

    def plain_object(self, schema: dict) -> dict | None:
        """A closed value whose schema combines nothing (no allOf, oneOf or anyOf, its ``$ref`` followed): its
        own properties are all it may have, so ``additionalProperties: false`` says what ``unevaluatedProperties:
        false`` says, at a fraction of the cost (no annotations to collect: about a third of a payload's check).
        The schema is inlined, as ``additionalProperties`` sees only the properties beside it. None where it
        combines schemas, where the ``$ref`` has siblings that validate, or where it refers to itself."""
        name = schema["$ref"].removeprefix(SCHEMA_REF) if "$ref" in schema else None
        if name is not None and (set(schema) - _ANNOTATIONS - {"$ref"} or name in self.inlining):
            return None
        parts = self.parts(schema)
        if len(parts) != 1:
            return None
        target = parts[0]
        if name is not None:
            self.inlining.append(name)
        try:
            out = self.schema({k: v for k, v in target.items() if k != "$ref"})
        finally:
            if name is not None:
                self.inlining.pop()
        out["additionalProperties"] = False
        return out


def contract(path: str | None = None, *, inline_plain_objects: bool = True) -> Contract:
    """The contract of every Procuros transaction type, from the packaged description (or ``path``).

    ``inline_plain_objects=False`` keeps every closed value as ``unevaluatedProperties: false`` (the literal
    translation the tests hold the inlined one against)."""
    spec = load_spec(path)
    translation = _Translation(spec.schemas, inline_plain_objects)
    defs = {name: translation.schema(schema) for name, schema in spec.schemas.items()}
    schemas = {}
    for tx_type, schema_name in spec.transaction_schemas.items():
        root = translation.schema({"$ref": SCHEMA_REF + schema_name}, where_a_value_sits=True)
        schemas[tx_type] = {"$schema": SCHEMA_DIALECT, "$defs": defs, **root}
    return Contract("procuros", schemas, prefix="content.")
