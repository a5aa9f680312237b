"""The README's code examples are executed, so they cannot rot; its test command is CI's."""

import re
from pathlib import Path

import pytest

import hyperdual

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"```python\n(.*?)```", README, flags=re.S)


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_readme_python_example_runs(index, tmp_path, monkeypatch):
    """On the default backend, NumPy, for which the examples are written (their data are NumPy
    arrays), also in a ``--backend cupy`` session."""
    monkeypatch.chdir(tmp_path)
    with hyperdual.using_backend("numpy"):
        exec(compile(EXAMPLES[index], f"README.md example {index}", "exec"), {"__name__": "readme"})


def test_readme_has_examples_and_ci_runs_its_test_command():
    assert EXAMPLES, "README.md should contain python examples"
    match = re.search(r"<!-- test-command -->\n```bash\n(.+)\n", README)
    assert match, "README.md must mark its test command with <!-- test-command -->"
    # the notebooks are executed because the command asks for it (not via addopts, so
    # that a plain `pytest` from an sdist works too)
    assert "--nbmake" in match.group(1)
    if not (ROOT / ".ci").is_dir():
        pytest.skip("repository-only check: .ci/ is not part of an sdist")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "test-command" in ci and "venv" in ci
