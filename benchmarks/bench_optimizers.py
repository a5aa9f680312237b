"""Time per step of each optimizer, as a ratio to FGD's step measured in the same run.

Problems: 10-D Rosenbrock, and a 1,000-D quadratic ``½ θᵀAθ − bᵀθ`` with a dense SPD A.
Back-propagating methods (FoMoH-BP, SGD, Adam) get the closed-form gradient as ``grad``, i.e.
the cost of one back-propagation is the cost of that closed form here.

Newton on the 1,000-D quadratic needs D(D+1)/2 = 500,500 direction pairs; by default its
time is *estimated* from one timed chunk of pairs (marked "est."); ``--full-newton`` runs it.
Methods are timed in turns (round robin) with single-threaded BLAS (override with
``OPENBLAS_NUM_THREADS`` etc.), the median step time of each reported.

    python benchmarks/bench_optimizers.py [--repeats 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # single-threaded BLAS: stable timings on shared cores

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hyperdual  # noqa: E402
import optimizers  # noqa: E402
from optimizers.problems import rosenbrock, rosenbrock_value_and_grad  # noqa: E402

METHODS = [
    ("fgd", {}),
    ("fomoh", {}),
    ("fomoh-bp", {}),
    ("fomoh-2d", {}),
    ("fomoh-3d", {}),
    ("fomoh-kd", {"K": 10}),
    ("newton", {}),
    ("sgd", {"momentum": 0.9}),
    ("adam", {}),
]


def quadratic(D, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((D, D))
    A = M @ M.T / D + np.eye(D)
    b = rng.standard_normal(D)

    def f(theta):
        return 0.5 * (theta @ (A @ theta)) - b @ theta

    def grad(theta):
        return float(f(theta)), A @ theta - b

    return f, grad


def time_round_robin(methods, f, grad, theta, repeats, budget_s):
    """Median seconds per step of each method, timing them in turns (one step each per round)
    so that a change in machine load affects all methods alike. Every step starts from the
    same θ (a steady per-step cost); stops after ``repeats`` rounds or ``budget_s`` seconds."""
    opts = {label: optimizers.build(name, seed=0, **kw) for label, name, kw in methods}
    for opt in opts.values():
        opt.step(f, theta, grad=grad)  # warm-up
    times = {label: [] for label in opts}
    start = time.perf_counter()
    for _ in range(repeats):
        for label, opt in opts.items():
            t0 = time.perf_counter()
            opt.step(f, theta, grad=grad)
            times[label].append(time.perf_counter() - t0)
        if time.perf_counter() - start > budget_s:
            break
    return {label: (statistics.median(t), len(t)) for label, t in times.items()}


def estimate_newton(f, theta, chunk=hyperdual.DEFAULT_CHUNK_SIZE):
    """Seconds for the D(D+1)/2 pairs of a full Hessian, from one timed chunk of pairs."""
    D = theta.shape[0]
    eye = np.eye(D)
    i, j = np.triu_indices(D)
    t0 = time.perf_counter()
    hyperdual.directional(f, theta, eye[i[:chunk]], eye[j[:chunk]], chunk_size=chunk)
    per_chunk = time.perf_counter() - t0
    return per_chunk * math.ceil(len(i) / chunk)


def bench(problem, f, grad, theta, repeats, budget_s, full_newton):
    D = theta.shape[0]
    methods, estimated = [], {}
    for name, kw in METHODS:
        label = name if name != "fomoh-kd" else f"fomoh-{kw['K']}d"
        if name == "fomoh-kd" and kw["K"] > D:
            continue
        if name == "newton" and D > 100 and not full_newton:
            estimated["newton (est.)"] = estimate_newton(f, theta)
            continue
        methods.append((label, name, kw))
    timed = time_round_robin(methods, f, grad, theta, repeats, budget_s)
    rows = [
        {"method": label, "seconds": sec, "steps_timed": n} for label, (sec, n) in timed.items()
    ]
    rows += [
        {"method": label, "seconds": sec, "steps_timed": 0} for label, sec in estimated.items()
    ]
    fgd = timed["fgd"][0]
    for r in rows:
        r["ratio_to_fgd"] = r["seconds"] / fgd
        r["problem"] = problem
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--budget",
        type=float,
        default=30.0,
        help="seconds per problem, after which no new round starts",
    )
    parser.add_argument("--dim", type=int, default=1000, help="dimension of the quadratic")
    parser.add_argument("--full-newton", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args(argv)

    theta10 = np.random.default_rng(1).standard_normal(10)
    fq, gq = quadratic(args.dim)
    thetaq = np.random.default_rng(2).standard_normal(args.dim)
    rows = bench(
        "rosenbrock-10d",
        rosenbrock,
        rosenbrock_value_and_grad,
        theta10,
        args.repeats,
        args.budget,
        args.full_newton,
    )
    rows += bench(
        f"quadratic-{args.dim}d", fq, gq, thetaq, args.repeats, args.budget, args.full_newton
    )

    print(
        f"# {platform.processor() or platform.machine()}, numpy {np.__version__}, "
        f"backend {hyperdual.backend_name()}"
    )
    print(f"{'problem':<18} {'method':<15} {'ms/step':>12} {'× FGD':>10} {'steps':>6}")
    for r in rows:
        print(
            f"{r['problem']:<18} {r['method']:<15} {1e3 * r['seconds']:>12.3f} "
            f"{r['ratio_to_fgd']:>10.2f} {r['steps_timed']:>6}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main()
