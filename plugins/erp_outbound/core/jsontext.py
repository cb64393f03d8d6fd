"""Vectorised JSON: build JSON text column by column, one string per row.

Payloads are built a column at a time (never a Python loop per row and field) and
stay JSON text from the transform to the HTTP request. Missing values leave their
key out, as the vendors' schemas want. Columns are pandas Series of Arrow-backed
strings; the joins run in Arrow compute kernels, so a 10,000-row chunk costs about
as much as a 1,000-row one.
"""

from __future__ import annotations

import decimal
import json
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

TEXT = "string"
_STRING = pa.large_string()
# Anything but printable ASCII without '"' and '\' needs JSON escaping (json.dumps does it).
_NEEDS_ESCAPE = r'[^ !#-\[\]-~]'


def _text(series: pd.Series) -> pd.Series:
    return series.astype(TEXT)


def _arrow(series: pd.Series) -> pa.Array:
    array = pa.array(series.astype(TEXT).array)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _series(array: pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(pd.arrays.ArrowStringArray(array.cast(_STRING)), index=index, copy=False)


def _scalar(text: str) -> pa.Scalar:
    return pa.scalar(text, _STRING)


def _concat(*parts) -> pa.Array:
    """Element-wise concatenation; a missing part makes the result missing."""
    return pc.binary_join_element_wise(*parts, _scalar(""))


def string(values: pd.Series) -> pd.Series:
    """JSON string literals; missing and empty values stay missing."""
    text = pc.utf8_trim_whitespace(_arrow(values))
    text = pc.if_else(pc.equal(text, _scalar("")), pa.scalar(None, _STRING), text)
    quoted = _concat(_scalar('"'), text, _scalar('"'))
    escape = pc.fill_null(pc.match_substring_regex(text, _NEEDS_ESCAPE), False)
    if pc.any(escape).as_py():  # rare: quotes, backslashes, control or non-ASCII characters
        rows = np.flatnonzero(escape.to_numpy(zero_copy_only=False))
        escaped = pa.array([json.dumps(v) for v in text.take(rows).to_pylist()], _STRING)
        quoted = pc.replace_with_mask(quoted, escape, escaped)
    return _series(quoted, values.index)


def numeric(values: pd.Series) -> pd.Series:
    """ERP values as float64 numbers; unreadable ones, and NaN, Infinity or numbers beyond a float's range
    (1e999, 10**400) are missing, so the builders report them as build errors naming the value."""
    try:
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    except (OverflowError, TypeError, ValueError, decimal.InvalidOperation):  # e.g. an int beyond 64 bits, Decimal('sNaN')
        numbers = pd.Series([_one_number(v) for v in values], index=values.index, dtype="float64")
    return numbers.where(np.isfinite(numbers))


def _one_number(value) -> float:
    try:
        return float(pd.to_numeric(value))
    except (OverflowError, TypeError, ValueError, decimal.InvalidOperation):
        return float("nan")


def number(values: pd.Series, decimals: int | None = None) -> pd.Series:
    """JSON numbers. A non-finite value (left by arithmetic on huge ones) is written as NaN/Infinity:
    not JSON, so the contract check (core/contract.py) makes it a build error naming the field."""
    numbers = values.astype("float64") if pd.api.types.is_float_dtype(values) else pd.to_numeric(
        values, errors="coerce").astype("float64")
    if decimals is not None:
        numbers = numbers.round(decimals)
    array = pa.array(numbers.to_numpy(), mask=numbers.isna().to_numpy(), type=pa.float64())
    text = _series(pc.cast(array, _STRING), values.index)  # Arrow writes 1.0 as "1"
    infinite = np.isinf(numbers.to_numpy())
    if infinite.any():
        text = text.mask(pd.Series(infinite, index=values.index),
                         np.where(numbers.to_numpy() > 0, "Infinity", "-Infinity"))
    return text


# Whole numbers beyond 2**53 are no longer exact as floats (nor in most JSON readers).
EXACT_INTEGER = 2 ** 53


def integer(values: pd.Series) -> pd.Series:
    """Whole numbers; anything else, and any beyond +-2**53, is missing (callers report it as a build error)."""
    numbers = numeric(values)
    return _text(numbers.where((numbers % 1 == 0) & (numbers.abs() <= EXACT_INTEGER)).astype("Int64"))


def boolean(values: pd.Series) -> pd.Series:
    """true/false from booleans, 0/1 or yes/no texts; anything else is missing."""
    text = values.astype("string").str.strip().str.lower()
    truth = text.map({"true": "true", "1": "true", "yes": "true", "y": "true", "false": "false", "0": "false",
                      "no": "false", "n": "false", "1.0": "true", "0.0": "false"})
    return truth.astype(TEXT)


def constant(value, index: pd.Index) -> pd.Series:
    return pd.Series(json.dumps(value), index=index, dtype=TEXT)


def _members(pairs, opening: str, closing: str) -> pa.Array:
    """``{a,b,...}`` per row from (prefix, JSON text) pairs, leaving out missing texts.

    One Arrow join per object: members that are never missing go in as they are; the
    others as a piece that is empty where the text is missing.
    """
    parts = [_scalar(opening)]
    for n, (prefix, text) in enumerate(pairs):
        prefix = prefix if n == 0 else "," + prefix
        if text.null_count == 0:
            parts += [_scalar(prefix), text]
        else:
            parts.append(pc.fill_null(_concat(_scalar(prefix), text), _scalar("")))
    parts.append(_scalar(closing))
    joined = pc.binary_join_element_wise(*parts, _scalar(""))
    if pairs and pairs[0][1].null_count:  # a missing first member leaves "{,b}"
        joined = pc.replace_substring_regex(joined, r"^(.),", r"\1", max_replacements=1)
    return joined


def obj(fields: Mapping[str, pd.Series], index: pd.Index) -> pd.Series:
    """``{"key": value, ...}`` per row from JSON-text columns; missing values are left out."""
    pairs = [(f'"{key}":', _arrow(text)) for key, text in fields.items()]
    return _series(_members(pairs, "{", "}"), index)


def optional_obj(fields: Mapping[str, pd.Series], index: pd.Index) -> pd.Series:
    """Like ``obj`` but missing (NA) where every field is missing."""
    text = obj(fields, index)
    return text.mask(text == "{}")


def array(*elements: pd.Series, index: pd.Index) -> pd.Series:
    """``[a, b, ...]`` per row from JSON-text columns, leaving out missing elements."""
    return _series(_members([("", _arrow(e)) for e in elements], "[", "]"), index)


def nest(element: pd.Series, keys: pd.Series, index: pd.Index) -> pd.Series:
    """Group JSON texts by ``keys`` into a JSON array per key; keys not present get NA."""
    codes, uniques = pd.factorize(keys, sort=False)
    present = codes >= 0
    codes, values = codes[present], _arrow(element).filter(pa.array(present))
    order = np.argsort(codes, kind="stable")  # each key's elements together, in their order
    offsets = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(uniques)))])
    lists = pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), values.take(pa.array(order)))
    grouped = _concat(_scalar("["), pc.binary_join(lists, _scalar(",")), _scalar("]"))
    return _series(grouped, pd.Index(uniques)).reindex(index)
