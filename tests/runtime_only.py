"""Imports every runtime module, runs its command and parses the DAGs, as a runtime-only install would.

``python tests/runtime_only.py DAGS_FOLDER ERP_URL [--block-tools]`` prints one JSON line. With
``--block-tools`` a meta-path finder makes ``erp_outbound_tools`` unimportable, as it is for a
worker that has only the runtime; tests/test_runtime_without_tools.py runs it in a fresh process.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import json
import pkgutil
import sys

TOOLS = "erp_outbound_tools"


class BlockTools:
    """A meta-path finder under which the tools package does not exist."""

    def find_spec(self, name, path=None, target=None):
        if name == TOOLS or name.startswith(TOOLS + "."):
            raise ModuleNotFoundError(f"No module named {name!r} (the tools are not installed)", name=name)
        return None


# Modules that serve an optional extra alone: imported only by the code that extra's package calls (the
# OpenLineage provider calls a load's get_openlineage_facets_on_complete, which imports the facet).
EXTRA_ONLY = {"erp_outbound.core.lineage_facets": "openlineage"}


def runtime_modules() -> list[str]:
    import erp_outbound

    # migrations.env runs only inside Alembic (it migrates as it is imported).
    return sorted(m.name for m in pkgutil.walk_packages(erp_outbound.__path__, "erp_outbound.")
                  if not m.name.endswith(".migrations.env") and m.name not in EXTRA_ONLY)


def main(dags_folder: str, erp_url: str, block_tools: bool) -> dict:
    if block_tools:
        sys.meta_path.insert(0, BlockTools())
    modules = runtime_modules()
    for name in modules:
        importlib.import_module(name)

    from erp_outbound.cli import main as erp_outbound

    upgrade_out = io.StringIO()
    with contextlib.redirect_stdout(upgrade_out):
        upgrade_code = erp_outbound(["db", "upgrade", "--db", erp_url])
    help_out = io.StringIO()
    with contextlib.redirect_stdout(help_out), contextlib.suppress(SystemExit):
        erp_outbound(["--help"])

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=dags_folder, safe_mode=True)
    return {
        "modules": modules,
        "db_upgrade": [upgrade_code, upgrade_out.getvalue()],
        "help": help_out.getvalue(),
        "dag_ids": sorted(bag.dag_ids),
        "import_errors": {str(k): v for k, v in bag.import_errors.items()},
        "tools_imported": sorted(m for m in sys.modules if m == TOOLS or m.startswith(TOOLS + ".")),
        "playwright_installed": importlib.util.find_spec("playwright") is not None,
    }


if __name__ == "__main__":
    print("RUNTIME-ONLY " + json.dumps(main(sys.argv[1], sys.argv[2], "--block-tools" in sys.argv[3:])))
