"""What passes between extract, transform and load: frames in, payloads and build errors out."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


def id_text(values: pd.Series) -> pd.Series:
    """Ids as text, the same whatever the database returned: 2, 2.0 (a NULL in the column) or '2'."""
    if pd.api.types.is_float_dtype(values):
        values = values.astype("Int64")
    return values.astype("string")


def _sort_key(values: pd.Series) -> pd.Series:
    if values.name == "line_number":
        return pd.to_numeric(values.map(lambda v: v if isinstance(v, (int, float, str)) else None), errors="coerce")
    return values


@dataclass
class Extracted:
    """One chunk of one document type: headers indexed by document id, their lines and parties."""

    headers: pd.DataFrame
    lines: pd.DataFrame
    parties: pd.DataFrame

    def __post_init__(self):
        self.headers = self.headers.set_index(id_text(self.headers["document_id"]).rename(None))
        self.lines = self.lines.assign(document_id=id_text(self.lines["document_id"]))
        # Line numbers as numbers (an unreadable one sorts last and is a build error of its builder).
        self.lines = self.lines.sort_values(["document_id", "line_number"], kind="stable", key=_sort_key).reset_index(drop=True)
        self.parties = self.parties.set_index(id_text(self.parties["party_id"]).rename(None))


@dataclass
class Built:
    """Payload JSON per buildable document, build errors per other document."""

    payloads: pd.DataFrame  # document_id, identifier, attempts, body
    errors: pd.DataFrame  # document_id, identifier, attempts, errors ({field: [messages]}, data, not JSON)
