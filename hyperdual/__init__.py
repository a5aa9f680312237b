"""Second-order forward-mode automatic differentiation with hyper-dual numbers.

A hyper-dual number ``a + b e1 + c e2 + d e1e2`` (``e1² = e2² = 0``, ``e1e2 ≠ 0``) carries a
value, two directional derivatives and one mixed second derivative through any computation
written with NumPy operations. Evaluating ``f`` at ``theta + v1 e1 + v2 e2`` yields
``f(θ)``, ``∇f·v1``, ``∇f·v2`` and ``v1ᵀ ∇²f v2`` exactly (up to rounding) in one pass.

Reading order (about 30 minutes; each module's docstring states its idea first)::

    rules.py            the table: each function as (f, f', f'')
    multipart.py        MultiPartArray: an array of numbers stored as several arrays;
                        the linear operations (reshape, indexing, sum, +, -) act on every part
    numpy_functions.py  the NumPy functions of the same kinds (concatenate, where, pad,
                        maximum, comparisons)
    bilinear.py         the product rule for *, @, einsum, dot, / (one helper, every type)
    number.py           Dual and HyperDual: their product rule and chain rule
    jet.py              the second-order K-jet: K directions' Hessian block in one pass
    dispatch.py         which implementation each NumPy function gets, for every type
    inputs.py           the checks of θ and the directions
    derivatives.py      directional, gradient, hvp, projected_hessian, hessian
    bicomplex.py        Bicomplex numbers: the bicomplex-step oracle's number type
    oracles.py          finite differences, complex step, bicomplex step, compare
    testing.py          the one tolerance table and assert_close
    backend.py          the one switch between NumPy and CuPy
    aliases.py          the names used in type annotations (Array, Operand, ...)

So ``x * y`` for two hyper-dual arrays is ``AlgebraArray.__mul__`` (bilinear.py) ->
``bilinear(_multiply_parts, x, y)`` -> ``HyperDual.product`` (number.py), and ``np.exp(x)``
is ``MultiPartArray.__array_ufunc__`` -> ``HyperDual.UFUNCS[np.exp]`` (dispatch.py) ->
``ForwardNumber.apply(RULES["exp"])`` -> ``HyperDual.chain`` (number.py).
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from . import dispatch, testing  # noqa: F401 - dispatch fills the tables; testing is public
from .backend import (
    BackendUnavailableError,
    DeviceMismatchError,
    backend_name,
    cupy_available,
    get_backend,
    namespace,
    set_backend,
    to_numpy,
    using_backend,
)
from .bicomplex import Bicomplex
from .derivatives import (
    DEFAULT_CHUNK_SIZE,
    directional,
    gradient,
    hessian,
    hvp,
    projected_hessian,
)
from .jet import Jet
from .multipart import MultiPartArray, array_module
from .number import Dual, ForwardNumber, HyperDual, relu, sigmoid, softplus, supported_functions
from .oracles import (
    BICOMPLEX_STEP,
    CS_STEP,
    ComparisonReport,
    bicomplex_directional,
    bicomplex_gradient,
    bicomplex_hessian,
    compare,
    cs_directional,
    cs_gradient,
    fd_directional,
    fd_gradient,
    fd_hessian,
)
from .rules import RULES

try:
    __version__ = _version("fomoh-hyperdual")  # the distribution this package ships in
except PackageNotFoundError:  # a checkout that is not installed
    __version__ = "0+unknown"

__all__ = [
    # number types
    "HyperDual",
    "Dual",
    "Jet",
    "Bicomplex",
    "ForwardNumber",
    "MultiPartArray",
    "RULES",
    # derivatives of f: R^D -> R
    "directional",
    "gradient",
    "hessian",
    "hvp",
    "projected_hessian",
    "DEFAULT_CHUNK_SIZE",
    # elementwise functions that are not NumPy ufuncs
    "sigmoid",
    "softplus",
    "relu",
    "supported_functions",
    # backend
    "get_backend",
    "set_backend",
    "using_backend",
    "backend_name",
    "cupy_available",
    "namespace",
    "to_numpy",
    "array_module",
    "BackendUnavailableError",
    "DeviceMismatchError",
    # independent oracles
    "bicomplex_directional",
    "bicomplex_gradient",
    "bicomplex_hessian",
    "cs_directional",
    "cs_gradient",
    "fd_directional",
    "fd_gradient",
    "fd_hessian",
    "compare",
    "ComparisonReport",
    "BICOMPLEX_STEP",
    "CS_STEP",
]
