"""The one place where every number type gets its dispatch tables.

A NumPy call on a number (``np.exp(x)``, ``np.concatenate([x, y])``, ``x * y`` through
``np.multiply``) is routed by NumPy's protocols to ``MultiPartArray.__array_ufunc__`` or
``__array_function__``, which look the function up in the type's ``UFUNCS`` or
``ARRAY_FUNCTIONS`` table. Those tables are filled here, side by side, from the tables of
each kind of operation:

=========================================  =================================================
kind                                        where the implementations are
=========================================  =================================================
linear, selections, zero-derivative         ``numpy_functions.ARRAY_FUNCTIONS``,
                                            ``numpy_functions.COMMON_UFUNCS``
bilinear (``*``, ``@``, ``/``, einsum)      ``bilinear.UFUNCS``, ``bilinear.ARRAY_FUNCTIONS``
nonlinear elementwise, forward types        ``rules.RULES`` through the chain rule
                                            (``ForwardNumber.apply``), ``number.power``
nonlinear elementwise, ``Bicomplex``        ``bicomplex.FUNCTIONS`` (closed forms),
                                            ``bicomplex.power``
=========================================  =================================================

Why one module rather than class-level definitions: a table joins modules that are written
independently (the linear functions know nothing of the product rule, the rule table nothing
of NumPy's ufunc objects), and the number classes come before the functions that implement
their operations. Defining the tables in the class bodies would make every number module
import every operation module, in an order dictated by the tables rather than by reading.
Here each table is one readable dictionary per type, built after all the pieces exist;
``hyperdual/__init__.py`` imports this module, so the tables are filled whenever any part of
the package is imported. ``supported_functions()`` lists the result, and the guard tests
(``tests/test_rules.py``, ``tests/test_hyperdual.py``, ``tests/test_bicomplex.py``) check it.
"""

from __future__ import annotations

import numpy as np

from . import bicomplex, bilinear, numpy_functions
from .bicomplex import Bicomplex
from .jet import Jet
from .multipart import MultiPartArray
from .number import Dual, ForwardNumber, HyperDual, power
from .rules import RULES, UFUNC_TO_RULE

# The base class holds the functions every type shares, so a type that registers nothing of
# its own still has the linear ones.
MultiPartArray.ARRAY_FUNCTIONS = numpy_functions.ARRAY_FUNCTIONS


def _chain_rule_ufunc(name):
    """The ufunc of one rule-table entry: the generic chain rule with that rule."""

    def impl(x):
        return x.apply(RULES[name])

    impl.__name__ = name
    return impl


def register_forward_type(cls: type[ForwardNumber]) -> type[ForwardNumber]:
    """Fill the dispatch tables of a forward-mode number type (its algebra is in ``product``
    and ``chain``): the shared linear and zero-derivative functions, the bilinear ones,
    powers and every rule-table function through the chain rule."""
    cls.UFUNCS = {
        **numpy_functions.COMMON_UFUNCS,
        **bilinear.UFUNCS,
        np.power: power,
        **{getattr(np, ufunc): _chain_rule_ufunc(rule) for ufunc, rule in UFUNC_TO_RULE.items()},
    }
    cls.ARRAY_FUNCTIONS = {**numpy_functions.ARRAY_FUNCTIONS, **bilinear.ARRAY_FUNCTIONS}
    return cls


for _forward_type in (Dual, HyperDual, Jet):
    register_forward_type(_forward_type)

Bicomplex.UFUNCS = {
    **numpy_functions.COMMON_UFUNCS,
    **bilinear.UFUNCS,
    np.power: bicomplex.power,
    **{getattr(np, ufunc): bicomplex.FUNCTIONS[name] for ufunc, name in UFUNC_TO_RULE.items()},
}
Bicomplex.ARRAY_FUNCTIONS = {**numpy_functions.ARRAY_FUNCTIONS, **bilinear.ARRAY_FUNCTIONS}
Bicomplex.ELEMENTWISE = bicomplex.FUNCTIONS  # hyperdual.sigmoid, softplus, relu by name
