"""Build step of the wheel: the files erp-outbound reads at run time that live outside its packages.

pyproject.toml holds the metadata; this only copies, into the built ``erp_outbound/bundled/`` (never
into the source tree):

- ``include/`` -> ``bundled/include/``: the SQL of every document type (the default mapping, which
  ``ERP_OUTBOUND_SQL_DIR`` replaces with the user's own) and the demo ERP's schema;
- ``README.md``, ``docs/**/*.md`` and ``docs/screenshots/`` -> ``bundled/guide/``: the guide the
  Airflow plugin serves.

In a checkout or an editable install nothing is copied: the code reads the repository's own files
(erp_outbound/resources.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
GUIDE_PATTERNS = ("README.md", "docs/**/*.md", "docs/screenshots/*")


class BuildPyWithResources(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        bundled = Path(self.build_lib) / "erp_outbound" / "bundled"
        shutil.rmtree(bundled, ignore_errors=True)
        shutil.copytree(ROOT / "include", bundled / "include", ignore=shutil.ignore_patterns("__pycache__"))
        for pattern in GUIDE_PATTERNS:
            for source in sorted(ROOT.glob(pattern)):
                if source.is_file():
                    target = bundled / "guide" / source.relative_to(ROOT)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target)


setup(cmdclass={"build_py": BuildPyWithResources})
