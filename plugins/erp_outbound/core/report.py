"""The run report: what happened to every document of a run, for people and for machines.

Reconcile logs it as tables, writes it as JSON, CSV and a self-contained HTML page to the
reports folder, and returns its counts (never documents) as the task's XCom. Each failed
document carries its vendor link: Procuros' error URL, RamBase's error id (and operation
instance), GEP's error codes. Uncertain documents (the vendor may or may not have acted) are
listed apart, with what to check at the vendor and how to release them.
"""

from __future__ import annotations

import csv
import html
import io
import json
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

from erp_outbound.core.storage import Folder, safe_name
from erp_outbound.core.verdict import Outcome, Verdict

FAILURE_COLUMNS = ["doc_type", "document_id", "identifier", "outcome", "attempts", "reason", "error_url",
                   "error_code", "vendor_reference", "vendor_link", "reported"]
VENDOR_NAMES = {"procuros": "Procuros", "rambase": "RamBase", "gep": "GEP"}
REFERENCE_NAMES = {"rambase": "operation"}  # what a vendor's reference on a failed document is
MAX_RELEASE_IDS = 50  # ERP ids written into the release command; the list names every one
# No log line is longer: Airflow's log viewer shows about 130 characters beside an open grid panel and indents
# the lines of a multi-line message. Long texts wrap, nothing is cut; the files and the page keep full tables.
LOG_WIDTH = 100
COLUMN_GAP = 2  # tabulate's "simple" format puts two blanks between columns
HEADER_PADDING = 2  # and makes each column at least its header plus two wide (tabulate.MIN_PADDING)


def report_stem(dag_id: str, run_id: str) -> str:
    """The name (without extension) of a run's report files in the reports folder."""
    return safe_name(f"{dag_id}__{run_id}")


def vendor_ids(vendor: str, error_code: str | None, reference: str | None) -> str:
    """The vendor's error id and reference as text, e.g. 'RamBase error 108018 | RamBase operation 5001'."""
    name = VENDOR_NAMES.get(vendor, vendor)
    parts = []
    if error_code:
        parts.append(f"{name} error {error_code}")
    if reference:
        parts.append(f"{name} {REFERENCE_NAMES.get(vendor, 'reference')} {reference}")
    return " | ".join(parts)


def vendor_link(verdict: Verdict) -> str:
    """Where to look a failed document up at the vendor: the error URL, then error id and reference."""
    ids = vendor_ids(verdict.vendor, verdict.error_code, verdict.vendor_reference)
    return " | ".join(p for p in (verdict.error_url or "", ids) if p)


def is_web_link(url: str) -> bool:
    """Only http(s) URLs become links: a vendor's answer must not put javascript: into a page."""
    try:
        return urlsplit(url).scheme.lower() in ("http", "https")
    except ValueError:
        return False


def link_html(url: str) -> str:
    """An escaped <a> for an http(s) URL, escaped text otherwise."""
    if not url:
        return ""
    if not is_web_link(url):
        return html.escape(url)
    return f'<a href="{html.escape(url, quote=True)}" rel="noopener noreferrer">{html.escape(url)}</a>'


def vendor_link_html(vendor: str, failure: dict) -> str:
    """A failure row's vendor link as HTML: the error URL clickable, the ids as text."""
    ids = vendor_ids(vendor, failure.get("error_code"), failure.get("vendor_reference"))
    return " | ".join(p for p in (link_html(failure.get("error_url") or ""), html.escape(ids)) if p)


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
    # What a person does about uncertain documents when the vendor's types have no release (Procuros: the
    # rows stay pending and each run asks again); empty means the `erp-outbound release` command.
    uncertain_action: str = ""
    would_send: dict[str, int] = field(default_factory=dict)  # a dry run: documents per type it would send
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
        """Documents refused, unbuildable or deferred: everything not final and not uncertain."""
        return [self._row(v) for v in self.verdicts if not v.outcome.is_final and v.outcome is not Outcome.UNCERTAIN]

    def uncertain(self) -> list[dict]:
        """Documents the vendor may or may not have acted on: a person checks (the reason says what)."""
        return [self._row(v) for v in self.verdicts if v.outcome is Outcome.UNCERTAIN]

    def once_checked(self, uncertain: list[dict]) -> str:
        """What a person does about the uncertain documents of this run once checked at the vendor."""
        return self.uncertain_action or self.release_command(uncertain)

    def release_command(self, uncertain: list[dict]) -> str:
        """How a person releases the uncertain documents of this run once checked at the vendor."""
        ids = sorted({u["document_id"] for u in uncertain}, key=lambda i: (len(i), i))
        more = f" ... ({len(ids) - MAX_RELEASE_IDS} more ERP ids: see the list)" if len(ids) > MAX_RELEASE_IDS else ""
        ids = " ".join(ids[:MAX_RELEASE_IDS]) + more
        return (f"erp-outbound release --vendor {self.vendor} --dag {self.dag_id} --as delivered|pending {ids}"
                " (delivered: the vendor acted, its final status is written; pending: it did not, the next run "
                "sends it again)")

    def _row(self, v: Verdict) -> dict:
        return {
            "doc_type": v.doc_type,
            "document_id": v.document_id,
            "identifier": v.identifier,
            "outcome": v.outcome.value,
            "attempts": v.attempts_before + (1 if v.outcome.counts_attempt and not self.dry_run else 0),
            "reason": v.reason,
            "error_url": v.error_url or "",
            "error_code": v.error_code or "",
            "vendor_reference": v.vendor_reference or "",
            "vendor_link": vendor_link(v),
            "reported": self.reported.get((v.doc_type, v.document_id), ""),
        }

    def summary(self) -> dict:
        """What XCom carries: counts only."""
        summary = {"vendor": self.vendor, "dry_run": self.dry_run, "totals": self.totals(), "by_type": self.counts()}
        return summary | ({"would_send": self.would_send} if self.dry_run else {})

    def _count_rows(self) -> tuple[list[str], list[list]]:
        outcomes = [o.value for o in Outcome]
        counts, would = self.counts(), self.would_send
        if not self.dry_run:
            table = [[t] + [c.get(o, 0) for o in outcomes] + [sum(c.values())] for t, c in counts.items()]
            totals = self.totals()
            table.append(["TOTAL"] + [totals[o] for o in outcomes] + [totals["documents"]])
            return ["type"] + outcomes + ["total"], table
        table = [[t, would.get(t, 0)] + [counts.get(t, {}).get(o, 0) for o in outcomes]
                 + [would.get(t, 0) + sum(counts.get(t, {}).values())] for t in sorted({*counts, *would})]
        table.append(["TOTAL"] + [sum(column) for column in list(zip(*[row[1:] for row in table]))]
                     if table else ["TOTAL"] + [0] * (len(outcomes) + 2))
        return ["type", "would send"] + outcomes + ["total"], table

    def title(self) -> str:
        return (f"erp-outbound run report: {self.vendor} / {self.dag_id} / {self.run_id}"
                + ("  [DRY RUN: nothing sent, nothing changed]" if self.dry_run else ""))

    def render(self, max_failures: int = 200, width: int = LOG_WIDTH) -> str:
        """The report as text for the task log, in a layout that does not depend on the viewer's width:
        one line per document type, one block per document; no line longer than ``width``."""
        lines = [*_wrap(f"erp-outbound run report: {self.vendor} / {self.dag_id} / {self.run_id}", width)]
        if self.dry_run:
            lines.append("DRY RUN: nothing sent, nothing changed")
        lines.append("Documents per type and outcome:")
        lines += count_lines(self.counts(), self.totals(), width, self.would_send)
        if self.items:
            lines.append(f"\n{self.items_title} ({len(self.items)}):")
            lines.append(fitted_table(list(self.items[0].keys()), [[str(v) for v in row.values()] for row in self.items],
                                      width, floors={"reason": 30}))
        failures = self.failures()
        if failures:
            shown = failures[:max_failures]
            lines.append(f"\nDocuments that need attention ({len(failures)}):")
            lines += document_blocks(shown, width)
            if len(failures) > len(shown):
                lines.append(f"... and {len(failures) - len(shown)} more in the report files")
        uncertain = self.uncertain()
        if uncertain:
            lines.append(f"\nUncertain: check at the vendor ({len(uncertain)}):")
            lines += document_blocks(uncertain[:max_failures], width, detail="what to check")
            if len(uncertain) > max_failures:
                lines.append(f"... and {len(uncertain) - max_failures} more in the report files")
            lines += _wrap(f"Once checked: {self.once_checked(uncertain)}", width, indent="      ")
        elif not failures:
            lines.append("\nNo document needs attention.")
        for note in self.notes:
            lines += _wrap(f"Note: {note}", width, indent="      ")
        return "\n".join(lines)

    def run_note(self) -> str:
        """What the run's note in the UI says: the outcome in one sentence, then the report's notes."""
        totals = self.totals()
        named = {"DELIVERED": "delivered", "NO_ACTION": "taken, no action", "REJECTED": "rejected",
                 "BUILD_ERROR": "could not be built", "DEFERRED": "deferred to the next run",
                 "UNCERTAIN": "uncertain (check at the vendor)"}
        counts = ", ".join(f"{totals[o]} {named[o]}" for o in named if totals.get(o))
        if self.dry_run:
            would = sum(self.would_send.values())
            by_type = ", ".join(f"{t} {n}" for t, n in self.would_send.items())
            headline = (f"Dry run: would send {would} documents" + (f" ({by_type})" if by_type else "")
                        + (f"; {counts}" if counts else "") + ". Nothing was sent or written to the ERP.")
        elif totals["documents"]:
            headline = f"{totals['documents']} documents: {counts}."
        else:
            headline = "Nothing was sent: no pending document."
        return "\n".join([headline, *self.notes])

    def to_html(self) -> str:
        """One self-contained page (no scripts, no external files); every text is escaped."""
        e = html.escape
        headers, counts = self._count_rows()
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{e(self.title())}</title>",
            f"<style>{_STYLE}</style></head><body>",
            f"<h1>{e(self.title())}</h1>",
            (f"<p>Vendor <b>{e(self.vendor)}</b>, DAG <b>{e(self.dag_id)}</b>, run <b>{e(self.run_id)}</b>, "
             f"written {e(self.created_at)}.</p>"),
            "<h2>Documents per type and outcome</h2>",
            _html_table(headers, [[e(str(c)) for c in row] for row in counts]),
        ]
        if self.items:
            columns = list(self.items[0].keys())
            parts.append(f"<h2>{e(self.items_title)} ({len(self.items)})</h2>")
            parts.append(_html_table(columns, [[e(str(row.get(c, ""))) for c in columns] for row in self.items]))
        failures = self.failures()
        parts.append(f"<h2>Documents that need attention ({len(failures)})</h2>")
        if failures:
            parts.append(_html_table(
                ["type", "document", "ERP id", "outcome", "attempts", "reason", "vendor link", "reported"],
                [[e(f["doc_type"]), e(f["identifier"]), e(f["document_id"]), e(f["outcome"]), str(f["attempts"]),
                  e(f["reason"]), vendor_link_html(self.vendor, f), e(f["reported"])] for f in failures]))
        uncertain = self.uncertain()
        if not failures:
            parts.append("<p>None refused, unbuildable or deferred.</p>" if uncertain
                         else "<p>No document needs attention.</p>")
        if uncertain:
            parts.append(f"<h2>Uncertain: check at the vendor ({len(uncertain)})</h2>")
            held = ("" if self.uncertain_action else
                    "; the document is not sent again until a person checked it and released it")
            parts.append("<p>The request went out and its answer was lost: the vendor may or may not have acted. "
                         f"Nothing was marked and no attempt counted{held}. Once checked: "
                         f"<b>{e(self.once_checked(uncertain))}</b></p>")
            parts.append(_html_table(
                ["type", "document", "ERP id", "what to check", "vendor link"],
                [[e(u["doc_type"]), e(u["identifier"]), e(u["document_id"]), e(u["reason"]),
                  vendor_link_html(self.vendor, u)] for u in uncertain]))
        if self.notes:
            parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in self.notes) + "</ul>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def write(self, folder: Folder) -> dict[str, str]:
        stem = report_stem(self.dag_id, self.run_id)
        uncertain = self.uncertain()
        document = {**self.summary(), "dag_id": self.dag_id, "run_id": self.run_id,
                    "created_at": self.created_at, "notes": self.notes, "failures": self.failures(),
                    "uncertain": uncertain}
        if uncertain and self.uncertain_action:
            document["uncertain_action"] = self.uncertain_action
        elif uncertain:
            document["release_command"] = self.release_command(uncertain)
        if self.items:
            document["items"] = self.items
        rows = self.items or self.failures() + uncertain  # uncertain rows say so in their outcome column
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0].keys()) if rows else FAILURE_COLUMNS)
        writer.writeheader()
        writer.writerows({key: spreadsheet_safe(value) for key, value in row.items()} for row in rows)
        return {
            "json": folder.write_text(f"{stem}.json", json.dumps(document, indent=2, ensure_ascii=False)),
            "csv": folder.write_text(f"{stem}.csv", buffer.getvalue()),
            "html": folder.write_text(f"{stem}.html", self.to_html()),
        }


# A cell starting with one of these is a formula to a spreadsheet (OWASP: CSV injection), e.g. a document
# number "=HYPERLINK(...)" typed into the ERP. OWASP's remedy, a leading apostrophe, is these few lines.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A CSV cell a spreadsheet shows as text: a leading apostrophe before a formula's first character.
    Numbers (counts, attempts) stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _html_table(headers: list[str], rows: list[list[str]]) -> str:
    """A table of cells that are already HTML (escaped text or a built link)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = ("body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
          "table{border-collapse:collapse;margin:1em 0}"
          "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
          "th{background:#f0f0f0}td{max-width:40em;overflow-wrap:anywhere}")


def fitted_table(headers: list[str], rows: list[list], width: int = LOG_WIDTH,
                 floors: dict[str, int] | None = None, numbers: bool = False) -> str:
    """A tabulate "simple" table no wider than ``width``: the widest columns wrap, none is cut.

    A column gives up characters above its floor first (8 unless ``floors`` says otherwise), the
    one with the most to give first, so a reason wraps before a type name or a vendor link breaks.
    """
    texts = [[str(cell) for cell in row] for row in rows]
    # tabulate makes a column at least its header plus two wide
    least = [len(h) + HEADER_PADDING for h in headers]
    widths = [max([least[i], *(len(line) for row in texts for line in row[i].splitlines() or [""])])
              for i in range(len(headers))]
    floor = [min(widths[i], max(least[i], (floors or {}).get(h, 8))) for i, h in enumerate(headers)]
    budget = width - COLUMN_GAP * (len(headers) - 1)
    fitted = list(widths)
    while sum(fitted) > budget:
        spare = [w - f for w, f in zip(fitted, floor)]
        i = max(range(len(fitted)), key=lambda n: (spare[n], fitted[n]))
        if spare[i] <= 0:  # every column at its floor: the widest gives
            i = max(range(len(fitted)), key=lambda n: fitted[n] - least[n])
            if fitted[i] <= least[i]:
                break  # more columns than the width holds
        fitted[i] -= 1
    cells = [[_wrap_cell(cell, w) if w < natural else cell for cell, w, natural in zip(row, fitted, widths)]
             for row in texts]
    # Numbers right-aligned only in count tables: a document number such as 0012 stays as it is.
    from tabulate import tabulate  # where a table is drawn: DAG files import this module through reconcile

    return tabulate(cells, headers=headers, tablefmt="simple", disable_numparse=not numbers)


def count_lines(counts: dict[str, dict[str, int]], totals: dict[str, int], width: int = LOG_WIDTH,
                would_send: dict[str, int] | None = None) -> list[str]:
    """One line per document type (and the total): its documents, then each outcome it had (a dry run: first
    how many it would send)."""
    would_send = would_send or {}
    rows = [(t, sum(counts.get(t, {}).values()) + would_send.get(t, 0), counts.get(t, {}), would_send.get(t, 0))
            for t in sorted({*counts, *would_send})]
    rows.append(("TOTAL", totals["documents"] + sum(would_send.values()), totals, sum(would_send.values())))
    name_width = max(len(t) for t, *_ in rows)
    number_width = max(len(str(n)) for _, n, *_ in rows)
    lines = []
    for doc_type, n, by_outcome, would in rows:
        # A no-break space keeps each count with its outcome when the line wraps.
        outcomes = ", ".join([f"{would}\N{NO-BREAK SPACE}would\N{NO-BREAK SPACE}be\N{NO-BREAK SPACE}sent"] * bool(would)
                             + [f"{by_outcome[o.value]}\N{NO-BREAK SPACE}{o.value}"
                                for o in Outcome if by_outcome.get(o.value)])
        lead = f"  {doc_type:<{name_width}}  {n:>{number_width}}"
        lines += [line.replace("\N{NO-BREAK SPACE}", " ") for line in textwrap.wrap(
            f"{lead}  {outcomes or '-'}", width, subsequent_indent=" " * (len(lead) + 2), break_on_hyphens=False)]
    return lines


def document_blocks(rows: list[dict], width: int = LOG_WIDTH, detail: str = "reason") -> list[str]:
    """A failed (or uncertain) document per block: what it is, then its reason wrapped to the width, the
    vendor link on a line of its own (a log viewer links it, so it is never broken) and how the error was
    reported."""
    lines = []
    for row in rows:
        attempts = f", attempts {row['attempts']}" if row["attempts"] else ""
        lines += _wrap(f"- {row['doc_type']} {row['identifier']} (ERP id {row['document_id']}): "
                       f"{row['outcome']}{attempts}", width, indent="    ")
        lines += _wrap(f"{detail}: {row['reason'] or '-'}", width, indent="    ", first="    ")
        if row["vendor_link"]:
            lines.append(f"    vendor link: {row['vendor_link']}")
        if row["reported"]:
            lines += _wrap(f"error report to the vendor: {row['reported']}", width, indent="    ", first="    ")
    return lines


def _wrap_cell(text: str, width: int) -> str:
    return "\n".join(line for paragraph in text.splitlines() or [""]
                     for line in textwrap.wrap(paragraph, width, break_on_hyphens=False) or [""])


def _wrap(text: str, width: int, indent: str = "", first: str = "") -> list[str]:
    return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=indent, break_on_hyphens=False) or [""]
