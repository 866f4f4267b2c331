"""MkDocs hook: the example notebooks as pages of the site.

mkdocs-jupyter is not available here, and the notebooks are committed without
outputs, so a page needs only the cells' text: each ``examples/<name>.ipynb``
becomes a generated page ``notebooks/<name>.md`` with its markdown cells
verbatim and its code cells as fenced Python blocks. The first line names the
source file as code text: a link to a file outside docs/ fails
``mkdocs build --strict``.
"""

import json
from pathlib import Path

from mkdocs.structure.files import File


def notebook_markdown(path, source_name):
    """The Markdown of one notebook: its cells in order, outputs left out.

    Args:
        path: the ``.ipynb`` file (nbformat 4 JSON).
        source_name: the repository path the page names as its source.

    Returns:
        The page's Markdown text.
    """
    notebook = json.loads(Path(path).read_text())
    parts = [f"*Source: `{source_name}` (run it in Jupyter; the page shows its cells).*"]
    for cell in notebook["cells"]:
        text = "".join(cell["source"]).rstrip()
        if not text:
            continue
        if cell["cell_type"] == "markdown":
            parts.append(text)
        elif cell["cell_type"] == "code":
            parts.append(f"```python\n{text}\n```")
    return "\n\n".join(parts) + "\n"


def on_files(files, config):
    """Adds ``notebooks/<name>.md`` for each ``examples/<name>.ipynb`` (MkDocs 1.6 hook).

    A new notebook's page must also be named in mkdocs.yml's nav: the strict
    build fails on a page left out of it.
    """
    root = Path(config["config_file_path"]).parent
    for path in sorted((root / "examples").glob("*.ipynb")):
        content = notebook_markdown(path, f"examples/{path.name}")
        files.append(File.generated(config, f"notebooks/{path.stem}.md", content=content))
    return files
