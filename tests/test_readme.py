"""The README's code examples are executed, so they cannot rot; its test command is CI's."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"```python\n(.*?)```", README, flags=re.S)


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_readme_python_example_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(EXAMPLES[index], f"README.md example {index}", "exec"), {"__name__": "readme"})


def test_readme_has_examples_and_ci_runs_its_test_command():
    assert EXAMPLES, "README.md should contain python examples"
    match = re.search(r"<!-- test-command -->\n```bash\n(.+)\n", README)
    assert match, "README.md must mark its test command with <!-- test-command -->"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "test-command" in ci and "venv" in ci
