"""The strict CPU stand-in for CuPy (``tests/strict_cupy``) refuses what CuPy refuses.

The stand-in is loaded by path, so these tests run in every session without replacing the
process-wide ``cupy`` (a real CuPy, none, or the stand-in itself under
``HYPERDUAL_STRICT_CUPY=1``, which they then use). Only the tests that need the library to
``import cupy`` put it in ``sys.modules``, for the test's duration (``monkeypatch``).
"""

from __future__ import annotations

import copy
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.special

import hyperdual as hd
from hyperdual import HyperDual

STAND_IN = Path(__file__).resolve().parent / "strict_cupy"
CUPY_INIT = STAND_IN / "cupy" / "__init__.py"
IMPLICIT = "Implicit conversion to a NumPy array is not allowed"
HOST_OPERAND = r"Unsupported type <class 'numpy\.ndarray'>"


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _is_stand_in(module):
    path = getattr(module, "__file__", None)
    return path is not None and Path(path).resolve() == CUPY_INIT


@pytest.fixture(scope="module")
def cp():
    """The stand-in: the process-wide ``cupy`` when it is the stand-in, else a copy by path."""
    if _is_stand_in(sys.modules.get("cupy")):
        return sys.modules["cupy"]
    return _load("cupy", CUPY_INIT)


@pytest.fixture
def as_cupy(cp, monkeypatch):
    """The stand-in as ``cupy`` for the library's own ``import cupy``, this test only. (No
    K-jets here: ``jet.pair_index`` caches device arrays by the module's name, ``cupy``.)"""
    monkeypatch.setitem(sys.modules, "cupy", cp)
    return cp


def test_the_switch_decides_which_cupy_the_session_imports():
    spec = importlib.util.find_spec("cupy")
    stand_in = spec is not None and Path(spec.origin).resolve() == CUPY_INIT
    assert stand_in == (os.environ.get("HYPERDUAL_STRICT_CUPY") == "1")


def test_the_version_says_it_is_not_cupy(cp):
    assert "stand-in" in cp.__version__ and "not CuPy" in cp.__version__


@pytest.mark.parametrize(
    "convert",
    [np.asarray, np.array, lambda a: np.testing.assert_allclose(a, 0.0)],
    ids=["asarray", "array", "np.testing"],
)
def test_implicit_conversion_to_numpy_is_refused(cp, convert):
    with pytest.raises(TypeError, match=IMPLICIT):
        convert(cp.zeros(3))


MIXED = {
    "device + host": lambda d, h: d + h,
    "host + device": lambda d, h: h + d,
    "device @ host": lambda d, h: d @ h,
    "device += host": lambda d, h: d.__iadd__(h),
    "device < host": lambda d, h: d < h,
    "np.multiply": lambda d, h: np.multiply(h, d),
    "np.exp(out=host)": lambda d, h: np.exp(d, out=h),
    "np.concatenate": lambda d, h: np.concatenate([d, h]),
    "np.where": lambda d, h: np.where(d > 0, d, h),
    "method": lambda d, h: d.dot(h),
}


@pytest.mark.parametrize("mix", MIXED.values(), ids=MIXED.keys())
def test_host_operands_are_refused_in_operators_ufuncs_and_numpy_functions(cp, mix):
    with pytest.raises(TypeError, match=HOST_OPERAND):
        mix(cp.ones(3), np.ones(3))


@pytest.mark.parametrize(
    "call",
    [
        lambda cp, h: cp.matmul(cp.ones(3), h),
        lambda cp, h: cp.concatenate([cp.ones(3), h]),
        lambda cp, h: cp.exp(h),
        lambda cp, h: cp.linalg.norm(h),
    ],
    ids=["matmul", "concatenate", "exp", "linalg.norm"],
)
def test_host_operands_are_refused_by_cupy_functions(cp, call):
    with pytest.raises(TypeError, match=HOST_OPERAND):
        call(cp, np.ones(3))


def test_setting_host_data_into_a_device_array_is_refused(cp):
    a = cp.zeros(3)
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        a[:] = np.ones(3)
    with pytest.raises(TypeError, match="Unsupported type <class 'list'>"):
        a[:] = [1.0, 2.0, 3.0]
    a[1] = np.float64(2.0)  # scalars are fine, as in CuPy
    a[np.array([0])] = 5.0  # host indices too: CuPy copies them to the device
    assert a.tolist() == [5.0, 2.0, 0.0]


def test_ufunc_methods_and_scipy_ufuncs_refuse_device_arrays(cp):
    with pytest.raises(TypeError, match="returned NotImplemented"):
        np.add.reduce(cp.ones(3))
    with pytest.raises(TypeError, match="returned NotImplemented"):
        scipy.special.erf(cp.ones(3))


@pytest.mark.parametrize(
    "reduce",
    [
        lambda a: a.sum(),
        lambda a: np.sum(a),
        lambda a: np.max(a),
        lambda a: a.mean(axis=None),
        lambda a: a[1],
        lambda a: next(iter(a)),
    ],
    ids=["a.sum", "np.sum", "np.max", "a.mean", "a[1]", "iter"],
)
def test_reductions_and_scalar_indexing_give_0d_device_arrays(cp, reduce):
    result = reduce(cp.arange(3.0))
    assert type(result) is cp.ndarray and result.shape == ()
    assert float(result) == result.item()  # explicit Python scalars are fine


def test_moves_between_host_and_device_are_explicit_copies(cp):
    host = np.arange(3.0)
    device = cp.asarray(host)
    host[0] = 7.0
    assert type(device) is cp.ndarray and device.tolist() == [0.0, 1.0, 2.0]
    assert cp.asarray(device) is device and cp.array(device) is not device
    for back in (cp.asnumpy(device), device.get()):
        assert type(back) is np.ndarray and back.tolist() == [0.0, 1.0, 2.0]
        back[1] = 9.0
    assert device.tolist() == [0.0, 1.0, 2.0]
    assert copy.deepcopy(device).tolist() == device.tolist()


def test_results_stay_on_the_device(cp):
    a = cp.arange(6.0).reshape(2, 3)
    results = [a.T @ a, np.exp(a), a[a > 2], cp.linalg.inv(cp.eye(2)), cp.fft.fft(a)]
    results += [cp.random.default_rng(0).standard_normal(4), *np.linalg.eigh(cp.eye(2))]
    assert all(type(r) is cp.ndarray for r in results)
    assert cp.cuda.runtime.getDeviceCount() == 1 and a.device.id == 0


def test_no_object_arrays_on_the_device(cp):
    with pytest.raises(ValueError, match="Unsupported dtype object"):
        cp.asarray([1, "one"], dtype=object)


def test_cupyx_special_refuses_host_arrays(as_cupy):
    special = _load("cupyx_special_under_test", STAND_IN / "cupyx" / "scipy" / "special.py")
    assert type(special.erf(as_cupy.zeros(2))) is as_cupy.ndarray
    with pytest.raises(TypeError, match=HOST_OPERAND):
        special.erf(np.zeros(2))


def test_the_library_refuses_host_and_device_arrays_together(cp):
    with pytest.raises(hd.DeviceMismatchError, match="host"):
        hd.namespace(np.ones(2), cp.ones(2))
    with pytest.raises(hd.DeviceMismatchError):
        HyperDual(np.ones(2), cp.ones(2))
    with pytest.raises(hd.DeviceMismatchError):
        HyperDual(np.ones(2), np.ones(2)) * cp.ones(2)


def test_the_library_refuses_host_and_device_jets_together(as_cupy):
    device = HyperDual(as_cupy.ones(2), as_cupy.ones(2))
    assert device.xp is as_cupy and type(np.exp(device).real) is as_cupy.ndarray
    with pytest.raises(hd.DeviceMismatchError):
        device + HyperDual(np.ones(2), np.ones(2))
    with pytest.raises(hd.DeviceMismatchError):
        hd.to_numpy(device.real) + device  # the host copy is fine, meeting the jet is not


def test_ci_runs_the_suite_on_the_stand_in():
    ci = STAND_IN.parents[1] / ".ci" / "run"
    if not ci.is_file():
        pytest.skip("repository-only check: .ci/ is not part of an sdist")
    text = ci.read_text(encoding="utf-8")
    assert "HYPERDUAL_STRICT_CUPY=1 python -m pytest" in text and "--backend cupy" in text
