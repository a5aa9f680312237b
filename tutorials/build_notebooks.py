"""Build the tutorial notebooks from their plain-text sources.

Each ``tutorials/NAME.ipynb`` that has a source ``tutorials/source/NAME.py`` is generated
from it, with empty outputs, so that the reviewed, diff-friendly text is the source of truth.
The source uses the "percent" format (the same as jupytext's ``py:percent``):

* a line ``# %%`` starts a code cell;
* a line ``# %% [markdown]`` starts a markdown cell, whose lines are written as comments
  (``# `` is stripped);
* either marker may end in cell tags, as jupytext writes them: ``# %% tags=["solution"]``;
* a line may end in a marker for the linter, ``# noqa: CODES`` (a markdown table row or a
  formula longer than the line limit, an import where a section starts, a closure used
  right away in a loop); the builder drops it, so the notebooks never show it.

Tags used by the course (see ``tutorials/README.md``):

* ``solution``: a worked solution of an exercise — a markdown explanation, or code that ends
  in an ``assert``. The builder collapses it (``metadata.jupyter.source_hidden``) so that a
  reader sees the answer only on purpose; the test suite executes it like any other cell;
* ``exercise``: a cell the student fills in (notebook 1b). As shipped it holds a skeleton that
  raises ``NotImplementedError``; it is also tagged ``skip-execution`` so that the test suite
  (nbmake) runs the reference solution before it instead.

Usage::

    python tutorials/build_notebooks.py            # (re)write every notebook from its source
    python tutorials/build_notebooks.py 02 04      # only the notebooks whose names start so
    python tutorials/build_notebooks.py --check    # exit 1 if a notebook is out of date

A source is also a plain Python script: ``python tutorials/source/NAME.py`` runs it.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "source"

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}

COLLAPSED_TAGS = {"solution"}  # cells whose source Jupyter shows collapsed

NOQA = re.compile(r"\s+# noqa: [A-Z]+[0-9]+(, ?[A-Z]+[0-9]+)*$")
"""A linter marker at the end of a source line (dropped from the notebook)."""


def parse_marker(line: str) -> tuple[str, list[str]] | None:
    """``(kind, tags)`` if ``line`` is a cell marker (``# %%``, ``# %% [markdown]``, each
    optionally followed by ``tags=[...]``), else ``None``."""
    marker = line.strip()
    if not marker.startswith("# %%"):
        return None
    rest = marker[len("# %%") :].strip()
    kind = "code"
    if rest.startswith("[markdown]"):
        kind, rest = "markdown", rest[len("[markdown]") :].strip()
    if not rest:
        return kind, []
    if not rest.startswith("tags="):
        raise ValueError(f"unknown cell marker: {line!r}")
    tags = json.loads(rest[len("tags=") :])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ValueError(f"tags must be a JSON list of strings: {line!r}")
    return kind, tags


def parse_percent(text: str) -> list[tuple[str, str, list[str]]]:
    """Split a percent-format source into ``(kind, source, tags)`` cells, kind "code" or
    "markdown"."""
    cells: list[tuple[str, list[str], list[str]]] = []
    for line in text.splitlines():
        line = NOQA.sub("", line)
        marker = parse_marker(line)
        if marker is not None:
            kind, tags = marker
            cells.append((kind, [], tags))
        elif cells:
            kind, lines, _ = cells[-1]
            if kind == "markdown":
                if line and not line.startswith("#"):
                    raise ValueError(f"markdown line is not a comment: {line!r}")
                line = line[2:] if line.startswith("# ") else line[1:]
            lines.append(line)
        elif line.strip() and not line.startswith("#"):
            raise ValueError(f"code before the first cell marker: {line!r}")
    out = []
    for kind, lines, tags in cells:
        source = "\n".join(lines).strip("\n")
        if source:
            out.append((kind, source, tags))
    return out


def build(source_path: Path) -> nbformat.NotebookNode:
    """The notebook (outputs empty) for one percent-format source file."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    prefix = source_path.stem.split("_")[0]  # "01", "01b", ...
    for index, (kind, source, tags) in enumerate(parse_percent(source_path.read_text("utf-8"))):
        cell = (
            nbformat.v4.new_code_cell(source)
            if kind == "code"
            else nbformat.v4.new_markdown_cell(source)
        )
        cell["id"] = f"{prefix}-{index:03d}"  # stable ids keep diffs small
        if tags:
            cell.metadata["tags"] = list(tags)
            if COLLAPSED_TAGS & set(tags):
                cell.metadata["jupyter"] = {"source_hidden": True}
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    prefixes = [a for a in argv if not a.startswith("--")]
    stale = []
    for source_path in sorted(SOURCES.glob("*.py")):
        if prefixes and not any(source_path.stem.startswith(p) for p in prefixes):
            continue
        target = HERE / f"{source_path.stem}.ipynb"
        text = render(build(source_path))
        if check:
            if not target.exists() or target.read_text("utf-8") != text:
                stale.append(target.name)
        else:
            target.write_text(text, "utf-8")
            print(f"wrote {target.relative_to(HERE.parent)}")
    if stale:
        print("out of date (run python tutorials/build_notebooks.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
