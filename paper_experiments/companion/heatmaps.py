"""Experiment (c), heat maps: the pseudo-Hessian H̄ of the canonical partition and its
inverse for LeNet-5 during training (the partition paper's Figure 1)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from matplotlib.colors import SymLogNorm
from matplotlib.figure import Figure

import optimizers
from hyperdual import to_numpy
from hyperlab import loop
from hyperlab.atomic import write_json
from hyperlab.data import epoch_rng, iterate_minibatches
from layers import models
from optimizers.partition import pseudo_hessian

from .runs import load_mnist, log_to, subset

__all__ = ["plot_pseudo_hessian", "experiment_heatmaps"]


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
    n = len(snapshots)
    fig = Figure(figsize=(4.2 * 3 * n, 7.6), layout="tight")
    axes = fig.subplots(2, 3 * n, squeeze=False)
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
    fig.savefig(path, dpi=110)
    return path


def experiment_heatmaps(
    data_dir=None, out="results/companion", epochs=(1, 3), seed=0, quick=False, batch=256, log=None
):
    """(c): H̄ and H̄⁻¹ of LeNet-5 after the given epochs of training, on a fixed batch of
    ``batch`` training images. Writes ``<out>/heatmaps/``.

    The paper trains LeNet-5 by SGD (on CIFAR-10). Our sigmoid LeNet-5 on MNIST stays on its
    initial plateau under SGD with momentum 0.9 (loss 2.30 after 300 steps of batch 128 at
    lr 0.1, 0.3 and 1.0), so we train it with Adam (lr 1e-3, batch 128) instead.
    """
    log = log_to(log)
    data = load_mnist(data_dir, flatten=False, quick=quick)
    model = models.lenet5()
    theta = to_numpy(model.init_params(seed=seed))  # host data throughout: θ too, explicitly
    trainer = optimizers.Adam(lr=1e-3)
    Xh, yh = subset(data.X_train, data.y_train, batch, seed + 3)
    snapshots, out = [], Path(out) / "heatmaps"
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for epoch in range(max(epochs)):
        batches = iterate_minibatches(data.X_train, data.y_train, 128, epoch_rng(seed, epoch))
        for taken in loop.steps(
            trainer, theta, batches, lambda b: optimizers.ModelObjective(model, *b)
        ):
            if taken.diverged:
                raise FloatingPointError(
                    f"[heatmaps] Adam diverged in epoch {epoch + 1}, "
                    f"step {taken.step}: {taken.problem.rstrip(',')}"
                )
            theta = taken.theta
        log(
            f"[heatmaps] Adam epoch {epoch + 1}: last batch loss {taken.loss:.4f} "
            f"({time.perf_counter() - t0:.0f} s)"
        )
        if epoch + 1 in epochs:
            names, g_bar, H_bar = pseudo_hessian(model, theta, Xh, yh)
            snapshots.append((f"epoch {epoch + 1}", names, H_bar))
            np.savez(
                out / f"pseudo_hessian_epoch{epoch + 1}.npz",
                H_bar=H_bar,
                g_bar=g_bar,
                names=np.array(names),
            )
            ev = np.linalg.eigvalsh(H_bar)
            log(
                f"[heatmaps] epoch {epoch + 1}: S = {len(names)}, eigenvalues of H̄ from "
                f"{ev[0]:.3e} to {ev[-1]:.3e}"
            )
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
        summary.append(
            {
                "snapshot": title,
                "names": names,
                "eigenvalues": ev.tolist(),
                "mean |off-diagonal| of normalised H̄": float(np.mean(np.abs(corr[off]))),
                "mean |off-diagonal| of normalised H̄⁻¹": float(np.mean(np.abs(corr_inv[off]))),
                "H_bar": H_bar.tolist(),
            }
        )
    write_json(out / "results.json", summary)
    lines = [
        "| snapshot | S | eigenvalues of H̄ (min, max) | negative eigenvalues | mean "
        "abs off-diagonal of H̄ / sqrt(diag·diag) | same for H̄⁻¹ |",
        "|---|---|---|---|---|---|",
    ]
    for s in summary:
        ev = s["eigenvalues"]
        lines.append(
            f"| {s['snapshot']} | {len(s['names'])} | {ev[0]:.2e}, {ev[-1]:.2e} | "
            f"{sum(e < 0 for e in ev)} | "
            f"{s['mean |off-diagonal| of normalised H̄']:.3f} | "
            f"{s['mean |off-diagonal| of normalised H̄⁻¹']:.3f} |"
        )
    (out / "results.md").write_text("\n".join(lines) + "\n")
    log("\n".join(lines))
    return snapshots
