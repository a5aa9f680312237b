"""PyTorch adapter for the fomoh oracle: answer a case with ``torch.func``, write results.

This file needs only NumPy and PyTorch (not this library; it is shipped inside the package,
``hyperlab.oracle.adapters``, and can be copied out as one file): it is a worked example of how
an engineer plugs *another* AD backend into the exchange format of ``docs/oracle-format.md``.
It builds the case's network from the model description with ``torch.nn.functional``,
cutting the flat parameter vector θ by the ``parameters`` table (C order, weight then bias,
Dense weights (out, in), Conv2d weights (C_out, C_in, kh, kw), images NCHW), and computes

* ``loss``, ``grad``          — ``torch.func.grad_and_value`` (reverse mode);
* ``dir_d1/d2/d12``           — jvp over jvp: ``d12 = ∂/∂t2 ∂/∂t1 f(θ + t1 v1 + t2 v2)``;
* ``kd_g``, ``kd_H``          — jvp over jvp for every FoMoH-KD pair ``(V[i], V[j])``, i ≤ j;
* ``hvp``                     — forward-over-reverse: ``jvp(grad(f), (θ,), (v,))``;
* ``hessian``                 — ``jacrev(grad(f))`` (reverse over reverse; faster here than
  ``torch.func.hessian``'s forward-over-reverse for small models).

Usage::

    python -m hyperlab.oracle.adapters.oracle_torch CASE_DIR [-o OUT_DIR] [--dtype float32|float64]
    fomoh oracle compare CASE_DIR OUT_DIR        # default OUT_DIR: CASE_DIR/torch-<dtype>

The reader here is deliberately short (the checks of the format live in ``fomoh oracle
validate``/``compare``): it loads arrays with ``allow_pickle=False`` and checks the format
name and version, the sizes it relies on and the parameter count.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import grad, grad_and_value, jacrev, jvp

CASE_ARRAYS = ("theta", "x", "y", "v1", "v2", "V", "hvp_v")


def load_case(case_dir):
    """``(meta, arrays)`` of a case directory: ``case.json`` and ``case.npz``."""
    case_dir = Path(case_dir)
    meta = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
    if meta.get("format") != "fomoh-oracle-case" or meta.get("version") != 1:
        raise ValueError(f"{case_dir / 'case.json'}: not a version 1 fomoh oracle case")
    with np.load(case_dir / "case.npz", allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files if k in CASE_ARRAYS}
    D = meta["num_parameters"]
    if sum(p["size"] for p in meta["parameters"]) != D or arrays["theta"].shape != (D,):
        raise ValueError(f"{case_dir}: parameter count does not match the description")
    return meta, arrays


def param_view(theta, entry):
    """The tensor ``entry`` (a row of ``parameters``) as a view of the flat θ (C order)."""
    return theta[entry["offset"] : entry["offset"] + entry["size"]].reshape(entry["shape"])


def make_loss(meta, x, y, view=param_view):
    """``f(θ)``: mean cross-entropy of the case's network on the batch ``(x, y)``.

    ``view(theta, entry)`` cuts one parameter tensor out of θ (replaceable, e.g. to test
    that a wrong layout is caught).
    """
    params = {p["name"]: p for p in meta["parameters"]}
    specs = meta["model"]["layers"]

    def f(theta):
        h = x
        for spec in specs:
            kind, name = spec["type"], spec["name"]
            if kind == "Dense":
                h = F.linear(
                    h, view(theta, params[name + ".weight"]), view(theta, params[name + ".bias"])
                )
            elif kind == "Conv2d":
                h = F.conv2d(
                    h,
                    view(theta, params[name + ".weight"]),
                    view(theta, params[name + ".bias"]),
                    stride=spec["stride"],
                    padding=spec["padding"],
                )
            elif kind == "MaxPool2d":
                h = F.max_pool2d(h, spec["kernel_size"], spec["stride"], spec["padding"])
            elif kind == "AvgPool2d":
                h = F.avg_pool2d(
                    h, spec["kernel_size"], spec["stride"], spec["padding"], count_include_pad=True
                )
            elif kind == "Flatten":
                h = h.flatten(1)
            elif kind == "ReLU":
                h = torch.relu(h)
            elif kind == "Sigmoid":
                h = torch.sigmoid(h)
            elif kind == "Tanh":
                h = torch.tanh(h)
            else:
                raise ValueError(f"layer type {kind!r} is not supported by this adapter")
        return F.cross_entropy(h, y)  # mean over the batch

    return f


def compute_results(meta, arrays, dtype="float64", view=param_view):
    """Every quantity the case asks for, as NumPy arrays of ``dtype``."""
    dt = {"float32": torch.float32, "float64": torch.float64}[dtype]

    def tensor(name):
        return torch.as_tensor(np.asarray(arrays[name]), dtype=dt)

    theta = tensor("theta")
    x = tensor("x").reshape(meta["batch_size"], *meta["model"]["input_shape"])
    y = torch.as_tensor(arrays["y"].astype(np.int64))
    f = make_loss(meta, x, y, view)

    def d12(v1, v2):
        """v1ᵀ ∇²f v2 by forward over forward: the jvp along v2 of the jvp along v1."""
        return jvp(lambda t: jvp(f, (t,), (v1,))[1], (theta,), (v2,))[1]

    def hvp(v):
        return jvp(grad(f), (theta,), (v,))[1]

    quantities, out = meta["quantities"], {}
    g, value = grad_and_value(f)(theta)
    out["loss"], out["grad"] = value, g
    if "directional" in quantities:
        v1s, v2s = tensor("v1"), tensor("v2")
        out["dir_d1"] = torch.stack([jvp(f, (theta,), (v,))[1] for v in v1s])
        out["dir_d2"] = torch.stack([jvp(f, (theta,), (v,))[1] for v in v2s])
        out["dir_d12"] = torch.stack([d12(a, b) for a, b in zip(v1s, v2s)])
    if "projected_hessian" in quantities:
        V = tensor("V")
        K = V.shape[0]
        out["kd_g"] = torch.stack([jvp(f, (theta,), (v,))[1] for v in V])
        H = torch.zeros(K, K, dtype=dt)
        for i in range(K):
            for j in range(i, K):
                H[i, j] = H[j, i] = d12(V[i], V[j])
        out["kd_H"] = H
    if "hvp" in quantities:
        out["hvp"] = torch.stack([hvp(v) for v in tensor("hvp_v")])
    if "hessian" in quantities:
        out["hessian"] = jacrev(grad(f))(theta)
    return {k: v.detach().numpy().astype(dtype) for k, v in out.items()}


def write_results(out_dir, meta, results, dtype, backend):
    """``results.json`` + ``results.npz`` in ``out_dir``, naming the case by its SHA-256."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez(out_dir / "results.npz", **results)
    digest = hashlib.sha256((out_dir / "results.npz").read_bytes()).hexdigest()
    doc = {
        "format": "fomoh-oracle-results",
        "version": 1,
        "backend": backend,
        "dtype": dtype,
        "case_sha256": meta["arrays_sha256"],
        "quantities": sorted(results),
        "arrays_sha256": digest,
    }
    (out_dir / "results.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return out_dir


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("case_dir", type=Path)
    parser.add_argument("-o", "--out", type=Path, default=None)
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    args = parser.parse_args(argv)
    meta, arrays = load_case(args.case_dir)
    results = compute_results(meta, arrays, args.dtype)
    out = write_results(
        args.out or args.case_dir / f"torch-{args.dtype}",
        meta,
        results,
        args.dtype,
        f"torch {torch.__version__} (torch.func)",
    )
    sizes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in results.items())
    print(f"wrote {out}: {sizes} (D = {math.prod(arrays['theta'].shape)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
