"""Building payloads: build errors collected column-wise, and the payloads/errors split."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from erp_outbound.core import jsontext as J
from erp_outbound.core.batch import Built


# A message: a text, a text per row, or a function returning either. A function is called only when a row
# fails: a column-wide message costs a string operation over every row, and most chunks have no failures.
Message = str | pd.Series | Callable[[], str | pd.Series]


@dataclass
class Problems:
    """Build errors, collected column-wise: (document_id, field, message)."""

    parts: list[pd.DataFrame] = field(default_factory=list)

    def add(self, mask: pd.Series, field_name: str | pd.Series, message: Message) -> None:
        """Flag the documents (index = document id) where ``mask`` is true."""
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            hit = mask[mask].index
            self.parts.append(pd.DataFrame({
                "document_id": hit,
                "field": _pick(field_name, mask),
                "message": _pick(message, mask),
            }))

    def add_lines(self, lines: pd.DataFrame, mask: pd.Series, attribute: str, message: Message) -> None:
        """Flag lines: the field names the line, e.g. ``items[2].identifiers``."""
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            hit = lines[mask]
            self.parts.append(pd.DataFrame({
                "document_id": hit["document_id"].to_numpy(),
                "field": ("items[line " + line_numbers(hit["line_number"]) + "]." + attribute).to_numpy(),
                "message": _pick(message, mask),
            }))

    def by_document(self) -> pd.Series:
        """``{field: [messages]}`` per failing document id: data, encoded only where it is stored (the journal)."""
        if not self.parts:
            return pd.Series(dtype=object)
        frame = pd.concat(self.parts, ignore_index=True).astype(str).drop_duplicates()
        grouped = frame.groupby(["document_id", "field"], sort=False)["message"].agg(list)
        per_document: dict[str, dict[str, list[str]]] = {}
        for (document_id, field_name), messages in grouped.items():
            per_document.setdefault(document_id, {})[field_name] = messages
        return pd.Series(list(per_document.values()), index=list(per_document), dtype=object)


def line_numbers(values: pd.Series) -> pd.Series:
    """Line numbers as text for a field name: whole numbers as 3 (not 3.0), anything else as the ERP has it."""
    numbers = J.numeric(values)
    whole = numbers.where((numbers % 1 == 0) & (numbers.abs() <= J.EXACT_INTEGER)).astype("Int64").astype("string")
    return whole.fillna(shown(values))


def shown(values: pd.Series) -> pd.Series:
    """Values as text for a message; a missing value shows as (empty)."""
    return values.astype("string").fillna("(empty)")


def _pick(value, mask: pd.Series):
    if callable(value):
        value = value()
    if isinstance(value, pd.Series):
        return value[mask].astype(str).to_numpy()
    return value


def built(headers: pd.DataFrame, identifier_column: str, body: pd.Series, problems: Problems,
          keep: tuple[str, ...] = ()) -> Built:
    """Payloads of the buildable documents (with the ``keep`` columns), build errors of the others."""
    idx = headers.index
    errors = problems.by_document()
    failed = idx.isin(errors.index)
    meta = pd.DataFrame({
        "document_id": idx.astype(str),
        "identifier": headers[identifier_column].astype(J.TEXT).fillna("(no number, id " + idx.to_series().astype(str) + ")").to_numpy(),
        "attempts": pd.to_numeric(headers.get("attempts", 0), errors="coerce").fillna(0).astype(int).to_numpy()
        if "attempts" in headers else np.zeros(len(idx), dtype=int),
    }, index=idx)
    for column in keep:
        meta[column] = headers[column].to_numpy()
    payloads = meta[~failed].assign(body=body[~failed].to_numpy())
    failures = meta[failed].drop(columns=list(keep)).assign(errors=errors.reindex(idx[failed]).to_numpy())
    return Built(payloads.reset_index(drop=True), failures.reset_index(drop=True))


def reject_repeated_identifiers(result: Built, field_name: str, seen: dict[str, str]) -> Built:
    """Documents sharing a number with another pending document become build errors.

    ``seen`` maps numbers already staged by earlier chunks of the run to their document id.
    """
    payloads = result.payloads
    identifiers = payloads["identifier"]
    in_chunk = identifiers.duplicated(keep=False)
    earlier = identifiers.map(seen.__contains__).astype(bool)  # a chunk's numbers against the run's
    repeated = in_chunk | earlier
    if repeated.any():
        owners = payloads.groupby("identifier")["document_id"].agg(list)
        messages = [
            f"{field_name} {number} is also used by pending document "
            + ", ".join([seen[number]] if number in seen else [d for d in owners[number] if d != doc])
            for number, doc in zip(identifiers[repeated], payloads["document_id"][repeated])
        ]
        moved = payloads[repeated][["document_id", "identifier", "attempts"]].assign(
            errors=[{field_name: [m]} for m in messages])
        result = Built(payloads[~repeated].reset_index(drop=True),
                       pd.concat([result.errors, moved], ignore_index=True))
    seen.update(zip(result.payloads["identifier"], result.payloads["document_id"]))
    return result


def move_to_errors(result: Built, problems: Problems) -> Built:
    """``result`` with the payloads of the documents ``problems`` names moved to the build errors."""
    errors = problems.by_document()
    if errors.empty:
        return result
    payloads = result.payloads
    failed = payloads["document_id"].isin(errors.index)
    moved = payloads[failed][["document_id", "identifier", "attempts"]]
    moved = moved.assign(errors=errors.reindex(moved["document_id"]).to_numpy())
    return Built(payloads[~failed].reset_index(drop=True), pd.concat([result.errors, moved], ignore_index=True))
