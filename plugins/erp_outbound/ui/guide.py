"""The README and the documentation pages (docs/**/*.md) as pages of the plugin, at ``/erp-outbound/guide``.

The same Markdown files make the MkDocs site (mkdocs.yml); here they are rendered on the server so the
guide works inside Airflow, behind its login, without internet. ``/guide`` is the README, ``/guide/<page>``
the file ``docs/<page>.md``. Relative links between the files (``docs/operators/run-report.md#notes`` in
the README, ``../platform/scaling.md#pools`` in a page) become links to the guide's pages; a link to a file
the guide does not serve stays as its text. Headings get the anchors MkDocs gives them (Python-Markdown's
toc slugify, ``_1`` for a repeated one), so one link works on the site and in the guide. Images become
their caption, raw HTML is escaped. The wheel carries README.md and docs/ (erp_outbound/bundled/guide/,
see setup.py); a checkout or an editable install reads the repository's.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from functools import cache
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

from markdown_it import MarkdownIt

from erp_outbound import resources

DISTRIBUTION = "erp-outbound"
README = "README.md"
DOCS = "docs"
HOME = ""  # the README's page name: /guide itself


def guide_root() -> Path:
    """The folder with README.md and docs/**/*.md (+ docs/screenshots): the installed copy, or the repository."""
    return resources.BUNDLED / "guide" if resources.from_the_wheel() else resources.REPOSITORY


def page_files() -> dict[str, str]:
    """Every page of the guide: its name (``""`` for the README, ``operators/run-report`` for a page) and
    its path relative to the root (``docs/operators/run-report.md``)."""
    root = guide_root()
    pages = {HOME: README}
    docs = root / DOCS
    if docs.is_dir():
        for path in sorted(docs.rglob("*.md")):
            relative = path.relative_to(root).as_posix()
            pages[relative[len(DOCS) + 1:-len(".md")]] = relative
    return pages


def page_text(relative: str) -> str:
    path = guide_root() / relative
    if path.is_file():
        return path.read_text(encoding="utf-8")
    if relative == README:  # an installed copy without the file: the distribution's long description
        try:
            return metadata.metadata(DISTRIBUTION).get_payload() or ""
        except metadata.PackageNotFoundError:
            return ""
    return ""


def anchor(title: str) -> str:
    """MkDocs' anchor of a heading (Python-Markdown's toc slugify): ASCII, lower case, punctuation dropped,
    blanks and hyphens to one hyphen."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def page_url(base: str, name: str) -> str:
    return f"{base}/{name}" if name else base


def link_target(href: str, source: str, files: dict[str, str], base: str) -> str | None:
    """Where a link of the file ``source`` leads in the guide; None for a relative link to a file the guide
    does not serve. Web, absolute and same-page links stay as they are."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or href.startswith(("/", "#")) or not parts.path:
        return href
    target = posixpath.normpath(posixpath.join(posixpath.dirname(source), parts.path))
    by_file = {relative: name for name, relative in files.items()}
    if target not in by_file:
        return None
    return page_url(base, by_file[target]) + (f"#{parts.fragment}" if parts.fragment else "")


def heading_title(inline) -> str:
    """A heading's text as MkDocs reads it: its words and code, without the Markdown around them."""
    return "".join(child.content for child in inline.children or () if child.type in ("text", "code_inline"))


def render(name: str, base: str) -> str:
    files = page_files()
    source = files[name]
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    seen: dict[str, int] = {}

    def heading_open(renderer, tokens, idx, options, env):
        slug = anchor(heading_title(tokens[idx + 1]))
        if slug in seen:  # MkDocs numbers a repeated anchor: pools, pools_1, ...
            seen[slug] += 1
            slug = f"{slug}_{seen[slug]}"
        else:
            seen[slug] = 0
        tokens[idx].attrSet("id", slug)
        return renderer.renderToken(tokens, idx, options, env)

    def link_open(renderer, tokens, idx, options, env):
        target = link_target(tokens[idx].attrGet("href") or "", source, files, base)
        if target is None:  # a file of the repository, not a page: its text only
            close = next(i for i in range(idx + 1, len(tokens)) if tokens[i].type == "link_close")
            tokens[close].tag = tokens[idx].tag = "span"
            tokens[idx].attrs = {}
        else:
            tokens[idx].attrSet("href", target)
        return renderer.renderToken(tokens, idx, options, env)

    def image(renderer, tokens, idx, options, env):
        caption = tokens[idx].content or "picture"
        return f'<span class="picture">[{md.utils.escapeHtml(caption)}]</span>'

    md.add_render_rule("heading_open", heading_open)
    md.add_render_rule("link_open", link_open)
    md.add_render_rule("image", image)
    return md.render(page_text(source))


@cache
def _cached(name: str, base: str, stamp: tuple) -> str:
    return render(name, base)


class NoSuchPage(LookupError):
    """The guide has no page of that name."""


def guide_html(name: str = HOME, base: str = "/erp-outbound/guide") -> str:
    """The page ``name`` as HTML with links under ``base`` (the guide's URL)."""
    files = page_files()
    if name not in files:
        raise NoSuchPage(name)
    path = guide_root() / files[name]
    stamp = (path.stat().st_mtime_ns,) if path.is_file() else ()
    return _cached(name, base, stamp)
