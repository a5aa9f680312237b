"""``fomoh check``: a model's loss derivatives against the oracles and back-propagation."""

from __future__ import annotations

import numpy as np

from hyperdual import directional, namespace, oracles, to_numpy
from hyperdual.testing import relative_error, tolerance

from ..builders import build_model, prepare_data
from ..config import RunConfig
from .options import (
    EXIT_DISAGREE,
    EXIT_OK,
    Formatter,
    add_data_options,
    model_arguments,
    nonneg_int,
    positive_int,
)

__all__ = ["add_parser", "check_model"]

_CHECK_HELP = """\
Check a model's loss derivatives on a small batch: hyper-dual forward mode against the
bicomplex step, the complex step, central finite differences and back-propagation, with
the tolerances of hyperdual.testing (by dtype and kind of reference). Quantities:
f(θ), ∇f·v1 and v1ᵀ∇²f v2 for random directions v1, v2, the full gradient ∇f when
D ≤ --max-dim, and the full Hessian when D ≤ 50. Exits with status 1 on disagreement.
"""


def add_parser(sub) -> None:
    """Add ``check`` to the sub-commands ``sub``."""
    p = sub.add_parser(
        "check",
        help="oracle agreement report for a model's derivatives",
        description=_CHECK_HELP,
        formatter_class=Formatter,
    )
    add_data_options(p, defaults_from_preset=False)
    p.add_argument(
        "--batch-size",
        type=positive_int,
        default=8,
        help="examples in the batch the loss is computed on",
    )
    p.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        default="float64",
        help="dtype of the hyper-dual computation (oracles are float64)",
    )
    p.add_argument(
        "--seed", type=nonneg_int, default=0, help="seed of θ, the directions and the batch"
    )
    p.add_argument(
        "--max-dim",
        type=positive_int,
        default=2000,
        help="compare full gradients only up to this many parameters",
    )
    p.set_defaults(func=_cmd_check)


def _cmd_check(args) -> int:
    config = RunConfig(
        dataset=args.dataset,
        data_dir=args.data_dir,
        download=args.download,
        model=args.model,
        model_kwargs=model_arguments(args),
        dtype=args.dtype,
        split_seed=args.split_seed,
        max_train=args.max_train,
        standardize=args.standardize,
        val_set=args.val_set,
    )
    data = prepare_data(config)
    model = build_model(config, data)
    rng = np.random.default_rng(args.seed)
    pick = rng.choice(
        len(data.y_train), size=min(args.batch_size, len(data.y_train)), replace=False
    )
    X, y = data.X_train[pick], data.y_train[pick]
    theta = model.init_params(seed=args.seed, dtype=np.dtype(args.dtype))
    report = check_model(model, theta, X, y, seed=args.seed, max_dim=args.max_dim)
    kinks = sorted(
        {layer.kind for _, layer in getattr(model, "layers", ()) if layer.kind in _KINKED_LAYERS}
    )
    print(
        f"model {config.model} ({model.num_params} parameters) on {len(y)} "
        f"{config.dataset} examples, seed {args.seed}"
    )
    print(report)
    advisory = set()
    if kinks:
        advisory = {r.method for r in report.rows if r.method.startswith("finite")}
        print(
            f"note: the model has kinks ({', '.join(kinks)}); central differences step "
            "across them, so their rows are shown for information and do not decide the "
            "result. The exact references (bicomplex, complex step, back-prop) do."
        )
    bad = [r for r in report.rows if not r.ok and r.method not in advisory]
    if not bad:
        print(
            "all derivatives agree within tolerance"
            if not advisory
            else "all exact references agree within tolerance"
        )
        return EXIT_OK
    print(
        f"DISAGREEMENT in {len(bad)} comparison(s): "
        + ", ".join(f"{r.quantity} vs {r.method}" for r in bad)
    )
    return EXIT_DISAGREE


_KINKED_LAYERS = ("relu", "maxpool")
"""Layer kinds whose derivatives jump (ReLU at 0, ties in max-pooling)."""


def check_model(model, theta, X, y, seed=0, max_dim=2000):
    """Hyper-dual derivatives of ``model.loss`` against the oracles and back-propagation.

    Parameters
    ----------
    model : a ``layers.Sequential``-like model (``loss``, ``value_and_grad``, ``hvp``)
    theta : array, shape (D,)
        NumPy or CuPy: the hyper-dual numbers and the oracles run on θ's device.
    X, y : the batch
        Copied to θ's device explicitly; the back-propagation reference runs on the host.
    seed : int
        Seed of the directions ``v1``, ``v2``.
    max_dim : int
        Up to this D the report (``hyperdual.oracles.compare``) includes full gradients
        (O(D) oracle evaluations); above it only ``f``, ``∇f·v1`` and ``v1ᵀ∇²f v2``.

    Returns
    -------
    hyperdual.oracles.ComparisonReport
        With extra rows for back-propagation (``method="back-prop"``, computed in float64).
    """

    xp = namespace(theta)
    X_xp, y_xp = xp.asarray(X), xp.asarray(y)

    def f(th):
        return model.loss(th, X_xp, y_xp)

    D, dtype = int(theta.shape[0]), np.dtype(theta.dtype)
    rng = np.random.default_rng(seed)
    v1, v2 = rng.standard_normal(D), rng.standard_normal(D)
    xp_v1, xp_v2 = xp.asarray(v1.astype(dtype)), xp.asarray(v2.astype(dtype))
    if D <= max_dim:
        report = oracles.compare(f, theta, xp_v1, xp_v2, hessian=D <= 50)
    else:
        report = _directional_report(f, theta, xp_v1, xp_v2)

    # Back-propagation, in float64 on the host, as one more reference.
    theta64 = np.asarray(to_numpy(theta), dtype=np.float64)
    v1_64, v2_64 = (np.asarray(to_numpy(v), np.float64) for v in (xp_v1, xp_v2))
    X_host, y_host = to_numpy(X), to_numpy(y)
    value_bp, grad_bp = model.value_and_grad(theta64, X_host, y_host)
    hv_bp = model.hvp(theta64, X_host, y_host, v2_64)
    refs = {
        "value": float(value_bp),
        "d1": float(np.dot(to_numpy(grad_bp), v1_64)),
        "d12": float(np.dot(to_numpy(hv_bp), v1_64)),
    }
    if "gradient" in report.values:
        refs["gradient"] = to_numpy(grad_bp)
    for quantity, desired in refs.items():
        actual = report.values[quantity]["hyper-dual"]
        desired = np.asarray(desired, dtype=np.float64)
        report.values[quantity]["back-prop"] = desired
        report.rows.append(
            oracles.Comparison(
                quantity,
                "back-prop",
                max_abs=float(
                    np.max(np.abs(np.asarray(to_numpy(actual), np.float64) - desired), initial=0.0)
                ),
                max_rel=relative_error(actual, desired),
                rtol=tolerance(dtype, "exact"),
            )
        )
    return report


def _directional_report(f, theta, v1, v2):
    """Like ``hyperdual.oracles.compare`` without the O(D) full-gradient rows."""
    dtype = np.dtype(theta.dtype)
    value, d1, _, d12 = directional(f, theta, v1, v2)
    subject = {"value": value, "d1": d1, "d12": d12}
    theta64 = theta.astype(np.float64)  # on θ's device, like hyperdual.oracles.compare
    v1_64, v2_64 = v1.astype(np.float64), v2.astype(np.float64)

    def bicomplex():
        val, b1, b12 = oracles.bicomplex_directional(f, theta64, v1_64, v2_64)
        return {"value": val, "d1": b1, "d12": b12}

    def complex_step():
        return {"d1": oracles.cs_directional(f, theta64, v1_64)}

    def finite_differences():
        fd1, fd12 = oracles.fd_directional(f, theta64, v1_64, v2_64)
        return {"d1": fd1, "d12": fd12}

    kinds = {
        ("value", "bicomplex"): "exact",
        ("d1", "bicomplex"): "exact",
        ("d12", "bicomplex"): "exact",
        ("d1", "complex step"): "complex_step",
        ("d1", "finite diff"): "fd_first",
        ("d12", "finite diff"): "fd_second",
    }
    report = oracles.ComparisonReport(dtype=dtype, D=int(theta.shape[0]))
    report.values = {q: {"hyper-dual": to_numpy(a)} for q, a in subject.items()}
    for method, oracle in (
        ("bicomplex", bicomplex),
        ("complex step", complex_step),
        ("finite diff", finite_differences),
    ):
        try:
            results, error = oracle(), None
        except Exception as exc:  # noqa: BLE001 - reported in the table
            results, error = {}, f"{type(exc).__name__}: {exc}"
        for quantity, actual in subject.items():
            kind = kinds.get((quantity, method))
            if kind is None:
                continue
            row = oracles.Comparison(quantity, method, rtol=tolerance(dtype, kind), error=error)
            if error is None:
                desired = np.asarray(to_numpy(results[quantity]), np.float64)
                report.values[quantity][method] = desired
                row.max_abs = float(
                    np.max(np.abs(np.asarray(to_numpy(actual), np.float64) - desired), initial=0.0)
                )
                row.max_rel = relative_error(actual, desired)
            report.rows.append(row)
    return report
