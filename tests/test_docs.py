"""The documentation: a front-door README, a MkDocs site that builds strictly, and the same pages in Airflow.

The site (mkdocs.yml, docs/) is built with ``mkdocs build --strict``: a link to a missing page or to an
anchor a page does not have is a warning (``validation`` in mkdocs.yml), and --strict makes it fail. A
deliberately broken copy proves that it does fail, and that it is the ``anchors: warn`` setting that makes
a broken anchor fail (MkDocs only reports one by default). The in-Airflow guide (/erp-outbound/guide)
renders the README and the same pages: every relative link of every file leads to a guide page and an
anchor it has, and the guide gives each heading the anchor the site gives it.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

from erp_outbound.ui.guide import HOME, README, NoSuchPage, guide_html, guide_root, link_target, page_files

ROOT = Path(__file__).resolve().parents[1]
BASE = "/erp-outbound/guide"
HEADING_ID = re.compile(r'<h[1-6] id="([^"]+)"')
CHROMIUM = "/usr/bin/chromium"


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
                           "--site-dir", str(site)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    built = mkdocs_build(ROOT / "mkdocs.yml", site)
    said = built.stdout + built.stderr
    assert built.returncode == 0, said
    assert "WARNING" not in said, said
    return site


def broken_copy(tmp_path: Path, link: str, anchors: str | None = "warn") -> Path:
    """mkdocs.yml and docs/ copied, with ``link`` added to the run report page."""
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    if anchors is None:
        del config["validation"]["anchors"]
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config))
    page = tmp_path / "docs" / "operators" / "run-report.md"
    page.write_text(page.read_text() + f"\nSee [the other page]({link}).\n")
    return tmp_path / "mkdocs.yml"


def test_the_site_builds_strictly_with_every_page_in_its_nav(site):
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    listed = set(re.findall(r"[\w/-]+\.md", str(nav)))
    on_disk = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert listed == on_disk
    for name in on_disk:
        built = site / ("index.html" if name == "index.md" else name.removesuffix(".md") + "/index.html")
        assert built.is_file(), name


@pytest.mark.parametrize("link, complaint", [
    ("../integrators/connections.md#no-such-section", "does not contain an anchor '#no-such-section'"),
    ("#no-such-heading", "contains a link '#no-such-heading', but there is no such anchor on this page"),
    ("../integrators/no-such-page.md", "not found among documentation files"),
])
def test_a_broken_link_or_anchor_fails_the_strict_build(tmp_path, link, complaint):
    built = mkdocs_build(broken_copy(tmp_path, link), tmp_path / "site")
    said = built.stdout + built.stderr
    assert built.returncode != 0, said
    assert complaint in said and "Aborted with 1 warnings in strict mode" in said, said


def test_without_anchors_warn_mkdocs_lets_a_broken_anchor_pass(tmp_path):
    """Why mkdocs.yml says ``validation: anchors: warn``: MkDocs' default only reports a broken anchor."""
    built = mkdocs_build(broken_copy(tmp_path, "../integrators/connections.md#no-such-section", anchors=None),
                         tmp_path / "site")
    said = built.stdout + built.stderr
    assert built.returncode == 0 and "does not contain an anchor '#no-such-section'" in said, said


def links(markdown: str) -> list[str]:
    found = []
    for token in MarkdownIt("commonmark").enable("table").parse(markdown):
        for child in token.children or ():
            if child.type == "link_open":
                found.append(child.attrGet("href"))
    return found


def test_every_link_of_the_readme_and_the_pages_leads_to_a_guide_page_and_its_anchor():
    files = page_files()
    ids = {name: set(HEADING_ID.findall(guide_html(name, BASE))) for name in files}
    checked = 0
    for name, relative in files.items():
        for href in links((guide_root() / relative).read_text()):
            if href.startswith(("http://", "https://")):
                continue
            target = link_target(href, relative, files, BASE)
            assert target is not None, f"{relative}: {href} is no page of the guide"
            page, _, fragment = target.removeprefix(BASE).lstrip("/").partition("#")
            page = name if target.startswith("#") else page
            assert page in files, f"{relative}: {href}"
            assert not fragment or fragment in ids[page], f"{relative}: {href}: no heading #{fragment}"
            checked += 1
    assert checked > 100


def test_the_guide_gives_each_heading_the_anchor_the_site_gives_it(site):
    for name, relative in page_files().items():
        if relative == README:
            continue
        built = site / ("index.html" if name == "index" else f"{name}/index.html")
        assert HEADING_ID.findall(guide_html(name, BASE)) == HEADING_ID.findall(built.read_text()), name


def test_the_guide_rewrites_links_and_serves_no_raw_html():
    home = guide_html(HOME, BASE)
    assert '<h1 id="erp-outbound">erp-outbound</h1>' in home
    assert f'<a href="{BASE}/operators/run-report">Reading a run report</a>' in home
    report = guide_html("operators/run-report", BASE)
    assert f'href="{BASE}/operators/uncertain#procuros-documents-nothing-to-release"' in report
    assert '<h2 id="what-the-task-logs-hold">What the task logs hold</h2>' in report
    deliveries = guide_html("operators/deliveries", "/prefix/erp-outbound/guide")
    assert 'href="/prefix/erp-outbound/guide/operators/uncertain"' in deliveries
    for name in page_files():
        page = guide_html(name, BASE)
        assert "<img" not in page and "<script" not in page, name
    for missing in ("no/such/page", "../README", "README"):
        with pytest.raises(NoSuchPage):
            guide_html(missing, BASE)


def test_a_link_to_a_file_that_is_not_a_page_stays_text():
    files = page_files()
    assert link_target("../../include/sql/README.md", "docs/integrators/x.md", files, BASE) is None
    assert link_target("docs/operators/deliveries.md#filters", README, files, BASE) == \
        f"{BASE}/operators/deliveries#filters"
    assert link_target("https://example.com/a.md", README, files, BASE) == "https://example.com/a.md"


def test_the_readme_is_a_front_door_and_the_contents_page_lists_every_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    for must in ("make demo", "make test", "make airflow", "extract ──", "reconcile"):
        assert must in readme, must
    from_readme = {href.split("#")[0] for href in links(readme)}
    assert "docs/index.md" in from_readme
    for reader in ("operators", "integrators", "platform", "contributors"):
        assert any(href.startswith(f"docs/{reader}/") for href in from_readme), reader
    from_contents = {href.split("#")[0] for href in links((ROOT / "docs" / "index.md").read_text())}
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")} - {"index.md"}
    assert pages <= from_contents, f"docs/index.md does not list {pages - from_contents}"


# ---- the guide in a real browser: log in (Airflow's cookie), follow links between the README and the pages


class Reader:
    def get_id(self) -> str:
        return "reader"

    def get_name(self) -> str:
        return "reader"


class OneUserAuthManager:
    async def get_user_from_token(self, token: str) -> Reader:
        from jwt import InvalidTokenError

        if token != "reader-token":
            raise InvalidTokenError("not one of ours")
        return Reader()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def guide_server(monkeypatch):
    import uvicorn
    from airflow.api_fastapi import app as airflow_app
    from fastapi import FastAPI

    from erp_outbound.ui import app as deliveries

    monkeypatch.setattr(airflow_app._AuthManagerState, "instance", OneUserAuthManager())
    airflow = FastAPI()
    airflow.mount("/erp-outbound", deliveries.app)  # as Airflow's API server mounts a plugin's app
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(airflow, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the guide's server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_a_person_follows_the_guide_from_the_readme_to_a_section_of_a_page(guide_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])  # never a download
        try:
            context = browser.new_context(viewport={"width": 1600, "height": 1000})
            page = context.new_page()
            assert page.goto(f"{guide_server}/erp-outbound/guide").status == 401  # no login, no guide
            context.add_cookies([{"name": "_token", "value": "reader-token", "url": guide_server}])
            page.goto(f"{guide_server}/erp-outbound/guide")
            expect(page.get_by_role("heading", name="Five minutes with make airflow")).to_be_visible()

            page.get_by_role("link", name="Reading a run report").first.click()
            expect(page).to_have_url(f"{guide_server}/erp-outbound/guide/operators/run-report")
            expect(page.get_by_role("heading", name="Reading a run report", level=1)).to_be_visible()
            page.screenshot(path=tmp_path / "guide.png")  # a person looks at it: docs/screenshots/guide.png

            page.get_by_role("link", name="Procuros documents", exact=True).click()
            expect(page).to_have_url(f"{guide_server}/erp-outbound/guide/operators/uncertain"
                                     "#procuros-documents-nothing-to-release")
            expect(page.get_by_role("heading", name="Procuros documents: nothing to release")).to_be_in_viewport()

            page.get_by_role("link", name="Contents").click()
            expect(page.get_by_role("heading", name="erp-outbound documentation")).to_be_visible()
            page.get_by_role("link", name="pools", exact=True).click()
            expect(page).to_have_url(f"{guide_server}/erp-outbound/guide/platform/scaling#pools")
            expect(page.get_by_role("heading", name="Pools", exact=True)).to_be_in_viewport()
            assert page.goto(f"{guide_server}/erp-outbound/guide/no/such/page").status == 404
        finally:
            browser.close()
