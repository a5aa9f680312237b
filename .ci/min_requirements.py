"""Print the lowest dependency versions pyproject.toml declares, pinned: ``name==version``.

``.ci/run`` installs the package with these as constraints in a second, fresh environment and
runs a fast subset of the tests there, so that the declared minimums stay true.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def minimum_pins(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """``["numpy==2.0", ...]``: every runtime dependency at its declared lower bound."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    pins = []
    for requirement in project["dependencies"]:
        match = re.fullmatch(
            r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*", requirement
        )
        if match is None:
            raise SystemExit(
                f"pyproject.toml: {requirement!r} must be 'name>=version' so that "
                "its minimum can be tested"
            )
        pins.append(f"{match[1]}=={match[2]}")
    return pins


if __name__ == "__main__":
    sys.stdout.write("".join(pin + "\n" for pin in minimum_pins()))
