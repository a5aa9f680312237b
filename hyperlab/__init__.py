"""The application: data sets, the training loop, comparisons, checkpoints, parallel runs,
the oracle exchange tools and the `fomoh` command-line tool."""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("fomoh-hyperdual")  # the one source: pyproject.toml
except PackageNotFoundError:  # run from a checkout that is not installed
    __version__ = "0+unknown"
