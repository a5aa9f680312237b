"""Housekeeping for the tutorials (nbmake executes each notebook; see pyproject.toml).

* every committed notebook has its outputs stripped (diff-friendly) and a python3 kernel;
* a notebook with a text source in ``tutorials/source/`` is up to date with it;
* ``tutorials/README.md`` (the course outline) links every notebook;
* every "Try it" exercise is followed by a worked solution (cells tagged ``solution``,
  collapsed: an optional markdown explanation, then code), and a solution code cell that is
  not the reference for an ``exercise`` cell ends in an ``assert``;
* every ``exercise`` cell (notebook 1b) is skipped by nbmake, comes right after its reference
  solution, and the next code cell is its test — and that test *fails* on the skeleton as shipped,
  so the tests can catch an unfinished or wrong exercise.
"""

import ast
import importlib.util
import json
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("*.ipynb"))


def _builder():
    spec = importlib.util.spec_from_file_location(
        "build_notebooks", TUTORIALS / "build_notebooks.py"
    )
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


@pytest.mark.parametrize("path", sorted((TUTORIALS / "source").glob("*.py")), ids=lambda p: p.name)
def test_notebook_matches_its_text_source(path):
    builder = _builder()
    target = TUTORIALS / f"{path.stem}.ipynb"
    assert target.exists(), f"run python tutorials/build_notebooks.py to create {target.name}"
    assert target.read_text(encoding="utf-8") == builder.render(builder.build(path)), (
        f"{target.name} is out of date with source/{path.name}: run "
        "python tutorials/build_notebooks.py"
    )


def test_readme_lists_every_notebook():
    readme = (TUTORIALS / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in NOTEBOOKS if f"({p.name})" not in readme]
    assert not missing, f"tutorials/README.md does not link {missing}"


# ---------------------------------------------------------------- exercises and solutions
def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def _is_try_it(cell):
    return cell["cell_type"] == "markdown" and "**Try it" in _source(cell)


EXERCISE_NOTEBOOKS = [p for p in NOTEBOOKS if any("exercise" in _tags(c) for c in _cells(p))]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_try_it_has_a_solution(path):
    cells = _cells(path)
    for k, cell in enumerate(cells):
        if not _is_try_it(cell):
            continue
        following = [c for c in cells[k + 1 :] if c["cell_type"] == "code"]
        assert following and "solution" in _tags(following[0]), (
            f"{path.name}: the code cell after 'Try it' (cell {k}) must be tagged solution"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solutions_end_in_an_assert(path):
    cells = _cells(path)
    for k, cell in enumerate(cells):
        if "solution" not in _tags(cell):
            continue
        assert cell.get("metadata", {}).get("jupyter", {}).get("source_hidden"), (
            f"{path.name}: solution cell {k} should be collapsed"
        )
        if cell["cell_type"] == "markdown":  # the explanation; its code cell follows
            following = [c for c in cells[k + 1 :] if c["cell_type"] == "code"]
            assert following and "solution" in _tags(following[0]), (
                f"{path.name}: markdown solution cell {k} is not followed by its code"
            )
            continue
        if k + 1 < len(cells) and "exercise" in _tags(cells[k + 1]):
            continue  # the reference for an exercise: the test cell follows it
        body = ast.parse(_source(cell)).body
        assert body and isinstance(body[-1], ast.Assert), (
            f"{path.name}: solution cell {k} must end in an assert that checks the answer"
        )


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.name)
def test_exercise_cells_are_framed(path):
    cells = _cells(path)
    for k, cell in enumerate(cells):
        if "exercise" not in _tags(cell):
            continue
        assert "skip-execution" in _tags(cell), (
            f"{path.name}: exercise cell {k} must be "
            "tagged skip-execution (nbmake runs the reference solution instead)"
        )
        assert k > 0 and "solution" in _tags(cells[k - 1]), (
            f"{path.name}: exercise cell {k} must come right after its reference solution"
        )
        following = [c for c in cells[k + 1 :] if c["cell_type"] == "code"]
        assert following and not _tags(following[0]), (
            f"{path.name}: the next code cell after exercise cell {k} must be its test"
        )


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.name)
def test_unfinished_exercises_fail_their_tests(path, monkeypatch):
    """Run the notebook as a student would who left exercise k unfinished: the cells in order,
    the reference solutions of the other exercises, and the skeleton of exercise k after its
    reference (so the skeleton wins). The test cell right after it must fail."""
    monkeypatch.chdir(TUTORIALS)
    cells = [c for c in _cells(path) if c["cell_type"] == "code"]
    exercises = [k for k, c in enumerate(cells) if "exercise" in _tags(c)]
    assert exercises
    for target in exercises:
        namespace = {"__name__": f"{path.stem}_exercise_{target}"}
        for k, cell in enumerate(cells[: target + 1]):
            if "exercise" in _tags(cell) and k != target:
                continue
            exec(compile(_source(cell), f"{path.name}[{k}]", "exec"), namespace)
        with pytest.raises((NotImplementedError, AssertionError)):
            exec(
                compile(_source(cells[target + 1]), f"{path.name}[{target + 1}]", "exec"), namespace
            )
