"""FoMoH-KD steps of the FoMoH paper's own PyTorch code on given MNIST batches (a worker).

Run by :mod:`paper_experiments.blowup`, never imported: the paper's package is also called
``fomoh``, so this script runs in its own interpreter with ``python -P`` and
``PYTHONPATH=<peers>/fomoh/src`` and imports only the paper's code, PyTorch and NumPy.

For each seed it does what the paper's ``scripts/train.py --model cnn --method FoMoH3d`` does
for the first ``steps`` minibatches: ``hamiltorch.set_random_seed(seed)`` (here: the same
three seeds it sets: ``random``, ``numpy``, ``torch``), the CNN built as in
``scripts/train_functions.cnn_mnist`` (a PyTorch module initialised by PyTorch, its weights
copied into the hyper-dual ``CNNModel``), then ``optimizer_step_plane_Nd(model, loss, 1,
inputs, labels, N=K, lr=lr)`` per batch. The batches come from the caller (``--data``: an
``.npz`` with the standardised training images ``X`` (N, 1, 28, 28), labels ``y`` and, per
seed, the batch order ``order_<seed>``), so both implementations see the same minibatches.

The K×K matrix ``H̃`` each step inverts is recorded by wrapping ``fomoh.opt.invert_matrix``
(its eigenvalues: how often it is indefinite); nothing in the paper's code is changed.

Writes a JSON list, one record per seed: ``losses`` (the minibatch loss before each step, as
the paper's code returns it), ``eigenvalues`` (of each step's symmetrised H̃), ``seconds``
(CPU time).

NumPy, PyTorch and the paper's package are imported inside the functions: ``main`` first
checks that the paper's package is on the path and says how to put it there.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time


def _torch_cnn():
    """The PyTorch twin of the paper's CNN (``scripts/train_functions.CNN``), for its init."""
    import torch

    class CNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.CW1 = torch.nn.Conv2d(1, 20, 5)
            self.CW2 = torch.nn.Conv2d(20, 50, 5)
            self.fc1 = torch.nn.Linear(4 * 4 * 50, 500)
            self.fc2 = torch.nn.Linear(500, 10)

    return CNN()


def run_seed(seed, X, y, order, steps, batch, lr, K, stop_above=None):
    import fomoh.opt as paper_opt
    import numpy as np
    import torch
    from fomoh.hyperdual import HyperTensor as htorch
    from fomoh.nn import CNNModel, nll_loss

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    model = CNNModel(
        cnn_layers_channels=[1, 20, 50],
        cnn_filter_size=5,
        dense_layers=[4 * 4 * 50, 500, 10],
        maxpool_args=[2, 2],
        bias=True,
    )
    model.nn_module_to_htorch_model(_torch_cnn(), verbose=False)

    def loss_module(x, t):
        return nll_loss(x.logsoftmax(-1), t)

    eigenvalues = []
    original = paper_opt.invert_matrix

    def recording_invert(matrix, *args, **kwargs):
        sym = 0.5 * (matrix + matrix.T)
        eigenvalues.append([float(e) for e in torch.linalg.eigvalsh(sym.double())])
        return original(matrix, *args, **kwargs)

    paper_opt.invert_matrix = recording_invert
    losses, t0 = [], time.process_time()
    try:
        for step in range(steps):
            idx = order[step * batch : (step + 1) * batch]
            inputs = torch.from_numpy(X[idx])
            labels = torch.from_numpy(y[idx].astype(np.int64))
            loss, _ = paper_opt.optimizer_step_plane_Nd(
                model, loss_module, 1, inputs, labels, N=K, device="cpu", lr=lr
            )
            value = float(loss.real) if hasattr(loss, "real") else float(loss)
            losses.append(value)
            print(
                f"[paper code] seed {seed} step {step + 1}: loss {value:.4f}",
                file=sys.stderr,
                flush=True,
            )
            if not math.isfinite(value) or (stop_above is not None and value > stop_above):
                break
    finally:
        paper_opt.invert_matrix = original
    # the loss after the last step, on the next batch (the same one the project is scored on)
    idx = order[steps * batch : (steps + 1) * batch]
    with torch.no_grad():
        pred = model(htorch(torch.from_numpy(X[idx])), None)
        final = float(loss_module(pred, htorch(torch.from_numpy(y[idx].astype(np.int64)))).real)
    return {
        "seed": seed,
        "losses": losses,
        "final_loss": final,
        "eigenvalues": eigenvalues,
        "seconds": time.process_time() - t0,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--K", type=int, default=3)
    parser.add_argument(
        "--stop-above",
        type=float,
        default=None,
        help="stop a seed's run after its first loss above this",
    )
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    torch.set_num_threads(1)
    try:
        import fomoh.opt  # noqa: F401 - the paper's package (the project has no fomoh.opt)
    except ImportError as exc:
        raise SystemExit(
            "this worker needs the paper's fomoh package first on the path "
            f"(PYTHONPATH=<peers>/fomoh/src and python -P): {exc}"
        ) from exc
    data = np.load(args.data)
    X, y = data["X"], data["y"]
    records = [
        run_seed(
            s, X, y, data[f"order_{s}"], args.steps, args.batch, args.lr, args.K, args.stop_above
        )
        for s in args.seeds
    ]
    with open(args.out, "w") as fh:
        json.dump(records, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
