"""What passes between extract, transform and load: frames in, payloads and build errors out."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass
class Extracted:
    """One chunk of one document type: headers indexed by document id, their lines and parties."""

    headers: pd.DataFrame
    lines: pd.DataFrame
    parties: pd.DataFrame

    def __post_init__(self):
        self.headers = self.headers.set_index(self.headers["document_id"].astype(str).rename(None))
        self.lines = self.lines.assign(document_id=self.lines["document_id"].astype(str))
        self.lines = self.lines.sort_values(["document_id", "line_number"], kind="stable").reset_index(drop=True)
        self.parties = self.parties.set_index(self.parties["party_id"].astype(str).rename(None))


@dataclass
class Built:
    """Payload JSON per buildable document, build errors per other document."""

    payloads: pd.DataFrame  # document_id, identifier, attempts, body
    errors: pd.DataFrame  # document_id, identifier, attempts, errors (JSON {field: [messages]})
