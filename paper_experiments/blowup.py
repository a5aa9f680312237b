"""How often FoMoH-KD blows up at small batches on the paper's CNN (project vs paper's code).

FoMoH-3D at batch 512 (appendix Table 4: lr 0.3032) on the 431,080-parameter
CNN diverged within a few steps here, and the paper's own code blows up at seed 1 too. The
3×3 projected Hessian H̃ is indefinite in most early steps and Algorithm 1 solves it as
measured, so part of the step goes uphill. This experiment counts, over several seeds and the
first ``steps`` minibatches of epoch 1, the runs whose loss blows up, for

* ``project``: ``optimizers.FoMoHKD`` as ``fomoh compare --preset mnist-cnn`` runs it
  (float32, PyTorch's default initialisation, H solved as measured — the paper preset; an
  optional safeguard such as ``--opt-arg curvature=abs`` is a separate, labelled row);
* ``paper``: the paper's PyTorch code (``../shared/peers/fomoh``, ``fomoh.opt.
  optimizer_step_plane_Nd``), run in a child interpreter (its package is also called
  ``fomoh``) by :mod:`paper_experiments.blowup_paper_worker`, with ``torch.set_num_threads(1)``.

Both see the same minibatches: the standardised MNIST training images in the order
``hyperlab.data.epoch_rng(seed, 0)`` gives for the seed. Initial parameters and random
directions come from each implementation's own generators seeded with ``seed``.

A run **blows up** when a minibatch loss (taken before each step) is not finite or exceeds
``threshold`` (default 2·ln 10 ≈ 4.61: twice the loss of a uniform guess, which every run
starts near). The table also gives the largest loss, the loss after the last step (on the
next minibatch), the share of steps whose symmetrised H̃ had a negative eigenvalue, and the
CPU seconds per step (one thread).

::

    python -m paper_experiments.blowup --data-dir ../shared/data/mnist   # 5 seeds x 30 steps
    python -m paper_experiments.blowup --data-dir ../shared/data/mnist --seeds 0 1 --steps 10 \
        --impl project
    python -m paper_experiments.blowup --data-dir ../shared/data/mnist --opt-arg curvature=abs

Writes ``results.json`` (every loss and eigenvalue) and ``results.md`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import optimizers
from hyperlab.builders import build_model, build_optimizer, initial_parameters, prepare_data
from hyperlab.config import RunConfig
from hyperlab.data import epoch_rng
from hyperlab.parallel import one_blas_thread
from hyperlab.specs import parse_value

__all__ = [
    "run_project",
    "run_paper",
    "summarize",
    "markdown_table",
    "main",
    "PEERS_SRC",
    "THRESHOLD",
]

PEERS_SRC = Path(__file__).resolve().parents[2] / "shared" / "peers" / "fomoh" / "src"
"""Where the paper's package is expected (``../shared/peers/fomoh/src`` next to the
checkout); ``--peers`` or ``$FOMOH_PEERS_SRC`` override it."""

THRESHOLD = 2 * math.log(10)
"""Default blow-up threshold on the minibatch loss (twice a uniform guess's)."""

PAPER_LR, PAPER_BATCH = 0.3032, 512
"""Appendix Table 4, FoMoH-3D without schedule."""


def _order(seed: int, n: int) -> np.ndarray:
    return epoch_rng(seed, 0).permutation(n)


def _config(data_dir, seed, lr, batch, K, opt_args, max_train=None):
    return RunConfig(
        dataset="mnist",
        data_dir=data_dir,
        model="mnist_cnn",
        optimizer=f"fomoh-{K}d",
        lr=lr,
        batch_size=batch,
        seed=seed,
        init="pytorch",
        standardize=True,
        val_set="test",
        optimizer_kwargs=dict(opt_args),
        max_train=max_train,
    ).validate()


def run_project(
    data,
    seed,
    steps,
    lr=PAPER_LR,
    batch=PAPER_BATCH,
    K=3,
    opt_args=(),
    data_dir=None,
    log=print,
    stop_above=None,
):
    """``steps`` FoMoH-KD steps of this project from the preset's start for ``seed``.

    ``stop_above``: stop the run after the first minibatch loss above it (a blow-up; saves
    time), as after a non-finite loss. Returns a record: ``losses`` (before each step),
    ``final_loss`` (after the last step taken, on the minibatch after the ``steps``-th),
    ``eigenvalues`` (of each step's H̃), ``seconds`` (CPU time of the steps and the final
    evaluation).
    """
    config = _config(data_dir, seed, lr, batch, K, opt_args)
    model = build_model(config, data)
    theta = np.asarray(initial_parameters(config, model))
    optimizer = build_optimizer(config)
    order = _order(seed, len(data.y_train))
    losses, eigenvalues, t0 = [], [], time.process_time()
    # Not the shared hyperlab.loop.steps: this loop does what the paper's code does (the
    # worker), so both implementations are counted alike — θ is taken from every step, and a
    # run ends only at a loss that is not finite or above stop_above (a non-finite θ shows up
    # as a NaN loss one step later, as it does in the paper's code).
    for step in range(steps):
        idx = order[step * batch : (step + 1) * batch]
        f = optimizers.ModelObjective(model, data.X_train[idx], data.y_train[idx])
        with np.errstate(all="ignore"):
            theta, info = optimizer.step(f, theta, grad=f.value_and_grad)
        losses.append(float(info.loss))
        if info.curvature is not None:
            eigenvalues.append([float(e) for e in np.asarray(info.curvature)])
        log(f"[project] seed {seed} step {step + 1}: loss {info.loss:.4f}")
        if not math.isfinite(info.loss) or (stop_above is not None and info.loss > stop_above):
            break
    idx = order[steps * batch : (steps + 1) * batch]
    with np.errstate(all="ignore"):
        final = float(model.loss(theta, data.X_train[idx], data.y_train[idx]))
    return {
        "seed": seed,
        "losses": losses,
        "final_loss": final,
        "eigenvalues": eigenvalues,
        "seconds": time.process_time() - t0,
    }


class PaperRun:
    """The paper's code on the same batches, in a child interpreter (see the module doc).

    ``PaperRun(...)`` starts it in the background (so it can run beside the project's steps
    on another core); ``records()`` waits and returns its records.

    Raises
    ------
    RuntimeError
        If the paper's code is not found or the child fails (its output is included).
    """

    def __init__(
        self,
        data,
        seeds,
        steps,
        lr=PAPER_LR,
        batch=PAPER_BATCH,
        K=3,
        peers=None,
        python=None,
        log=print,
        stop_above=None,
    ):
        peers = Path(peers or os.environ.get("FOMOH_PEERS_SRC") or PEERS_SRC)
        if not (peers / "fomoh" / "opt.py").is_file():
            raise RuntimeError(
                f"the paper's code is not at {peers} (expected fomoh/opt.py there); pass --peers"
            )
        worker = Path(__file__).with_name("blowup_paper_worker.py")
        self.log = log
        self.tmp = tempfile.TemporaryDirectory()
        tmp = Path(self.tmp.name)
        npz, self.out, self.err = tmp / "batches.npz", tmp / "paper.json", tmp / "stderr.txt"
        np.savez(
            npz,
            X=data.X_train,
            y=data.y_train,
            **{f"order_{s}": _order(s, len(data.y_train)) for s in seeds},
        )
        env = dict(
            os.environ,
            PYTHONPATH=str(peers),
            OPENBLAS_NUM_THREADS="1",
            OMP_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
        )
        cmd = [
            python or sys.executable,
            "-P",
            str(worker),
            "--data",
            str(npz),
            "--seeds",
            *map(str, seeds),
            "--steps",
            str(steps),
            "--batch",
            str(batch),
            "--lr",
            repr(lr),
            "--K",
            str(K),
            "--out",
            str(self.out),
        ]
        if stop_above is not None:
            cmd += ["--stop-above", repr(stop_above)]
        log("[paper code] " + " ".join(cmd))
        with open(self.err, "w") as err:
            self.proc = subprocess.Popen(
                cmd, env=env, cwd=tmp, stderr=err, stdout=subprocess.DEVNULL
            )

    def records(self):
        try:
            code = self.proc.wait()
            text = self.err.read_text()
            for line in text.splitlines():
                self.log(line)
            if code != 0:
                raise RuntimeError(f"the paper's code failed (exit {code}):\n" + text[-4000:])
            return json.loads(self.out.read_text())
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.tmp.cleanup()


def run_paper(
    data,
    seeds,
    steps,
    lr=PAPER_LR,
    batch=PAPER_BATCH,
    K=3,
    peers=None,
    python=None,
    log=print,
    stop_above=None,
):
    """:class:`PaperRun` started and waited for."""
    return PaperRun(data, seeds, steps, lr, batch, K, peers, python, log, stop_above).records()


def summarize(records, threshold=THRESHOLD):
    """Per run: blew up (and at which step), largest and final loss, indefinite H̃ share."""
    rows = []
    for r in records:
        losses = np.asarray(r["losses"], dtype=float)
        bad = [i for i, v in enumerate(losses) if not math.isfinite(v) or v > threshold]
        eig = r["eigenvalues"]
        indefinite = sum(min(e) < 0 for e in eig)
        rows.append(
            {
                "seed": r["seed"],
                "blew_up": bool(bad),
                "blow_up_step": bad[0] + 1 if bad else None,
                "initial_loss": float(losses[0]) if len(losses) else math.nan,
                "max_loss": float(np.max(losses)) if len(losses) else math.nan,
                "final_loss": float(r["final_loss"]),
                "steps": int(len(losses)),
                "indefinite_steps": int(indefinite),
                "solves": len(eig),
                "seconds_per_step": r["seconds"] / max(1, len(losses)),
            }
        )
    return rows


def markdown_table(results, threshold=THRESHOLD):
    """One line per (implementation, seed) and a total per implementation."""
    lines = [
        "| implementation | seed | blew up (step) | loss at step 1 | largest loss | "
        "loss after the last step | H̃ indefinite | CPU s / step |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in results.items():
        for row in rows:
            lines.append(
                f"| {name} | {row['seed']} | "
                + (f"yes ({row['blow_up_step']})" if row["blew_up"] else "no")
                + f" | {row['initial_loss']:.4f} | {row['max_loss']:.4g} | "
                f"{row['final_loss']:.4g} | {row['indefinite_steps']}/{row['solves']} | "
                f"{row['seconds_per_step']:.2f} |"
            )
    lines.append("")
    for name, rows in results.items():
        n_bad = sum(r["blew_up"] for r in rows)
        ind = sum(r["indefinite_steps"] for r in rows)
        solves = sum(r["solves"] for r in rows)
        lines.append(
            f"* {name}: **{n_bad} of {len(rows)} runs blew up** (loss > "
            f"{threshold:.3g} or not finite); H̃ indefinite in {ind} of {solves} steps"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m paper_experiments.blowup",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data-dir", default=None, help="MNIST folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=PAPER_BATCH)
    parser.add_argument("--lr", type=float, default=PAPER_LR)
    parser.add_argument("--K", type=int, default=3)
    parser.add_argument(
        "--impl",
        nargs="+",
        choices=("project", "project-opt", "paper"),
        default=None,
        help="rows: 'project' (the paper preset), 'project-opt' (the project "
        "with the --opt-arg settings), 'paper' (the paper's code); "
        "default: project and paper, and project-opt with --opt-arg",
    )
    parser.add_argument(
        "--opt-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="FoMoH-KD argument of the 'project-opt' row (e.g. "
        "curvature=abs, a safeguard: |H| instead of H)",
    )
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument(
        "--run-to-end",
        action="store_true",
        help="keep stepping after a blow-up (default: a run stops at its "
        "first loss above --threshold; it is counted either way)",
    )
    parser.add_argument(
        "--max-train", type=int, default=None, help="load only this many training images (tests)"
    )
    parser.add_argument("--peers", default=None, help="the paper's src folder")
    parser.add_argument("--out", default="results/blowup")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))

    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    opt_args = {}
    for item in args.opt_arg:
        key, eq, value = item.partition("=")
        if not eq:
            parser.error(f"--opt-arg expects key=value, got {item!r}")
        opt_args[key.strip()] = parse_value(value.strip())
    if args.impl is None:
        args.impl = ["project", "paper"] + (["project-opt"] if opt_args else [])
    if "project-opt" in args.impl and not opt_args:
        parser.error("--impl project-opt needs --opt-arg KEY=VALUE")
    need = (args.steps + 1) * args.batch
    data = prepare_data(
        _config(args.data_dir, 0, args.lr, args.batch, args.K, {}, max_train=args.max_train)
    )
    if len(data.y_train) < need:
        parser.error(
            f"{args.steps} steps of {args.batch} (+1 batch to score) need {need} "
            f"training images, have {len(data.y_train)}"
        )
    records, t0 = {}, time.perf_counter()
    stop = None if args.run_to_end else args.threshold
    # the paper's code runs in a child process, beside the project's steps
    paper = (
        PaperRun(
            data,
            args.seeds,
            args.steps,
            args.lr,
            args.batch,
            args.K,
            args.peers,
            log=log,
            stop_above=stop,
        )
        if "paper" in args.impl
        else None
    )
    try:
        with one_blas_thread():
            rows = [("project (paper preset)", {})] if "project" in args.impl else []
            if "project-opt" in args.impl:
                rows.append(
                    ("project, " + ", ".join(f"{k}={v}" for k, v in opt_args.items()), opt_args)
                )
            if rows:
                for label, kwargs in rows:
                    records[label] = [
                        run_project(
                            data,
                            s,
                            args.steps,
                            args.lr,
                            args.batch,
                            args.K,
                            kwargs,
                            args.data_dir,
                            log,
                            stop,
                        )
                        for s in args.seeds
                    ]
    finally:
        if paper is not None:
            records["paper's code (PyTorch, CPU)"] = paper.records()
    results = {name: summarize(recs, args.threshold) for name, recs in records.items()}
    table = markdown_table(results, args.threshold)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    header = (
        f"FoMoH-{args.K}D, lr {args.lr:g}, batch {args.batch}, on the paper's CNN "
        f"(MNIST, standardised, PyTorch default init), seeds {args.seeds}, the first "
        f"{args.steps} minibatches of epoch 1 (same batches for both implementations"
        + ("" if args.run_to_end else "; a run stops at its first loss above the threshold")
        + f"); one CPU thread each; "
        f"{time.perf_counter() - t0:.0f} s in all."
    )
    (out / "results.md").write_text(header + "\n\n" + table + "\n")
    (out / "results.json").write_text(
        json.dumps(
            {
                "settings": vars(args),
                "threshold": args.threshold,
                "records": records,
                "summary": results,
            },
            indent=1,
        )
    )
    print(header)
    print()
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
