"""Second-order forward-mode automatic differentiation with hyper-dual numbers.

A hyper-dual number ``a + b e1 + c e2 + d e1e2`` (``e1² = e2² = 0``, ``e1e2 ≠ 0``) carries a
value, two directional derivatives and one mixed second derivative through any computation
written with NumPy operations. Evaluating ``f`` at ``theta + v1 e1 + v2 e2`` yields
``f(θ)``, ``∇f·v1``, ``∇f·v2`` and ``v1ᵀ ∇²f v2`` exactly (up to rounding) in one pass.
"""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("fomoh-hyperdual")   # the distribution this package ships in
except PackageNotFoundError:                    # a checkout that is not installed
    __version__ = "0+unknown"

from .backend import (BackendUnavailableError, DeviceMismatchError, backend_name,
                      cupy_available, get_backend, namespace, set_backend, to_numpy)
from .derivatives import (DEFAULT_CHUNK_SIZE, directional, gradient, hessian, hvp,
                          projected_hessian)
from . import testing
from .multipart import MultiPartArray
from .number import Dual, ForwardNumber, HyperDual, relu, sigmoid, softplus, supported_functions
from .jet import Jet
from .rules import RULES

__all__ = [
    "HyperDual", "Dual", "Jet", "ForwardNumber", "MultiPartArray", "RULES",
    "directional", "gradient", "hessian", "hvp", "projected_hessian", "DEFAULT_CHUNK_SIZE",
    "sigmoid", "softplus", "relu", "supported_functions",
    "get_backend", "set_backend", "backend_name", "cupy_available", "namespace", "to_numpy",
    "BackendUnavailableError", "DeviceMismatchError",
]

# The bicomplex number type and the independent oracles (finite differences, complex step,
# bicomplex step, comparison report).
from .bicomplex import Bicomplex  # noqa: E402
from .oracles import (BICOMPLEX_STEP, CS_STEP, ComparisonReport, bicomplex_directional,  # noqa: E402
                      bicomplex_gradient, bicomplex_hessian, compare, cs_directional,
                      cs_gradient, fd_directional, fd_gradient, fd_hessian)

__all__ += [
    "Bicomplex", "bicomplex_directional", "bicomplex_gradient", "bicomplex_hessian",
    "cs_directional", "cs_gradient", "fd_directional", "fd_gradient", "fd_hessian",
    "compare", "ComparisonReport", "BICOMPLEX_STEP", "CS_STEP",
]
