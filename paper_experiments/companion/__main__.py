"""``python -m paper_experiments.companion ...``: the companion papers' experiments."""

import sys

from .cli import main

sys.exit(main())
