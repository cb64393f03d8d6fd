"""The run report: what happened to every document of a run, for people and for machines.

Reconcile logs it as tables, writes it as JSON and CSV to the reports folder, and
returns its counts (never documents) as the task's XCom.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from tabulate import tabulate

from erp_outbound.core.storage import Folder, safe_name
from erp_outbound.core.verdict import Outcome, Verdict

FAILURE_COLUMNS = ["doc_type", "document_id", "identifier", "outcome", "attempts", "reason", "error_url",
                   "error_code", "reported"]


@dataclass
class RunReport:
    vendor: str
    dag_id: str
    run_id: str
    dry_run: bool = False
    verdicts: list[Verdict] = field(default_factory=list)
    reported: dict[tuple[str, str], str] = field(default_factory=dict)  # (doc_type, id) -> how reported
    notes: list[str] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)  # one row per item, when every item matters
    items_title: str = "Items"
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def counts(self) -> dict[str, dict[str, int]]:
        per_type: dict[str, Counter] = {}
        for v in self.verdicts:
            per_type.setdefault(v.doc_type, Counter())[v.outcome.value] += 1
        return {t: dict(c) for t, c in sorted(per_type.items())}

    def totals(self) -> dict[str, int]:
        totals = Counter(v.outcome.value for v in self.verdicts)
        return {o.value: totals.get(o.value, 0) for o in Outcome} | {"documents": len(self.verdicts)}

    def failures(self) -> list[dict]:
        rows = []
        for v in self.verdicts:
            if v.outcome.is_final:
                continue
            rows.append({
                "doc_type": v.doc_type,
                "document_id": v.document_id,
                "identifier": v.identifier,
                "outcome": v.outcome.value,
                "attempts": v.attempts_before + (1 if v.outcome.counts_attempt and not self.dry_run else 0),
                "reason": v.reason,
                "error_url": v.error_url or "",
                "error_code": v.error_code or "",
                "reported": self.reported.get((v.doc_type, v.document_id), ""),
            })
        return rows

    def summary(self) -> dict:
        """What XCom carries: counts only."""
        return {"vendor": self.vendor, "dry_run": self.dry_run, "totals": self.totals(), "by_type": self.counts()}

    def render(self, max_failures: int = 200) -> str:
        outcomes = [o.value for o in Outcome]
        counts = self.counts()
        table = [[t] + [c.get(o, 0) for o in outcomes] + [sum(c.values())] for t, c in counts.items()]
        totals = self.totals()
        table.append(["TOTAL"] + [totals[o] for o in outcomes] + [totals["documents"]])
        lines = [
            f"erp-outbound run report: {self.vendor} / {self.dag_id} / {self.run_id}"
            + ("  [DRY RUN: nothing sent, nothing changed]" if self.dry_run else ""),
            tabulate(table, headers=["type"] + outcomes + ["total"], tablefmt="simple"),
        ]
        if self.items:
            lines.append(f"\n{self.items_title} ({len(self.items)}):")
            lines.append(tabulate([[_cut(str(v), 100) for v in row.values()] for row in self.items],
                                  headers=list(self.items[0].keys()), tablefmt="simple"))
        failures = self.failures()
        if failures:
            shown = failures[:max_failures]
            lines.append(f"\nDocuments that need attention ({len(failures)}):")
            lines.append(tabulate(
                [[f["doc_type"], f["identifier"], f["outcome"], f["attempts"], _cut(f["reason"], 100),
                  f["error_url"] or f["error_code"] or "-", f["reported"] or "-"] for f in shown],
                headers=["type", "document", "outcome", "attempts", "reason", "error URL / id", "reported"],
                tablefmt="simple",
            ))
            if len(failures) > len(shown):
                lines.append(f"... and {len(failures) - len(shown)} more in the report files")
        else:
            lines.append("\nNo document needs attention.")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def write(self, folder: Folder) -> dict[str, str]:
        stem = safe_name(f"{self.dag_id}__{self.run_id}")
        document = {**self.summary(), "dag_id": self.dag_id, "run_id": self.run_id,
                    "created_at": self.created_at, "notes": self.notes, "failures": self.failures()}
        if self.items:
            document["items"] = self.items
        rows = self.items or self.failures()
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0].keys()) if rows else FAILURE_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        return {
            "json": folder.write_text(f"{stem}.json", json.dumps(document, indent=2, ensure_ascii=False)),
            "csv": folder.write_text(f"{stem}.csv", buffer.getvalue()),
        }


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
