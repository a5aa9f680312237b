"""JAX adapter for the fomoh oracle: answer a case with nested ``jax.jvp``, write results.

Like ``oracle_torch.py`` this needs only NumPy and JAX (not this library). It builds the
case's network from the model description with ``jax.lax`` (NCHW images, Conv2d weights
``OIHW`` = (C_out, C_in, kh, kw), Dense ``y = x Wᵀ + b`` with W (out, in)), cutting the flat θ
by the ``parameters`` table (C order), and computes

* ``loss``, ``grad``          — ``jax.value_and_grad``;
* ``dir_d1/d2/d12``           — nested ``jax.jvp``: the jvp along v2 of the jvp along v1,
  ``jax.vmap``-ed over the pairs;
* ``kd_g``, ``kd_H``          — the same nested jvp over every FoMoH-KD pair ``(V[i], V[j])``;
* ``hvp``                     — ``jax.jvp`` of ``jax.grad`` (forward-over-reverse);
* ``hessian``                 — ``jax.hessian`` (``jacfwd(jacrev)``).

The computation runs on the CPU even where JAX sees a GPU (see :func:`compute_results`).

Usage::

    python -m hyperlab.oracle.adapters.oracle_jax CASE_DIR [-o OUT_DIR] [--dtype float32|float64]
    fomoh oracle compare CASE_DIR OUT_DIR        # default OUT_DIR: CASE_DIR/jax-<dtype>
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)  # before any array is made: float64 is available

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

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
    """The tensor ``entry`` (a row of ``parameters``) cut from the flat θ (C order)."""
    return theta[entry["offset"] : entry["offset"] + entry["size"]].reshape(entry["shape"])


def _pool(h, spec, init, op):
    k, s, p = spec["kernel_size"], spec["stride"], spec["padding"]
    return lax.reduce_window(
        h, init, op, (1, 1, k, k), (1, 1, s, s), ((0, 0), (0, 0), (p, p), (p, p))
    )


def make_loss(meta, x, y, view=param_view):
    """``f(θ)``: mean cross-entropy of the case's network on the batch ``(x, y)``."""
    params = {p["name"]: p for p in meta["parameters"]}
    specs = meta["model"]["layers"]

    def f(theta):
        h = x
        for spec in specs:
            kind, name = spec["type"], spec["name"]
            if kind == "Dense":
                W, b = view(theta, params[name + ".weight"]), view(theta, params[name + ".bias"])
                h = h @ W.T + b
            elif kind == "Conv2d":
                p = spec["padding"]
                h = lax.conv_general_dilated(
                    h,
                    view(theta, params[name + ".weight"]),
                    (spec["stride"],) * 2,
                    ((p, p), (p, p)),
                    dimension_numbers=("NCHW", "OIHW", "NCHW"),
                )
                h = h + view(theta, params[name + ".bias"])[None, :, None, None]
            elif kind == "MaxPool2d":
                h = _pool(h, spec, -jnp.inf, lax.max)
            elif kind == "AvgPool2d":  # zero padding counted in the mean
                h = _pool(h, spec, 0.0, lax.add) / spec["kernel_size"] ** 2
            elif kind == "Flatten":
                h = h.reshape(h.shape[0], -1)
            elif kind == "ReLU":
                h = jax.nn.relu(h)
            elif kind == "Sigmoid":
                h = jax.nn.sigmoid(h)
            elif kind == "Tanh":
                h = jnp.tanh(h)
            else:
                raise ValueError(f"layer type {kind!r} is not supported by this adapter")
        log_p = jax.nn.log_softmax(h, axis=-1)
        return -jnp.mean(jnp.take_along_axis(log_p, y[:, None], axis=1))

    return f


def compute_results(meta, arrays, dtype="float64", view=param_view):
    """Every quantity the case asks for, as NumPy arrays of ``dtype``, computed on the CPU.

    On the CPU whatever devices JAX sees, as the PyTorch adapter: on a GPU, XLA takes the
    second derivatives of max-pooling in reduced precision (JAX warns "Using reduced precision
    for gradient of reduce-window min/max operator"), and JAX's default precision lets float32
    matrix products and convolutions use TF32 there; both are far outside an oracle's
    tolerances (seen on an H200: relative errors 1e-7 in float64, 4e-4 in float32).
    """
    with jax.default_device(jax.devices("cpu")[0]):
        return _compute_results(meta, arrays, dtype, view)


def _compute_results(meta, arrays, dtype, view):
    def array(name):
        return jnp.asarray(np.asarray(arrays[name], dtype=dtype))

    theta = array("theta")
    x = array("x").reshape(meta["batch_size"], *meta["model"]["input_shape"])
    y = jnp.asarray(arrays["y"].astype(np.int32))
    f = make_loss(meta, x, y, view)

    def d1(v):
        return jax.jvp(f, (theta,), (v,))[1]

    def d12(v1, v2):
        """v1ᵀ ∇²f v2: the jvp along v2 of the jvp along v1."""
        return jax.jvp(lambda t: jax.jvp(f, (t,), (v1,))[1], (theta,), (v2,))[1]

    quantities = meta["quantities"]
    i, j = np.triu_indices(arrays["V"].shape[0] if "projected_hessian" in quantities else 0)

    @jax.jit  # one compilation for everything the case asks for
    def everything(directions):
        out = {}
        out["loss"], out["grad"] = jax.value_and_grad(f)(theta)
        if "directional" in quantities:
            v1s, v2s = directions["v1"], directions["v2"]
            out["dir_d1"], out["dir_d2"] = jax.vmap(d1)(v1s), jax.vmap(d1)(v2s)
            out["dir_d12"] = jax.vmap(d12)(v1s, v2s)
        if "projected_hessian" in quantities:
            V = directions["V"]
            upper = jax.vmap(d12)(V[i], V[j])  # the K(K+1)/2 pairs i ≤ j
            out["kd_g"] = jax.vmap(d1)(V)
            out["kd_H"] = (
                jnp.zeros((V.shape[0],) * 2, V.dtype).at[i, j].set(upper).at[j, i].set(upper)
            )
        if "hvp" in quantities:
            out["hvp"] = jax.vmap(lambda v: jax.jvp(jax.grad(f), (theta,), (v,))[1])(
                directions["hvp_v"]
            )
        if "hessian" in quantities:
            out["hessian"] = jax.hessian(f)(theta)
        return out

    out = everything({k: array(k) for k in ("v1", "v2", "V", "hvp_v") if k in arrays})
    return {k: np.asarray(v).astype(dtype) for k, v in out.items()}


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
        args.out or args.case_dir / f"jax-{args.dtype}",
        meta,
        results,
        args.dtype,
        f"jax {jax.__version__} (nested jax.jvp)",
    )
    print(f"wrote {out}: " + ", ".join(f"{k} {tuple(v.shape)}" for k, v in results.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
