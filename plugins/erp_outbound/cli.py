"""``erp-outbound``: the ERP's status report, and the tools' commands when they are installed.

The runtime's own commands live here. The tools (``pip install 'erp-outbound[tools]'``: demo ERP,
sandbox, make demo, make airflow) add theirs through the ``erp_outbound.commands`` entry point,
so this module never imports them.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points

COMMANDS_GROUP = "erp_outbound.commands"


def _status(args) -> int:
    from erp_outbound.erp.hook import make_engine
    from erp_outbound.erp.status import render_status

    print(render_status(make_engine(args.db), args.vendor))
    return 0


def _add_installed_commands(sub: argparse._SubParsersAction) -> list[str]:
    """Subcommands other installed packages offer; returns the entry points that could not be loaded."""
    unavailable = []
    for entry_point in entry_points(group=COMMANDS_GROUP):
        try:
            add_commands = entry_point.load()
        except ImportError as exc:
            unavailable.append(f"{entry_point.name} ({exc})")
            continue
        add_commands(sub)
    return unavailable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="erp-outbound", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("status", help="documents per type and Status in an ERP")
    p.add_argument("--db", required=True, help="SQLAlchemy URL of the ERP")
    p.add_argument("--vendor", default="procuros")
    p.set_defaults(func=_status)

    unavailable = _add_installed_commands(sub)
    if unavailable:
        hint = ("Not available: " + ", ".join(unavailable) + ". The demo, sandbox and local Airflow "
                "commands come with pip install 'erp-outbound[tools]'.")
        parser.epilog = hint
        refuse = parser.error
        parser.error = lambda message: refuse(f"{message}\n{hint}")
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
