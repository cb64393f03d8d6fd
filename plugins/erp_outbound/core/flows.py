"""A flow: one ERP document type delivered to one vendor endpoint.

Each vendor package lists its flows in ``<vendor>/flows.py``; the generic extract,
transform and reconcile steps look them up here by vendor and document type.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from erp_outbound.core.batch import Built, Extracted


@dataclass(frozen=True)
class Flow:
    vendor: str
    doc_type: str  # the vendor's document type, e.g. ORDER
    # "module:function" of the pandas builder (extracted frames -> payloads + build errors), imported when a
    # run builds: DAG files list the flows, and parsing them must not import pandas (Airflow parses every 30 s).
    builder: str
    party_columns: tuple[str, ...] = ()  # header columns naming parties to look up with parties.sql
    line_party_columns: tuple[str, ...] = ()  # line columns naming parties (e.g. a sales report's locations)
    has_lines: bool = True  # whether the type's SQL folder has lines.sql
    unique_field: str | None = None  # payload field whose value must not repeat among pending documents
    number_column: str | None = None  # pending.sql column with the number people know it by ("Only these")
    # The Status a delivered document gets, for a person's `erp-outbound release --as delivered` of an
    # uncertain one (a type whose SQL folder has uncertain.sql, release_pending.sql, release_delivered.sql).
    delivered_status: str | None = None
    # What to check at the vendor about an uncertain row of uncertain.sql (its columns fill the braces).
    uncertain_check: str = ""

    @property
    def sql_folder(self) -> str:
        return self.doc_type.lower()

    def build(self, extracted: Extracted, tz: str) -> Built:
        module, _, function = self.builder.partition(":")
        return getattr(importlib.import_module(module), function)(extracted, tz)


def flows(vendor: str) -> dict[str, Flow]:
    module = importlib.import_module(f"erp_outbound.{vendor}.flows")
    return module.FLOWS


def flow(vendor: str, doc_type: str) -> Flow:
    known = flows(vendor)
    if doc_type not in known:
        raise ValueError(f"{vendor} has no document type {doc_type!r}; known: {', '.join(known)}")
    return known[doc_type]
