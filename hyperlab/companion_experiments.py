"""Experiments of the three companion papers (issue 5), each one command with a CPU budget.

::

    python -m hyperlab.companion_experiments mlp        # (a) Newton family vs SGD
    python -m hyperlab.companion_experiments partition  # (c) partition Newton vs SGD, same benchmark
    python -m hyperlab.companion_experiments lenet      # (b) complex-step Newton-Krylov vs Adam
    python -m hyperlab.companion_experiments fd         # (b) supplement: finite differences vs CS
    python -m hyperlab.companion_experiments heatmaps   # (c) H̄ and H̄⁻¹ of LeNet-5 (Figure 1)
    python -m hyperlab.companion_experiments all        # all five

Options: ``--data-dir`` (MNIST files; default the library's data directory), ``--out``
(default ``results/companion``), ``--budget`` (wall-clock seconds per method, overriding the
defaults below), ``--epochs``, ``--seed``, ``--global-subset`` (Newton-Krylov's global
gradient: a number of fixed training images, or ``all``, the paper's full training set),
``--quick`` (a smoke test on 2,000 examples with tiny budgets). Each experiment writes
``results.json``, ``results.md`` (the table) and its figures into ``<out>/<experiment>/``.

(a) **Two-layer ReLU network on MNIST** (``second-order-made-practical...``): Dense 784→16,
    ReLU, Dense 16→10, log-softmax cross-entropy (``layers.models.mlp``, 12,730 parameters);
    batch 64, up to 7 epochs on the 60,000 training images; test accuracy on the 10,000 test
    images. Methods with the paper's settings: SGD (lr 0.1), Newton (λ = 0) and damped Newton
    (λ = 32) with the full Hessian (lr 0.5), Hessian-free Newton-CG (λ = 32, lr 0.5) and
    Hessian-free Gauss-Newton-CG (λ = 4, lr 0.5), at most 10 CG products per step. Each method
    stops after 7 epochs or its wall-clock budget (180 s; Newton and damped Newton: 300 s,
    each of their steps takes 15-45 s on an idle 2-core machine, many minutes on a loaded
    one), whichever comes first; the table says which.
    Two extra rows use less damping than the paper (Hessian-free Newton λ = 1, Gauss-Newton
    λ = 0.5), where CG does more than one product per step.
(b) **LeNet-5 (sigmoid) on MNIST** (``complex-step...``): complex-step Newton-Krylov
    (η̃ = 0.05, at most 20 Krylov iterations, batch 128) against Adam (batch 128, learning
    rate the best of 1e-2, 1e-3, 1e-4 in a one-minute sweep),
    training-loss curves against steps and wall time. The global gradient of Algorithm 1 is
    taken on a fixed random subset of ``GLOBAL_SUBSET`` training images by default;
    ``--global-subset all`` takes it, as the paper does, on the whole training set after
    every update (90 % of the paper's run time on a GPU; about a minute per step of LeNet-5
    on one CPU core). The table says which.
(b') **Finite differences vs the complex step**: relative error of ``Hp`` from forward
    differences ``(∇f(θ + h p) − ∇f(θ))/h`` for h = 1e-2 … 1e-16 and from the complex step,
    against the hyper-dual value (back-propagation on dual numbers), on LeNet-5 at its
    initial and at an Adam-trained point; then a short Newton-Krylov run per h (the
    paper's supplementary Figure 1, with LeNet-5 in place of VGG-11).
(c) **Partition Newton** (``partition-pseudo-hessian...``) on benchmark (a): the canonical
    partition (S = 4: two weight tensors, two biases) with the paper's step (lr 1) and with
    lr 0.2, and the trivial one (S = 1, Cauchy) (``partition``);
    and the heat maps of H̄ and H̄⁻¹ (weight-weight, bias-bias, weight-bias blocks) of
    LeNet-5 after 1 and 3 epochs of Adam (the paper: SGD, on which our sigmoid LeNet-5 does
    not leave its initial plateau), like the paper's Figure 1.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import write_json

__all__ = ["MethodSpec", "run_method", "experiment_mlp", "experiment_lenet",
           "experiment_fd", "experiment_heatmaps", "pseudo_hessian", "plot_pseudo_hessian",
           "markdown_table", "main", "GLOBAL_SUBSET"]

GLOBAL_SUBSET = 1024
"""Training images in the fixed subset on which Newton-Krylov's "global gradient" is taken
(one LeNet-5 gradient on 1,024 images costs about 3 s on the 2 shared CPU cores we had)."""

EVAL_SUBSET = 10_000
"""Training images (fixed random subset) on which the final training loss is evaluated."""


# --------------------------------------------------------------------------- running one method


@dataclass
class MethodSpec:
    """One row of a table: a registry name, its settings and a label."""

    label: str
    optimizer: str
    kwargs: dict = field(default_factory=dict)
    budget: float = 300.0           # wall-clock seconds
    note: str = ""


def _load_mnist(data_dir, flatten, quick):
    from .data import load_dataset

    data = load_dataset("mnist", data_dir=data_dir, flatten=flatten, dtype=np.float64,
                        val_fraction=0.0, max_train=2000 if quick else None)
    return data


def _subset(X, y, n, seed):
    if len(y) <= n:
        return X, y
    pick = np.sort(np.random.default_rng(seed).choice(len(y), n, replace=False))
    return X[pick], y[pick]


def _global_gradient(model, X, y, chunk=1024):
    """``theta -> (loss, gradient)`` averaged over the fixed set (X, y), in chunks."""
    def global_grad(theta):
        total, grad = 0.0, np.zeros_like(theta)
        for start in range(0, len(y), chunk):
            value, g = model.value_and_grad(theta, X[start:start + chunk], y[start:start + chunk])
            n = len(y[start:start + chunk])
            total += float(value) * n
            grad += g * n
        return total / len(y), grad / len(y)
    return global_grad


def run_method(spec: MethodSpec, model, data, *, batch_size=64, epochs=7, seed=0,
               global_subset=None, eval_every=None, eval_max=EVAL_SUBSET, log=print):
    """Train ``model`` with one optimizer until ``epochs`` or ``spec.budget`` seconds.

    Every step is ``optimizer.step(obj, theta, grad=obj.value_and_grad)`` with
    ``obj = optimizers.ModelObjective(model, X_batch, y_batch)`` (Newton-Krylov also gets
    ``obj.global_grad``, the gradient on ``global_subset`` fixed training images, or on all
    of them for ``global_subset="all"``, the paper's choice). The wall
    time counts the optimizer steps only, not the evaluations.

    Returns a dict: label, optimizer, settings, steps, epochs (fractional), wall time,
    seconds per step, per-step batch losses, evaluation curve points ``(step, time,
    train_loss, test_acc)``, final training loss (``eval_max`` fixed training images),
    test loss and accuracy (10,000 test images), status ("epochs", "budget" or "diverged"),
    and optimizer counters.
    """
    import optimizers
    from .data import epoch_rng, iterate_minibatches, num_batches
    from .train import evaluate

    opt = optimizers.build(spec.optimizer, seed=seed, **spec.kwargs)
    theta = model.init_params(seed=seed, dtype=np.float64)
    X_eval, y_eval = _subset(data.X_train, data.y_train, eval_max, seed + 1)
    global_grad = None
    if global_subset == "all":
        global_grad = _global_gradient(model, data.X_train, data.y_train)
    elif global_subset:
        Xg, yg = _subset(data.X_train, data.y_train, int(global_subset), seed + 2)
        global_grad = _global_gradient(model, Xg, yg)
    per_epoch = num_batches(len(data.y_train), batch_size)
    if eval_every is None:
        eval_every = per_epoch

    def evaluation(step, wall):
        with np.errstate(all="ignore"):
            train_loss, train_acc = evaluate(model, theta, X_eval, y_eval)
            test_loss, test_acc = evaluate(model, theta, data.X_test, data.y_test)
        return {"step": step, "time": wall, "train_loss": train_loss, "train_acc": train_acc,
                "test_loss": test_loss, "test_acc": test_acc}

    losses, curve, wall, step, status = [], [], 0.0, 0, "epochs"
    curve.append(evaluation(0, 0.0))
    log(f"[{spec.label}] start: train loss {curve[0]['train_loss']:.4f}, "
        f"budget {spec.budget:.0f} s, {per_epoch} steps per epoch")
    for epoch in range(epochs):
        for xb, yb in iterate_minibatches(data.X_train, data.y_train, batch_size,
                                          epoch_rng(seed, epoch)):
            obj = optimizers.ModelObjective(model, xb, yb, global_grad=global_grad)
            t0 = time.perf_counter()
            with np.errstate(all="ignore"):
                new_theta, info = opt.step(obj, theta, grad=obj.value_and_grad)
            wall += time.perf_counter() - t0
            step += 1
            losses.append(float(info.loss))
            if not (math.isfinite(info.loss) and np.all(np.isfinite(new_theta))):
                status = "diverged"
                log(f"[{spec.label}] diverged at step {step} (loss {info.loss})")
                break
            theta = new_theta
            if step % eval_every == 0:
                curve.append(evaluation(step, wall))
                log(f"[{spec.label}] step {step} ({step / per_epoch:.2f} epochs, {wall:.0f} s): "
                    f"train loss {curve[-1]['train_loss']:.4f}, "
                    f"test acc {curve[-1]['test_acc']:.4f}")
            if wall >= spec.budget:
                status = "budget"
                break
        if status != "epochs":
            break
    if curve[-1]["step"] != step and status != "diverged":
        curve.append(evaluation(step, wall))
    final = curve[-1]
    counters = {k: getattr(opt, k) for k in ("jitter_count", "skipped", "early_terminations",
                                             "small_curvature_fixes", "fallbacks",
                                             "adjustments", "cg_iterations") if hasattr(opt, k)}
    record = {
        "label": spec.label, "optimizer": spec.optimizer, "settings": spec.kwargs,
        "note": spec.note, "budget": spec.budget, "status": status, "steps": step,
        "epochs": step / per_epoch, "wall_time": wall,
        "seconds_per_step": wall / step if step else math.nan,
        "train_loss": final["train_loss"], "train_acc": final["train_acc"],
        "test_loss": final["test_loss"], "test_acc": final["test_acc"],
        "last_batch_loss": float(np.mean(losses[-50:])) if losses else math.nan,
        "batch_losses": losses, "curve": curve, "counters": counters,
    }
    log(f"[{spec.label}] {status}: {step} steps ({record['epochs']:.2f} epochs) in {wall:.0f} s; "
        f"train loss {record['train_loss']:.4f}, test acc {record['test_acc']:.4f}")
    return record


# --------------------------------------------------------------------------- tables and plots


def markdown_table(records, extra_columns=()):
    """The results table: one row per method."""
    head = ["method", "settings", "steps (epochs)", "stopped by", "wall time (s)", "s / step",
            "train loss", "test acc"] + [c for c, _ in extra_columns]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in records:
        settings = ", ".join(f"{k}={v}" for k, v in r["settings"].items()) or "defaults"
        cells = [r["label"], settings, f"{r['steps']} ({r['epochs']:.2f})", r["status"],
                 f"{r['wall_time']:.0f}", f"{r['seconds_per_step']:.3g}",
                 f"{r['train_loss']:.4f}", f"{r['test_acc']:.4f}"]
        cells += [fn(r) for _, fn in extra_columns]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _plot_losses(records, path, title, smooth=20):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for r in records:
        loss = np.asarray(r["batch_losses"])
        if loss.size == 0:
            continue
        k = min(smooth, loss.size)
        smoothed = np.convolve(loss, np.ones(k) / k, mode="valid")
        steps = np.arange(k, loss.size + 1)
        times = np.linspace(0, r["wall_time"], loss.size + 1)[k:]
        axes[0].plot(steps, smoothed, label=r["label"])
        axes[1].plot(times, smoothed, label=r["label"])
    for ax, xlabel in zip(axes, ("step", "wall time of the steps (s)")):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"minibatch training loss (moving average of {smooth})")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _write(out, name, records, table, header):
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", {"experiment": name, "records": records})
    (out / "results.md").write_text(header + "\n\n" + table + "\n")


def _log_to(log):
    return log if log is not None else (lambda msg: print(msg, file=sys.stderr, flush=True))


# --------------------------------------------------------------------------- (a) + (c)


def mlp_specs(budget=None):
    """The methods of experiment (a) with the paper's settings, and partition Newton (c)."""
    b = budget
    return [
        MethodSpec("SGD", "sgd", {"lr": 0.1}, b or 180),
        MethodSpec("Newton", "damped-newton", {"lr": 0.5, "damping": 0.0}, b or 300,
                   "full Hessian by 12,730 back-propagations on dual numbers, dense solve"),
        MethodSpec("Damped Newton", "damped-newton", {"lr": 0.5, "damping": 32.0}, b or 300,
                   "as Newton, Cholesky of H + λI"),
        MethodSpec("Hessian-free Newton", "hf-newton",
                   {"lr": 0.5, "damping": 32.0, "cg_maxiter": 10}, b or 180),
        MethodSpec("Hessian-free Gauss-Newton", "hf-gauss-newton",
                   {"lr": 0.5, "damping": 4.0, "cg_maxiter": 10}, b or 180),
        MethodSpec("Hessian-free Newton, λ=1 (beyond the paper)", "hf-newton",
                   {"lr": 0.5, "damping": 1.0, "cg_maxiter": 10}, b or 180),
        MethodSpec("Hessian-free Gauss-Newton, λ=0.5 (beyond the paper)", "hf-gauss-newton",
                   {"lr": 0.5, "damping": 0.5, "cg_maxiter": 10}, b or 180),
        MethodSpec("Partition Newton (canonical, S=4)", "partition-newton",
                   {"lr": 1.0, "partition": "canonical"}, b or 150),
        MethodSpec("Partition Newton (canonical, S=4, lr 0.2)", "partition-newton",
                   {"lr": 0.2, "partition": "canonical"}, b or 150),
        MethodSpec("Partition Newton (trivial, S=1 = Cauchy)", "partition-newton",
                   {"lr": 1.0, "partition": "trivial"}, b or 150),
    ]


def experiment_mlp(data_dir=None, out="results/companion", budget=None, epochs=7, seed=0,
                   quick=False, only=None, family="newton", log=None):
    """(a) (``family="newton"``: SGD and the Newton family) or (c) (``family="partition"``:
    SGD and partition Newton): the two-layer ReLU network on MNIST, batch 64, the methods of
    :func:`mlp_specs` for ``epochs`` epochs or their budget. Writes ``<out>/mlp/`` or
    ``<out>/partition/``."""
    from layers import models

    log = _log_to(log)
    data = _load_mnist(data_dir, flatten=True, quick=quick)
    model = models.mlp(hidden=16)
    specs = [s for s in mlp_specs(budget) if s.optimizer == "sgd" or
             (s.optimizer == "partition-newton") == (family == "partition")]
    if only:
        wanted = [o.lower() for o in only]
        exact = [s for s in specs if s.label.lower() in wanted]
        specs = exact or [s for s in specs if any(o in s.label.lower() for o in wanted)]
    records = []
    for spec in specs:
        per_epoch = -(-len(data.y_train) // 64)
        slow = spec.optimizer == "damped-newton"
        records.append(run_method(spec, model, data, batch_size=64, epochs=epochs, seed=seed,
                                  eval_every=1 if slow else per_epoch // 4, log=log))
    out = Path(out) / ("mlp" if family == "newton" else "partition")
    table = markdown_table(records, extra_columns=[
        ("jitter / CG products", lambda r: ", ".join(f"{k}={v}" for k, v in
                                                     r["counters"].items() if v) or "-")])
    header = (f"Two-layer ReLU network (784-16-10, {model.num_params:,} parameters) on MNIST, "
              f"batch 64, up to {epochs} epochs of {len(data.y_train):,} training images or the "
              f"wall-clock budget per method; seed {seed}; training loss on a fixed subset of "
              f"{min(EVAL_SUBSET, len(data.y_train)):,} training images, accuracy on the "
              f"{len(data.y_test):,} test images. Wall time counts the optimizer steps only "
              "(2 shared CPU cores).")
    _write(out, out.name, records, table, header)
    _plot_losses(records, out / "losses.png", "MNIST, 784-16-10 ReLU network, batch 64")
    log(table)
    return records


# --------------------------------------------------------------------------- (b)


def experiment_lenet(data_dir=None, out="results/companion", budget=None, epochs=3, seed=0,
                     quick=False, adam_lrs=(1e-2, 1e-3, 1e-4), sweep_budget=60.0, log=None,
                     global_subset=GLOBAL_SUBSET):
    """(b): LeNet-5 (sigmoid) on MNIST, complex-step Newton-Krylov against Adam, batch 128.

    Adam's learning rate: the best training loss after ``sweep_budget`` seconds among
    ``adam_lrs`` (the paper tried 1e-1 … 1e-4 for the baselines and kept the best); the sweep
    is reported in the table's header. Newton-Krylov's global gradient is taken on
    ``global_subset`` fixed training images, or on the whole training set after every
    update with ``"all"`` (the paper's). Writes ``<out>/lenet/``.
    """
    from layers import models

    log = _log_to(log)
    data = _load_mnist(data_dir, flatten=False, quick=quick)
    model = models.lenet5()
    b = budget
    global_text = (f"the whole training set ({len(data.y_train):,} images) after every update"
                   if global_subset == "all" else
                   f"{int(global_subset):,} fixed training images")
    sweep = {}
    for lr in adam_lrs:
        r = run_method(MethodSpec(f"Adam lr={lr:g} (sweep)", "adam", {"lr": lr},
                                  sweep_budget if not quick else 5), model, data,
                       batch_size=128, epochs=epochs, seed=seed, eval_every=10 ** 9,
                       eval_max=5000, log=log)
        sweep[lr] = r["train_loss"] if math.isfinite(r["train_loss"]) else math.inf
    best_lr = min(sweep, key=sweep.get)
    specs = [
        MethodSpec("Adam", "adam", {"lr": best_lr}, b or 300),
        MethodSpec("CS Newton-Krylov", "cs-newton-krylov", {"eta": 0.05, "max_krylov": 20},
                   b or 600, f"global gradient on {global_text}"),
    ]
    records = []
    for spec in specs:
        nk = spec.optimizer == "cs-newton-krylov"
        records.append(run_method(
            spec, model, data, batch_size=128, epochs=epochs, seed=seed,
            global_subset=global_subset if nk else None,
            eval_every=25 if nk else 500, eval_max=5000, log=log))
    out = Path(out) / "lenet"
    table = markdown_table(records, extra_columns=[
        ("counters", lambda r: ", ".join(f"{k}={v}" for k, v in r["counters"].items() if v)
         or "-")])
    header = (f"LeNet-5 (sigmoid, average pooling, {model.num_params:,} parameters) on MNIST, "
              f"batch 128, up to {epochs} epochs or the wall-clock budget; seed {seed}. "
              f"Newton-Krylov: η̃ = 0.05, at most 20 Krylov iterations, Hp by the complex step "
              f"on back-propagation, pᵀHp by the bicomplex step, global gradient on "
              f"{global_text}. Training loss on a fixed subset of "
              f"5,000 training images, accuracy on the {len(data.y_test):,} test images. "
              f"Adam's learning rate {best_lr:g} was the best of a {sweep_budget:.0f}-second "
              "sweep (training loss: " + ", ".join(f"lr {lr:g}: {v:.4f}" for lr, v in
                                                  sweep.items()) + ").")
    _write(out, "lenet", records, table, header)
    _plot_losses(records, out / "losses.png", "LeNet-5 (sigmoid) on MNIST, batch 128", 10)
    log(table)
    return records


def experiment_fd(data_dir=None, out="results/companion", budget=None, steps=60, seed=0,
                  quick=False, log=None):
    """(b'): forward differences vs the complex step for ``Hp`` on LeNet-5.

    Part 1: relative error ``‖Hp_method − Hp_hyperdual‖∞ / ‖Hp_hyperdual‖∞`` on a batch of
    128 training images, at the initial θ and after 200 Adam steps, for a random p and for
    p = the gradient. Part 2: ``steps`` Newton-Krylov steps from the same start with each
    ``derivatives`` choice (complex step, forward differences at several h), the minibatch
    losses. Writes ``<out>/fd/``.
    """
    import optimizers
    from hyperdual.testing import relative_error
    from layers import models
    from optimizers.newton_krylov import csdd, curvature_oracles

    from .data import epoch_rng, iterate_minibatches

    log = _log_to(log)
    data = _load_mnist(data_dir, flatten=False, quick=quick)
    model = models.lenet5()
    theta0 = model.init_params(seed=seed)
    batches = iterate_minibatches(data.X_train, data.y_train, 128, epoch_rng(seed, 0))
    theta_trained = theta0
    adam = optimizers.Adam(lr=1e-3)
    for k, (xb, yb) in enumerate(batches):
        theta_trained, _ = adam.step(None, theta_trained,
                                     grad=lambda t, xb=xb, yb=yb: model.value_and_grad(t, xb, yb))
        if k + 1 >= (20 if quick else 200):
            break
    X, y = data.X_train[:128], data.y_train[:128]
    obj = optimizers.ModelObjective(model, X, y)
    steps_h = (1e-2, 1e-4, 1e-6, 1e-8, 1e-10, 1e-12, 1e-14, 1e-16)
    rows = []
    rng = np.random.default_rng(seed)
    for where, theta in (("initial θ", theta0), ("after 200 Adam steps", theta_trained)):
        for what, p in (("random p", rng.standard_normal(theta.shape[0])),
                        ("p = ∇f", obj.value_and_grad(theta)[1])):
            exact = obj.hvp(theta, p)
            row = {"point": where, "direction": what,
                   "complex step": relative_error(csdd(obj.value_and_grad, theta, p), exact)}
            for h in steps_h:
                hp, _ = curvature_oracles(obj, obj.value_and_grad, "fd", fd_step=h)
                row[f"FD h={h:g}"] = relative_error(hp(theta, p), exact)
            rows.append(row)
            log(f"[fd] {where}, {what}: CS {row['complex step']:.1e}, " +
                ", ".join(f"{h:g}: {row[f'FD h={h:g}']:.1e}" for h in steps_h))
    cols = ["complex step"] + [f"FD h={h:g}" for h in steps_h]
    table1 = ["| point | direction | " + " | ".join(cols) + " |", "|" + "---|" * (len(cols) + 2)]
    for row in rows:
        table1.append(f"| {row['point']} | {row['direction']} | " +
                      " | ".join(f"{row[c]:.1e}" for c in cols) + " |")

    # Part 2: short training runs, one per derivative choice
    runs = [("complex step", {"derivatives": "complex"})] + \
        [(f"FD h={h:g}", {"derivatives": "fd", "fd_step": h}) for h in (1e-2, 1e-4, 1e-8, 1e-16)]
    if quick:
        runs = runs[:2]
    train_records = []
    for label, kw in runs:
        spec = MethodSpec(f"NK, {label}", "cs-newton-krylov",
                          {"eta": 0.05, "max_krylov": 10, **kw}, budget or 1e9)
        opt = optimizers.build(spec.optimizer, seed=seed, **spec.kwargs)
        theta, losses, t0 = theta0, [], time.perf_counter()
        Xg, yg = _subset(data.X_train, data.y_train, 1024, seed + 2)
        global_grad = _global_gradient(model, Xg, yg)
        for k, (xb, yb) in enumerate(iterate_minibatches(data.X_train, data.y_train, 128,
                                                         epoch_rng(seed, 1))):
            if k >= steps or time.perf_counter() - t0 > spec.budget:
                break
            o = optimizers.ModelObjective(model, xb, yb, global_grad=global_grad)
            with np.errstate(all="ignore"):
                theta_new, info = opt.step(o, theta, grad=o.value_and_grad)
            losses.append(float(info.loss))
            if not (math.isfinite(info.loss) and np.all(np.isfinite(theta_new))):
                break
            theta = theta_new
        with np.errstate(all="ignore"):
            final = float(model.loss(theta, data.X_train[:1024], data.y_train[:1024]))
        train_records.append({"label": label, "losses": losses, "final_loss": final,
                              "time": time.perf_counter() - t0,
                              "counters": {"skipped": opt.skipped,
                                           "early_terminations": opt.early_terminations,
                                           "fallbacks": opt.fallbacks}})
        log(f"[fd] NK with {label}: {len(losses)} steps, loss {losses[0]:.4f} -> "
            f"{losses[-1]:.4f} (batch), {final:.4f} on 1,024 training images")
    table2 = ["| derivatives | steps | first batch loss | last batch loss | loss on 1,024 "
              "training images | early terminations | step-size fallbacks | time (s) |",
              "|---|---|---|---|---|---|---|---|"]
    for r in train_records:
        table2.append(f"| {r['label']} | {len(r['losses'])} | {r['losses'][0]:.4f} | "
                      f"{r['losses'][-1]:.4f} | {r['final_loss']:.4f} | "
                      f"{r['counters']['early_terminations']} | {r['counters']['fallbacks']} | "
                      f"{r['time']:.0f} |")
    out = Path(out) / "fd"
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", {"accuracy": rows, "training": train_records})
    text = ("Relative error of Hp (max-norm, relative to the hyper-dual value) on LeNet-5, "
            "batch of 128 MNIST training images:\n\n" + "\n".join(table1) +
            f"\n\nNewton-Krylov (η̃ = 0.05, ≤ 10 Krylov iterations, global gradient on 1,024 "
            f"images), {steps} steps from the same initial θ, batch 128:\n\n" +
            "\n".join(table2) + "\n")
    (out / "results.md").write_text(text)
    _plot_fd(rows, steps_h, train_records, out / "fd.png")
    log(text)
    return rows, train_records


def _plot_fd(rows, steps_h, train_records, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for row in rows:
        line = axes[0].loglog(steps_h, [max(row[f"FD h={h:g}"], 1e-17) for h in steps_h],
                              "o-", label=f"FD, {row['point']}, {row['direction']}")
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
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --------------------------------------------------------------------------- (c) heat maps


def pseudo_hessian(model, theta, X, y, chunk_size=6):
    """H̄ (S, S) and ḡ (S,) of the canonical partition at θ on the batch (X, y).

    ``u_s`` = the back-propagated gradient restricted to tensor s; one hyper-dual pass over
    the S(S+1)/2 pairs (``hyperdual.projected_hessian``, the same as the partition step).
    Returns ``(names, g_bar, H_bar)``.
    """
    from hyperdual import projected_hessian
    from optimizers.partition import partition_directions, resolve_groups

    groups = resolve_groups(model.param_groups(), theta.shape[0])
    _, g = model.value_and_grad(theta, X, y)
    V = partition_directions(g, groups)
    _, g_bar, H_bar = projected_hessian(lambda t: model.loss(t, X, y), theta, V,
                                        chunk_size=chunk_size)
    return [name for name, _ in groups], np.asarray(g_bar), np.asarray(H_bar)


def _blocks(names, M):
    """Weight-weight, bias-bias and weight-bias blocks of M (layers in order)."""
    w = [i for i, n in enumerate(names) if n.endswith("weight")]
    b = [i for i, n in enumerate(names) if n.endswith("bias")]
    layers = [names[i].rsplit(".", 1)[0] for i in w]
    return layers, {"WW": M[np.ix_(w, w)], "BB": M[np.ix_(b, b)], "WB": M[np.ix_(w, b)]}


def _normalise(M):
    """``M_st / sqrt(|M_ss M_tt|)``: the matrix after rescaling each group to unit diagonal
    (the partition step is invariant under such per-group rescalings)."""
    d = np.sqrt(np.abs(np.diag(M)))
    d[d == 0] = 1.0
    return M / np.outer(d, d)


def plot_pseudo_hessian(snapshots, path, normalise=False):
    """Figure 1 of the partition paper: rows H̄ and H̄⁻¹, columns WW, BB, WB per snapshot.

    ``snapshots``: list of ``(title, names, H_bar)``. Colours: white ≈ 0, red positive, blue
    negative; on a symmetric-log scale per panel (raw entries span many orders of
    magnitude, because ``u_s`` carries the size of each tensor's gradient), or, with
    ``normalise=True``, on a linear scale after :func:`_normalise` (scale-free: shows the
    interactions between tensors whatever their gradients' sizes).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import SymLogNorm

    n = len(snapshots)
    fig, axes = plt.subplots(2, 3 * n, figsize=(4.2 * 3 * n, 7.6), squeeze=False)
    for k, (title, names, H_bar) in enumerate(snapshots):
        inverse = np.linalg.pinv(H_bar, hermitian=True)
        for row, (what, M) in enumerate((("H̄", H_bar), ("H̄⁻¹", inverse))):
            if normalise:
                M, what = _normalise(M), f"normalised {what}"
            layers, blocks = _blocks(names, M)
            for c, key in enumerate(("WW", "BB", "WB")):
                ax = axes[row, 3 * k + c]
                B = blocks[key]
                vmax = float(np.max(np.abs(B))) or 1.0
                if normalise:
                    im = ax.imshow(B, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
                else:
                    norm = SymLogNorm(linthresh=vmax * 1e-3, vmin=-vmax, vmax=vmax)
                    im = ax.imshow(B, cmap="RdBu_r", norm=norm)
                ax.set_xticks(range(len(layers)), layers, rotation=60, fontsize=7)
                ax.set_yticks(range(len(layers)), layers, fontsize=7)
                ax.set_title(f"{title}: {what}_{key}", fontsize=9)
                fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def experiment_heatmaps(data_dir=None, out="results/companion", epochs=(1, 3), seed=0,
                        quick=False, batch=256, log=None):
    """(c): H̄ and H̄⁻¹ of LeNet-5 after the given epochs of training, on a fixed batch of
    ``batch`` training images. Writes ``<out>/heatmaps/``.

    The paper trains LeNet-5 by SGD (on CIFAR-10). Our sigmoid LeNet-5 on MNIST stays on its
    initial plateau under SGD with momentum 0.9 (loss 2.30 after 300 steps of batch 128 at
    lr 0.1, 0.3 and 1.0), so we train it with Adam (lr 1e-3, batch 128) instead.
    """
    import optimizers
    from layers import models

    from .data import epoch_rng, iterate_minibatches

    log = _log_to(log)
    data = _load_mnist(data_dir, flatten=False, quick=quick)
    model = models.lenet5()
    theta = model.init_params(seed=seed)
    trainer = optimizers.Adam(lr=1e-3)
    Xh, yh = _subset(data.X_train, data.y_train, batch, seed + 3)
    snapshots, out = [], Path(out) / "heatmaps"
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for epoch in range(max(epochs)):
        for xb, yb in iterate_minibatches(data.X_train, data.y_train, 128,
                                          epoch_rng(seed, epoch)):
            theta, info = trainer.step(None, theta, grad=lambda t, xb=xb, yb=yb:
                                       model.value_and_grad(t, xb, yb))
        log(f"[heatmaps] Adam epoch {epoch + 1}: last batch loss {info.loss:.4f} "
            f"({time.perf_counter() - t0:.0f} s)")
        if epoch + 1 in epochs:
            names, g_bar, H_bar = pseudo_hessian(model, theta, Xh, yh)
            snapshots.append((f"epoch {epoch + 1}", names, H_bar))
            np.savez(out / f"pseudo_hessian_epoch{epoch + 1}.npz", H_bar=H_bar, g_bar=g_bar,
                     names=np.array(names))
            ev = np.linalg.eigvalsh(H_bar)
            log(f"[heatmaps] epoch {epoch + 1}: S = {len(names)}, eigenvalues of H̄ from "
                f"{ev[0]:.3e} to {ev[-1]:.3e}")
    plot_pseudo_hessian(snapshots, out / "pseudo_hessian.png")
    plot_pseudo_hessian(snapshots, out / "pseudo_hessian_normalised.png", normalise=True)
    summary = []
    for title, names, H_bar in snapshots:
        ev = np.linalg.eigvalsh(H_bar)
        D = np.sqrt(np.abs(np.diag(H_bar)))
        corr = H_bar / np.outer(D, D)
        inv = np.linalg.pinv(H_bar, hermitian=True)
        Di = np.sqrt(np.abs(np.diag(inv)))
        corr_inv = inv / np.outer(Di, Di)
        off = ~np.eye(len(names), dtype=bool)
        summary.append({"snapshot": title, "names": names, "eigenvalues": ev.tolist(),
                        "mean |off-diagonal| of normalised H̄": float(np.mean(np.abs(corr[off]))),
                        "mean |off-diagonal| of normalised H̄⁻¹":
                            float(np.mean(np.abs(corr_inv[off]))),
                        "H_bar": H_bar.tolist()})
    write_json(out / "results.json", summary)
    lines = ["| snapshot | S | eigenvalues of H̄ (min, max) | negative eigenvalues | mean "
             "abs off-diagonal of H̄ / sqrt(diag·diag) | same for H̄⁻¹ |", "|---|---|---|---|---|---|"]
    for s in summary:
        ev = s["eigenvalues"]
        lines.append(f"| {s['snapshot']} | {len(s['names'])} | {ev[0]:.2e}, {ev[-1]:.2e} | "
                     f"{sum(e < 0 for e in ev)} | "
                     f"{s['mean |off-diagonal| of normalised H̄']:.3f} | "
                     f"{s['mean |off-diagonal| of normalised H̄⁻¹']:.3f} |")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    log("\n".join(lines))
    return snapshots


# --------------------------------------------------------------------------- command line


def _global_subset(text):
    """``all`` or a positive number of images (``--global-subset``)."""
    if text.strip().lower() == "all":
        return "all"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'all' or a positive integer, got {text!r}"
                                         ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 'all' or a positive integer, got {value}")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m hyperlab.companion_experiments",
        description="Experiments of the companion papers (Hessian-free Newton / Gauss-Newton, "
                    "complex-step Newton-Krylov, partition Newton) on MNIST, CPU budgets.")
    parser.add_argument("experiment", choices=("mlp", "partition", "lenet", "fd", "heatmaps",
                                               "all"))
    parser.add_argument("--data-dir", default=None, help="MNIST directory (default: library's)")
    parser.add_argument("--out", default="results/companion", help="output folder")
    parser.add_argument("--budget", type=float, default=None,
                        help="wall-clock seconds per method (default: per method, see docs)")
    parser.add_argument("--epochs", type=int, default=None, help="maximum epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", default=None,
                        help="mlp, partition: run only the methods with these labels (exact, "
                             "case-insensitive), else those whose label contains one of them")
    parser.add_argument("--global-subset", type=_global_subset, default=GLOBAL_SUBSET,
                        help="lenet: Newton-Krylov's global gradient on this many fixed "
                             "training images, or 'all' (the paper: the whole training set "
                             "after every update)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 2,000 training images, 20 s per method")
    args = parser.parse_args(argv)
    budget = 20.0 if args.quick and args.budget is None else args.budget
    common = dict(data_dir=args.data_dir, out=args.out, seed=args.seed, quick=args.quick)
    if args.experiment in ("mlp", "all"):
        experiment_mlp(budget=budget, epochs=args.epochs or 7, only=args.only, **common)
    if args.experiment in ("partition", "all"):
        experiment_mlp(budget=budget, epochs=args.epochs or 7, only=args.only,
                       family="partition", **common)
    if args.experiment in ("lenet", "all"):
        experiment_lenet(budget=budget, epochs=args.epochs or 3,
                         global_subset=args.global_subset, **common)
    if args.experiment in ("fd", "all"):
        experiment_fd(budget=budget, steps=4 if args.quick else 60, **common)
    if args.experiment in ("heatmaps", "all"):
        experiment_heatmaps(epochs=(1,) if args.quick else (1, 3), **common)
    return 0


if __name__ == "__main__":
    sys.exit(main())
