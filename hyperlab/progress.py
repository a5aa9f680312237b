"""Progress of long runs: bars where they render, plain periodic lines where they do not.

===========================  ================================================================
where the output goes        what is shown
===========================  ================================================================
a terminal (stderr a TTY)    tqdm progress bars
a Jupyter notebook           tqdm progress bars (widgets when ``ipywidgets`` is installed,
                             text bars otherwise)
anything else (a CI log, a   no bars (they would print nothing until the end, or a mess of
file, a pipe)                carriage returns) but one plain line at most every
                             :data:`LOG_INTERVAL` seconds, plus the lines a run always prints
``--quiet``                  nothing
===========================  ================================================================
"""

from __future__ import annotations

import os
import sys
import time

__all__ = ["LOG_INTERVAL", "in_notebook", "mode", "Progress"]

LOG_INTERVAL = float(os.environ.get("FOMOH_LOG_INTERVAL", "30"))
"""Seconds between two periodic log lines (environment variable ``FOMOH_LOG_INTERVAL``)."""


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where stderr is not a TTY but bars render)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # noqa: BLE001 - any failure means "not a notebook"
        return False
    return type(shell).__name__ == "ZMQInteractiveShell"


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def mode(quiet: bool = False) -> str:
    """``"off"`` (quiet), ``"bar"`` (a terminal or a notebook) or ``"log"`` (plain lines)."""
    if quiet:
        return "off"
    return "bar" if _stderr_is_terminal() or in_notebook() else "log"


def _tqdm():
    if in_notebook():
        try:
            import ipywidgets  # noqa: F401 - tqdm.notebook needs it
            from tqdm.notebook import tqdm

            return tqdm
        except ImportError:
            pass
    from tqdm import tqdm

    return tqdm


class Progress:
    """Bars in ``"bar"`` mode, rate-limited plain lines in ``"log"`` mode, nothing when quiet.

    Parameters
    ----------
    quiet : bool
    log : callable, optional
        Receives each line (default: print to stderr, flushed).
    interval : float, optional
        Seconds between periodic lines (default :data:`LOG_INTERVAL`).
    """

    def __init__(self, quiet: bool = False, log=None, interval: float | None = None):
        self.mode = mode(quiet)
        self.log = log or (lambda message: print(message, file=sys.stderr, flush=True))
        self.interval = LOG_INTERVAL if interval is None else float(interval)
        self._last = time.monotonic()

    def bar(self, iterable=None, **kwargs):
        """A tqdm bar over ``iterable``, disabled unless in ``"bar"`` mode."""
        return _tqdm()(iterable, disable=self.mode != "bar", dynamic_ncols=True, **kwargs)

    def line(self, message, force: bool = False) -> None:
        """In ``"log"`` mode, log ``message`` (a string or a callable returning one) if
        ``force`` or if :attr:`interval` seconds have passed since the last line."""
        if self.mode != "log":
            return
        now = time.monotonic()
        if force or now - self._last >= self.interval:
            self._last = now
            self.log(message() if callable(message) else message)
