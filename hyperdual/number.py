"""The hyper-dual number type: ``real + eps1 e1 + eps2 e2 + eps12 e1e2`` on arrays.

Algebra: ``e1² = e2² = 0`` and ``e1 e2 = e2 e1 ≠ 0``. Hence the product rule

    (a + b e1 + c e2 + d e1e2)(p + q e1 + r e2 + s e1e2)
        = ap + (aq + bp) e1 + (ar + cp) e2 + (as + br + cq + dp) e1e2

and, for any smooth elementwise f, the chain rule

    f(a + b e1 + c e2 + d e1e2) = f(a) + f'(a) b e1 + f'(a) c e2 + (f'(a) d + f''(a) b c) e1e2.

Operations come in four kinds, one helper each:

* linear (add, reshape, transpose, indexing, sum, pad, im2col windows, ...): act on every
  component alike (``multipart.MultiPartArray``);
* bilinear (``*``, ``@``, ``einsum``, ``dot``): the product rule above (``_bilinear``);
* zero-derivative (comparisons, argmax, sign, floor): plain arrays computed from ``real``;
* nonlinear elementwise: the ``(f, f', f'')`` table in ``rules.py`` (``HyperDual.apply``).

Shapes: ``real`` has the number's shape S. The ε-parts ``eps1, eps2, eps12`` always carry one
leading *pair axis*: shape ``(P, *S)``. P direction pairs are evaluated at once while the real
part (the primal computation) is shared; a single pair has P = 1.
"""

from __future__ import annotations

import numpy as np

from . import multipart
from .backend import namespace
from .multipart import MultiPartArray, as_multipart, _common_xp
from .rules import RULES, UFUNC_TO_RULE, power_rule


class HyperDual(MultiPartArray):
    """An array of hyper-dual numbers ``real + eps1 e1 + eps2 e2 + eps12 e1e2``.

    Parameters
    ----------
    real : array_like, shape S
        The real (primal) part. Integers are converted to float64.
    eps1, eps2, eps12 : array_like, shape S or (P, *S), or scalar
        The ε-parts. A leading axis of length P holds P direction pairs; without it P = 1.

    Examples
    --------
    >>> x = HyperDual(1.5, 1.0, 1.0)          # x + e1 + e2: derivatives with respect to x
    >>> y = np.exp(x) / np.sqrt(np.sin(x) ** 3 + np.cos(x) ** 3)
    >>> float(y.real), y.eps1.item(), y.eps12.item()   # f, f', f''
    """

    PART_NAMES = ("real", "eps1", "eps2", "eps12")
    LEAD = (0, 1, 1, 1)

    def __init__(self, real, eps1=0.0, eps2=0.0, eps12=0.0):
        xp = namespace(real, eps1, eps2, eps12)
        # Python scalars are "weak" (NEP 50): HyperDual(float32_array, 1.0) stays float32.
        dtype = xp.result_type(*(v if isinstance(v, (int, float)) else xp.asarray(v)
                                 for v in (real, eps1, eps2, eps12)))
        real = xp.asarray(real)
        eps = [xp.asarray(e) for e in (eps1, eps2, eps12)]
        if dtype.kind in "biu":
            dtype = np.dtype(np.float64)
        if dtype.kind != "f":
            raise TypeError(f"HyperDual components must be real floating arrays, got {dtype}")
        shape = real.shape
        pairs = set()
        for k, e in enumerate(eps):
            if e.ndim == 0:
                e = xp.broadcast_to(e, (1,) + shape)
            elif e.shape == shape:
                e = e[None]
            elif not (e.ndim == len(shape) + 1 and e.shape[1:] == shape):
                raise ValueError(
                    f"HyperDual {self.PART_NAMES[k + 1]} must have the real part's shape "
                    f"{shape} or (P, *{shape}) with a leading pair axis; got {e.shape}")
            if e.shape[0] != 1:
                pairs.add(e.shape[0])
            eps[k] = e
        if len(pairs) > 1:
            raise ValueError(f"HyperDual ε-parts have different numbers of pairs: {sorted(pairs)}")
        self.real = real.astype(dtype, copy=False)
        self.eps1, self.eps2, self.eps12 = (e.astype(dtype, copy=False) for e in eps)

    @property
    def npairs(self) -> int:
        """P, the length of the ε-parts' leading pair axis."""
        return max(e.shape[0] for e in (self.eps1, self.eps2, self.eps12))

    @staticmethod
    def _part_dtype(dtype):
        return dtype if dtype.kind == "f" else np.dtype(np.float64)

    # ------------------------------------------------------------------ nonlinear: the table
    def apply(self, rule):
        """The generic chain rule: ``rule(xp, a) -> (f(a), f'(a), f''(a))``."""
        a, b, c, d = self.parts
        f, df, d2f = rule(self.xp, a)
        return HyperDual.from_parts((f, df * b, df * c, df * d + d2f * b * c))


# ---------------------------------------------------------------------- bilinear helper
def _bilinear(op, x, y):
    """The product rule for a bilinear ``op(p, lead_p, q, lead_q)``.

    ``op`` receives each operand part with its number of leading pair axes (0 or 1), so that
    e.g. einsum can name the pair axis. Plain-array operands only scale (a linear op).
    """
    xp = _common_xp((x, y))
    x_is, y_is = isinstance(x, HyperDual), isinstance(y, HyperDual)
    if (isinstance(x, MultiPartArray) and not x_is) or (isinstance(y, MultiPartArray) and not y_is):
        raise TypeError("cannot mix HyperDual with another multi-part type")
    # Python scalars stay Python scalars ("weak": a float32 HyperDual times 2.0 stays float32).
    if not x_is and not isinstance(x, (int, float)):
        x = xp.asarray(x)
    if not y_is and not isinstance(y, (int, float)):
        y = xp.asarray(y)
    nd = max(np.ndim(x) if not x_is else x.ndim, np.ndim(y) if not y_is else y.ndim)
    if x_is and y_is:
        x, y = x.lift(nd), y.lift(nd)
        a, b, c, d = x.parts
        p, q, r, s = y.parts
        return HyperDual.from_parts((
            op(a, 0, p, 0),
            op(a, 0, q, 1) + op(b, 1, p, 0),
            op(a, 0, r, 1) + op(c, 1, p, 0),
            op(a, 0, s, 1) + op(b, 1, r, 1) + op(c, 1, q, 1) + op(d, 1, p, 0),
        ))
    if x_is:
        return x.lift(nd).map_parts(lambda part, lead: op(part, lead, y, 0))
    return y.lift(nd).map_parts(lambda part, lead: op(x, 0, part, lead))


def _multiply(p, lead_p, q, lead_q):
    return p * q


def _matmul_parts(p, lead_p, q, lead_q):
    """``p @ q`` for one term of the product rule.

    When one side is a plain matrix and the other a stack of P pairs, NumPy's batched
    matmul would run P small products; folding the stack into one matrix runs one large
    product instead (same numbers, several times faster).
    """
    xp = namespace(p, q)
    if q.ndim == 2 and p.ndim > 2:               # (..., N, D) @ (D, K): fold the batch into rows
        return (p.reshape(-1, p.shape[-1]) @ q).reshape(p.shape[:-1] + (q.shape[-1],))
    if p.ndim == 2 and q.ndim > 2:               # (N, D) @ (..., D, K): fold the batch into columns
        folded = xp.moveaxis(q, -2, 0).reshape(q.shape[-2], -1)     # (D, ...*K)
        out = (p @ folded).reshape((p.shape[0],) + q.shape[:-2] + (q.shape[-1],))
        return xp.moveaxis(out, 0, -2)
    return p @ q


def matmul(x, y):
    """``x @ y`` with NumPy's rules for 1-D operands (a vector is promoted, then squeezed)."""
    x_nd, y_nd = np.ndim(x) if not isinstance(x, MultiPartArray) else x.ndim, \
        np.ndim(y) if not isinstance(y, MultiPartArray) else y.ndim
    if x_nd == 0 or y_nd == 0:
        raise ValueError("matmul: input operand does not have enough dimensions (use *)")
    if x_nd == 1:
        return matmul(x[None, :], y)[..., 0, :] if y_nd > 1 else (x * y).sum()
    if y_nd == 1:
        return matmul(x, y[:, None])[..., 0]
    return _bilinear(_matmul_parts, x, y)


def einsum(subscripts, *operands, **kwargs):
    """``np.einsum`` for one or two operands (chain longer contractions yourself).

    The pair axis of an ε-part is given its own subscript letter, kept in the output.
    """
    if kwargs.get("out") is not None:
        raise TypeError("numpy.einsum(out=...) is not supported for HyperDual")
    if not isinstance(subscripts, str):
        raise TypeError("numpy.einsum: only the string-subscripts form is supported for HyperDual")
    subscripts = subscripts.replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands) or len(operands) not in (1, 2):
        raise TypeError("numpy.einsum with HyperDual supports one or two operands")
    if not arrow:  # implicit output: the letters used once, in alphabetical order
        letters = inputs.replace(",", "").replace("...", "")
        output = ("..." if "..." in inputs else "") + "".join(
            sorted(ch for ch in set(letters) if letters.count(ch) == 1))
    pair = next(ch for ch in "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba"
                if ch not in subscripts)
    extra = {k: v for k, v in kwargs.items() if k != "out"}

    def spec(term, lead):
        return pair + term if lead else term

    def contract(p, lead_p, q=None, lead_q=0):
        xp = namespace(p, q)
        if q is None:
            return xp.einsum(f"{spec(terms[0], lead_p)}->{spec(output, lead_p)}", p, **extra)
        out = spec(output, lead_p or lead_q)
        return xp.einsum(f"{spec(terms[0], lead_p)},{spec(terms[1], lead_q)}->{out}", p, q,
                         **extra)

    if len(operands) == 1:
        return operands[0].map_parts(lambda p, lead: contract(p, lead))
    x, y = operands
    if isinstance(x, HyperDual) and isinstance(y, HyperDual):
        # Different number of dims are not lifted for einsum: its subscripts say it all.
        a, b, c, d = x.parts
        p, q, r, s = y.parts
        return HyperDual.from_parts((
            contract(a, 0, p, 0),
            contract(a, 0, q, 1) + contract(b, 1, p, 0),
            contract(a, 0, r, 1) + contract(c, 1, p, 0),
            contract(a, 0, s, 1) + contract(b, 1, r, 1) + contract(c, 1, q, 1)
            + contract(d, 1, p, 0),
        ))
    if isinstance(x, HyperDual):
        return x.map_parts(lambda part, lead: contract(part, lead, y, 0))
    return y.map_parts(lambda part, lead: contract(x, 0, part, lead))


def dot(a, b, out=None):
    """``np.dot``: a scalar product, a matrix product or ``sum(a[i] * b[i])`` for vectors."""
    if out is not None:
        raise TypeError("numpy.dot(out=...) is not supported for HyperDual")
    if np.ndim(a) == 0 or np.ndim(b) == 0 or _is_scalar_hd(a) or _is_scalar_hd(b):
        return a * b
    if max(_ndim(a), _ndim(b)) > 2:
        raise TypeError("numpy.dot on arrays with more than 2 dimensions is not supported for "
                        "HyperDual; use np.einsum or @")
    return matmul(a, b)


def _ndim(v):
    return v.ndim if isinstance(v, MultiPartArray) else np.ndim(v)


def _is_scalar_hd(v):
    return isinstance(v, MultiPartArray) and v.ndim == 0


# ---------------------------------------------------------------------- derived operations
def divide(x, y):
    """``x / y``: by a plain array it is linear; by a hyper-dual, ``x * reciprocal(y)``."""
    if isinstance(y, HyperDual):
        return _bilinear(_multiply, x, y.apply(RULES["reciprocal"]))
    return x.lift(np.ndim(y)).map_parts(lambda p, lead: p / y)


def power(x, n):
    """``x ** n``: real exponent by the power rule; hyper-dual exponent as ``exp(n log x)``."""
    if isinstance(n, HyperDual):
        xp = _common_xp((x, n))
        log_x = as_multipart(HyperDual, x, xp).apply(RULES["log"]) if isinstance(x, HyperDual) \
            else xp.log(xp.asarray(x, dtype=n.dtype))
        return (n * log_x).apply(RULES["exp"])
    if not isinstance(n, (int, float)):
        n = x.xp.asarray(n)
        if n.ndim > x.ndim:
            x = x.broadcast_to(np.broadcast_shapes(x.shape, n.shape))
    with np.errstate(divide="ignore", invalid="ignore"):
        return x.apply(lambda xp_, a: power_rule(xp_, a, n))


def _table_ufunc(name):
    """The ufunc of one rule-table entry: the generic chain rule with that rule."""
    def impl(x):
        return x.apply(RULES[name])
    return impl


HyperDual.UFUNCS = {
    **multipart.COMMON_UFUNCS,
    np.multiply: lambda x, y: _bilinear(_multiply, x, y),
    np.matmul: matmul,
    np.divide: divide,
    np.power: power,
    **{getattr(np, ufunc): _table_ufunc(rule) for ufunc, rule in UFUNC_TO_RULE.items()},
}

HyperDual.ARRAY_FUNCTIONS = {
    **MultiPartArray.ARRAY_FUNCTIONS,
    np.einsum: einsum,
    np.dot: dot,
    np.matmul: matmul,
}


# ---------------------------------------------------------------------- public elementwise
def _rule_function(name):
    def fn(x):
        if isinstance(x, HyperDual):
            return x.apply(RULES[name])
        if isinstance(x, MultiPartArray):
            # Other number types (Bicomplex) register their own closed forms by name.
            impl = getattr(type(x), "ELEMENTWISE", {}).get(name)
            if impl is None:
                raise TypeError(f"hyperdual.{name} supports HyperDual and real arrays, "
                                f"not {type(x).__name__}")
            return impl(x)
        xp = namespace(x)
        x = xp.asarray(x)
        if x.dtype.kind == "c":
            # Complex input (the complex step): a complex number is a bicomplex one with
            # z2 = 0, and bicomplex.py has analytic, cancellation-free forms of these.
            from .bicomplex import Bicomplex
            return Bicomplex.ELEMENTWISE[name](Bicomplex(x)).z1
        return RULES[name](xp, x)[0]
    fn.__name__ = name
    fn.__doc__ = (f"``{name}`` on a HyperDual (by the rule table), a Bicomplex, or a plain real "
                  "or complex array (its value only).")
    return fn


sigmoid = _rule_function("sigmoid")
softplus = _rule_function("softplus")
relu = _rule_function("relu")


def supported_functions():
    """Names of the NumPy functions and ufuncs that accept HyperDual inputs."""
    return sorted(set(HyperDual.supported_functions())
                  | {"hyperdual.sigmoid", "hyperdual.softplus", "hyperdual.relu"})
