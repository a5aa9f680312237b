"""The layering of the packages, checked on their source (nothing is imported).

* Dependencies point one way: ``hyperdual`` ← ``layers``, ``optimizers`` ← ``hyperlab`` ←
  ``paper_experiments``. No library module imports the application or the experiments, and
  neither the application nor a test outside ``paper_experiments/tests`` imports the
  experiments (``fomoh`` finds them through the ``hyperlab.plugins`` entry point).
* The application and the experiments import the project's own modules at the top of a
  module, where a reader sees the dependencies (no function-level imports of them).
* No module of the application or the experiments is longer than 600 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ("hyperdual", "layers", "optimizers")
OWN = LIBRARY + ("hyperlab", "paper_experiments")
MAX_LINES = 600


def _modules(*folders):
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def _imported(tree, path) -> list[tuple[str, int, bool]]:
    """``(top-level package, line, inside a function)`` of each import in ``tree``."""
    package = path.relative_to(ROOT).parts[0]
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((a.name.split(".")[0], child.lineno, in_function) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                name = package if child.level else (child.module or "").split(".")[0]
                found.append((name, child.lineno, in_function))
            visit(child, inside)

    visit(tree, False)
    return found


def _imports_of(path):
    return _imported(ast.parse(path.read_text(encoding="utf-8")), path)


@pytest.mark.parametrize("path", _modules(*LIBRARY), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_library_imports_neither_the_application_nor_the_experiments(path):
    bad = [
        (name, line)
        for name, line, _ in _imports_of(path)
        if name in ("hyperlab", "paper_experiments")
    ]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize(
    "path", _modules("hyperlab", "tests"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_nothing_outside_the_experiments_imports_them(path):
    bad = [line for name, line, _ in _imports_of(path) if name == "paper_experiments"]
    assert not bad, f"{path.relative_to(ROOT)} imports paper_experiments (lines {bad})"


@pytest.mark.parametrize(
    "path", _modules("hyperlab", "paper_experiments"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_own_modules_are_imported_at_the_top(path):
    inner = [
        (name, line) for name, line, in_function in _imports_of(path) if in_function and name in OWN
    ]
    assert not inner, f"{path.relative_to(ROOT)}: imports inside functions {inner}"


@pytest.mark.parametrize(
    "path", _modules("hyperlab", "paper_experiments"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_modules_are_short(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it by idea"


def test_the_checks_see_imports():
    """The scanner finds a top-level import, a relative one and one inside a function."""
    tree = ast.parse("import layers\nfrom .x import y\ndef f():\n    from hyperlab import z\n")
    found = _imported(tree, ROOT / "hyperlab" / "m.py")
    assert found == [("layers", 1, False), ("hyperlab", 2, False), ("hyperlab", 4, True)]
