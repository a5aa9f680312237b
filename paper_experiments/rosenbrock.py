"""The Rosenbrock experiments of the FoMoH paper (§6.1; Figures 1a, 1b, 2 and 5).

``f(θ) = Σ_{i=1}^{D-1} 100 (θ_{i+1} − θ_i²)² + (1 − θ_i)²``, minimum ``f(1, ..., 1) = 0``
(the function, its closed-form gradient and Hessian: :mod:`optimizers.problems`).

Experiments (each returns its numbers; ``run`` writes plots, CSV and JSON into a folder):

* ``single_step``: from one random start in 2-D, 10,000 sampled steps of FGD, FoMoH,
  FoMoH-BP and FoMoH-2D, their mean (the expected step) against the Newton step
  (Figure 1a: samples and mean arrows on the contour plot; Figure 5: histograms).
* ``convergence``: every method from the same 10 random starts (``N(0, I)``, as in the
  paper's script), loss per iteration; median highlighted on log-log axes (Figure 1b).
* ``hyperplane_dimensions``: FoMoH-KD for K = 2..10 on 10-D Rosenbrock against Newton
  (Figure 2), plus FoMoH-10D with basis directions, which *is* Newton's method.

Learning rates (``METHODS_2D``). The paper sets η = 1 for all FoMoH variants (§6.1) and gives
no other Rosenbrock rates; its released script's defaults are η = 1e-3 for FGD and 0.2 for
Adam, used here. FGD also runs at 2e-4, because η = 1e-3 lets FGD diverge from some starts
(its step (∇f·v) v has a heavy-tailed length); SGD with momentum 0.9 uses 2e-4 for the
same reason. Newton uses η = 1 and no damping, as the paper's Newton baseline.

The "back-propagated" gradient of FoMoH-BP, SGD and Adam is the closed-form gradient
``rosenbrock_value_and_grad`` (what back-propagation returns, exactly). Every run is the
project's one step loop, :func:`hyperlab.loop.steps`.
"""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from tqdm.auto import tqdm

import optimizers
from hyperlab import loop
from optimizers.problems import rosenbrock, rosenbrock_newton_step, rosenbrock_value_and_grad

__all__ = [
    "METHODS_2D",
    "SINGLE_STEP_METHODS",
    "COLORS",
    "LOSS_FLOOR",
    "SOLVED",
    "single_step",
    "convergence",
    "hyperplane_dimensions",
    "trajectory",
    "summarise",
    "plot_single_step",
    "plot_step_histograms",
    "plot_convergence",
    "write_losses_csv",
    "write_single_step_csv",
    "json_safe",
    "run",
]

ROSENBROCK = loop.Objective(rosenbrock, rosenbrock_value_and_grad)
"""The objective of every run: f and its closed-form ("back-propagated") gradient."""

LOSS_FLOOR = 1e-30
"""Losses are drawn as max(f, LOSS_FLOOR) on log axes (Newton reaches f = 0 exactly)."""

SOLVED = 1e-10
"""A run has 'reached the minimum' once f < SOLVED."""


# ---------------------------------------------------------------------------- the methods
METHODS_2D = {
    "FGD (η=1e-3)": ("fgd", {"lr": 1e-3}),
    "FGD (η=2e-4)": ("fgd", {"lr": 2e-4}),
    "FoMoH": ("fomoh", {"lr": 1.0}),
    "FoMoH-BP": ("fomoh-bp", {"lr": 1.0}),
    "FoMoH-2D": ("fomoh-2d", {"lr": 1.0}),
    "Newton": ("newton", {"lr": 1.0}),
    "SGD (momentum 0.9)": ("sgd", {"lr": 2e-4, "momentum": 0.9}),
    "Adam": ("adam", {"lr": 0.2}),
}
"""Label -> (``optimizers.build`` name, keyword arguments) of the 2-D comparison."""

SINGLE_STEP_METHODS = ("FGD (η=1e-3)", "FoMoH", "FoMoH-BP", "FoMoH-2D")

COLORS = {
    "FGD (η=1e-3)": "tab:green",
    "FGD (η=2e-4)": "tab:olive",
    "FoMoH": "tab:blue",
    "FoMoH-BP": "tab:orange",
    "FoMoH-2D": "tab:purple",
    "Newton": "tab:red",
    "SGD (momentum 0.9)": "tab:brown",
    "Adam": "tab:gray",
}


def _build(spec, seed):
    name, kwargs = spec
    return optimizers.build(name, seed=seed, **kwargs)


# ---------------------------------------------------------------------------- experiments
def single_step(theta0=None, n_samples=10_000, seed=0, methods=None):
    """Sampled single steps from one start in 2-D (Figures 1a and 5).

    Parameters
    ----------
    theta0 : array (2,), optional; default ``default_rng(seed).standard_normal(2)``
    n_samples : int, steps sampled per method (each with fresh directions)
    methods : labels of ``METHODS_2D`` (default: FGD, FoMoH, FoMoH-BP, FoMoH-2D)

    Returns
    -------
    dict with ``theta0`` (2,), ``newton`` (2,) the closed-form Newton step, ``steps``
    {label: (n_samples, 2)} and ``mean`` {label: (2,)}.
    """
    rng = np.random.default_rng(seed)
    theta0 = rng.standard_normal(2) if theta0 is None else np.asarray(theta0, dtype=float)
    methods = SINGLE_STEP_METHODS if methods is None else tuple(methods)
    samples = {}
    for label in methods:
        opt = _build(METHODS_2D[label], seed=[seed, 1])
        out = np.empty((n_samples, 2))
        for n in range(n_samples):
            new, _ = opt.step(rosenbrock, theta0, grad=rosenbrock_value_and_grad)
            out[n] = new - theta0
        samples[label] = out
    return {
        "theta0": theta0,
        "newton": rosenbrock_newton_step(theta0),
        "steps": samples,
        "mean": {k: v.mean(axis=0) for k, v in samples.items()},
    }


def convergence(D=2, n_starts=10, iterations=1000, methods=None, seed=0, progress=False):
    """Every method from the same random starts; f after each iteration (Figures 1b, 2).

    Parameters
    ----------
    methods : dict label -> (build name, kwargs); default ``METHODS_2D``
    seed : starts are ``default_rng(seed).standard_normal((n_starts, D))``; the optimizer of
        start i is seeded with ``[seed, i]``.

    Returns
    -------
    dict with ``starts`` (n_starts, D), ``losses`` {label: (n_starts, iterations + 1)}
    (entry t is f after t steps; ``inf`` after a run diverged), ``jitter`` {label: steps that
    needed jitter, summed over starts}, ``seconds`` {label: wall time}.
    """
    methods = METHODS_2D if methods is None else methods
    starts = np.random.default_rng(seed).standard_normal((n_starts, D))
    losses, jitter, seconds = {}, {}, {}
    bar = _progress(len(methods) * n_starts, progress, f"Rosenbrock {D}-D")
    for label, spec in methods.items():
        t0 = time.perf_counter()
        L = np.full((n_starts, iterations + 1), np.inf)
        jitter[label] = 0
        for i, theta in enumerate(starts):
            opt = _build(spec, seed=[seed, i])
            L[i] = trajectory(opt, theta, iterations)
            jitter[label] += opt.jitter_count
            bar.update(1)
        losses[label], seconds[label] = L, time.perf_counter() - t0
    bar.close()
    return {
        "D": D,
        "starts": starts,
        "losses": losses,
        "jitter": jitter,
        "seconds": seconds,
        "iterations": iterations,
        "methods": {k: [v[0], v[1]] for k, v in methods.items()},
    }


def trajectory(opt, theta, iterations):
    """f after 0..iterations steps of ``opt`` from ``theta`` (the shared step loop); inf
    from the first non-finite value on.

    A run stops only at a non-finite loss or θ (``max_loss=inf``): the training loop's
    1e8 limit bounds a cross-entropy, while on 10-D Rosenbrock Newton's and FoMoH-KD's runs
    pass through f ≈ 1e14 (and up to 1e26) and still reach the minimum.
    """
    out = np.full(iterations + 1, np.inf)
    out[0] = rosenbrock(theta)
    with np.errstate(all="ignore"):
        for record in loop.steps(
            opt, theta, range(iterations), lambda _: ROSENBROCK, max_loss=math.inf
        ):
            if record.diverged:
                break
            value = float(rosenbrock(record.theta))
            if not np.isfinite(value):
                break
            out[record.step] = value
    return out


def hyperplane_dimensions(
    D=10, Ks=range(2, 11), n_starts=10, iterations=1000, lr=1.0, seed=0, progress=False
):
    """FoMoH-KD for each K against Newton on D-dimensional Rosenbrock (Figure 2).

    Also runs FoMoH-{D}D with basis directions, which is Newton's method step for step.
    """
    methods = {f"FoMoH-{K}D": ("fomoh-kd", {"K": K, "lr": lr}) for K in Ks}
    methods[f"FoMoH-{D}D (basis)"] = ("fomoh-kd", {"K": D, "lr": lr, "directions": "basis"})
    methods["Newton"] = ("newton", {"lr": lr})
    return convergence(D, n_starts, iterations, methods, seed, progress)


def summarise(result):
    """Per method: median final f, median iterations to f < SOLVED, runs diverged, jitter."""
    out = {}
    for label, L in result["losses"].items():
        reached = [
            int(np.flatnonzero(row < SOLVED)[0]) if np.any(row < SOLVED) else None for row in L
        ]
        hits = [r for r in reached if r is not None]
        out[label] = {
            "median_final_loss": float(np.median(L[:, -1])),
            "median_loss_at": {
                str(t): float(np.median(L[:, t])) for t in (1, 10, 100, 1000) if t < L.shape[1]
            },
            "runs_reaching_1e-10": len(hits),
            "median_iterations_to_1e-10": (
                float(np.median([np.inf if r is None else r for r in reached])) if hits else None
            ),
            "diverged_runs": int(np.sum(~np.isfinite(L[:, -1]))),
            "jitter_steps": int(result["jitter"][label]),
            "seconds": round(float(result["seconds"][label]), 3),
        }
    return out


# ---------------------------------------------------------------------------- plots
def _figure(width=6.4, height=4.8):
    """A figure of matplotlib's object API: no global backend change (an Agg canvas)."""
    return Figure(figsize=(width, height), layout="constrained")


def _median_run(L):
    """Index of the run whose final loss is the median (the lower middle for even counts)."""
    order = np.argsort(L[:, -1], kind="stable")
    return int(order[(len(order) - 1) // 2])


def plot_single_step(result, path):
    """Figure 1a: sampled steps (dots) and their means (arrows) on the contour plot."""
    theta0, newton = result["theta0"], result["newton"]
    points = [theta0 + newton] + [theta0 + m for m in result["mean"].values()]
    for steps in result["steps"].values():
        points += list(theta0 + np.percentile(steps, [2, 98], axis=0))
    points = np.array(points + [theta0])
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = 0.25 * np.maximum(hi - lo, 0.2)
    lo, hi = lo - pad, hi + pad
    xs, ys = np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300)
    X, Y = np.meshgrid(xs, ys)
    Z = 100.0 * (Y - X**2) ** 2 + (1.0 - X) ** 2
    fig = _figure()
    ax = fig.add_subplot()
    ax.contour(X, Y, np.log10(Z + 1e-12), levels=25, cmap="Greys", linewidths=0.6)
    for label, steps in result["steps"].items():
        c = COLORS.get(label, None)
        sample = steps[:2000]
        ax.scatter(theta0[0] + sample[:, 0], theta0[1] + sample[:, 1], s=2, alpha=0.15, color=c)
        m = result["mean"][label]
        ax.annotate(
            "", xy=theta0 + m, xytext=theta0, arrowprops=dict(arrowstyle="->", color=c, lw=2)
        )
        ax.plot([], [], color=c, lw=2, label=f"{label} (mean step)")
    ax.annotate(
        "",
        xy=theta0 + newton,
        xytext=theta0,
        arrowprops=dict(arrowstyle="->", color="red", lw=2, ls="--"),
    )
    ax.plot([], [], color="red", ls="--", lw=2, label="Newton step")
    ax.plot(*theta0, "ko", ms=4)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("θ₁")
    ax.set_ylabel("θ₂")
    ax.set_title(
        f"Single step from θ = ({theta0[0]:.2f}, {theta0[1]:.2f}), "
        f"{len(next(iter(result['steps'].values())))} samples"
    )
    ax.legend(fontsize=8, loc="best")
    fig.savefig(path, dpi=130)
    return path


def plot_step_histograms(result, path):
    """Figure 5: histograms of each component of the sampled steps, Newton's marked."""
    fig = _figure(9.0, 3.8)
    axes = fig.subplots(1, 2)
    for k, ax in enumerate(axes):
        all_k = np.concatenate([s[:, k] for s in result["steps"].values()])
        lo, hi = np.percentile(all_k, [1, 99])
        lo, hi = min(lo, result["newton"][k]), max(hi, result["newton"][k])
        bins = np.linspace(lo - 0.05 * (hi - lo + 1e-12), hi + 0.05 * (hi - lo + 1e-12), 80)
        for label, steps in result["steps"].items():
            ax.hist(
                np.clip(steps[:, k], bins[0], bins[-1]),
                bins=bins,
                alpha=0.45,
                color=COLORS.get(label),
                label=label,
                density=True,
            )
        ax.axvline(result["newton"][k], color="red", ls="--", label="Newton")
        ax.set_xlabel(f"step component Δθ{'₁₂'[k]}")
        ax.set_yscale("log")
    axes[0].set_ylabel("density (log)")
    axes[1].legend(fontsize=8)
    fig.savefig(path, dpi=130)
    return path


def plot_convergence(result, path, title=None, colors=None):
    """Figures 1b and 2: f per iteration from every start (thin), the median run thick."""
    fig = _figure()
    ax = fig.add_subplot()
    labels = list(result["losses"])
    colors = COLORS if colors is None else colors
    if not all(label in colors for label in labels):  # e.g. FoMoH-KD for K = 2..10
        ramp = colormaps["viridis"]
        colors = {
            label: "red" if label == "Newton" else ramp(n / max(len(labels) - 1, 1))
            for n, label in enumerate(labels)
        }
    for label in labels:
        L = result["losses"][label]
        t = np.arange(1, L.shape[1])
        c = colors[label]
        style = dict(ls=":", lw=2.5) if label == "Newton" or "basis" in label else dict(lw=2)
        for row in L:
            ax.plot(t, np.maximum(row[1:], LOSS_FLOOR), color=c, alpha=0.15, lw=0.8)
        ax.plot(t, np.maximum(L[_median_run(L), 1:], LOSS_FLOOR), color=c, label=label, **style)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"f(θ), {result['D']}-D Rosenbrock (floored at {LOSS_FLOOR:g})")
    ax.set_title(
        title
        or f"{result['D']}-D Rosenbrock, {result['losses'][labels[0]].shape[0]} "
        "random starts (thick: median run)"
    )
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.savefig(path, dpi=130)
    return path


# ---------------------------------------------------------------------------- files
def write_losses_csv(result, path):
    """f per iteration of every run, one column per (method, start)."""
    labels = list(result["losses"])
    n_starts = result["losses"][labels[0]].shape[0]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["iteration"] + [f"{label} | start {i}" for label in labels for i in range(n_starts)]
        )
        for t in range(result["iterations"] + 1):
            w.writerow(
                [t]
                + [
                    repr(float(result["losses"][label][i, t]))
                    for label in labels
                    for i in range(n_starts)
                ]
            )
    return path


def write_single_step_csv(result, path):
    """Mean and spread of each method's sampled steps, and their distance to Newton's."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "method",
                "mean_dtheta1",
                "mean_dtheta2",
                "std_dtheta1",
                "std_dtheta2",
                "distance_mean_to_newton",
                "median_distance_sample_to_newton",
            ]
        )
        newton = result["newton"]
        for label, steps in result["steps"].items():
            m, s = steps.mean(axis=0), steps.std(axis=0)
            w.writerow(
                [
                    label,
                    m[0],
                    m[1],
                    s[0],
                    s[1],
                    float(np.linalg.norm(m - newton)),
                    float(np.median(np.linalg.norm(steps - newton, axis=1))),
                ]
            )
        w.writerow(["Newton", newton[0], newton[1], 0.0, 0.0, 0.0, 0.0])
    return path


def json_safe(obj):
    """Non-finite floats as the strings "inf", "-inf", "nan" (strict JSON has none)."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return str(obj)
    return obj


def _progress(total, enabled, desc):
    if enabled:
        return tqdm(total=total, desc=desc)

    class _Silent:
        def update(self, n):
            pass

        def close(self):
            pass

    return _Silent()


def run(
    out_dir,
    n_samples=10_000,
    n_starts=10,
    iterations_2d=1000,
    iterations_10d=1000,
    seed=0,
    progress=True,
):
    """Run all three experiments; write plots, CSV and ``rosenbrock_summary.json``.

    Returns the summary dictionary (also written as JSON). ``fomoh rosenbrock`` calls this.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {}

    step = single_step(n_samples=n_samples, seed=seed)
    files["figure_1a"] = str(plot_single_step(step, out / "rosenbrock_2d_single_step.png"))
    files["figure_5"] = str(plot_step_histograms(step, out / "rosenbrock_2d_step_histograms.png"))
    files["single_step_csv"] = str(
        write_single_step_csv(step, out / "rosenbrock_2d_single_step.csv")
    )

    conv = convergence(2, n_starts, iterations_2d, seed=seed, progress=progress)
    files["figure_1b"] = str(plot_convergence(conv, out / "rosenbrock_2d_convergence.png"))
    files["convergence_csv"] = str(write_losses_csv(conv, out / "rosenbrock_2d_losses.csv"))

    kd = hyperplane_dimensions(
        10, range(2, 11), n_starts, iterations_10d, seed=seed, progress=progress
    )
    files["figure_2"] = str(
        plot_convergence(
            kd,
            out / "rosenbrock_10d_hyperplane.png",
            title=f"FoMoH-KD on 10-D Rosenbrock, {n_starts} random starts (thick: median run)",
        )
    )
    files["hyperplane_csv"] = str(write_losses_csv(kd, out / "rosenbrock_10d_losses.csv"))

    newton_10 = kd["losses"]["Newton"]
    summary = {
        "settings": {
            "n_samples": n_samples,
            "n_starts": n_starts,
            "seed": seed,
            "iterations_2d": iterations_2d,
            "iterations_10d": iterations_10d,
            "methods_2d": conv["methods"],
            "methods_10d": kd["methods"],
            "starts": "default_rng(seed).standard_normal((n_starts, D))",
        },
        "single_step": {
            "theta0": step["theta0"].tolist(),
            "newton_step": step["newton"].tolist(),
            "mean_step": {k: v.tolist() for k, v in step["mean"].items()},
            "std_step": {k: v.std(axis=0).tolist() for k, v in step["steps"].items()},
        },
        "convergence_2d": summarise(conv),
        "hyperplane_10d": summarise(kd),
        "fomoh_10d_basis_equals_newton": bool(
            np.array_equal(kd["losses"]["FoMoH-10D (basis)"], newton_10)
        ),
        "fomoh_10d_gaussian_vs_newton_median_final": [
            float(np.median(kd["losses"]["FoMoH-10D"][:, -1])),
            float(np.median(newton_10[:, -1])),
        ],
        "files": files,
    }
    with open(out / "rosenbrock_summary.json", "w") as fh:
        json.dump(json_safe(summary), fh, indent=2, allow_nan=False)
    files["summary"] = str(out / "rosenbrock_summary.json")
    return summary
