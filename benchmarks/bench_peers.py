"""One FoMoH-KD step: this project against JAX jit, torch.func and the paper's fomoh package.

Usage::

    python benchmarks/bench_peers.py                       # all frameworks that are installed
    python benchmarks/bench_peers.py --rounds 7 --out docs/benchmarks.md
    python benchmarks/bench_peers.py --device gpu          # CuPy vs torch/JAX/fomoh on CUDA

On ``--device gpu`` the project runs on CuPy, torch and fomoh on CUDA and JAX on its GPU
backend; steps are timed in wall-clock time with the device synchronised, and the cases are
the primal forward pass (``K=0``) and FoMoH-KD K = 1..3 at batch 128 and 2048. Name the card
with every figure (the report prints it).

What is measured: one whole optimizer step — draw K Gaussian directions, evaluate f(θ), the K
directional derivatives ∇f·v_k and the K×K matrix v_iᵀ∇²f v_j, solve the K×K system, update θ —
of the paper's CNN (batch 128) and of logistic regression (batch 1024), float32.

How (the project's benchmark rules): every framework runs in its own worker process pinned to
one core, with one BLAS / intra-op thread; each step is timed in CPU time
(``time.process_time``); rounds are interleaved (each round asks every worker in turn), and
the table reports the median over rounds and the ratio to each peer measured in the same run.

The peers compute the same quantities with their own second-order forward mode:

* **JAX jit** and **torch.func**: forward-over-forward (``jvp`` of ``jvp``) vmapped over the
  K(K+1)/2 direction pairs ``(v_i, v_j)``, i ≤ j, the whole step jitted (JAX);
* **JAX jit, pairs unrolled** (``jax-unrolled``): the same with one ``jvp`` of ``jvp`` per pair
  written out inside the jitted step — on the CPU about twice as fast as the vmapped form on
  the CNN (XLA's batched convolutions are slow there), so both are reported;
* **fomoh** (the paper's code, ``../shared/peers/fomoh``, imported at run time, never copied):
  its own hyper-dual step, ``optimizer_step(hess=True)`` for K = 1 and
  ``optimizer_step_plane_Nd`` for K > 1, as its training scripts call them.

The memory measurement: peak memory (tracemalloc) of one FoMoH-2D step of the project on a
deep ReLU MLP (width 256, batch 256) at several depths; the growth per extra layer is given in
*parameter slices* (bytes of one extra layer's parameters, so the directions V alone count 2).
It is reported for the step's working memory (the peak minus the new θ it returns, which
every optimizer must allocate: 1 slice) and for the whole peak.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PEERS = REPO.parent / "shared" / "peers" / "fomoh"
FRAMEWORKS = ("project", "jax", "jax-unrolled", "torch", "fomoh")
CASES = {
    "cpu": [
        ("cnn", 128, 1),
        ("cnn", 128, 2),
        ("cnn", 128, 3),
        ("logreg", 1024, 3),
        ("logreg", 1024, 1),
    ],
    "gpu": [("cnn", N, K) for N in (128, 2048) for K in (0, 1, 2, 3)],
}
"""(model, batch, K) per device; K = 0 is the primal forward pass (the loss alone)."""
DEVICE = os.environ.get("BENCH_DEVICE", "cpu")  # set for the workers by the driver
UNROLL_PAIRS = False  # the "jax-unrolled" worker sets it: one jvp-of-jvp per pair, no vmap


def _one_thread_env(name="project", device="cpu"):
    """Environment for a worker: one thread everywhere, before any numeric import. The paper's
    package is also called ``fomoh``: its worker gets the peer's sources first on the path."""
    env = dict(os.environ)
    path = [str(PEERS / "src"), str(REPO)] if name == "fomoh" else [str(REPO)]
    env.update(
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
        BENCH_DEVICE=device,
        PYTHONPATH=os.pathsep.join(path + [env.get("PYTHONPATH", "")]),
    )
    if device == "cpu":
        env["JAX_PLATFORMS"] = "cpu"
    return env


def _synchronize(name):
    """Wait for the device's queued work (GPU timing); nothing on the CPU."""
    if DEVICE != "gpu":
        return
    if name == "project":
        import cupy

        cupy.cuda.Device().synchronize()
    elif name in ("torch", "fomoh"):
        import torch

        torch.cuda.synchronize()


# =========================================================================== workers
def _data(model, N, seed=0):
    """Random inputs of the model's shape and integer labels (the same for every framework)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    shape = (N, 1, 28, 28) if model == "cnn" else (N, 784)
    return rng.random(shape, dtype=np.float32), rng.integers(0, 10, N)


def project_case(model, N, K):
    import numpy as np

    import hyperdual
    import layers
    import optimizers

    if DEVICE == "gpu":
        hyperdual.set_backend("cupy")
    xp = hyperdual.get_backend()
    net = layers.models.build("mnist_cnn" if model == "cnn" else "logistic_regression")
    theta = net.init_params(0, dtype=np.float32)  # on the backend
    X, y = (xp.asarray(a) for a in _data(model, N))
    f = lambda t: net.loss(t, X, y)
    if K == 0:
        return lambda: f(theta)
    opt = optimizers.FoMoH(lr=0.01, seed=0) if K == 1 else optimizers.FoMoHKD(K, lr=0.01, seed=0)
    return lambda: opt.step(f, theta)


def _pairs(K):
    import numpy as np

    I, J = np.triu_indices(K)
    return I, J, np.flatnonzero(I == J)


def jax_case(model, N, K):
    import jax
    import jax.numpy as jnp
    import numpy as np

    X, y = (jnp.asarray(a) for a in _data(model, N))
    if model == "cnn":
        shapes = [(20, 1, 5, 5), (20,), (50, 20, 5, 5), (50,), (500, 800), (500,), (10, 500), (10,)]
    else:
        shapes = [(10, 784), (10,)]
    sizes = [int(np.prod(s)) for s in shapes]
    offsets = np.cumsum([0] + sizes)

    def unflatten(t):
        return [t[a:b].reshape(s) for a, b, s in zip(offsets[:-1], offsets[1:], shapes)]

    def pool(x):
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def conv(x, w, b):
        out = jax.lax.conv_general_dilated(
            x, w, (1, 1), "VALID", dimension_numbers=("NCHW", "OIHW", "NCHW")
        )
        return out + b[None, :, None, None]

    def loss(t):
        p = unflatten(t)
        if model == "cnn":
            x = pool(jax.nn.relu(conv(X, p[0], p[1])))
            x = pool(jax.nn.relu(conv(x, p[2], p[3]))).reshape(N, -1)
            x = jax.nn.relu(x @ p[4].T + p[5])
            z = x @ p[6].T + p[7]
        else:
            z = X @ p[0].T + p[1]
        logp = jax.nn.log_softmax(z)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    I, J, diag = _pairs(K)
    D = int(offsets[-1])

    @jax.jit
    def step(theta, key):
        V = jax.random.normal(key, (K, D), jnp.float32)

        def second(vi, vj):
            first = lambda t: jax.jvp(loss, (t,), (vi,))[1]
            return jax.jvp(first, (theta,), (vj,))

        if UNROLL_PAIRS:  # each pair its own jvp-of-jvp (XLA batches vmapped convs poorly)
            pairs = [second(V[i], V[j]) for i, j in zip(I, J)]
            d1, d12 = jnp.stack([p[0] for p in pairs]), jnp.stack([p[1] for p in pairs])
        else:
            d1, d12 = jax.vmap(second)(V[I], V[J])
        H = jnp.zeros((K, K), jnp.float32).at[I, J].set(d12).at[J, I].set(d12)
        kappa = jnp.linalg.solve(H, d1[diag])
        return theta - 0.01 * kappa @ V

    theta = jnp.asarray(np.random.default_rng(0).normal(size=D).astype(np.float32) * 0.05)
    key = jax.random.PRNGKey(0)
    if K == 0:
        forward = jax.jit(loss)
        return lambda: forward(theta).block_until_ready()
    return lambda: step(theta, key).block_until_ready()


def torch_case(model, N, K):
    import numpy as np
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    device = "cuda" if DEVICE == "gpu" else "cpu"
    X, y = (torch.as_tensor(a).to(device) for a in _data(model, N))
    if model == "cnn":
        shapes = [(20, 1, 5, 5), (20,), (50, 20, 5, 5), (50,), (500, 800), (500,), (10, 500), (10,)]
    else:
        shapes = [(10, 784), (10,)]
    sizes = [int(np.prod(s)) for s in shapes]
    D = sum(sizes)

    def loss(t):
        p = [piece.reshape(s) for piece, s in zip(torch.split(t, sizes), shapes)]
        if model == "cnn":
            x = F.max_pool2d(F.relu(F.conv2d(X, p[0], p[1])), 2)
            x = F.max_pool2d(F.relu(F.conv2d(x, p[2], p[3])), 2).reshape(N, -1)
            z = F.linear(F.relu(F.linear(x, p[4], p[5])), p[6], p[7])
        else:
            z = F.linear(X, p[0], p[1])
        return F.cross_entropy(z, y)

    I, J, diag = _pairs(K)
    theta = torch.as_tensor(np.random.default_rng(0).normal(size=D).astype(np.float32) * 0.05)
    theta = theta.to(device)
    gen = torch.Generator(device=device).manual_seed(0)

    def second(vi, vj):
        first = lambda t: torch.func.jvp(loss, (t,), (vi,))[1]
        return torch.func.jvp(first, (theta,), (vj,))

    def step():
        with torch.no_grad():
            V = torch.randn(K, D, generator=gen, device=device)
            d1, d12 = torch.func.vmap(second)(V[I], V[J])
            H = torch.zeros(K, K, device=device)
            H[I, J] = d12
            H[J, I] = d12
            kappa = torch.linalg.solve(H, d1[diag])
            return theta - 0.01 * kappa @ V

    if K == 0:
        return lambda: loss(theta)
    return step


def fomoh_case(model, N, K):
    import torch

    torch.set_num_threads(1)
    from fomoh.hyperdual import HyperTensor as htorch
    from fomoh.nn import CNNModel, LogisticRegressionModel, nll_loss, optimizer_step
    from fomoh.opt import optimizer_step_plane_Nd

    device = "cuda" if DEVICE == "gpu" else "cpu"
    X, y = (torch.as_tensor(a).to(device) for a in _data(model, N))
    torch.manual_seed(0)
    if model == "cnn":
        net = CNNModel(
            cnn_layers_channels=[1, 20, 50],
            cnn_filter_size=5,
            dense_layers=[800, 500, 10],
            maxpool_args=[2, 2],
            bias=True,
        )
        loss_module = lambda x, t: nll_loss(x.logsoftmax(-1), t)
    else:
        net = LogisticRegressionModel(784, 10)
        loss_module = lambda x, t: nll_loss(x, t)
    net.to(device)
    if K == 0:
        return lambda: loss_module(net(htorch(X), None), htorch(y))
    if K == 1:
        sgd = torch.optim.SGD(net.params.values(), lr=0.01)
        return lambda: optimizer_step(
            net, loss_module, sgd, 1, htorch(X), htorch(y), device=device, hess=True
        )
    return lambda: optimizer_step_plane_Nd(net, loss_module, 1, X, y, N=K, device=device, lr=0.01)


def memory_per_layer(depths=(2, 4, 8), width=256, N=256):
    """Peak bytes (tracemalloc) of one FoMoH-2D step of the project vs the MLP's depth."""
    import tracemalloc

    import numpy as np

    import layers
    import optimizers

    rng = np.random.default_rng(0)
    X = rng.random((N, 784), dtype=np.float32)
    y = rng.integers(0, 10, N)
    peaks, working = [], []
    for depth in depths:
        net = layers.models.deep_mlp(width=width, depth=depth)
        theta = net.init_params(0, dtype=np.float32)
        opt = optimizers.FoMoHKD(2, lr=0.01, seed=0)
        f = lambda t: net.loss(t, X, y)  # noqa: B023 - used in this iteration only
        opt.step(f, theta)
        tracemalloc.start()
        new_theta, _ = opt.step(f, theta)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        working.append(peaks[-1] - new_theta.nbytes)
    slice_bytes = (width * width + width) * 4
    return {
        "depths": list(depths),
        "peak_MB": [p / 1e6 for p in peaks],
        "slices_per_layer": np.polyfit(depths, peaks, 1)[0] / slice_bytes,
        "working_slices_per_layer": np.polyfit(depths, working, 1)[0] / slice_bytes,
    }


def jax_unrolled_case(model, N, K):
    """JAX with the K(K+1)/2 pairs written out inside the jitted step instead of vmapped: on
    the CPU, XLA runs the vmapped (batched) convolutions of the CNN about 2x slower."""
    global UNROLL_PAIRS
    UNROLL_PAIRS = True
    return jax_case(model, N, K)


WORKERS = {
    "project": project_case,
    "jax": jax_case,
    "jax-unrolled": jax_unrolled_case,
    "torch": torch_case,
    "fomoh": fomoh_case,
}


def worker(name):
    """Serve timing requests on stdin: ``{"case": [model, N, K], "reps": r}`` → CPU seconds."""
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    except (AttributeError, OSError):
        pass
    steps = {}
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("memory"):
            print(json.dumps(memory_per_layer()), flush=True)
            continue
        case = tuple(request["case"])
        try:
            if case not in steps:
                steps[case] = WORKERS[name](*case)
                for _ in range(2):  # compile / warm up
                    steps[case]()
                _synchronize(name)
            clock = time.perf_counter if DEVICE == "gpu" else time.process_time
            times = []
            for _ in range(request["reps"]):
                t0 = clock()
                steps[case]()
                _synchronize(name)
                times.append(clock() - t0)
            print(json.dumps({"times": times}), flush=True)
        except Exception as exc:  # report, go on
            print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)


# =========================================================================== driver
def available(name, device="cpu"):
    """Whether the framework imports here (and, on ``gpu``, sees a GPU)."""
    code = {
        "project": "import hyperdual",
        "jax": "import jax",
        "jax-unrolled": "import jax",
        "torch": "import torch",
        "fomoh": "import torch, fomoh.nn",
    }[name]
    if device == "gpu":
        code += {
            "project": "; hyperdual.set_backend('cupy')",
            "jax": "; assert jax.default_backend() == 'gpu'",
            "jax-unrolled": "; assert jax.default_backend() == 'gpu'",
            "torch": "; assert torch.cuda.is_available()",
            "fomoh": "; assert torch.cuda.is_available()",
        }[name]
    return (
        subprocess.run(
            [sys.executable, "-P", "-c", code],
            env=_one_thread_env(name, device),
            capture_output=True,
        ).returncode
        == 0
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--reps", type=int, default=3, help="steps timed per round (default 3)")
    ap.add_argument(
        "--frameworks",
        default=",".join(FRAMEWORKS),
        help="comma-separated subset of project,jax,torch,fomoh",
    )
    ap.add_argument(
        "--device",
        choices=("cpu", "gpu"),
        default="cpu",
        help="cpu: one core, CPU time (default); gpu: CUDA/CuPy, wall-clock time",
    )
    ap.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    ap.add_argument("--out", type=Path, help="also write the results as Markdown here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args.worker)

    names = [n for n in args.frameworks.split(",") if n]
    cases = CASES[args.device]
    missing = [n for n in names if not available(n, args.device)]
    names = [n for n in names if n not in missing]
    procs = {
        n: subprocess.Popen(
            [sys.executable, "-P", __file__, "--worker", n],
            env=_one_thread_env(n, args.device),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in names
    }

    def ask(name, request):
        proc = procs[name]
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline())

    times = {(n, c): [] for n in names for c in cases}
    errors = {}
    for r in range(args.rounds):
        for case in cases:
            for name in names:
                answer = ask(name, {"case": case, "reps": args.reps})
                if "error" in answer:
                    errors[(name, case)] = answer["error"]
                else:
                    times[(name, case)].extend(answer["times"])
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    memory = None if args.no_memory or args.device == "gpu" else ask("project", {"memory": True})
    for proc in procs.values():
        proc.stdin.close()
        proc.wait()

    import numpy as np

    median = {k: float(np.median(v)) * 1e3 for k, v in times.items() if v}
    peers = [n for n in names if n != "project"]
    header = (
        "| case | "
        + " | ".join(f"{n} ms" for n in names)
        + " | "
        + " | ".join(f"project ÷ {p}" for p in peers)
        + " |"
    )
    lines = [header, "|" + "---|" * (1 + len(names) + len(peers))]
    for case in cases:
        model, N, K = case
        cells = [f"{median[(n, case)]:.1f}" if (n, case) in median else "error" for n in names]
        ratios = [
            f"{median[('project', case)] / median[(p, case)]:.2f}"
            if ("project", case) in median and (p, case) in median
            else "–"
            for p in peers
        ]
        what = "forward" if K == 0 else f"K={K}"
        lines.append(f"| {model} b{N} {what} | " + " | ".join(cells + ratios) + " |")
    table = "\n".join(lines)
    if args.device == "gpu":
        card = (
            subprocess.run(
                ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                capture_output=True,
                text=True,
            ).stdout.strip()
            or "unknown GPU"
        )
        info = (
            f"Device: {card}; {args.rounds} rounds × {args.reps} steps, median wall-clock "
            "time per step with the device synchronised, float32."
        )
    else:
        info = (
            f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} "
            f"cores (one used per framework), Python {platform.python_version()}; "
            f"{args.rounds} rounds × {args.reps} steps, median CPU time per step, float32."
        )
    report = [table, "", info]
    if missing:
        report.append(f"Not installed here (skipped): {', '.join(missing)}.")
    for (name, case), message in errors.items():
        report.append(f"Error in {name} {case}: {message}")
    if memory:
        report.append(
            f"\nFoMoH-2D step, deep MLP width 256, batch 256, depths {memory['depths']}: "
            f"peak {', '.join(f'{m:.1f}' for m in memory['peak_MB'])} MB; "
            "growth per extra layer: working memory "
            f"{memory['working_slices_per_layer']:.2f} parameter slices "
            f"(whole peak, with the returned θ: {memory['slices_per_layer']:.2f})."
        )
    text = "\n".join(report)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        command = "python benchmarks/bench_peers.py " + " ".join(a for a in (argv or sys.argv[1:]))
        args.out.write_text(
            f"# Peer benchmark\n\nCommand: `{command.strip()}` "
            f"({time.strftime('%Y-%m-%d')})\n\n{text}\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
