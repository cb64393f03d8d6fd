"""``erp-outbound``: migrate the ERP's bookkeeping tables, the ERP's status report, and the tools' commands.

The runtime's own commands live here. The tools (``pip install 'erp-outbound[tools]'``: demo ERP,
sandbox, make demo, make airflow) add theirs through the ``erp_outbound.commands`` entry point,
loaded only when the extra of the same name is installed: a runtime-only install never imports them.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import Distribution, PackageNotFoundError, entry_points, version

from packaging.requirements import Requirement

COMMANDS_GROUP = "erp_outbound.commands"


def add_erp_arguments(parser) -> None:
    """Which ERP a command works on: an Airflow connection, or a SQLAlchemy URL."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--conn-id", default="erp_default", help="the Airflow connection of the ERP (default erp_default)")
    where.add_argument("--db", help="the ERP's SQLAlchemy URL instead of a connection")

def _status(args) -> int:
    from erp_outbound.erp.hook import make_engine
    from erp_outbound.erp.status import render_status

    print(render_status(make_engine(args.db), args.vendor))
    return 0


def _erp_url(args) -> str | None:
    """The ERP's SQLAlchemy URL from --db, or from the Airflow connection --conn-id (None: said why)."""
    from erp_outbound.erp.hook import sqlalchemy_url

    if args.db:
        return args.db
    # Not a task: Airflow's own lookup, which also reads connections kept in the metadata DB.
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models.connection import Connection

    try:
        return sqlalchemy_url(Connection.get_connection_from_secrets(args.conn_id))
    except AirflowNotFoundException:
        print(f"No Airflow connection {args.conn_id!r}: give --conn-id of the ERP's connection, "
              "or --db with its SQLAlchemy URL.", file=sys.stderr)
        return None


def _release(args) -> int:
    from erp_outbound.erp import migrations
    from erp_outbound.erp.hook import make_engine
    from erp_outbound.erp.release import refused_line, release, released_line

    url = _erp_url(args)
    if url is None:
        return 1
    engine = make_engine(url)
    try:
        migrations.check(engine, None if args.db else args.conn_id)
        released, refused = release(engine, args.vendor, args.dag, args.ids, args.as_, args.type, args.reference)
    except (ValueError, migrations.ErpSchemaError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    for row in released:
        print(released_line(row, args.as_))
    for document_id, why in refused.items():
        print(refused_line(document_id, why), file=sys.stderr)
    return 1 if refused else 0


def _db_upgrade(args) -> int:
    from erp_outbound.erp import migrations
    from erp_outbound.erp.hook import make_engine

    url = _erp_url(args)
    if url is None:
        return 1
    engine = make_engine(url)
    try:
        before, after = migrations.upgrade(engine, args.revision)
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        print(f"The bookkeeping tables in {where} are at revision {after}: nothing to do.")
    else:
        print(f"The bookkeeping tables in {where} went from revision {before or '(none)'} to {after}.")
    return 0


def _db_prune(args) -> int:
    from erp_outbound.core import settings
    from erp_outbound.core.storage import Folder
    from erp_outbound.erp import migrations
    from erp_outbound.erp.hook import make_engine
    from erp_outbound.erp.retention import Retention, prune

    try:
        retention = Retention.from_environment(days=args.days, batch=args.batch, reports_keep=args.reports_keep,
                                               pause=args.pause)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    url = _erp_url(args)
    if url is None:
        return 1
    engine = make_engine(url)
    try:
        migrations.check(engine, None if args.db else args.conn_id)
        folder = None if args.no_reports else Folder(args.reports or settings.reports_url())
        pruned = prune(engine, folder, retention, dry_run=args.dry_run)
    except migrations.ErpSchemaError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    verb = "Would remove" if args.dry_run else "Removed"
    where = "" if folder is None else f" from {folder.location}"
    print(f"{verb} what is older than {retention.days} days (before {pruned.cutoff:%Y-%m-%d %H:%M} UTC) and no "
          f"run or page needs: {pruned.journal_entries} journal entries, {pruned.error_memory} error-report "
          f"memory rows ({pruned.batches} batches of at most {retention.batch}), {pruned.report_files} report "
          f"files{where} (the newest {retention.reports_keep} runs' reports kept).")
    return 0


def _extra_installed(distribution: Distribution | None, extra: str) -> bool:
    """Whether every package the distribution's extra adds is installed (an extra it does not have: yes)."""
    for line in (distribution.requires or []) if distribution else []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker and marker.evaluate({"extra": extra}) and not marker.evaluate({"extra": ""}):
            try:
                version(requirement.name)
            except PackageNotFoundError:
                return False
    return True


def _add_installed_commands(sub: argparse._SubParsersAction) -> list[str]:
    """Subcommands of the installed extras (entry point ``tools`` <-> extra ``tools``); returns the missing ones."""
    unavailable = []
    for entry_point in entry_points(group=COMMANDS_GROUP):
        try:
            if not _extra_installed(entry_point.dist, entry_point.name):
                raise ImportError(f"the {entry_point.name} extra is not installed")
            add_commands = entry_point.load()
        except ImportError:
            unavailable.append(entry_point.name)
            continue
        add_commands(sub)
    return unavailable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="erp-outbound", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="erp-outbound's bookkeeping tables in the ERP database")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    p = db_sub.add_parser("upgrade", help="create or migrate the bookkeeping tables (claims, verdict journal, "
                                          "error reports); safe to run again")
    add_erp_arguments(p)
    p.add_argument("--revision", default="head", help="migrate up to this revision (default: the latest)")
    p.set_defaults(func=_db_upgrade)

    p = db_sub.add_parser("prune", help="remove journal entries, error-report memory and report files older than "
                                        "the retention that no run or page needs, in small batches",
                          description="Retention (docs/platform/bookkeeping.md): applied journal entries older than "
                                      "--days whose document is final or that are not its latest; never the latest "
                                      "verdict of a document that still needs attention, an unapplied entry, or an "
                                      "entry of a run holding claims. Defaults come from ERP_OUTBOUND_RETENTION_DAYS "
                                      "(400), ERP_OUTBOUND_PRUNE_BATCH (1000), ERP_OUTBOUND_REPORTS_KEEP (25).")
    add_erp_arguments(p)
    p.add_argument("--days", type=int, help="keep what is younger than this many days")
    p.add_argument("--batch", type=int, help="rows deleted per transaction")
    p.add_argument("--pause", type=float, default=0.0, help="seconds between batches (default 0)")
    p.add_argument("--reports-keep", type=int, help="the newest runs whose report files are kept whatever their age")
    p.add_argument("--reports", help="the reports store (default ERP_OUTBOUND_REPORTS or $AIRFLOW_HOME/erp_outbound/reports)")
    p.add_argument("--no-reports", action="store_true", help="leave the report files alone")
    p.add_argument("--dry-run", action="store_true", help="count what would go; remove nothing")
    p.set_defaults(func=_db_prune)

    p = sub.add_parser("status", help="documents per type and Status in an ERP, uncertain ones apart with what "
                                      "to check at the vendor")
    p.add_argument("--db", required=True, help="SQLAlchemy URL of the ERP")
    p.add_argument("--vendor", default="procuros")
    p.set_defaults(func=_status)

    p = sub.add_parser("release", help="release uncertain documents (the answer to their request was lost) once "
                                       "you checked them at the vendor",
                       description="Release uncertain documents of a DAG once you checked them at the vendor "
                                   "(`erp-outbound status` lists them with what to check). --as delivered: the "
                                   "vendor acted, the row gets its final status and is never sent again. --as "
                                   "pending: it did not, the next run sends it again. Only uncertain rows change.")
    add_erp_arguments(p)
    p.add_argument("--vendor", required=True, help="e.g. rambase")
    p.add_argument("--dag", required=True, help="the DAG that sent them, e.g. rambase_invoice_forwarding")
    p.add_argument("--as", dest="as_", required=True, choices=["delivered", "pending"],
                   help="what you found at the vendor: delivered (it acted) or pending (it did not)")
    p.add_argument("--type", help="the document type, when the vendor has several that can be released")
    p.add_argument("--reference", help="with --as delivered: the vendor's id you found (e.g. RamBase's operation "
                                       "instance id), kept on the row")
    p.add_argument("ids", nargs="+", metavar="ERP_ID", help="ERP ids of the documents")
    p.set_defaults(func=_release)

    unavailable = _add_installed_commands(sub)
    if unavailable:
        hint = (f"Not installed: {', '.join(unavailable)}. The demo, sandbox and local Airflow commands "
                "come with pip install 'erp-outbound[tools]'.")
        parser.epilog = hint
        refuse = parser.error
        parser.error = lambda message: refuse(f"{message}\n{hint}")
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
