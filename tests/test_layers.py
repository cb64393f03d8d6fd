"""The runtime's layers: nothing outside ``ui/`` imports the UI, not even inside a function.

The steps and the vendor operators run on workers; the UI is the API server's. A link both
need (the run's report on the Deliveries page) is built by ``core/links.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNTIME = REPO / "plugins" / "erp_outbound"


def imported_modules(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found += [(node.lineno, node.module or "")]
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def test_no_module_outside_ui_imports_the_ui():
    ui = RUNTIME / "ui"
    offenders = [f"{path.relative_to(REPO)}:{line} {name}"
                 for path in sorted(RUNTIME.rglob("*.py")) if ui not in path.parents
                 for line, name in imported_modules(path)
                 if name == "erp_outbound.ui" or name.startswith("erp_outbound.ui.")]
    assert offenders == []


def test_the_report_link_is_the_same_for_the_steps_and_the_ui():
    from erp_outbound.core.links import RunReportLink, run_page_path
    from erp_outbound.procuros.task_operators import ProcurosTasksReportOperator
    from erp_outbound.steps.reconcile import ReconcileOperator
    from erp_outbound.ui.plugin import ErpOutboundPlugin

    assert run_page_path("a/b", "manual__1 2") == "/erp-outbound/runs/a%2Fb/manual__1%202"
    for links in (ReconcileOperator.operator_extra_links, ProcurosTasksReportOperator.operator_extra_links,
                  ErpOutboundPlugin.operator_extra_links):
        assert [type(link) for link in links] == [RunReportLink]
