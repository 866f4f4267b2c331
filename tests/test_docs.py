"""The documentation a user navigates: every public name has an API page, the
README stays a short front page whose links work, and the version has one
source (pyproject.toml). The site itself is built by `mkdocs build --strict`
in .ci/run, which fails on a broken link or a name that does not resolve."""

import ast
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
API_PAGES = sorted((ROOT / "docs" / "api").glob("*.md"))
MAX_README_LINES = 160


def _declared_version():
    """``version`` of pyproject.toml's ``[project]`` table (tomllib needs 3.11)."""
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(r'^\[project\]$[^[]*?^version = "([^"]+)"$', text, re.MULTILINE)
    assert match, "pyproject.toml declares no [project] version"
    return match.group(1)


def _public_names(init):
    """The names in a package's ``__all__``, read without importing it."""
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return [element.value for element in node.value.elts]
    return []


PACKAGES = {
    ".".join(init.parent.relative_to(ROOT).parts): _public_names(init)
    for init in sorted((ROOT / "keras_svae").rglob("__init__.py"))
}


@pytest.mark.parametrize("package", sorted(p for p, names in PACKAGES.items() if names))
def test_every_public_name_has_an_api_entry(package):
    # An entry is a mkdocstrings directive `::: package.name` on an API page.
    directives = set()
    for page in API_PAGES:
        directives |= set(re.findall(r"^::: ([\w.]+)\s*$", page.read_text(), re.MULTILINE))
    missing = [name for name in PACKAGES[package] if f"{package}.{name}" not in directives]
    assert not missing, (
        f"{package}.__all__ names without an API entry: {missing}; add a line "
        f"`::: {package}.<name>` to the page for {package} under docs/api/"
    )


def test_api_pages_are_in_the_site_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    assert API_PAGES, "docs/api/ has no pages"
    for page in API_PAGES:
        assert f"api/{page.name}" in nav, f"docs/api/{page.name} is missing from mkdocs.yml's nav"


def test_readme_is_a_short_front_page():
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, (
        f"README.md has {len(lines)} lines (at most {MAX_README_LINES}): move the detail "
        "to a guide under docs/guides/"
    )


def test_readme_links_only_to_files_that_exist():
    targets = re.findall(r"\]\(([^)\s]+)\)", README.read_text())
    local = [t.split("#")[0] for t in targets if not re.match(r"[a-z]+://|#|mailto:", t)]
    assert local, "README.md links to none of the documentation"
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


def test_version_comes_from_pyproject():
    import keras_svae

    declared = _declared_version()
    assert keras_svae.__version__ == declared, (
        f"keras_svae.__version__ is {keras_svae.__version__}, pyproject.toml says {declared}: "
        "the installed metadata is stale; reinstall with `pip install -e .`"
    )


def test_changelog_has_the_current_version():
    declared = _declared_version()
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog or f"## [{declared}]" in changelog
    assert re.search(r"^## \[\d+\.\d+\.\d+\] - \d{4}-\d{2}-\d{2}$", changelog, re.MULTILINE), (
        "CHANGELOG.md has no released version in keep-a-changelog form (## [x.y.z] - date)"
    )


NOTEBOOKS = sorted((ROOT / "examples").glob("*.ipynb"))


def _page_text(page):
    """The text a reader sees on a built page: its HTML without tags or entities."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


def test_notebooks_are_rendered_in_the_site(tmp_path):
    # The site is built as .ci/run builds it; docs/hooks/notebooks.py turns each
    # examples/<name>.ipynb into a page notebooks/<name>/ that shows its code.
    assert NOTEBOOKS, "examples/ has no notebooks"
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "NO_MKDOCS_2_WARNING"},
        timeout=300,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-3000:]}"
    # The pinned Material theme prints no banner about MkDocs 2 (9.7.2 and later do,
    # unless NO_MKDOCS_2_WARNING is set): the build's output is only its own log.
    assert "MkDocs 2" not in result.stderr and "zensical" not in result.stderr, result.stderr
    for notebook in NOTEBOOKS:
        page = site / "notebooks" / notebook.stem / "index.html"
        assert page.exists(), f"{notebook.name} has no page in the built site ({page})"
        code = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
        last_line = "".join(code[-1]["source"]).strip().splitlines()[-1].strip()
        assert last_line in _page_text(page), (
            f"the page of {notebook.name} does not show its last code cell ({last_line!r})"
        )


def _table_rows(text, header_start):
    """The cells of each row of the Markdown table whose header starts ``header_start``."""
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[first + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("*") for cell in line.strip("|").split(" | ")])
    return rows


def _reading(verdict):
    """A verdict as the README's cells begin: a 3-seed verdict itself; a one-seed
    one by which way its margins point ("holds", "fails", "split"); else "untestable"."""
    one_seed = re.match(r"untestable: one seed, where it (holds|fails|is split)", verdict)
    if one_seed:
        return one_seed.group(1).removeprefix("is ")
    for word in ("untestable", "not reproduced", "reproduced", "mixed"):
        if verdict.startswith(word):
            return word
    raise AssertionError(f"unknown verdict {verdict!r}")


def test_the_readmes_verdicts_are_the_published_reports():
    """The README's table of the paper's claims says what docs/paper-report.md
    says, preset by preset (regenerate one, update the other)."""
    report = (ROOT / "docs" / "paper-report.md").read_text()
    verdicts = report.split("## Verdicts")[1]
    published = {row[0]: row[2:5] for row in _table_rows(verdicts, "| # | claim | paper |")}
    readme = {row[0]: row[2:5] for row in _table_rows(README.read_text(), "| # | claim | `paper`")}
    assert sorted(readme) == sorted(published), "the README and the report list other claims"
    for number, cells in readme.items():
        for preset, cell, verdict in zip(("paper", "author", "library"), cells, published[number]):
            expected = _reading(verdict)
            assert re.match(rf"{expected}\b", cell), (
                f"README claim {number}, {preset}: {cell!r}, but docs/paper-report.md "
                f"says {verdict!r}"
            )
