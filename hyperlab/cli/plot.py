"""``fomoh plot``: re-plot the curves of a comparison folder (a finished, running or archived
``fomoh compare --out`` folder), optionally a subset of its rows, to any image file."""

from __future__ import annotations

import sys

from ..plots import load_curves, plot_curves
from .options import EXIT_OK, EXIT_USAGE, Formatter

__all__ = ["add_parser"]

_HELP = """\
Re-plot the training curves of a comparison from its per-run histories
(<folder>/<label>/seed<k>/history.csv or history.json): training and validation NLL and
accuracy against epochs, the mean over seeds as a line and ± one standard deviation as a
band (the layout of the FoMoH paper's Figures 3, 4 and 6). Runs still in progress are
drawn up to their last epoch. Example, the paper's Figure 3 (the forward-mode rows of
Table 1):

  fomoh plot results/table1 --out fig3.png --labels FGD FoMoH "FoMoH (LR-sch.)" \\
      FoMoH-2D "FoMoH-2D (LR-sch.)" FoMoH-3D "FoMoH-3D (LR-sch.)"
"""


def add_parser(sub) -> None:
    """Add ``plot`` to the sub-commands ``sub``."""
    p = sub.add_parser(
        "plot",
        help="re-plot a comparison's curves from its folder",
        description=_HELP,
        formatter_class=Formatter,
    )
    p.add_argument("folder", help="a `fomoh compare --out` folder (or an archive's copy)")
    p.add_argument("--out", required=True, help="image to write (.png, .pdf, .svg)")
    p.add_argument(
        "--labels", nargs="+", metavar="LABEL", help="rows to draw, in this order (default all)"
    )
    p.add_argument("--title", help="figure title (default: the folder and the seeds)")
    p.add_argument("--linear", action="store_true", help="linear loss axes (default logarithmic)")
    p.set_defaults(func=run_plot)


def run_plot(args) -> int:
    """Load the histories, plot them, print the image's path."""
    try:
        curves = load_curves(args.folder, args.labels)
    except ValueError as exc:
        print(f"fomoh plot: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    seeds = sorted({len(h) for h in curves.values()})
    title = args.title or f"{args.folder}: mean ± std over seeds (runs per row: {seeds})"
    path = plot_curves(curves, args.out, title=title, log_loss=not args.linear)
    print(path)
    return EXIT_OK
