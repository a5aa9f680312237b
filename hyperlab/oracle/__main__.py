"""``python -m hyperlab.oracle ...``: the same commands as ``fomoh oracle ...``."""

import sys

from .cli import main

sys.exit(main())
