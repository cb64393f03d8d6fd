"""The tools' subcommands of ``erp-outbound``: demo-erp, sandbox, demo, airflow, airflow-stop.

The runtime's command (``erp_outbound.cli``) finds ``add_commands`` through the
``erp_outbound.commands`` entry point. This module imports nothing heavy: each command
imports what it runs when it runs.
"""

from __future__ import annotations

import argparse
import json


def _demo_erp(args) -> int:
    from erp_outbound_tools.demo.erp import build_demo_erp

    summary = build_demo_erp(args.db, args.documents, args.seed)
    print(json.dumps(summary, indent=2, default=str))
    return 0


def _sandbox(args) -> int:
    from erp_outbound_tools.sandbox import SandboxConfig, serve

    config = SandboxConfig.from_file(args.config) if args.config else SandboxConfig()
    config = config.with_env()
    if args.latency_ms is not None:
        config.latency_ms = args.latency_ms
    if args.spec:
        config.procuros.spec_path = args.spec
    if args.no_spec_validation:
        config.procuros.validate_against_spec = False
    if args.faults:
        config.faults = json.loads(args.faults)
    if args.seed is not None:
        config.seed = args.seed
    if args.tasks:
        config.procuros.tasks = json.loads(open(args.tasks, encoding="utf-8").read())
    elif args.demo_tasks:
        from erp_outbound_tools.sandbox.procuros_tasks import demo_tasks

        config.procuros.tasks = demo_tasks()
    print(f"erp-outbound sandbox on http://127.0.0.1:{args.port} (Ctrl-C stops it)", flush=True)
    serve(config, host="127.0.0.1", port=args.port)
    return 0


def _demo(args) -> int:
    from erp_outbound_tools.demo.run import run_demo

    return run_demo(args.workdir, args.documents, args.seed)


def _airflow(args) -> int:
    from erp_outbound_tools.local_airflow import LocalAirflowConfig, run_foreground
    from erp_outbound_tools.local_airflow.layout import DEFAULT_WORKDIR

    config = LocalAirflowConfig(workdir=args.workdir or DEFAULT_WORKDIR, port=args.port,
                                sandbox_port=args.sandbox_port, documents=args.documents, seed=args.seed,
                                executor=args.executor, sql_alchemy_conn=args.sql_alchemy_conn,
                                schedules=args.schedules)
    return run_foreground(config)


def _airflow_stop(args) -> int:
    from erp_outbound_tools.local_airflow import stop_running
    from erp_outbound_tools.local_airflow.layout import DEFAULT_WORKDIR

    return stop_running(args.workdir or DEFAULT_WORKDIR)


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo-erp", help="create and fill a demo ERP database")
    p.add_argument("--db", required=True, help="SQLAlchemy URL, e.g. sqlite:///demo.db")
    p.add_argument("--documents", type=int, default=200, help="outgoing documents to create")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same ERP)")
    p.set_defaults(func=_demo_erp)

    p = sub.add_parser("sandbox", help="serve the local vendor emulators on 127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--config", help="JSON sandbox configuration file")
    p.add_argument("--latency-ms", type=float, help="added latency of every answer")
    p.add_argument("--faults", help='JSON, e.g. {"procuros.transactions": {"rate_limit": 0.1}}')
    p.add_argument("--seed", type=int, help="seed of the fault injection")
    p.add_argument("--spec", help="Procuros OpenAPI file to validate received bodies against "
                                  "(default: the one erp-outbound ships)")
    p.add_argument("--no-spec-validation", action="store_true",
                   help="do not validate received Procuros transactions against the OpenAPI file (throughput runs)")
    p.add_argument("--tasks", help="JSON file: Procuros tasks to queue, [{type, payload?}, ...]")
    p.add_argument("--demo-tasks", action="store_true", help="queue a task of every type for the demo ERP")
    p.set_defaults(func=_sandbox)

    p = sub.add_parser("demo", help="demo ERP + sandbox + every DAG once, then the reports")
    p.add_argument("--workdir", default=".demo")
    p.add_argument("--documents", type=int, default=300)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=_demo)

    p = sub.add_parser("airflow", help="run a local Airflow (UI, scheduler, ...) with the demo; Ctrl-C stops it")
    p.add_argument("--port", type=int, default=8080, help="api-server / UI port on 127.0.0.1 (0 = any free one)")
    p.add_argument("--workdir", help="AIRFLOW_HOME, demo ERP, reports, logs (default: .airflow-local/ in the repo)")
    p.add_argument("--documents", type=int, default=300, help="documents of the demo ERP")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--sandbox-port", type=int, default=0, help="vendor sandbox port (0 = any free one)")
    p.add_argument("--executor", default="LocalExecutor")
    p.add_argument("--sql-alchemy-conn", help="metadata DB URL (default: SQLite in the workdir)")
    p.add_argument("--schedules", action="store_true",
                   help="let the DAGs run every 15 minutes once unpaused (default: only triggered runs, DAGs unpaused)")
    p.add_argument("--no-schedules", action="store_false", dest="schedules", help=argparse.SUPPRESS)  # the default
    p.set_defaults(func=_airflow)

    p = sub.add_parser("airflow-stop", help="stop the local Airflow started by `erp-outbound airflow`")
    p.add_argument("--workdir", help="the workdir `erp-outbound airflow` was given")
    p.set_defaults(func=_airflow_stop)
