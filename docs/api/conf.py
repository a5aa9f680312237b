"""Sphinx configuration of the API reference: built from the docstrings (numpy style).

Build it warning-free (tests/test_docs.py does)::

    sphinx-build -W -b html docs/api /tmp/api-html
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the packages, also from a checkout that is not installed

project = "fomoh-hyperdual"
author = "The fomoh-hyperdual developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]

# Docstrings are numpy style ("Parameters", "Returns" sections with underlined headers).
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True  # "Attributes" sections: no second entry for a field

# Every page lists a module's own public members (objects imported from elsewhere are
# documented where they are defined, so each public object appears once).
autodoc_default_options = {"undoc-members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True  # show ``CS_STEP``, not 1e-30, as a default

html_theme = "alabaster"
exclude_patterns = ["_build"]
