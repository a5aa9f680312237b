"""Cost of hyper-dual forward passes and back-propagation through the layers.

For logistic regression, the MNIST CNN and a deep MLP this prints, as ratios to one plain
forward pass (loss at a real θ) measured in the same run:

* a hyper-dual forward pass with P = 1, 3 and 6 direction pairs (P pairs give P directional
  derivatives and P second-order terms ``v1ᵀ H v2``);
* forward + backward (``value_and_grad``: the loss and all D partial derivatives);
* a Hessian-vector product by back-propagation on dual numbers (``hvp``) and a
  Gauss-Newton-vector product (``gnvp``).

Then the peak memory (``tracemalloc``) of a hyper-dual forward pass and of back-propagation
for deep MLPs of growing depth: forward mode keeps only the current activation, so its peak
stays flat, while back-propagation stores every activation.

Usage::

    python benchmarks/bench_layers.py            # about 1-2 minutes on 2 CPU cores
    python benchmarks/bench_layers.py --quick    # smaller batches, fewer repeats
    python benchmarks/bench_layers.py --dtype float32

Timings are the minimum over interleaved repeats of wall-clock time (``--clock wall``,
the default) or of the process's CPU time (``--clock cpu``: all threads together; steadier
on a machine shared with other jobs, e.g. with ``OPENBLAS_NUM_THREADS=1``).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from hyperdual import HyperDual
from layers import models

CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def best_times(variants, repeats, clock=time.perf_counter):
    """Minimum wall-clock seconds of each ``fn`` in ``variants`` (name -> fn).

    Every variant runs once to warm up, then the variants take turns, ``repeats`` rounds:
    a burst of load from other processes then hits all of them alike, not one.
    """
    for fn in variants.values():
        fn()
    best = {name: float("inf") for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            start = clock()
            fn()
            best[name] = min(best[name], clock() - start)
    return best


def hyperdual_theta(theta, P, rng):
    """``θ + V1 e1 + V2 e2`` with P random direction pairs (V1, V2 of shape (P, D))."""
    D = theta.shape[0]
    V1 = rng.normal(size=(P, D)).astype(theta.dtype)
    V2 = rng.normal(size=(P, D)).astype(theta.dtype)
    return HyperDual(theta, V1, V2)


def time_model(name, model, N, dtype, repeats, rng, clock):
    """One row of the timing table: plain forward time and the ratios."""
    theta = model.init_params(0, dtype=dtype)
    X = rng.random((N,) + model.input_shape).astype(dtype)
    y = rng.integers(0, model.output_shape[0], size=N)
    v = rng.normal(size=theta.shape).astype(dtype)
    variants = {"plain": lambda: model.loss(theta, X, y)}
    for P in (1, 3, 6):
        dual = hyperdual_theta(theta, P, rng)
        variants[f"hd{P}"] = lambda dual=dual: model.loss(dual, X, y)
    variants["fwd+bwd"] = lambda: model.value_and_grad(theta, X, y)
    variants["hvp"] = lambda: model.hvp(theta, X, y, v)
    variants["gnvp"] = lambda: model.gnvp(theta, X, y, v)
    times = best_times(variants, repeats, clock)
    row = {"model": name, "D": model.num_params, "N": N, "plain_ms": times["plain"] * 1e3}
    row.update({k: t / times["plain"] for k, t in times.items() if k != "plain"})
    return row


def peak_mb(fn, *args):
    """Peak traced memory (MB) allocated while ``fn(*args)`` runs."""
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def memory_rows(width, N, depths, dtype, rng):
    rows = []
    for depth in depths:
        model = models.deep_mlp(width=width, depth=depth)
        theta = model.init_params(0, dtype=dtype)
        X = rng.random((N, 784)).astype(dtype)
        y = rng.integers(0, 10, size=N)
        dual = hyperdual_theta(theta, 1, rng)
        v = rng.normal(size=theta.shape).astype(dtype)
        rows.append(
            {
                "depth": depth,
                "D": model.num_params,
                "hd_forward": peak_mb(model.loss, dual, X, y),
                "backprop": peak_mb(model.value_and_grad, theta, X, y),
                "hvp": peak_mb(model.hvp, theta, X, y, v),
                "theta_mb": theta.nbytes / 1e6,
            }
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller batches, fewer repeats")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--clock",
        default="wall",
        choices=sorted(CLOCKS),
        help="wall-clock time or process CPU time",
    )
    args = parser.parse_args(argv)
    dtype = np.dtype(args.dtype)
    repeats = args.repeats or (3 if args.quick else 5)
    scale = 0.5 if args.quick else 1.0
    rng = np.random.default_rng(args.seed)

    cases = [
        ("logistic_regression", models.logistic_regression(), int(512 * scale)),
        ("mnist_cnn", models.mnist_cnn(), int(64 * scale)),
        ("deep_mlp 256x8", models.deep_mlp(width=256, depth=8), int(256 * scale)),
    ]
    print(
        f"Time relative to one plain forward pass (loss at real θ), {dtype}, "
        f"{args.clock} clock, min of {repeats} interleaved repeats"
    )
    header = (
        f"{'model':<20} {'D':>9} {'N':>5} {'plain ms':>9} {'HD P=1':>7} {'HD P=3':>7} "
        f"{'HD P=6':>7} {'fwd+bwd':>8} {'hvp':>6} {'gnvp':>6}"
    )
    print(header)
    print("-" * len(header))
    for name, model, N in cases:
        r = time_model(name, model, N, dtype, repeats, rng, CLOCKS[args.clock])
        print(
            f"{r['model']:<20} {r['D']:>9,} {r['N']:>5} {r['plain_ms']:>9.2f} {r['hd1']:>7.1f} "
            f"{r['hd3']:>7.1f} {r['hd6']:>7.1f} {r['fwd+bwd']:>8.1f} {r['hvp']:>6.1f} "
            f"{r['gnvp']:>6.1f}",
            flush=True,
        )
    print(
        "HD P=k: hyper-dual forward pass with k direction pairs; hvp: back-propagation on "
        "dual numbers; gnvp: Jᵀ H_out J v.\n"
    )

    width, N = 128, int(256 * scale)
    depths = (2, 4, 8, 16, 32)
    print(
        f"Peak traced memory (MB) of one pass, deep MLP width {width}, batch {N}, {dtype} "
        f"(θ itself allocated beforehand, not counted)"
    )
    header = (
        f"{'depth':>5} {'D':>9} {'θ MB':>7} {'HD forward':>11} {'backprop':>9} "
        f"{'hvp (dual bp)':>14}"
    )
    print(header)
    print("-" * len(header))
    for r in memory_rows(width, N, depths, dtype, rng):
        print(
            f"{r['depth']:>5} {r['D']:>9,} {r['theta_mb']:>7.2f} {r['hd_forward']:>11.2f} "
            f"{r['backprop']:>9.2f} {r['hvp']:>14.2f}",
            flush=True,
        )
    print(
        "HD forward: hyper-dual loss, one pair; backprop: value_and_grad at real θ (stores "
        "activations; includes the D-vector gradient); hvp: value_and_grad on θ + v e1."
    )


if __name__ == "__main__":
    main()
