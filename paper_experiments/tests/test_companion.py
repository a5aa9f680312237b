"""The companion papers' experiments: Newton-Krylov's global gradient in a run, the command
line, and the pseudo-Hessian heat maps."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

import hyperdual as hd
import optimizers
from hyperdual.testing import assert_close
from hyperlab.train import RunConfig, prepare_data
from layers import models
from optimizers.curvature import ModelObjective
from optimizers.partition import PartitionNewton, pseudo_hessian
from paper_experiments.companion import (
    MethodSpec,
    global_subset_arg,
    plot_pseudo_hessian,
    run_method,
)

F64 = np.float64


def on_backend(array):
    """Test data on the backend under test (where ``init_params`` puts θ)."""
    return hd.get_backend().asarray(array)


@pytest.mark.parametrize("subset", ["all", 40])
def test_newton_krylov_global_gradient_on_the_whole_training_set(monkeypatch, subset):
    data = prepare_data(RunConfig(dataset="digits", max_train=120, dtype="float64"))
    model = models.mlp(hidden=4, n_features=64)
    captured = []

    class Recording(optimizers.ModelObjective):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            captured.append(self.global_grad)

    monkeypatch.setattr(optimizers, "ModelObjective", Recording)
    spec = MethodSpec("NK", "cs-newton-krylov", {"eta": 0.05, "max_krylov": 3}, 60.0)
    record = run_method(
        spec,
        model,
        data,
        batch_size=64,
        epochs=1,
        global_subset=subset,
        eval_max=50,
        log=lambda m: None,
    )
    assert record["steps"] == 2 and captured[0] is not None
    theta = model.init_params(seed=1)
    value, grad = captured[0](theta)
    full_value, full_grad = model.value_and_grad(
        theta, on_backend(data.X_train), on_backend(data.y_train)
    )
    grad, full_grad = hd.to_numpy(grad), hd.to_numpy(full_grad)
    if subset == "all":  # the paper's: the gradient of the loss over every training image
        assert value == pytest.approx(float(full_value), rel=1e-12)
        np.testing.assert_allclose(grad, full_grad, rtol=1e-10, atol=1e-14)
    else:
        assert not np.allclose(grad, full_grad)


def test_companion_cli_accepts_global_subset():
    assert global_subset_arg("all") == "all" and global_subset_arg("1024") == 1024
    with pytest.raises(argparse.ArgumentTypeError):
        global_subset_arg("0")


def test_pseudo_hessian_heat_map_plot(tmp_path):
    """The Figure-1 style plot of H̄'s weight-weight, bias-bias and weight-bias blocks, from
    the pseudo-Hessian of a tiny network (checked against the optimizer's in
    tests/test_partition.py)."""
    model = models.deep_mlp(width=3, depth=1, n_features=4, n_classes=3, activation="tanh")
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((9, 4)), rng.integers(0, 3, 9)
    X, y = on_backend(X), on_backend(y)
    theta = model.init_params(seed=0) + on_backend(0.2 * rng.standard_normal(model.num_params))
    names, g_bar, H_bar = pseudo_hessian(model, theta, X, y)
    opt = PartitionNewton()
    obj = ModelObjective(model, X, y)
    opt.step(obj, theta, grad=obj.value_and_grad)
    assert_close(H_bar, opt.last.H_bar, F64, "exact", "pseudo-Hessian of the experiment")
    for normalise in (False, True):
        path = plot_pseudo_hessian(
            [("tiny", names, H_bar)], tmp_path / f"h{normalise}.png", normalise=normalise
        )
        assert path.exists() and path.stat().st_size > 1000
