"""Experiments (a), (b) and (c) of the companion papers: the methods side by side on MNIST,
each until its epochs or its wall-clock budget (see :mod:`paper_experiments.companion`)."""

from __future__ import annotations

import math
from pathlib import Path

from layers import models

from .runs import (
    EVAL_SUBSET,
    GLOBAL_SUBSET,
    MethodSpec,
    load_mnist,
    log_to,
    markdown_table,
    plot_losses,
    run_method,
    write_results,
)

__all__ = ["mlp_specs", "experiment_mlp", "experiment_lenet"]


def mlp_specs(budget=None):
    """The methods of experiment (a) with the paper's settings, and partition Newton (c)."""
    b = budget
    return [
        MethodSpec("SGD", "sgd", {"lr": 0.1}, b or 180),
        MethodSpec(
            "Newton",
            "damped-newton",
            {"lr": 0.5, "damping": 0.0},
            b or 300,
            "full Hessian by 12,730 back-propagations on dual numbers, dense solve",
        ),
        MethodSpec(
            "Damped Newton",
            "damped-newton",
            {"lr": 0.5, "damping": 32.0},
            b or 300,
            "as Newton, Cholesky of H + λI",
        ),
        MethodSpec(
            "Hessian-free Newton",
            "hf-newton",
            {"lr": 0.5, "damping": 32.0, "cg_maxiter": 10},
            b or 180,
        ),
        MethodSpec(
            "Hessian-free Gauss-Newton",
            "hf-gauss-newton",
            {"lr": 0.5, "damping": 4.0, "cg_maxiter": 10},
            b or 180,
        ),
        MethodSpec(
            "Hessian-free Newton, λ=1 (beyond the paper)",
            "hf-newton",
            {"lr": 0.5, "damping": 1.0, "cg_maxiter": 10},
            b or 180,
        ),
        MethodSpec(
            "Hessian-free Gauss-Newton, λ=0.5 (beyond the paper)",
            "hf-gauss-newton",
            {"lr": 0.5, "damping": 0.5, "cg_maxiter": 10},
            b or 180,
        ),
        MethodSpec(
            "Partition Newton (canonical, S=4)",
            "partition-newton",
            {"lr": 1.0, "partition": "canonical"},
            b or 150,
        ),
        MethodSpec(
            "Partition Newton (canonical, S=4, lr 0.2)",
            "partition-newton",
            {"lr": 0.2, "partition": "canonical"},
            b or 150,
        ),
        MethodSpec(
            "Partition Newton (trivial, S=1 = Cauchy)",
            "partition-newton",
            {"lr": 1.0, "partition": "trivial"},
            b or 150,
        ),
    ]


def experiment_mlp(
    data_dir=None,
    out="results/companion",
    budget=None,
    epochs=7,
    seed=0,
    quick=False,
    only=None,
    family="newton",
    log=None,
):
    """(a) (``family="newton"``: SGD and the Newton family) or (c) (``family="partition"``:
    SGD and partition Newton): the two-layer ReLU network on MNIST, batch 64, the methods of
    :func:`mlp_specs` for ``epochs`` epochs or their budget. Writes ``<out>/mlp/`` or
    ``<out>/partition/``."""
    log = log_to(log)
    data = load_mnist(data_dir, flatten=True, quick=quick)
    model = models.mlp(hidden=16)
    specs = [
        s
        for s in mlp_specs(budget)
        if s.optimizer == "sgd" or (s.optimizer == "partition-newton") == (family == "partition")
    ]
    if only:
        wanted = [o.lower() for o in only]
        exact = [s for s in specs if s.label.lower() in wanted]
        specs = exact or [s for s in specs if any(o in s.label.lower() for o in wanted)]
    records = []
    for spec in specs:
        per_epoch = -(-len(data.y_train) // 64)
        slow = spec.optimizer == "damped-newton"
        records.append(
            run_method(
                spec,
                model,
                data,
                batch_size=64,
                epochs=epochs,
                seed=seed,
                eval_every=1 if slow else per_epoch // 4,
                log=log,
            )
        )
    out = Path(out) / ("mlp" if family == "newton" else "partition")
    table = markdown_table(
        records,
        extra_columns=[
            (
                "jitter / CG products",
                lambda r: ", ".join(f"{k}={v}" for k, v in r["counters"].items() if v) or "-",
            )
        ],
    )
    header = (
        f"Two-layer ReLU network (784-16-10, {model.num_params:,} parameters) on MNIST, "
        f"batch 64, up to {epochs} epochs of {len(data.y_train):,} training images or the "
        f"wall-clock budget per method; seed {seed}; training loss on a fixed subset of "
        f"{min(EVAL_SUBSET, len(data.y_train)):,} training images, accuracy on the "
        f"{len(data.y_test):,} test images. Wall time counts the optimizer steps only "
        "(2 shared CPU cores)."
    )
    write_results(out, out.name, records, table, header)
    plot_losses(records, out / "losses.png", "MNIST, 784-16-10 ReLU network, batch 64")
    log(table)
    return records


def experiment_lenet(
    data_dir=None,
    out="results/companion",
    budget=None,
    epochs=3,
    seed=0,
    quick=False,
    adam_lrs=(1e-2, 1e-3, 1e-4),
    sweep_budget=60.0,
    log=None,
    global_subset=GLOBAL_SUBSET,
):
    """(b): LeNet-5 (sigmoid) on MNIST, complex-step Newton-Krylov against Adam, batch 128.

    Adam's learning rate: the best training loss after ``sweep_budget`` seconds among
    ``adam_lrs`` (the paper tried 1e-1 … 1e-4 for the baselines and kept the best); the sweep
    is reported in the table's header. Newton-Krylov's global gradient is taken on
    ``global_subset`` fixed training images, or on the whole training set after every
    update with ``"all"`` (the paper's). Writes ``<out>/lenet/``.
    """
    log = log_to(log)
    data = load_mnist(data_dir, flatten=False, quick=quick)
    model = models.lenet5()
    b = budget
    global_text = (
        f"the whole training set ({len(data.y_train):,} images) after every update"
        if global_subset == "all"
        else f"{int(global_subset):,} fixed training images"
    )
    sweep = {}
    for lr in adam_lrs:
        r = run_method(
            MethodSpec(
                f"Adam lr={lr:g} (sweep)", "adam", {"lr": lr}, sweep_budget if not quick else 5
            ),
            model,
            data,
            batch_size=128,
            epochs=epochs,
            seed=seed,
            eval_every=10**9,
            eval_max=5000,
            log=log,
        )
        sweep[lr] = r["train_loss"] if math.isfinite(r["train_loss"]) else math.inf
    best_lr = min(sweep, key=sweep.get)
    specs = [
        MethodSpec("Adam", "adam", {"lr": best_lr}, b or 300),
        MethodSpec(
            "CS Newton-Krylov",
            "cs-newton-krylov",
            {"eta": 0.05, "max_krylov": 20},
            b or 600,
            f"global gradient on {global_text}",
        ),
    ]
    records = []
    for spec in specs:
        nk = spec.optimizer == "cs-newton-krylov"
        records.append(
            run_method(
                spec,
                model,
                data,
                batch_size=128,
                epochs=epochs,
                seed=seed,
                global_subset=global_subset if nk else None,
                eval_every=25 if nk else 500,
                eval_max=5000,
                log=log,
            )
        )
    out = Path(out) / "lenet"
    table = markdown_table(
        records,
        extra_columns=[
            (
                "counters",
                lambda r: ", ".join(f"{k}={v}" for k, v in r["counters"].items() if v) or "-",
            )
        ],
    )
    header = (
        f"LeNet-5 (sigmoid, average pooling, {model.num_params:,} parameters) on MNIST, "
        f"batch 128, up to {epochs} epochs or the wall-clock budget; seed {seed}. "
        f"Newton-Krylov: η̃ = 0.05, at most 20 Krylov iterations, Hp by the complex step "
        f"on back-propagation, pᵀHp by the bicomplex step, global gradient on "
        f"{global_text}. Training loss on a fixed subset of "
        f"5,000 training images, accuracy on the {len(data.y_test):,} test images. "
        f"Adam's learning rate {best_lr:g} was the best of a {sweep_budget:.0f}-second "
        "sweep (training loss: "
        + ", ".join(f"lr {lr:g}: {v:.4f}" for lr, v in sweep.items())
        + ")."
    )
    write_results(out, "lenet", records, table, header)
    plot_losses(records, out / "losses.png", "LeNet-5 (sigmoid) on MNIST, batch 128", 10)
    log(table)
    return records
