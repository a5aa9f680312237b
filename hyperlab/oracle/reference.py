"""Reference results for a case: hyper-dual numbers, cross-checked on the spot by the
bicomplex step.

``compute_reference(case)`` builds the case's model with ``layers`` and evaluates the mean
cross-entropy ``f(θ)`` of the case's batch. Every quantity comes from hyper-dual evaluations
(``hyperdual.directional``: the ε-parts carry a chunk of direction pairs over one shared
primal pass):

=====================  ===========================================  ==========================
result                 hyper-dual pairs ``(v1, v2)``                 read off
=====================  ===========================================  ==========================
``loss``, ``grad``     ``(e_i, e_i)``, i = 1..D                      real, eps1
``dir_d1/d2/d12``      the case's ``(v1[p], v2[p])``                 eps1, eps2, eps12
``kd_g``, ``kd_H``     ``(V[i], V[j])``, i ≤ j (FoMoH-KD)            eps1 (i = j), eps12
``hvp``                ``(hvp_v[m], e_i)``, i = 1..D                 eps12
``hessian``            ``(e_i, e_j)``, i ≤ j                         eps12
=====================  ===========================================  ==========================

This *forward* method costs D pairs for the gradient and for each HVP, and D(D+1)/2 for the
Hessian. Above ``FORWARD_MAX_PARAMETERS`` (or with ``method="reverse"``) the gradient and the
HVPs come instead from back-propagation run on hyper-dual ``θ + v e1`` (``model.hvp``:
forward-over-reverse; the real part of that gradient is ∇f, its e1 part ``H v``). ONNX models
(``layers.onnx``) have no back-propagation: they always use the forward method, and the
checks against back-propagation are left out (the bicomplex checks remain).

Cross-checks, written into ``results.json`` under ``cross_check``:

* **bicomplex step** (``hyperdual.oracles.bicomplex_directional``: separate closed forms, no
  rule table, no ``HyperDual``): every direction pair and every FoMoH-KD pair exactly, and
  ``probes`` random projections ``uᵀ grad``, ``uᵀ (H v)`` and ``uᵀ H w`` of the big arrays;
* **consistency** between quantities computed separately: ``V·grad`` against ``kd_g``,
  ``hessian @ v`` against ``hvp``, ``V H Vᵀ`` against ``kd_H``, and (forward method, small D)
  forward mode against forward-over-reverse for ``grad`` and ``hvp``.

Each check is ``hyperdual.testing.relative_error`` against ``tolerance(float64, "exact")``.
"""

from __future__ import annotations

import time

import numpy as np

import hyperdual as hd
from hyperdual.oracles import BICOMPLEX_STEP, bicomplex_directional
from hyperdual.testing import relative_error, tolerance

from .format import RESULT_ARRAYS, Case, Results, read_case, write_results

__all__ = ["compute_reference", "FORWARD_MAX_PARAMETERS", "REFERENCE_BACKEND", "CrossCheckError"]

FORWARD_MAX_PARAMETERS = 20_000
"""``method="auto"`` uses pure forward mode up to this many parameters, forward-over-reverse
above (where D passes per gradient would take too long)."""

REFERENCE_BACKEND = "fomoh-hyperdual reference (hyper-dual numbers, float64)"


class CrossCheckError(AssertionError):
    """The hyper-dual results disagree with the bicomplex step or with each other."""


def _basis_rows(D, sl, dtype=np.float64):
    """Rows ``e_i`` for ``i`` in the slice ``sl``: shape (len, D), built per chunk."""
    idx = np.arange(sl.start, sl.stop)
    rows = np.zeros((idx.size, D), dtype=dtype)
    rows[np.arange(idx.size), idx] = 1.0
    return rows


def _chunks(n, size):
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def _forward_gradient(f, theta, chunk):
    D = theta.shape[0]
    value, parts = None, []
    for sl in _chunks(D, chunk):
        value, d1, _, _ = hd.directional(f, theta, _basis_rows(D, sl), chunk_size=chunk)
        parts.append(d1)
    return np.asarray(value, dtype=np.float64), np.concatenate(parts)


def _forward_hvp(f, theta, v, chunk):
    D = theta.shape[0]
    return np.concatenate(
        [
            hd.directional(f, theta, v, _basis_rows(D, sl), chunk_size=chunk)[3]
            for sl in _chunks(D, chunk)
        ]
    )


def _forward_hessian(f, theta, chunk):
    """Full Hessian from the D(D+1)/2 pairs (e_i, e_j), i ≤ j, chunk by chunk (bounded memory)."""
    D = theta.shape[0]
    i, j = np.triu_indices(D)
    H = np.zeros((D, D))
    for sl in _chunks(i.size, chunk):
        n = sl.stop - sl.start
        v1 = np.zeros((n, D))
        v2 = np.zeros((n, D))
        v1[np.arange(n), i[sl]] = 1.0
        v2[np.arange(n), j[sl]] = 1.0
        d12 = hd.directional(f, theta, v1, v2, chunk_size=chunk)[3]
        H[i[sl], j[sl]] = d12
        H[j[sl], i[sl]] = d12
    return H


def _check(name, method, checked, actual, desired, evaluations=None):
    """One cross-check entry: relative error of ``actual`` against ``desired``."""
    actual = np.asarray(actual, dtype=np.float64)
    desired = np.asarray(desired, dtype=np.float64)
    rtol = tolerance(np.float64, "exact")
    rel = relative_error(actual, desired)
    entry = {
        "quantity": name,
        "against": method,
        "checked": checked,
        "max_abs_error": float(np.max(np.abs(actual - desired), initial=0.0)),
        "rel_error": rel,
        "tolerance": rtol,
        "agree": bool(rel <= rtol and np.all(np.isfinite(actual))),
    }
    if evaluations is not None:
        entry["evaluations"] = int(evaluations)
    return entry


def compute_reference(
    case, out_dir=None, *, method="auto", probes=3, chunk_size=128, check=True, seed=0, log=None
):
    """Reference results for a case, cross-checked against the bicomplex step.

    Parameters
    ----------
    case : Case or path-like
        A case (or its directory, read with ``read_case``).
    out_dir : path-like, optional
        Write ``results.json`` + ``results.npz`` there (e.g. ``case_dir/reference``).
    method : {"auto", "forward", "reverse"}
        How ``grad`` and ``hvp`` are computed (see the module docstring); the Hessian, the
        direction pairs and FoMoH-KD always use forward mode.
    probes : int
        Random projections per big array checked with the bicomplex step.
    chunk_size : int
        Hyper-dual direction pairs per evaluation of the model.
    check : bool
        Raise ``CrossCheckError`` (after writing the results) if a cross-check disagrees.
    seed : int
        Seed of the random probe directions.
    log : callable, optional
        Called with progress messages (e.g. ``print``).

    Returns
    -------
    results : format.Results
        ``arrays`` (float64), ``meta`` with ``cross_check`` (one entry per check, each with
        ``rel_error``, ``tolerance`` and ``agree``).
    """
    case = case if isinstance(case, Case) else read_case(case)
    log = log or (lambda message: None)
    model = case.build_model()
    a = case.arrays
    theta = a["theta"].astype(np.float64)
    x, y = a["x"].astype(np.float64), a["y"]
    D = theta.shape[0]
    backprop = hasattr(model, "value_and_grad")  # ONNX models: forward mode only
    if method == "auto":
        method = "forward" if D <= FORWARD_MAX_PARAMETERS or not backprop else "reverse"
    if method not in ("forward", "reverse"):
        raise ValueError(f"method must be 'auto', 'forward' or 'reverse', got {method!r}")
    if method == "reverse" and not backprop:
        raise ValueError(
            "method 'reverse' needs back-propagation, which ONNX models do not "
            "have; use 'forward' or 'auto'"
        )

    def f(t):
        return model.loss(t, x, y)

    quantities = case.quantities
    out, timings = {}, {}
    rng = np.random.default_rng(seed)
    start = time.perf_counter()

    # ---------------------------------------------------------------- hyper-dual results
    if method == "forward":
        out["loss"], grad = _forward_gradient(f, theta, chunk_size)
    else:
        value, g = model.value_and_grad(hd.HyperDual(theta, np.zeros(D)), x, y)
        out["loss"], grad = np.asarray(value.real, np.float64), np.asarray(g.real, np.float64)
    out["grad"] = grad
    timings["loss+grad"] = time.perf_counter() - start
    log(f"loss and gradient ({method} mode, D = {D}): {timings['loss+grad']:.2f} s")
    if "directional" in quantities:
        t0 = time.perf_counter()
        _, d1, d2, d12 = hd.directional(f, theta, a["v1"], a["v2"], chunk_size=chunk_size)
        out["dir_d1"], out["dir_d2"], out["dir_d12"] = d1, d2, d12
        timings["directional"] = time.perf_counter() - t0
    if "projected_hessian" in quantities:
        t0 = time.perf_counter()
        _, out["kd_g"], out["kd_H"] = hd.projected_hessian(f, theta, a["V"], chunk_size=chunk_size)
        timings["projected_hessian"] = time.perf_counter() - t0
    if "hvp" in quantities:
        t0 = time.perf_counter()
        if method == "forward":
            out["hvp"] = np.stack([_forward_hvp(f, theta, v, chunk_size) for v in a["hvp_v"]])
        else:
            out["hvp"] = np.stack([model.hvp(theta, x, y, v) for v in a["hvp_v"]])
        timings["hvp"] = time.perf_counter() - t0
        log(f"{len(a['hvp_v'])} Hessian-vector products: {timings['hvp']:.2f} s")
    if "hessian" in quantities:
        t0 = time.perf_counter()
        out["hessian"] = _forward_hessian(f, theta, chunk_size)
        timings["hessian"] = time.perf_counter() - t0
        log(f"full Hessian ({D * (D + 1) // 2} pairs): {timings['hessian']:.2f} s")
    wanted = {name for q in quantities for name in RESULT_ARRAYS[q]}
    out = {k: np.asarray(v, dtype=np.float64) for k, v in out.items() if k in wanted}

    # ---------------------------------------------------------------- cross-checks
    t0 = time.perf_counter()
    checks = []

    def bc(v1, v2):
        """Bicomplex step for rows of v1, v2: (value, d1, d12), each (P,)."""
        value, b1, b12 = bicomplex_directional(f, theta, np.atleast_2d(v1), np.atleast_2d(v2))
        return np.asarray(value), np.asarray(b1), np.asarray(b12)

    U = rng.standard_normal((max(probes, 1), D))
    W = rng.standard_normal((max(probes, 1), D))
    value_bc, gU, UHW = bc(U, W)
    loss_and_grad = "loss" in quantities or "grad" in quantities
    if loss_and_grad:
        checks.append(_check("loss", "bicomplex step", "f(θ)", out["loss"], value_bc[0]))
        checks.append(
            _check(
                "grad", "bicomplex step", f"{len(U)} random projections uᵀ∇f", U @ grad, gU, len(U)
            )
        )
    if "directional" in quantities:
        _, b1, b12 = bc(a["v1"], a["v2"])
        _, b2, _ = bc(a["v2"], a["v1"])
        P = len(b1)
        checks.append(_check("dir_d1", "bicomplex step", f"all {P} pairs", out["dir_d1"], b1, P))
        checks.append(_check("dir_d2", "bicomplex step", f"all {P} pairs", out["dir_d2"], b2, P))
        checks.append(_check("dir_d12", "bicomplex step", f"all {P} pairs", out["dir_d12"], b12, P))
    if "projected_hessian" in quantities:
        V = a["V"]
        i, j = np.triu_indices(len(V))
        _, b1, b12 = bc(V[i], V[j])
        H = np.zeros((len(V), len(V)))
        H[i, j] = b12
        H[j, i] = b12
        checks.append(
            _check(
                "kd_g",
                "bicomplex step",
                f"all {len(V)} directions",
                out["kd_g"],
                b1[i == j],
                len(i),
            )
        )
        checks.append(_check("kd_H", "bicomplex step", f"all {len(i)} pairs i ≤ j", out["kd_H"], H))
        checks.append(_check("kd_g", "consistency", "V @ grad", V @ grad, out["kd_g"]))
        if "hessian" in quantities:
            checks.append(
                _check(
                    "kd_H", "consistency", "V @ hessian @ Vᵀ", V @ out["hessian"] @ V.T, out["kd_H"]
                )
            )
    if "hvp" in quantities:
        hv = out["hvp"]
        M = len(hv)
        Ur = np.repeat(U, M, axis=0)
        Vr = np.tile(a["hvp_v"], (len(U), 1))
        _, _, b12 = bc(Ur, Vr)
        checks.append(
            _check(
                "hvp",
                "bicomplex step",
                f"{len(U)} random projections uᵀ(Hv) of each of the {M} products",
                np.einsum("pd,pd->p", Ur, np.tile(hv, (len(U), 1))),
                b12,
                len(b12),
            )
        )
        if method == "forward" and D <= FORWARD_MAX_PARAMETERS and backprop:
            hv_bp = np.stack([model.hvp(theta, x, y, v) for v in a["hvp_v"]])
            checks.append(
                _check(
                    "hvp",
                    "forward-over-reverse",
                    "back-propagation on hyper-dual θ + v e1",
                    hv,
                    hv_bp,
                )
            )
        if "hessian" in quantities:
            checks.append(
                _check("hvp", "consistency", "hessian @ v", a["hvp_v"] @ out["hessian"], hv)
            )
    if loss_and_grad and method == "forward" and backprop:
        _, g_bp = model.value_and_grad(theta, x, y)
        checks.append(_check("grad", "back-propagation", "layers' value_and_grad", grad, g_bp))
    if "hessian" in quantities:
        checks.append(
            _check(
                "hessian",
                "bicomplex step",
                f"{len(U)} random projections uᵀ H w",
                np.einsum("pd,de,pe->p", U, out["hessian"], W),
                UHW,
                len(U),
            )
        )
        checks.append(
            _check("hessian", "consistency", "symmetry", out["hessian"], out["hessian"].T)
        )
    timings["cross_check"] = time.perf_counter() - t0
    log(f"cross-checks ({len(checks)}): {timings['cross_check']:.2f} s")

    cross_check = {
        "method": method,
        "bicomplex_step": BICOMPLEX_STEP,
        "probes": int(probes),
        "seed": int(seed),
        "all_agree": all(c["agree"] for c in checks),
        "checks": checks,
        "seconds": {k: round(v, 4) for k, v in timings.items()},
    }
    notes = (
        f"hyper-dual {method} mode; cross-checked against the bicomplex step "
        f"(h = {BICOMPLEX_STEP:g})"
    )
    meta = {
        "format": "fomoh-oracle-results",
        "version": 1,
        "backend": REFERENCE_BACKEND,
        "dtype": "float64",
        "case_sha256": case.sha256,
        "quantities": list(out),
        "cross_check": cross_check,
        "notes": notes,
    }
    results = Results(meta=meta, arrays=out, path=None)
    if out_dir is not None:
        results.path = write_results(
            out_dir,
            case,
            out,
            backend=REFERENCE_BACKEND,
            dtype="float64",
            cross_check=cross_check,
            notes=notes,
        )
    if check and not cross_check["all_agree"]:
        bad = [
            f"{c['quantity']} vs {c['against']}: rel. error {c['rel_error']:.2e} > "
            f"{c['tolerance']:.0e}"
            for c in checks
            if not c["agree"]
        ]
        raise CrossCheckError(
            "reference results disagree with their cross-checks: " + "; ".join(bad)
        )
    return results
