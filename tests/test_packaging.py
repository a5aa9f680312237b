"""CLI and packaging conventions: license, metadata, citation, shipped adapters,
pytest options, tested minimum versions, the documented name clash."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
README = (ROOT / "README.md").read_text(encoding="utf-8")
TITLE = "Second-Order Forward-Mode Automatic Differentiation for Optimization"
AUTHORS = ("Cobb", "Baydin", "Pearlmutter", "Jha")


def test_license_file_and_spdx_expression():
    assert PROJECT["license"] == "MIT"  # SPDX form, not {text = ...}
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "WITHOUT WARRANTY" in text
    assert not any(c.startswith("License ::") for c in PROJECT["classifiers"])  # PEP 639


def test_metadata_has_urls_authors_and_classifiers():
    assert PROJECT["authors"] and PROJECT["classifiers"]
    assert "https://arxiv.org/abs/2408.10419" in PROJECT["urls"].values()
    assert f"Python :: {PROJECT['requires-python'].lstrip('>=')}" in " ".join(
        PROJECT["classifiers"]
    )


def test_citation_names_the_paper_with_its_real_title():
    cff = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(r"^cff-version: 1\.2\.0$", cff, re.M)
    preferred = cff[cff.index("preferred-citation:") :]
    assert f'title: "{TITLE}"' in preferred
    assert [a for a in AUTHORS if f"family-names: {a}" in preferred] == list(AUTHORS)
    assert "2408.10419" in preferred
    assert TITLE in README and 'Second-Order Forward-Mode Optimization"' not in README


def test_the_oracle_adapters_are_part_of_the_package():
    for name in ("oracle_torch", "oracle_jax"):
        spec = importlib.util.find_spec(f"hyperlab.oracle.adapters.{name}")
        assert spec is not None and Path(spec.origin).is_file()
    assert PROJECT["optional-dependencies"]["oracle-adapters"]
    assert "python -m hyperlab.oracle.adapters.oracle_torch" in README


def test_nbmake_is_asked_for_by_the_test_command_not_by_addopts():
    addopts = PYPROJECT["tool"]["pytest"]["ini_options"]["addopts"]
    assert "--nbmake" not in addopts
    command = re.search(r"<!-- test-command -->\n```bash\n(.+)\n", README).group(1)
    assert "--nbmake" in command


def test_the_declared_minimum_versions_are_tested_by_ci():
    """The lowest versions in pyproject.toml are installed and tested by .ci/run."""
    if not (ROOT / ".ci").is_dir():
        pytest.skip("repository-only check: .ci/ is not part of an sdist")
    spec = importlib.util.spec_from_file_location(
        "min_requirements", ROOT / ".ci" / "min_requirements.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pins = dict(pin.split("==") for pin in module.minimum_pins())
    assert set(pins) == {re.split(r"[<>=!~ ]", d)[0] for d in PROJECT["dependencies"]}
    assert int(pins["numpy"].split(".")[0]) >= 2  # NEP 50 keeps float32 float32
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "min_requirements.py" in ci and "-c .ci-venv-min/constraints.txt" in ci
    assert "pytest" in ci.split("min_requirements.py", 1)[1]


def test_readme_documents_the_hyperdual_name_clash():
    install = README[README.index("## Installation") :]
    install = install[: install.index("\n## ", 3)]
    assert "`hyperdual` 0.8.1" in install and "overwrite" in install


def test_the_sdist_carries_what_its_own_tests_need():
    """setuptools puts tests/test_*.py into an sdist by itself but not tests/conftest.py
    (the `xp` fixture), so the sdist's suite used to fail; MANIFEST.in adds it, and the
    documents the README links."""
    manifest = (ROOT / "MANIFEST.in").read_text(encoding="utf-8").splitlines()
    assert "recursive-include tests *.py" in manifest
    included = {
        word for line in manifest if line.startswith("include ") for word in line.split()[1:]
    }
    assert {"LICENSE", "CITATION.cff", "README.md", "EXPERIMENTS.md"} <= included
    assert (ROOT / "tests" / "conftest.py").is_file()
