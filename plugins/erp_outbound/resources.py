"""Where erp-outbound's own files are: inside an installed wheel, or in the repository of a checkout.

A wheel carries copies under ``erp_outbound/bundled/`` (made by setup.py when it is built): ``include/``
(the SQL and the demo ERP's schema) and ``guide/`` (README.md and docs/). A checkout, or an editable
install of one, has no such folder and reads the repository's own files, so an edit shows at once.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
BUNDLED = PACKAGE / "bundled"
REPOSITORY = PACKAGE.parents[1]  # plugins/erp_outbound -> the repository root (meaningful in a checkout only)


def from_the_wheel() -> bool:
    """Whether this erp-outbound is an installed wheel (its files bundled) rather than a checkout."""
    return BUNDLED.is_dir()


def include_dir() -> Path:
    """``include/``: the SQL per document type (``sql/``) and the demo ERP's schema (``erp/``)."""
    return BUNDLED / "include" if from_the_wheel() else REPOSITORY / "include"
