"""OpenLineage of a load task: the ERP tables its SQL reads in, the vendor endpoint out.

A load operator's ``get_openlineage_facets_on_complete`` (the OpenLineage provider calls it when the
task succeeded, if the provider is installed and configured) returns what this module builds:

- inputs: every table the document types' SQL reads (``pending.sql``, ``lines.sql``, the vendor's
  ``parties.sql``), named as OpenLineage names database tables (``postgres://host:port`` with
  ``database.schema.table``, ``mysql://host:port`` with ``database.table``, ``sqlite://<file>`` with the
  table), and the SQL itself as the job's SQL facet;
- outputs: the vendor endpoint (namespace: the vendor's base URL, name: the endpoint's path), with the
  documents sent as its output statistics;
- the load's counts (documents sent, answered, deferred, build errors, requests, retries, 429 answers)
  as a run facet.

Everything is imported here, when lineage is asked for: never at DAG-parse time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from erp_outbound.core.flows import flows
from erp_outbound.erp.sql import has_statement, sql_root

STATEMENTS = ("pending", "lines")  # per document type; parties.sql is the vendor's own
DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306}
COUNTS = ("answered", "deferred", "requests", "retries", "throttled", "skipped_claims")


@dataclass(frozen=True, kw_only=True)
class ErpTable:
    namespace: str
    name: str


def load_sql(vendor: str, doc_types: list[str]) -> list[str]:
    """The SQL the extract step runs for these document types of ``vendor`` (each file once)."""
    known = flows(vendor)
    paths = []
    for doc_type in doc_types:
        flow = known.get(doc_type)
        if flow is None:
            continue
        for name in STATEMENTS:
            if has_statement(vendor, flow.sql_folder, name):
                paths.append(sql_root() / vendor / flow.sql_folder / f"{name}.sql")
        if flow.party_columns or flow.line_party_columns:
            paths.append(sql_root() / vendor / "parties.sql")
    return [p.read_text(encoding="utf-8") for p in dict.fromkeys(paths) if p.is_file()]


def tables_read(sql: list[str]) -> list[str]:
    """Every table the statements read, as written in them (the OpenLineage SQL parser)."""
    from openlineage_sql import parse

    # Our statements bind lists as ``IN :ids`` (SQLAlchemy expands them); the parser wants parentheses.
    parsable = [re.sub(r"\bIN\s+:(\w+)", r"IN (:\1)", s, flags=re.IGNORECASE) for s in sql]
    found: dict[str, None] = {}
    for statement in parsable:
        meta = parse([statement], dialect="generic")
        for table in (meta.in_tables if meta else []):
            found[table.qualified_name] = None
    return list(found)


def erp_tables(url: Any, tables: list[str]) -> list[ErpTable]:
    """The tables as OpenLineage names them for the ERP database at ``url`` (a SQLAlchemy URL).

    Only the scheme, host, port and database go into a name: never a user or a password.
    """
    backend = url.get_backend_name()
    if backend == "sqlite":
        return [ErpTable(namespace=f"sqlite://{url.database or ':memory:'}", name=t) for t in tables]
    scheme = "postgres" if backend.startswith("postgres") else "mysql" if backend in ("mysql", "mariadb") \
        else backend
    namespace = f"{scheme}://{url.host or 'localhost'}:{url.port or DEFAULT_PORTS.get(scheme, '')}".rstrip(":")
    schema = "public." if scheme == "postgres" else ""
    return [ErpTable(namespace=namespace, name=t if "." in t else f"{url.database}.{schema}{t}") for t in tables]


def load_lineage(*, vendor: str, base_url: str, endpoint: str, erp_url: Any, doc_types: list[str],
                 counts: dict) -> Any:
    """The ``OperatorLineage`` of one load task."""
    from airflow.providers.common.compat.openlineage.facet import (
        InputDataset,
        OutputDataset,
        OutputStatisticsOutputDatasetFacet,
        SQLJobFacet,
    )
    from airflow.providers.openlineage.extractors import OperatorLineage

    from erp_outbound.core.lineage_facets import DeliveryRunFacet

    sql = load_sql(vendor, doc_types)
    inputs = [InputDataset(namespace=t.namespace, name=t.name) for t in erp_tables(erp_url, tables_read(sql))]
    sent = int(counts.get("answered") or 0) + int(counts.get("deferred") or 0)
    output = OutputDataset(namespace=base_url, name="/" + endpoint.lstrip("/"),
                     outputFacets={"outputStatistics": OutputStatisticsOutputDatasetFacet(rowCount=sent)})
    run = DeliveryRunFacet(vendor=vendor, documentTypes=sorted(doc_types),
                           **{key: int(counts.get(key) or 0) for key in COUNTS},
                           buildErrors=int(counts.get("build_errors") or 0))
    return OperatorLineage(inputs=inputs, outputs=[output], run_facets={"erpOutboundDelivery": run},
                           job_facets={"sql": SQLJobFacet(query=";\n".join(s.strip().rstrip(";") for s in sql))})
