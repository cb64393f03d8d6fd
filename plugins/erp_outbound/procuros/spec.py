"""Procuros' published OpenAPI description, as a validator of what we send (and, in the sandbox, of what it receives).

Validation covers the schema (types, required fields, enums, patterns, formats such as
the UTC offset of a date-time) and, because no Procuros schema forbids unknown
properties, a walk that reports property names the schema does not know: a misspelt
optional field would otherwise pass silently.
"""

from __future__ import annotations

import difflib
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
# Procuros' published description (OpenAPI 3.0, v2), shipped inside the package: the contract every payload is
# checked against, installed wheel or checkout alike. PROCUROS_OPENAPI_SPEC points at a newer copy.
PACKAGED_SPEC = Path(__file__).resolve().parent / "contract" / "procuros-openapi-v2.yaml"
SCHEMA_REF = "#/components/schemas/"


def transaction_schema(tx_type: str) -> str:
    """The request schema of POST /v2/transactions for a type: ORDER_RESPONSE -> SentOrderResponseTransaction."""
    return "Sent" + "".join(word.capitalize() for word in tx_type.split("_")) + "Transaction"


def spec_path() -> Path:
    """PROCUROS_OPENAPI_SPEC, else the description shipped with the package."""
    configured = os.environ.get("PROCUROS_OPENAPI_SPEC")
    return Path(configured) if configured else PACKAGED_SPEC


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
        found += [f"{path}: unknown property{hint}" for path, hint in self._unknown(schema_name, instance)]
        return found

    def request_errors(self, path: str, method: str, instance: Any) -> list[str]:
        """Problems with a request body of ``method path`` (e.g. POST /v2/errors)."""
        pointer = f"/paths/{path.replace('~', '~0').replace('/', '~1')}/{method.lower()}" \
                  "/requestBody/content/application~1json/schema"
        validator = OAS30Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=self.registry,
                                   format_checker=self._format_checker)
        return [f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
                for e in validator.iter_errors(instance)]

    @property
    def transaction_schemas(self) -> dict[str, str]:
        """The request schema of POST /v2/transactions per type, from the spec's discriminator."""
        mapping = self.schemas["SentTransaction"]["discriminator"]["mapping"]
        return {tx_type: ref.rsplit("/", 1)[-1] for tx_type, ref in mapping.items()}

    def transaction_errors(self, body: dict) -> list[str]:
        schema = self.transaction_schemas.get(body.get("type"))
        if schema is None:
            return [f"type: {body.get('type')!r} is not a Procuros transaction type"]
        return self.errors(schema, body)

    # -- unknown properties -------------------------------------------------
    def unknown_properties(self, schema_name: str, instance: Any) -> list[str]:
        """Paths of the keys in ``instance`` that its schema does not declare."""
        return [path for path, _ in self._unknown(schema_name, instance)]

    def _unknown(self, schema_name: str, instance: Any) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []  # (path, hint for a near miss)
        self._walk([{"$ref": SCHEMA_REF + schema_name}], instance, "", found)
        return found

    def _resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].removeprefix(SCHEMA_REF)]
        return schema

    def _parts(self, schema: dict, instance: Any) -> list[dict]:
        """``schema`` and every schema it combines that applies to ``instance``: its $ref, all of
        its allOf, and of a oneOf/anyOf the branch the discriminator or validation picks."""
        schema = self._resolve(schema)
        parts = [schema]
        for part in schema.get("allOf", []):
            parts += self._parts(part, instance)
        branches = schema.get("oneOf", []) + schema.get("anyOf", [])
        for part in self._branches(schema, branches, instance):
            parts += self._parts(part, instance)
        return parts

    def _branches(self, schema: dict, branches: list[dict], instance: Any) -> list[dict]:
        if not branches:
            return []
        discriminator = schema.get("discriminator") or {}
        mapping = discriminator.get("mapping", {})
        if isinstance(instance, dict) and instance.get(discriminator.get("propertyName")) in mapping:
            return [{"$ref": mapping[instance[discriminator["propertyName"]]]}]
        valid = [b for b in branches
                 if "$ref" in b and self.validator(b["$ref"].removeprefix(SCHEMA_REF)).is_valid(instance)]
        # None valid: the validator reports that; judge the names against every branch.
        return valid or branches

    def _walk(self, schemas: list[dict], instance: Any, path: str, found: list[tuple[str, str]]) -> None:
        parts = [part for schema in schemas for part in self._parts(schema, instance)]
        if isinstance(instance, dict):
            properties: dict[str, list[dict]] = {}
            for part in parts:
                for key, schema in part.get("properties", {}).items():
                    properties.setdefault(key, []).append(schema)
            extra = [p["additionalProperties"] for p in parts if "additionalProperties" in p]
            for key, value in instance.items():
                where = f"{path}.{key}" if path else key
                if key in properties:
                    self._walk(properties[key], value, where, found)
                elif any(isinstance(e, dict) for e in extra):
                    self._walk([e for e in extra if isinstance(e, dict)], value, where, found)
                elif properties and not any(e is True for e in extra):
                    # A schema that declares no properties at all is free-form: nothing to check.
                    near = difflib.get_close_matches(key, properties, n=1, cutoff=0.75)
                    found.append((where, f" (did you mean {near[0]}?)" if near else ""))
        elif isinstance(instance, list):
            items = [p["items"] for p in parts if "items" in p]
            if items:
                for i, value in enumerate(instance):
                    self._walk(items, value, f"{path}[{i}]", found)


@lru_cache(maxsize=64)
def _validator(spec: ProcurosSpec, schema_name: str) -> OAS30Validator:
    schema = {"$ref": f"{SPEC_URI}#/components/schemas/{schema_name}"}
    return OAS30Validator(schema, registry=spec.registry, format_checker=spec._format_checker)


@lru_cache(maxsize=4)
def load_spec(path: str | None = None) -> ProcurosSpec:
    """The description at ``path``, else PROCUROS_OPENAPI_SPEC's, else the packaged one (parsed once)."""
    chosen = Path(path) if path else spec_path()
    if not chosen.is_file():
        raise FileNotFoundError(f"no Procuros OpenAPI description at {chosen}")
    return ProcurosSpec(chosen)
