"""Vectorised JSON: build JSON text column by column with pandas, one string per row.

Payloads are built a column at a time (never a Python loop per row and field) and
stay JSON text from the transform to the HTTP request. Missing values leave their
key out, as the vendors' schemas want.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pandas as pd

TEXT = "string"


def _text(series: pd.Series) -> pd.Series:
    return series.astype(TEXT)


def string(values: pd.Series) -> pd.Series:
    """JSON string literals; missing and empty values stay missing."""
    values = values.astype(TEXT).str.strip()
    values = values.mask(values == "")
    return _text(values.map(json.dumps, na_action="ignore"))


def number(values: pd.Series, decimals: int | None = None) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce").astype("Float64")
    if decimals is not None:
        numbers = numbers.round(decimals)
    text = _text(numbers)
    return text.str.replace(r"\.0$", "", regex=True)


def integer(values: pd.Series) -> pd.Series:
    """Whole numbers; anything else is missing (callers report it as a build error)."""
    numbers = pd.to_numeric(values, errors="coerce")
    return _text(numbers.where(numbers % 1 == 0).astype("Int64"))


def constant(value, index: pd.Index) -> pd.Series:
    return pd.Series(json.dumps(value), index=index, dtype=TEXT)


def obj(fields: Mapping[str, pd.Series], index: pd.Index) -> pd.Series:
    """``{"key": value, ...}`` per row from JSON-text columns; missing values are left out."""
    body = pd.Series("", index=index, dtype=TEXT)
    for key, text in fields.items():
        body = body + (f'"{key}":' + text + ",").fillna("")
    return "{" + body.str.rstrip(",") + "}"


def optional_obj(fields: Mapping[str, pd.Series], index: pd.Index) -> pd.Series:
    """Like ``obj`` but missing (NA) where every field is missing."""
    text = obj(fields, index)
    return text.mask(text == "{}")


def array(*elements: pd.Series, index: pd.Index) -> pd.Series:
    """``[a, b, ...]`` per row from JSON-text columns, leaving out missing elements."""
    body = pd.Series("", index=index, dtype=TEXT)
    for element in elements:
        body = body + (element + ",").fillna("")
    return "[" + body.str.rstrip(",") + "]"


def nest(element: pd.Series, keys: pd.Series, index: pd.Index) -> pd.Series:
    """Group JSON texts by ``keys`` into a JSON array per key; keys not present get NA."""
    grouped = element.groupby(keys.to_numpy(), sort=False).agg(",".join)
    return ("[" + _text(grouped) + "]").reindex(index)
