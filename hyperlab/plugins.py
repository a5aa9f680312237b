"""Extensions of the ``fomoh`` command registered by other installed packages.

The direction of the dependencies is ``hyperdual`` ← ``layers``, ``optimizers`` ←
``hyperlab`` ← ``paper_experiments``: the application never imports the paper experiments.
They plug in instead: a package lists a function in the entry-point group
:data:`GROUP` (``[project.entry-points."hyperlab.plugins"]`` in its ``pyproject.toml``);
:func:`load_plugins` calls each such function once, before the command line is built, and
the function registers what it adds — presets of ``fomoh compare``
(:func:`hyperlab.presets.register_preset`) and sub-commands of ``fomoh``
(:func:`register_command`).

A plugin that fails to load is reported on stderr and left out; the application's own
commands keep working.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib.metadata import entry_points

__all__ = ["GROUP", "COMMANDS", "register_command", "load_plugins"]

GROUP = "hyperlab.plugins"
"""The entry-point group of the plugins."""

COMMANDS: dict[str, Callable] = {}
"""Sub-command name -> ``add_parser(subparsers)``, which adds it to the ``fomoh`` parser and
sets its ``func`` default (``args -> exit status``)."""

_loaded: list[str] = []  # names of the plugins loaded
_tried = False  # load_plugins has run


def register_command(name: str, add_parser: Callable) -> None:
    """Add the sub-command ``fomoh <name>``, built by ``add_parser(subparsers)``."""
    COMMANDS[name] = add_parser


def load_plugins() -> list[str]:
    """Call every plugin's registration function (once per process); return the names of
    those that loaded."""
    global _tried
    if not _tried:
        _tried = True
        for entry in entry_points(group=GROUP):
            try:
                entry.load()()
            except Exception as exc:  # noqa: BLE001 - one broken plugin must not break fomoh
                print(
                    f"fomoh: warning: plugin {entry.name!r} ({entry.value}) was not loaded: "
                    f"{type(exc).__name__}: {exc}",
                    file=sys.stderr,
                )
                continue
            _loaded.append(entry.name)
    return list(_loaded)
