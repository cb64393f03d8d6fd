"""The README as a page of the plugin, so that DAG docs can link its sections from inside Airflow.

The wheel carries README.md and docs/ (erp_outbound/bundled/guide/, see setup.py); a checkout or an
editable install reads the repository's. Headings get GitHub's anchors (``#trigger-forms``), images
become their caption, raw HTML is escaped.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from markdown_it import MarkdownIt

from erp_outbound import resources


def guide_root() -> Path:
    """The folder with README.md and docs/**/*.md (+ docs/screenshots): the installed copy, or the repository."""
    return resources.BUNDLED / "guide" if resources.from_the_wheel() else resources.REPOSITORY


def readme_text() -> str:
    return (guide_root() / "README.md").read_text(encoding="utf-8")


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
