"""The README as a page of the plugin, so that DAG docs can link its sections from inside Airflow.

The README ships as the distribution's long description (``readme`` in pyproject.toml); a source
checkout reads the file beside the package. Headings get GitHub's anchors (``#trigger-forms``),
images become their caption (the screenshots are not part of the package), raw HTML is escaped.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import metadata
from pathlib import Path

from markdown_it import MarkdownIt

DISTRIBUTION = "erp-outbound"
CHECKOUT_README = Path(__file__).resolve().parents[3] / "README.md"


def readme_text() -> str:
    if CHECKOUT_README.is_file():
        return CHECKOUT_README.read_text(encoding="utf-8")
    try:
        return metadata.metadata(DISTRIBUTION).get_payload() or ""
    except metadata.PackageNotFoundError:
        return ""


def anchor(title: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, blanks to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


@cache
def guide_html() -> str:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")

    def heading_open(renderer, tokens, idx, options, env):
        title = tokens[idx + 1].content
        tokens[idx].attrSet("id", anchor(title))
        return renderer.renderToken(tokens, idx, options, env)

    def image(renderer, tokens, idx, options, env):
        caption = tokens[idx].content or "picture"
        return f'<span class="picture">[{md.utils.escapeHtml(caption)}]</span>'

    md.add_render_rule("heading_open", heading_open)
    md.add_render_rule("image", image)
    return md.render(readme_text())
