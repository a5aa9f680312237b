"""Experiment (b'): finite differences against the complex step for ``Hp`` on LeNet-5 (the
complex-step paper's supplementary Figure 1, with LeNet-5 in place of VGG-11)."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

import optimizers
from hyperdual import to_numpy
from hyperdual.testing import relative_error
from hyperlab import loop
from hyperlab.atomic import write_json
from hyperlab.data import epoch_rng, iterate_minibatches
from layers import models
from optimizers.newton_krylov import csdd, curvature_oracles

from .runs import MethodSpec, global_gradient, load_mnist, log_to, subset

__all__ = ["experiment_fd", "plot_fd"]


def _adam_steps(model, theta, batches):
    """θ after Adam (lr 1e-3) steps on ``batches`` (the shared step loop; stops early if the
    loss diverges)."""
    adam = optimizers.Adam(lr=1e-3)
    for taken in loop.steps(adam, theta, batches, lambda b: optimizers.ModelObjective(model, *b)):
        if taken.diverged:
            break
        theta = taken.theta
    return theta


def experiment_fd(
    data_dir=None, out="results/companion", budget=None, steps=60, seed=0, quick=False, log=None
):
    """(b'): forward differences vs the complex step for ``Hp`` on LeNet-5.

    Part 1: relative error ``‖Hp_method − Hp_hyperdual‖∞ / ‖Hp_hyperdual‖∞`` on a batch of
    128 training images, at the initial θ and after 200 Adam steps, for a random p and for
    p = the gradient. Part 2: ``steps`` Newton-Krylov steps from the same start with each
    ``derivatives`` choice (complex step, forward differences at several h), the minibatch
    losses. Writes ``<out>/fd/``.
    """
    log = log_to(log)
    data = load_mnist(data_dir, flatten=False, quick=quick)
    model = models.lenet5()
    theta0 = to_numpy(model.init_params(seed=seed))  # host data throughout: θ too, explicitly
    batches = iterate_minibatches(data.X_train, data.y_train, 128, epoch_rng(seed, 0))
    theta_trained = _adam_steps(model, theta0, itertools.islice(batches, 20 if quick else 200))
    X, y = data.X_train[:128], data.y_train[:128]
    obj = optimizers.ModelObjective(model, X, y)
    steps_h = (1e-2, 1e-4, 1e-6, 1e-8, 1e-10, 1e-12, 1e-14, 1e-16)
    rows = []
    rng = np.random.default_rng(seed)
    for where, theta in (("initial θ", theta0), ("after 200 Adam steps", theta_trained)):
        for what, p in (
            ("random p", rng.standard_normal(theta.shape[0])),
            ("p = ∇f", obj.value_and_grad(theta)[1]),
        ):
            exact = obj.hvp(theta, p)
            row = {
                "point": where,
                "direction": what,
                "complex step": relative_error(csdd(obj.value_and_grad, theta, p), exact),
            }
            for h in steps_h:
                hp, _ = curvature_oracles(obj, obj.value_and_grad, "fd", fd_step=h)
                row[f"FD h={h:g}"] = relative_error(hp(theta, p), exact)
            rows.append(row)
            log(
                f"[fd] {where}, {what}: CS {row['complex step']:.1e}, "
                + ", ".join(f"{h:g}: {row[f'FD h={h:g}']:.1e}" for h in steps_h)
            )
    cols = ["complex step"] + [f"FD h={h:g}" for h in steps_h]
    table1 = ["| point | direction | " + " | ".join(cols) + " |", "|" + "---|" * (len(cols) + 2)]
    for row in rows:
        table1.append(
            f"| {row['point']} | {row['direction']} | "
            + " | ".join(f"{row[c]:.1e}" for c in cols)
            + " |"
        )

    # Part 2: short training runs, one per derivative choice
    runs = [("complex step", {"derivatives": "complex"})] + [
        (f"FD h={h:g}", {"derivatives": "fd", "fd_step": h}) for h in (1e-2, 1e-4, 1e-8, 1e-16)
    ]
    if quick:
        runs = runs[:2]
    train_records = []
    for label, kw in runs:
        spec = MethodSpec(
            f"NK, {label}", "cs-newton-krylov", {"eta": 0.05, "max_krylov": 10, **kw}, budget or 1e9
        )
        opt = optimizers.build(spec.optimizer, seed=seed, **spec.kwargs)
        theta, losses, t0 = theta0, [], time.perf_counter()
        Xg, yg = subset(data.X_train, data.y_train, 1024, seed + 2)
        global_grad = global_gradient(model, Xg, yg)
        batches = itertools.islice(
            iterate_minibatches(data.X_train, data.y_train, 128, epoch_rng(seed, 1)), steps
        )

        def objective(batch, global_grad=global_grad):
            return optimizers.ModelObjective(model, *batch, global_grad=global_grad)

        for taken in loop.steps(opt, theta, batches, objective):
            losses.append(taken.loss)
            if taken.diverged:
                break
            theta = taken.theta
            if time.perf_counter() - t0 > spec.budget:
                break
        with np.errstate(all="ignore"):
            final = float(model.loss(theta, data.X_train[:1024], data.y_train[:1024]))
        train_records.append(
            {
                "label": label,
                "losses": losses,
                "final_loss": final,
                "time": time.perf_counter() - t0,
                "counters": {
                    "skipped": opt.skipped,
                    "early_terminations": opt.early_terminations,
                    "fallbacks": opt.fallbacks,
                },
            }
        )
        log(
            f"[fd] NK with {label}: {len(losses)} steps, loss {losses[0]:.4f} -> "
            f"{losses[-1]:.4f} (batch), {final:.4f} on 1,024 training images"
        )
    table2 = [
        "| derivatives | steps | first batch loss | last batch loss | loss on 1,024 "
        "training images | early terminations | step-size fallbacks | time (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in train_records:
        table2.append(
            f"| {r['label']} | {len(r['losses'])} | {r['losses'][0]:.4f} | "
            f"{r['losses'][-1]:.4f} | {r['final_loss']:.4f} | "
            f"{r['counters']['early_terminations']} | {r['counters']['fallbacks']} | "
            f"{r['time']:.0f} |"
        )
    out = Path(out) / "fd"
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", {"accuracy": rows, "training": train_records})
    text = (
        "Relative error of Hp (max-norm, relative to the hyper-dual value) on LeNet-5, "
        "batch of 128 MNIST training images:\n\n"
        + "\n".join(table1)
        + f"\n\nNewton-Krylov (η̃ = 0.05, ≤ 10 Krylov iterations, global gradient on 1,024 "
        f"images), {steps} steps from the same initial θ, batch 128:\n\n" + "\n".join(table2) + "\n"
    )
    (out / "results.md").write_text(text)
    plot_fd(rows, steps_h, train_records, out / "fd.png")
    log(text)
    return rows, train_records


def plot_fd(rows, steps_h, train_records, path):
    """Left: relative error of Hp against h (dotted: the complex step); right: the
    Newton-Krylov minibatch losses with each choice of derivatives."""
    fig = Figure(figsize=(11, 4), layout="tight")
    axes = fig.subplots(1, 2)
    for row in rows:
        line = axes[0].loglog(
            steps_h,
            [max(row[f"FD h={h:g}"], 1e-17) for h in steps_h],
            "o-",
            label=f"FD, {row['point']}, {row['direction']}",
        )
        axes[0].axhline(max(row["complex step"], 1e-17), color=line[0].get_color(), ls=":")
    axes[0].set_xlabel("finite-difference step h")
    axes[0].set_ylabel("relative error of Hp (dotted: complex step)")
    axes[0].legend(fontsize=7)
    for r in train_records:
        axes[1].plot(np.arange(1, len(r["losses"]) + 1), r["losses"], label=r["label"])
    axes[1].set_xlabel("Newton-Krylov step")
    axes[1].set_ylabel("minibatch loss")
    axes[1].set_yscale("log")
    axes[1].legend(fontsize=8)
    fig.savefig(path, dpi=120)
