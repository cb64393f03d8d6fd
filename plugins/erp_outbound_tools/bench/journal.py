"""The Deliveries page at years of history: a journal of millions of verdicts, today's page queries
beside the ones before the open set (``make bench LEGS=journal``, ``JOURNAL_ROWS=10000000``).

Builds, on the server (generate_series / a recursive sequence INSERT ... SELECT, no Python loop):
- ``documents`` ERP documents (``bench_orders``: id, status), one per three verdicts;
- the journal: three verdicts per document over a year (a rejection, a deferral, then the final
  one; ``open`` documents (default 2,000), spread over the year, stay open with a rejection or an
  uncertain answer as their latest);
- the open set, filled as revision 0006 fills it (the migration's own statement);
then times each query the page makes: today's best of ``repeat`` runs, the old one once.

``BASELINE`` keeps the page's queries as they were before the open set: each groups the whole journal
to find every document's latest verdict. They are kept here only to be measured against.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable

from sqlalchemy import and_, func, select, text
from sqlalchemy.engine import Engine

from erp_outbound.core.verdict import Outcome
from erp_outbound.erp import migrations
from erp_outbound.erp.state import verdicts
from erp_outbound.ui import attention

FINAL = sorted(o.value for o in Outcome if o.is_final)
OPEN_DOCUMENTS = 2000  # what needs attention: an operator's backlog, which does not grow with the years
VENDOR, DOC_TYPE, DAG = "procuros", "ORDER", "procuros_outgoing"
FILL = importlib.import_module("erp_outbound.erp.migrations.versions.0006_open_documents")


# -- the page's queries before the open set (the baseline) ------------------------------------------------

def baseline_open_documents(engine: Engine, vendors=None, doc_type=None, outcome=None, limit=attention.MAX_ROWS):
    v = verdicts.c
    latest = select(func.max(v.id).label("id")).where(v.dry_run.is_(False))
    if vendors is not None:
        latest = latest.where(v.vendor.in_(list(vendors)))
    if doc_type:
        latest = latest.where(v.doc_type == doc_type)
    latest = latest.group_by(v.vendor, v.doc_type, v.document_id).subquery()
    query = (select(verdicts).join(latest, v.id == latest.c.id)
             .where(v.outcome.not_in(FINAL))
             .order_by(v.recorded_at.desc(), v.id.desc()).limit(limit))
    if outcome:
        query = query.where(v.outcome == outcome)
    with engine.connect() as conn:
        return [attention._document(row._mapping) for row in conn.execute(query)]


def baseline_known_types(engine: Engine):
    v = verdicts.c
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(v.vendor, v.doc_type).distinct()))


def baseline_known_outcomes(engine: Engine):
    v = verdicts.c
    with engine.connect() as conn:
        seen = {r[0] for r in conn.execute(select(v.outcome).where(and_(v.outcome.not_in(FINAL))).distinct())}
    ours = [o.value for o in Outcome if not o.is_final]
    return ours + sorted(seen - set(ours))


QUERIES: dict[str, tuple[Callable, Callable]] = {  # name -> (today's, before the open set)
    "what needs attention (all vendors)": (
        lambda e: attention.open_documents(e, vendors={"procuros", "rambase", "gep"}),
        lambda e: baseline_open_documents(e, vendors={"procuros", "rambase", "gep"})),
    "the same, filtered to one type": (
        lambda e: attention.open_documents(e, vendors={"procuros"}, doc_type=DOC_TYPE),
        lambda e: baseline_open_documents(e, vendors={"procuros"}, doc_type=DOC_TYPE)),
    "the type list": (attention.known_types, baseline_known_types),
    "the outcome list": (attention.known_outcomes, baseline_known_outcomes),
}


# -- building the journal on the server ---------------------------------------------------------------

def _numbers(dialect: str, count: int) -> str:
    """A derived table ``n(i)`` of 1..count, made by the server."""
    if dialect == "postgresql":
        return f"generate_series(1, {count}) AS n(i)"
    # MariaDB: its sequence engine (seq_1_to_N) makes the numbers without a loop
    return f"seq_1_to_{count} AS n"


def build(engine: Engine, documents: int, open_documents: int = OPEN_DOCUMENTS) -> dict:
    """Empty the bookkeeping tables, then fill the ERP and the journal with ``documents`` documents and three
    verdicts each; returns the counts and the seconds it took."""
    dialect = engine.dialect.name
    if dialect not in ("postgresql", "mysql", "mariadb"):
        raise ValueError(f"the journal bench runs on PostgreSQL or MariaDB, not {dialect}")
    started = time.perf_counter()
    with engine.begin() as conn:
        for table in ("erp_outbound_open_documents", "erp_outbound_verdicts", "erp_outbound_claims",
                      "erp_outbound_error_reports"):
            conn.exec_driver_sql(f"DELETE FROM {table}" if dialect != "postgresql" else f"TRUNCATE {table}")
        conn.exec_driver_sql("DROP TABLE IF EXISTS bench_orders")
        conn.exec_driver_sql("CREATE TABLE bench_orders (id BIGINT PRIMARY KEY, status VARCHAR(32))")
    i = "n.i" if dialect == "postgresql" else "CAST(n.seq AS SIGNED)"  # seq is unsigned: no negative sums
    numbers = _numbers(dialect, documents)
    if dialect == "postgresql":
        at = lambda offset: f"now() - make_interval(secs => (({documents} - {i}) * 31536000.0 / {documents}) - {offset})"
        false = "false"
        text_of = lambda expr: f"CAST({expr} AS TEXT)"
    else:
        at = lambda offset: (f"UTC_TIMESTAMP(6) - INTERVAL ((({documents} - {i}) * 31536000 DIV {documents}) "
                             f"- {offset}) SECOND")
        false = "0"
        text_of = lambda expr: f"CAST({expr} AS CHAR)"
    every = max(1, documents // max(1, open_documents))
    is_open = f"MOD({i}, {every}) = 0"
    last_outcome = (f"CASE WHEN {is_open} THEN (CASE WHEN MOD({i}, {every * 2}) = 0 THEN 'UNCERTAIN' "
                    "ELSE 'REJECTED' END) ELSE 'DELIVERED' END")
    columns = ("run_id, dag_id, vendor, doc_type, document_id, identifier, outcome, status, message, errors, "
               "http_status, attempts_before, recorded_at, dry_run, applied_at, applied_by")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"INSERT INTO bench_orders (id, status) SELECT {i}, CASE WHEN {is_open} THEN NULL ELSE 'TRANSMITTED' END "
            f"FROM {numbers}")
    # three passes, in the order a year of runs wrote them (ids follow time per document)
    passes = [
        ("'REJECTED'", "NULL", "'Could not resolve party'", "'{\"supplier\": [\"unknown GLN\"]}'", "422", "0", 0),
        ("'DEFERRED'", "NULL", "'HTTP 503'", "NULL", "503", "1", 900),
        (last_outcome, f"CASE WHEN {is_open} THEN NULL ELSE 'TRANSMITTED' END",
         f"CASE WHEN {is_open} THEN 'still refused' ELSE NULL END", "NULL", "201", "1", 1800),
    ]
    for outcome, status, message, errors, http, attempts, offset in passes:
        run = text_of(f"{i} DIV 1000" if dialect != "postgresql" else f"{i} / 1000")
        with engine.begin() as conn:
            conn.exec_driver_sql(
                f"INSERT INTO erp_outbound_verdicts ({columns}) SELECT "
                f"CONCAT('scheduled__', {run}, '_{offset}'), '{DAG}', '{VENDOR}', '{DOC_TYPE}', {text_of(i)}, "
                f"CONCAT('PO-', {text_of(i)}), {outcome}, {status}, {message}, {errors}, {http}, {attempts}, "
                f"{at(offset)}, {false}, {at(offset + 60)}, 'bench' FROM {numbers}")
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM erp_outbound_open_documents")
    with engine.begin() as conn:
        conn.exec_driver_sql(fill_statement(dialect))
        if dialect == "postgresql":
            conn.exec_driver_sql("ANALYZE erp_outbound_verdicts")
            conn.exec_driver_sql("ANALYZE erp_outbound_open_documents")
        else:
            conn.exec_driver_sql("ANALYZE TABLE erp_outbound_verdicts, erp_outbound_open_documents")
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT COUNT(*) FROM erp_outbound_verdicts").scalar()
        open_rows = conn.exec_driver_sql("SELECT COUNT(*) FROM erp_outbound_open_documents").scalar()
    return {"documents": documents, "journal_rows": rows, "open_documents": open_rows,
            "build_seconds": round(time.perf_counter() - started, 1)}


def fill_statement(dialect: str) -> str:
    """Revision 0006's fill, as it runs on this database."""
    return FILL.fill_statement(dialect)


def time_queries(engine: Engine, repeat: int = 3) -> dict:
    """Seconds per page query, today's (best of ``repeat``) and the baseline's (once), and whether they agree."""
    results = {}
    for name, (today, before) in QUERIES.items():
        timings = {}
        answers = {}
        for label, query in (("today", today), ("before", before)):
            best = None
            for _ in range(repeat if label == "today" else 1):  # the baseline takes minutes at 10M rows: once
                started = time.perf_counter()
                answers[label] = query(engine)
                seconds = time.perf_counter() - started
                best = seconds if best is None else min(best, seconds)
            timings[label] = round(best, 4)
        if name == "the type list":  # today's lists every type this version sends, beside the open ones
            same = set(answers["before"]) <= set(answers["today"])
        else:
            same = _comparable(answers["today"]) == _comparable(answers["before"])
        results[name] = timings | {"rows": len(answers["today"]), "same_answer": same}
    return results


def time_prune(engine: Engine, batches: int = 10, batch: int = 1000) -> dict:
    """``erp-outbound db prune --days 180``'s first batches on the built journal: seconds per batch (each its own
    transaction: the longest any delivering run could wait on it)."""
    from erp_outbound.erp.retention import Retention, prune_journal

    times: list[float] = []
    started = [time.perf_counter()]

    def lap(_gone: int) -> None:
        now = time.perf_counter()
        times.append(now - started[0])
        started[0] = now

    removed = prune_journal(engine, Retention(days=180, batch=batch), on_batch=lap, max_batches=batches)
    return {"removed": removed, "batches": len(times), "batch_size": batch,
            "median_batch_seconds": round(sorted(times)[len(times) // 2], 4) if times else None,
            "max_batch_seconds": round(max(times), 4) if times else None}


def _comparable(answer):
    if answer and isinstance(answer[0], attention.Document):
        return [(d.vendor, d.doc_type, d.document_id, d.outcome) for d in answer]
    return answer


def run(urls: dict[str, str], documents: int, repeat: int = 3, open_documents: int = OPEN_DOCUMENTS) -> dict:
    from erp_outbound.erp.hook import make_engine

    results = {}
    for name, url in urls.items():
        engine = make_engine(url)
        try:
            migrations.upgrade(engine)
            print(f"... {name}: building {documents:,} documents and {documents * 3:,} journal rows", flush=True)
            built = build(engine, documents, open_documents)
            print(f"... {name}: built in {built['build_seconds']} s; timing the page's queries", flush=True)
            results[name] = built | {"queries": time_queries(engine, repeat)} | {"prune": time_prune(engine)}
        finally:
            engine.dispose()
    return results


def report(results: dict) -> None:
    from tabulate import tabulate

    for name, result in results.items():
        print(f"\n{name}: {result['journal_rows']:,} journal rows, {result['documents']:,} documents, "
              f"{result['open_documents']:,} open (built in {result['build_seconds']} s)")
        rows = [[query, f"{q['today']:.3f}", f"{q['before']:.3f}", q["rows"], "yes" if q["same_answer"] else "NO"]
                for query, q in result["queries"].items()]
        print(tabulate(rows, headers=["page query", "today (s)", "before the open set (s)", "rows", "same answer (type list: covers)"],
                       tablefmt="github"))
        pruned = result.get("prune") or {}
        if pruned.get("batches"):
            print(f"prune --days 180: {pruned['removed']:,} entries in {pruned['batches']} batches of "
                  f"{pruned['batch_size']:,}; a batch (its own transaction) took {pruned['median_batch_seconds']} s "
                  f"(median), {pruned['max_batch_seconds']} s at most")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m erp_outbound_tools.bench.journal", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="journal rows (three per document)")
    parser.add_argument("--databases", default="postgresql,mariadb")
    parser.add_argument("--postgres-database", default="erp_outbound_bench_journal",
                        help="a scratch database on the local PostgreSQL, dropped and made again")
    parser.add_argument("--mariadb-url", default="mysql+pymysql://root@127.0.0.1:3306/erp_outbound_bench_journal",
                        help="a scratch database on the local MariaDB, dropped and made again")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--open", type=int, default=OPEN_DOCUMENTS, help="documents that need attention")
    args = parser.parse_args(argv)
    urls = scratch_urls({d.strip() for d in args.databases.split(",") if d.strip()}, args.postgres_database,
                        args.mariadb_url)
    try:
        results = run(urls, args.rows // 3, args.repeat, args.open)
    finally:
        drop_scratch(urls)
    report(results)
    print("\nBENCH_JOURNAL " + json.dumps(results))
    return 0


def scratch_urls(wanted=frozenset({"postgresql", "mariadb"}), postgres_database: str = "erp_outbound_bench_journal",
                 mariadb_url: str = "mysql+pymysql://root@127.0.0.1:3306/erp_outbound_bench_journal") -> dict[str, str]:
    """Scratch databases on the local PostgreSQL and MariaDB, made anew: {name: URL}."""
    from erp_outbound_tools.bench.databases import create_database, postgres_url

    urls = {}
    if "postgresql" in wanted:
        create_database(postgres_database)
        urls["PostgreSQL"] = postgres_url(postgres_database)
    if "mariadb" in wanted:
        urls["MariaDB"] = scratch_mariadb(mariadb_url)
    return urls


def drop_scratch(urls: dict[str, str]) -> None:
    """Drop the scratch databases (10 million rows take some 3 GB on each server)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from erp_outbound_tools.bench.databases import drop_database

    for url in urls.values():
        parsed = make_url(url)
        if parsed.get_backend_name() == "postgresql":
            drop_database(parsed.database)
        else:
            server = create_engine(parsed.set(database=""))
            with server.begin() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {parsed.database}"))
            server.dispose()


def scratch_mariadb(url: str) -> str:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain database name: {name!r}")
    server = create_engine(parsed.set(database=""))
    with server.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    server.dispose()
    return url


if __name__ == "__main__":
    sys.exit(main())
