"""The PyTorch and JAX oracle adapters shipped in hyperlab.oracle.adapters pass the comparison,
and planted layout errors in them are caught. Optional: each test skips cleanly without its
framework (``pip install torch`` / ``pip install jax``)."""

import importlib
import importlib.util

import numpy as np
import pytest

from hyperlab import oracle
from layers import AvgPool2d, Conv2d, Dense, Flatten, MaxPool2d, ReLU, Sequential, Tanh


def load_adapter(name, framework):
    """The shipped adapter ``hyperlab.oracle.adapters.<name>`` (skipped without its framework)."""
    pytest.importorskip(framework)
    return importlib.import_module(f"hyperlab.oracle.adapters.{name}")


def test_the_adapters_are_shipped_inside_the_package():
    """`pip install fomoh-hyperdual[oracle-adapters]` installs the frameworks; the adapters
    themselves must come with the package (they used to live in examples/ only)."""
    import importlib.resources

    files = importlib.resources.files("hyperlab.oracle.adapters")
    for name, _ in ADAPTERS:
        assert (files / f"{name}.py").is_file(), name
        assert importlib.util.find_spec(f"hyperlab.oracle.adapters.{name}") is not None


def adapter_model():
    """Conv (C_in = 2), ReLU, max-pool with padding, conv, tanh, average pool with padding
    (counted in the mean), flatten, dense (in ≠ out): D = 140."""
    return Sequential(
        [
            Conv2d(2, 3, 3, padding=1),
            ReLU(),
            MaxPool2d(2, padding=1),
            Conv2d(3, 2, 2, stride=1),
            Tanh(),
            AvgPool2d(2, stride=1, padding=1),
            Flatten(),
            Dense(18, 3),
        ],
        input_shape=(2, 5, 5),
    )


@pytest.fixture(scope="module")
def case_and_reference(tmp_path_factory):
    """A case asking for every quantity, and its reference results."""
    case = oracle.make_case(
        tmp_path_factory.mktemp("adapters") / "case",
        adapter_model(),
        batch=3,
        pairs=2,
        kd=3,
        hvp=2,
        hessian=True,
        seed=4,
    )
    return case, oracle.compute_reference(case, case.path / "reference")


@pytest.fixture(scope="module")
def light_case(tmp_path_factory):
    """The same model asking only for loss, gradient and directional derivatives (cheaper to
    compile for the planted-error tests)."""
    case = oracle.make_case(
        tmp_path_factory.mktemp("light") / "case",
        adapter_model(),
        batch=3,
        pairs=2,
        kd=0,
        hvp=0,
        seed=5,
    )
    return case, oracle.compute_reference(case)


_RUNS = {}


def adapter_results(name, framework, dtype, case):
    """Run the adapter script once per (adapter, dtype) on the full case; its results dir."""
    adapter = load_adapter(name, framework)
    key = (name, dtype)
    if key not in _RUNS:
        out = case.path / f"{name}-{dtype}"
        assert adapter.main([str(case.path), "-o", str(out), "--dtype", dtype]) == 0
        _RUNS[key] = out
    return _RUNS[key]


def run_adapter(adapter, case, tmp_path, view):
    meta, arrays = adapter.load_case(case.path)
    results = adapter.compute_results(meta, arrays, "float64", view=view)
    out = adapter.write_results(tmp_path / "bad", meta, results, "float64", "planted")
    return oracle.read_results(out, case, strict=True)


ADAPTERS = [("oracle_torch", "torch"), ("oracle_jax", "jax")]


@pytest.mark.parametrize("name,framework", ADAPTERS, ids=["torch", "jax"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_adapter_passes_the_comparison(name, framework, dtype, case_and_reference, capsys):
    case, reference = case_and_reference
    out = adapter_results(name, framework, dtype, case)
    results = oracle.read_results(out, case, strict=True)
    assert results.meta["dtype"] == dtype
    cmp = oracle.compare_results(case, results, reference)
    assert cmp.ok, cmp.table()
    assert len(cmp.rows) == 9
    if dtype == "float64":  # far inside the tolerance, not just under it
        assert max(row.rel for row in cmp.rows) < 1e-13, cmp.table()
    from hyperlab.cli import main as fomoh_main

    assert fomoh_main(["oracle", "compare", str(case.path), str(out)]) == 0
    assert f"({dtype})" in capsys.readouterr().out


@pytest.mark.parametrize("name,framework", ADAPTERS, ids=["torch", "jax"])
def test_float32_results_rounded_further_fail(name, framework, case_and_reference, tmp_path):
    case, reference = case_and_reference
    out = adapter_results(name, framework, "float32", case)
    with np.load(out / "results.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["kd_H"] = arrays["kd_H"].astype(np.float16).astype(np.float32)
    bad = oracle.write_results(tmp_path / "f16", case, arrays, backend="half", dtype="float32")
    cmp = oracle.compare_results(case, oracle.read_results(bad, case), reference)
    assert [row.quantity for row in cmp.failures] == ["kd_H"], cmp.table()


def test_torch_transposed_conv_weight_is_caught(light_case, tmp_path):
    """Reading a (C_out, C_in, kh, kw) weight as (C_in, C_out, kh, kw), then transposing."""
    adapter = load_adapter("oracle_torch", "torch")
    case, reference = light_case

    def transposed(theta, entry):
        flat = theta[entry["offset"] : entry["offset"] + entry["size"]]
        shape = entry["shape"]
        if len(shape) == 4:
            return flat.reshape(shape[1], shape[0], *shape[2:]).permute(1, 0, 2, 3)
        return flat.reshape(shape)

    cmp = oracle.compare_results(case, run_adapter(adapter, case, tmp_path, transposed), reference)
    assert {row.status for row in cmp.rows} == {"FAIL"}, cmp.table()


def test_jax_dense_weight_as_in_by_out_is_caught(light_case, tmp_path):
    """A Dense weight stored (out, in) read as (in, out) — the Flax/Keras kernel habit."""
    adapter = load_adapter("oracle_jax", "jax")
    case, reference = light_case

    def kernel_layout(theta, entry):
        flat = theta[entry["offset"] : entry["offset"] + entry["size"]]
        shape = entry["shape"]
        if len(shape) == 2:
            return flat.reshape(shape[1], shape[0]).T
        return flat.reshape(shape)

    cmp = oracle.compare_results(
        case, run_adapter(adapter, case, tmp_path, kernel_layout), reference
    )
    assert {row.status for row in cmp.rows} == {"FAIL"}, cmp.table()
