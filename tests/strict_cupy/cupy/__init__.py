"""A strict CPU stand-in for CuPy: it checks host/device discipline without a GPU.

This is not CuPy and not a GPU test. ``HYPERDUAL_STRICT_CUPY=1 python -m pytest --backend cupy``
(see ``tests/conftest.py``) puts ``tests/strict_cupy`` first on ``sys.path``, so ``import cupy``
and ``import cupyx.scipy.special`` find this package and the suite runs on "device" arrays
that live in host memory but follow CuPy's rules about what may meet what. The pytest header
and ``cupy.__version__`` say so. A run with it finds the mistakes a GPU run reports as
host/device errors (NumPy arrays mixed with CuPy arrays, implicit conversions); everything
else about a GPU it cannot see.

What it emulates, with CuPy's error messages:

* ``cupy.ndarray`` wraps a NumPy array that stands for device memory and is never converted
  implicitly: ``numpy.asarray(a)``, and everything that calls it (``np.savez``, SciPy,
  ``np.testing``), raises ``TypeError: Implicit conversion to a NumPy array is not allowed``.
* NumPy arrays are refused as operands: ``a + host``, ``host * a``, NumPy ufuncs and functions
  given a device array, ``cupy.*`` functions and array methods raise
  ``TypeError: Unsupported type <class 'numpy.ndarray'>``.
* Explicit moves only: host to device with ``cupy.asarray``, ``cupy.array`` and
  ``cupy.ascontiguousarray`` (always a copy); device to host with ``cupy.asnumpy`` and
  ``a.get()``; Python scalars with ``float(a)``, ``a.item()``, ``a.tolist()``. As in CuPy,
  index arrays may be NumPy arrays or lists (CuPy copies them to the device).
* Reductions and integer indexing give 0-d device arrays, never NumPy scalars.
* Ufunc methods other than calling them (``np.add.at``, ``np.maximum.reduce``) and ufuncs that
  are not NumPy's (``scipy.special.erf``; use ``cupyx.scipy.special``) refuse device arrays.
* No object arrays; one device, id 0 (``a.device``, ``cupy.cuda.Device``,
  ``cupy.cuda.runtime.getDeviceCount``); ``cupy.random.default_rng`` draws device arrays.

Stricter than CuPy, on purpose: a NumPy array or a list set into a device array
(``a[...] = host``) is refused whatever the index (CuPy copies it for ``a[:]`` of the same
shape and dtype and for integer-array indices), and NumPy arrays given to array methods are
refused too (CuPy copies them for a few, such as ``take``). These are implicit host-to-device
copies, which this library does not make.

What it does NOT emulate:

* GPU arithmetic. Every result is NumPy's, computed on the CPU: the GPU's reduction order,
  TF32 matrix products in float32, cuBLAS algorithms and fused kernels are not reproduced, so
  numerical differences a GPU shows (a tolerance too tight for it) are not found here.
* CuPy's coverage of NumPy. ``cupy.<name>``, ``cupy.linalg``, ``cupy.fft``, ``cupy.random``
  and the array methods are NumPy's, and ``cupyx.scipy.special`` is SciPy's: a function,
  keyword or dtype that CuPy lacks is accepted here and fails on a GPU only.
* Anything of the hardware: memory limits, streams, asynchrony, several GPUs, speed.
"""

from __future__ import annotations

import functools
import operator
import types

import numpy as np

__version__ = "strict CPU stand-in for CuPy (tests/strict_cupy): not CuPy, no GPU"

_IMPLICIT_CONVERSION = (
    "Implicit conversion to a NumPy array is not allowed. "
    "Please use `.get()` to construct a NumPy array explicitly."
)

_SCALARS = (
    bool,
    int,
    float,
    complex,
    str,
    type,
    slice,
    types.EllipsisType,
    types.NoneType,
    np.generic,
    np.dtype,
)
"""Values passed to NumPy as they are: Python and NumPy scalars, dtypes, index pieces."""


def _foreign_types(values):
    """The types, in ``values`` and the lists and tuples in it, that this module does not handle
    (the library's number types, say): operators defer to them, functions refuse them."""
    foreign = []
    for value in values:
        if isinstance(value, list | tuple):
            foreign += _foreign_types(value)
        elif not isinstance(value, (ndarray, np.ndarray, *_SCALARS)):
            foreign.append(type(value))
    return foreign


def _numpy(value, *, host_arrays=False):
    """``value`` with every device array replaced by its NumPy array, through lists, tuples and
    dicts. A NumPy array in it raises CuPy's ``TypeError``, unless ``host_arrays`` (copies to
    the device and indices)."""
    if isinstance(value, ndarray):
        return value._array
    if isinstance(value, np.ndarray) and not host_arrays:
        raise TypeError(f"Unsupported type {type(value)}")
    if isinstance(value, list | tuple):
        return type(value)(_numpy(v, host_arrays=host_arrays) for v in value)
    if isinstance(value, dict):
        return {k: _numpy(v, host_arrays=host_arrays) for k, v in value.items()}
    return value


def _on_device(result):
    """A NumPy result as device arrays, through tuples (named ones too) and lists; a NumPy
    scalar becomes a 0-d device array, as CuPy's reductions give."""
    if isinstance(result, np.ndarray):
        return ndarray(result)
    if isinstance(result, np.generic):
        return ndarray(np.asarray(result))
    if isinstance(result, list):
        return [_on_device(r) for r in result]
    if isinstance(result, tuple):
        items = [_on_device(r) for r in result]
        return type(result)(*items) if hasattr(result, "_fields") else tuple(items)
    return result


def _device_function(function):
    """NumPy's (or SciPy's) ``function`` as a CuPy function: device arrays in and out, NumPy
    arrays and unknown types refused."""

    @functools.wraps(function)
    def on_device(*args, **kwargs):
        foreign = _foreign_types((*args, *kwargs.values()))
        if foreign:
            raise TypeError(f"Unsupported type {foreign[0]}")
        return _on_device(function(*_numpy(args), **_numpy(kwargs)))

    return on_device


def _operators(ufunc):
    """``a op b``, ``b op a`` and ``a op= b`` computed by ``ufunc``. An operand of a type this
    module does not handle gets ``NotImplemented``, so that its own operator runs."""

    def forward(self, other):
        return NotImplemented if _foreign_types((other,)) else ufunc(self, other)

    def reflected(self, other):
        return NotImplemented if _foreign_types((other,)) else ufunc(other, self)

    def in_place(self, other):
        return NotImplemented if _foreign_types((other,)) else ufunc(self, other, out=(self,))

    return forward, reflected, in_place


def _index(key):
    """An index for the wrapped array: device arrays unwrapped; NumPy arrays and lists
    accepted, as CuPy copies them to the device."""
    foreign = _foreign_types(key if isinstance(key, tuple) else (key,))
    if foreign:
        raise TypeError(f"Unsupported index type {foreign[0]}")
    return _numpy(key, host_arrays=True)


class _Device:
    """The one "GPU", id 0, as ``a.device`` and ``cupy.cuda.Device(0)``."""

    def __init__(self, device: int = 0):
        if device != 0:
            raise ValueError(f"the strict CuPy stand-in has one device, 0; got {device}")
        self.id = 0

    def synchronize(self):
        """Nothing to wait for: every operation has finished when it returns."""


class ndarray:
    """A device array: a NumPy array that the rest of the program reaches only through this
    module. Attributes and methods are NumPy's (``shape``, ``T``, ``sum``, ``astype``, ...),
    with array results on the device."""

    __slots__ = ("_array",)
    device = _Device()

    def __init__(self, array: np.ndarray):
        if array.dtype == object:
            raise ValueError(f"Unsupported dtype {array.dtype}")
        self._array = array

    def get(self) -> np.ndarray:
        """A copy on the host."""
        return self._array.copy()

    def __getattr__(self, name):
        # Private and special names are not looked up on the NumPy array: NumPy asks for
        # ``__array_interface__`` and ``__array_struct__``, which would convert silently.
        if name.startswith("_"):
            raise AttributeError(name)
        attribute = getattr(self._array, name)
        if callable(attribute):
            return _device_function(attribute)
        return _on_device(attribute)

    # NumPy's protocols ------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_IMPLICIT_CONVERSION)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """A NumPy ufunc called on device arrays (CuPy calls its own ufunc of that name)."""
        out = kwargs.get("out", ())
        if _foreign_types(inputs + out):
            return NotImplemented  # a number type of the library: its own protocol decides
        if method != "__call__" or getattr(np, ufunc.__name__, None) is not ufunc:
            return NotImplemented  # as CuPy: NumPy raises "operand type(s) all returned ..."
        result = ufunc(*_numpy(inputs), **_numpy(kwargs))
        if out:
            return out[0] if ufunc.nout == 1 else out
        return _on_device(result)

    def __array_function__(self, func, array_types, args, kwargs):
        """A NumPy function called with a device array (CuPy calls its own function)."""
        if _foreign_types((*args, *kwargs.values())):
            return NotImplemented
        return _on_device(func(*_numpy(args), **_numpy(kwargs)))

    # Python's protocols -----------------------------------------------------------------
    def __len__(self):
        return len(self._array)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        return bool(self._array)

    def __int__(self):
        return int(self._array)

    def __float__(self):
        return float(self._array)

    def __complex__(self):
        return complex(self._array)

    def __index__(self):
        return operator.index(self._array)

    def __repr__(self):
        return repr(self._array)

    def __str__(self):
        return str(self._array)

    def __format__(self, format_spec):
        return format(self._array, format_spec)

    def __copy__(self):
        return ndarray(self._array.copy())

    def __deepcopy__(self, memo):
        return ndarray(self._array.copy())

    def __getitem__(self, key):
        return _on_device(self._array[_index(key)])

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray) and value.ndim > 0:
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
        if isinstance(value, list | tuple) or _foreign_types((value,)):
            raise TypeError(f"Unsupported type {type(value)}")
        self._array[_index(key)] = _numpy(value, host_arrays=True)  # a 0-d NumPy array is a scalar

    # Operators: NumPy's ufuncs, through __array_ufunc__ ----------------------------------
    __add__, __radd__, __iadd__ = _operators(np.add)
    __sub__, __rsub__, __isub__ = _operators(np.subtract)
    __mul__, __rmul__, __imul__ = _operators(np.multiply)
    __truediv__, __rtruediv__, __itruediv__ = _operators(np.true_divide)
    __floordiv__, __rfloordiv__, __ifloordiv__ = _operators(np.floor_divide)
    __mod__, __rmod__, __imod__ = _operators(np.remainder)
    __pow__, __rpow__, __ipow__ = _operators(np.power)
    __matmul__, __rmatmul__, __imatmul__ = _operators(np.matmul)
    __and__, __rand__, __iand__ = _operators(np.bitwise_and)
    __or__, __ror__, __ior__ = _operators(np.bitwise_or)
    __xor__, __rxor__, __ixor__ = _operators(np.bitwise_xor)
    __lshift__, __rlshift__, __ilshift__ = _operators(np.left_shift)
    __rshift__, __rrshift__, __irshift__ = _operators(np.right_shift)
    __divmod__, __rdivmod__ = _operators(np.divmod)[:2]
    __lt__ = _operators(np.less)[0]
    __le__ = _operators(np.less_equal)[0]
    __gt__ = _operators(np.greater)[0]
    __ge__ = _operators(np.greater_equal)[0]
    __eq__ = _operators(np.equal)[0]
    __ne__ = _operators(np.not_equal)[0]

    def __neg__(self):
        return np.negative(self)

    def __pos__(self):
        return np.positive(self)

    def __abs__(self):
        return np.absolute(self)

    def __invert__(self):
        return np.invert(self)


def _copy_to_device(numpy_function):
    """``cupy.asarray`` and its kin: host data (NumPy arrays, lists, scalars) copied to the
    device; a device array returned as it is, or converted as asked (``dtype``, ``order``)."""

    @functools.wraps(numpy_function)
    def to_device(obj, *args, **kwargs):
        if _foreign_types((obj,)):
            raise TypeError(f"Unsupported type {type(obj)}")
        if isinstance(obj, ndarray):
            result = numpy_function(obj._array, *args, **kwargs)
            return obj if result is obj._array else ndarray(result)
        host = numpy_function(_numpy(obj, host_arrays=True), *args, **kwargs)
        return ndarray(np.array(host))  # a copy: the device never shares host memory

    return to_device


asarray = _copy_to_device(np.asarray)
array = _copy_to_device(np.array)
ascontiguousarray = _copy_to_device(np.ascontiguousarray)


def asnumpy(a) -> np.ndarray:
    """A device array copied to the host (a NumPy array is returned as it is)."""
    return a.get() if isinstance(a, ndarray) else np.asarray(a)


def _emulated(source, name):
    """NumPy's attribute ``name`` (dotted, below ``numpy``) as ``cupy.<name>``: classes (dtypes,
    ``finfo``) and constants as they are, functions on device arrays, submodules
    (``lib.stride_tricks``) emulated in turn. Private names are not looked up."""
    last = name.rpartition(".")[2]
    if last.startswith("_"):
        raise AttributeError(f"the strict CuPy stand-in has no cupy.{name}")
    attribute = getattr(source, last)
    if isinstance(attribute, types.ModuleType):
        return _submodule(name, attribute)
    if isinstance(attribute, type) or not callable(attribute):
        return attribute
    return _device_function(attribute)


def __getattr__(name):
    """``cupy.<name>``: NumPy's ``<name>`` (module attributes looked up last, PEP 562)."""
    return _emulated(np, name)


@functools.cache
def _submodule(name, source):
    """``cupy.<name>`` for NumPy's submodule ``source`` (one module object per name)."""
    module = types.ModuleType(f"{__name__}.{name}")
    module.__getattr__ = lambda attribute: _emulated(source, f"{name}.{attribute}")
    return module


class _Generator:
    """``cupy.random.default_rng(seed)``: NumPy's generator drawing device arrays (not CuPy's
    numbers: its generator is another algorithm)."""

    def __init__(self, seed=None):
        self._generator = np.random.default_rng(seed)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return _device_function(getattr(self._generator, name))


random = _submodule("random", np.random)
random.default_rng = _Generator
cuda = types.SimpleNamespace(
    Device=_Device,
    runtime=types.SimpleNamespace(getDeviceCount=lambda: 1),
)
