"""The contract check before sending: every payload against its vendor's contract, at transform time.

A vendor's contract is a JSON Schema (2020-12) per document type: Procuros' is compiled from its
published OpenAPI description (procuros/payload_contract.py), RamBase's and GEP's are our own from their
documentation (rambase/payload_contract.py, gep/payload_contract.py). Each type's schema is compiled once per
process by jsonschema-rs (Rust), so the check costs microseconds per document.

A payload passes when it is strict JSON (RFC 8259: no NaN or Infinity, no lone surrogates) and
valid against its schema, unknown properties included. Any other payload becomes a build error
naming the field and the rule it breaks ("header.comments: 200,000 characters, the contract
allows 100,000"), so it is never sent to be refused.
"""

from __future__ import annotations

import decimal
import importlib
import json
import math
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import pandas as pd

from erp_outbound.core.batch import Built, Extracted
from erp_outbound.core.build import Problems, move_to_errors

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_SHOWN = 60  # characters of a value a message shows
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class Contract:
    """A vendor's contract: a JSON Schema per document type, each compiled on first use."""

    def __init__(self, vendor: str, schemas: dict[str, dict], prefix: str = ""):
        self.vendor = vendor
        self.schemas = schemas
        # The path part every field shares (Procuros' "content."): left out of the field names.
        self.prefix = prefix

    def validator(self, doc_type: str):
        return _compiled(self, doc_type)

    def violations(self, doc_type: str, body: str) -> list[tuple[str, str]]:
        """(field, message) for every way ``body`` breaks the contract; none when it keeps it."""
        import msgspec

        try:
            document = msgspec.json.decode(body)  # strict: refuses NaN, Infinity and lone surrogates
        except (msgspec.DecodeError, UnicodeError) as refusal:
            return self._not_json(body, refusal)
        validator = self.validator(doc_type)
        if validator.is_valid(document):
            return []
        return [self._described(error) for error in validator.iter_errors(document)]

    def check(self, doc_type: str, built: Built) -> Built:
        """``built`` with every payload that breaks the contract moved to the build errors."""
        if doc_type not in self.schemas:
            raise ValueError(f"{self.vendor}'s contract has no schema for {doc_type}")
        import msgspec

        payloads = built.payloads
        if payloads.empty:
            return built
        # The common path, one strict parse and one is_valid a payload, looked up once per chunk: at 100,000
        # documents a chunk, every attribute or cache lookup per document shows in the transform's speed.
        decode, is_valid = msgspec.json.Decoder().decode, self.validator(doc_type).is_valid
        found: list[tuple[str, str, str]] = []
        for document_id, body in zip(payloads["document_id"].tolist(), payloads["body"].tolist()):
            try:
                if is_valid(decode(body)):
                    continue
            except (msgspec.DecodeError, UnicodeError):
                pass
            for field_name, message in self.violations(doc_type, body):
                found.append((document_id, field_name, message))
        if not found:
            return built
        frame = pd.DataFrame(found, columns=["document_id", "field", "message"])
        problems = Problems()
        problems.parts.append(frame)
        return move_to_errors(built, problems)

    # -- messages -------------------------------------------------------------
    def _field(self, path: list) -> str:
        text = ""
        for part in path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        text = text.removeprefix(self.prefix)
        return text or "body"

    def _described(self, error) -> tuple[str, str]:
        """The field and the rule, in words: "header.comments: 200,000 characters, the contract allows 100,000"."""
        kind = error.kind
        name = kind.name
        value = error.instance
        field_name = self._field(list(error.instance_path))
        if name == "maxLength":
            return field_name, f"{field_name}: {len(value):,} characters, the contract allows {kind.limit:,}"
        if name == "minLength":
            return field_name, f"{field_name}: {len(value):,} characters, the contract requires at least {kind.limit:,}"
        if name == "maxItems":
            return field_name, f"{field_name}: {len(value):,} entries, the contract allows {kind.limit:,}"
        if name == "minItems":
            return field_name, f"{field_name}: {len(value):,} entries, the contract requires at least {kind.limit:,}"
        if name == "pattern":
            return field_name, f"{field_name}: {shown(value)} does not match the contract's pattern {kind.pattern}"
        if name == "enum":
            return field_name, f"{field_name}: {shown(value)} is not one of {', '.join(map(str, kind.options))}"
        if name == "format":
            return field_name, f"{field_name}: {shown(value)} is not a {kind.format} as the contract requires"
        if name in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            words = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
                     "exclusiveMaximum": "less than"}[name]
            return field_name, f"{field_name}: {shown(value)}, the contract requires {words} {kind.limit}"
        if name == "type":
            wanted = kind.types if hasattr(kind, "types") else kind.value
            wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
            return field_name, f"{field_name}: {shown(value)} is not of type {wanted} as the contract requires"
        if name == "required":
            missing = self._field(list(error.instance_path) + [kind.property])
            return missing, f"{missing}: the contract requires it, the payload has none"
        if name in ("unevaluatedProperties", "additionalProperties"):
            unknown = getattr(kind, "unexpected", None) or []
            names = ", ".join(self._field(list(error.instance_path) + [key]) for key in unknown)
            return field_name, f"{field_name}: the contract does not know the propert{'ies' if len(unknown) > 1 else 'y'} {names}"
        return field_name, f"{field_name}: {_clipped(error.message)}"

    def _not_json(self, body: str, refusal: Exception) -> list[tuple[str, str]]:
        """Where a body that is not strict JSON goes wrong: the non-finite numbers and lone surrogates by field."""
        try:
            document = json.loads(body)  # lenient: reads NaN/Infinity and lone surrogates, so we can name them
        except ValueError as error:
            return [("body", f"body: not JSON at character {getattr(error, 'pos', '?')} ({_clipped(str(error))}): "
                             f"{shown(body[max(0, getattr(error, 'pos', 0) - 20):getattr(error, 'pos', 0) + 20])}")]
        found = [(self._field(path), f"{self._field(path)}: {problem}") for path, problem in _unsendable(document, [])]
        return found or [("body", f"body: not strict JSON ({_clipped(str(refusal))})")]


def _unsendable(value: Any, path: list) -> Iterator[tuple[list, str]]:
    if isinstance(value, float) and not math.isfinite(value):
        yield path, f"{value} is not a JSON number"
    elif isinstance(value, str) and _SURROGATE.search(value):
        char = _SURROGATE.search(value).group()
        yield path, f"{shown(value)} holds a lone surrogate U+{ord(char):04X}, not Unicode text"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unsendable(item, path + [key])
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _unsendable(item, path + [i])


def shown(value: Any) -> str:
    """A value for a message: short texts whole, long ones clipped and their length given."""
    # repr shows control characters and lone surrogates escaped (\x00, \ud800): the message stays UTF-8
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > _SHOWN:
        return repr(text[:_SHOWN]) + f"... ({len(text):,} characters)"
    return repr(text) if isinstance(value, str) else text


def _clipped(message: str) -> str:
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return message if len(message) <= 200 else message[:200] + "..."


@lru_cache(maxsize=64)
def _compiled(contract: Contract, doc_type: str):
    import jsonschema_rs

    return jsonschema_rs.validator_for(contract.schemas[doc_type], validate_formats=True)


@lru_cache(maxsize=8)
def contract(vendor: str) -> Contract:
    """The vendor's contract (``erp_outbound.<vendor>.payload_contract.contract()``), built once per process."""
    return importlib.import_module(f"erp_outbound.{vendor}.payload_contract").contract()


def build_checked(vendor: str, doc_flow, data: Extracted, tz: str) -> Built:
    """The transform step's path for one chunk: the builder, then the contract check.

    Text with a lone surrogate (no UTF-8 can carry it; Arrow refuses it) is taken out of the
    ERP's frames first, and its documents become build errors naming the column and the value.
    """
    unreadable = lone_surrogates(data, doc_flow)
    built = move_to_errors(doc_flow.build(data, tz), unreadable)
    return contract(vendor).check(doc_flow.doc_type, built)


def lone_surrogates(data: Extracted, doc_flow) -> Problems:
    """Build errors for ERP texts holding a lone surrogate; those cells are replaced by their escaped text."""
    problems = Problems()
    for cells, frame in (("headers", data.headers), ("lines", data.lines), ("parties", data.parties)):
        for column in frame.columns:
            values = frame[column]
            if values.dtype != object:
                continue
            # One pass in C tells what a column holds; most hold only texts (no Decimal) or no texts at all.
            kind = pd.api.types.infer_dtype(values, skipna=True)
            if kind in _NO_TEXT:
                continue
            # Decimal('sNaN') stops pandas itself; it is NaN, an unreadable number
            if kind not in ("string", "empty") and _has_signaling_nan(values):
                values = frame[column] = values.map(lambda v: _QUIET_NAN if isinstance(v, decimal.Decimal)
                                                    and v.is_snan() else v)
            if _encodes(values):  # the common case: one join, one encode
                continue
            bad = values.map(lambda v: isinstance(v, str) and _SURROGATE.search(v) is not None).astype(bool)
            messages = [f"{column}: {shown(v)} holds a lone surrogate U+{ord(_SURROGATE.search(v).group()):04X}, "
                        "not Unicode text" for v in values[bad]]
            if cells == "headers":
                problems.add(bad, column, pd.Series(messages, index=values.index[bad]).reindex(values.index))
            elif cells == "lines":
                problems.add_lines(frame, bad, column, pd.Series(messages, index=values.index[bad]).reindex(values.index))
            else:
                _party_problems(data, doc_flow, frame.index[bad], column, messages, problems)
            frame[column] = values.mask(bad, values[bad].map(_escaped))
    return problems


def _party_problems(data: Extracted, doc_flow, party_ids, column: str, messages: list[str],
                    problems: Problems) -> None:
    """A party's unreadable text fails every document naming that party."""
    for party_id, message in zip(party_ids, messages):
        for name in doc_flow.party_columns:
            if name in data.headers:
                hit = data.headers[name].astype("string") == str(party_id)
                problems.add(hit, f"{name}.{column}", f"party {party_id}: {message}")
        for name in doc_flow.line_party_columns:
            if name in data.lines:
                hit = data.lines[name].astype("string") == str(party_id)
                per_document = pd.Series(True, index=pd.Index(data.lines["document_id"][hit.fillna(False)].unique()))
                problems.add(per_document.reindex(data.headers.index, fill_value=False), f"{name}.{column}",
                             f"party {party_id}: {message}")


_QUIET_NAN = decimal.Decimal("NaN")
# What pandas' infer_dtype calls a column without a single text (a Decimal('sNaN') makes it "decimal" or "mixed").
_NO_TEXT = frozenset({"integer", "floating", "boolean", "datetime", "datetime64", "date", "time", "timedelta",
                      "timedelta64", "period", "interval", "bytes", "complex"})


def _has_signaling_nan(values: pd.Series) -> bool:
    return any(type(v) is decimal.Decimal and v.is_snan() for v in values.tolist())


def _encodes(values: pd.Series) -> bool:
    try:
        "\n".join([v for v in values.tolist() if type(v) is str]).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _escaped(value: str) -> str:
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


