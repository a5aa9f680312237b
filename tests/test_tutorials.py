"""Housekeeping for the tutorials (nbmake executes each notebook; see pyproject.toml).

* every committed notebook has its outputs stripped (diff-friendly) and a python3 kernel;
* a notebook with a text source in ``tutorials/source/`` is up to date with it;
* ``tutorials/README.md`` (the course outline) links every notebook.
"""

import importlib.util
import json
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("*.ipynb"))


def _builder():
    spec = importlib.util.spec_from_file_location("build_notebooks",
                                                  TUTORIALS / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_notebooks():
    assert NOTEBOOKS, "tutorials/ should hold the course notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_outputs_are_stripped(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name}: commit notebooks without outputs"
            assert cell.get("execution_count") is None, f"{path.name}: stale execution_count"


@pytest.mark.parametrize("path", sorted((TUTORIALS / "source").glob("*.py")),
                         ids=lambda p: p.name)
def test_notebook_matches_its_text_source(path):
    builder = _builder()
    target = TUTORIALS / f"{path.stem}.ipynb"
    assert target.exists(), f"run python tutorials/build_notebooks.py to create {target.name}"
    assert target.read_text(encoding="utf-8") == builder.render(builder.build(path)), \
        f"{target.name} is out of date with source/{path.name}: run " \
        "python tutorials/build_notebooks.py"


def test_readme_lists_every_notebook():
    readme = (TUTORIALS / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in NOTEBOOKS if f"({p.name})" not in readme]
    assert not missing, f"tutorials/README.md does not link {missing}"
