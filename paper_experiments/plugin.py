"""The paper experiments' hook into the ``fomoh`` command (entry point ``hyperlab.plugins``).

``pyproject.toml`` lists :func:`register` in the entry-point group ``hyperlab.plugins``;
:func:`hyperlab.plugins.load_plugins` calls it before ``fomoh`` builds its parser. It adds the
paper's presets to ``fomoh compare`` and the ``fomoh rosenbrock`` sub-command — so the
application (``hyperlab``) needs no import of this package.
"""

from __future__ import annotations

from hyperlab.plugins import register_command

from . import presets
from .cli import add_rosenbrock_parser

__all__ = ["register"]


def register() -> None:
    """Register the paper's presets and the ``rosenbrock`` sub-command."""
    presets.register()
    register_command("rosenbrock", add_rosenbrock_parser)
