"""Random oracle cases: for a model of ``layers.models`` (or any ``layers.Sequential``), and
for an ONNX file (``fomoh oracle make-case``)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np

from hyperdual.backend import to_numpy
from hyperlab.atomic import atomic_write
from layers import models
from layers.onnx import load_model
from layers.onnx.loading import all_tensors

from .format import write_case
from .onnx_case import ONNX_FILE, describe_onnx, load_onnx_model, validate_onnx_description

__all__ = ["make_case", "make_onnx_case"]


def make_case(
    case_dir,
    model,
    *,
    batch=4,
    pairs=2,
    kd=3,
    hvp=2,
    hessian=False,
    seed=0,
    dtype="float64",
    name="",
):
    """A random case for ``model`` (a ``layers.Sequential`` or a ``models.build`` name).

    θ is the model's seeded initialisation plus ``0.1·N(0, 1)`` (so that biases are not zero),
    inputs are standard normal, labels uniform, directions standard normal; all from ``seed``.

    Returns
    -------
    format.Case
    """
    if isinstance(model, str):
        name = name or model
        model = models.build(model)
    rng = np.random.default_rng(seed)
    D = model.num_params
    dtype = np.dtype(dtype)
    # a case is host data: θ comes to the host whatever the backend is
    theta = to_numpy(model.init_params(seed=seed)) + 0.1 * rng.standard_normal(D)
    x = rng.standard_normal((batch, *model.input_shape))
    y = rng.integers(0, model.output_shape[0], size=batch)
    counts = dict(pairs=pairs, kd=kd, hvp=hvp)
    return _write_random_case(
        case_dir, model, theta, x, y, rng, dtype, counts, hessian, name or model.name
    )


def _write_random_case(case_dir, model, theta, x, y, rng, dtype, counts, hessian, name):
    """``write_case`` with standard normal directions drawn from ``rng``: ``counts["pairs"]``
    pairs (v1, v2), ``counts["kd"]`` FoMoH-KD directions and ``counts["hvp"]`` HVP vectors."""
    D = theta.shape[0]

    def directions(n):
        return rng.standard_normal((n, D)).astype(dtype) if n else None

    v1, v2 = directions(counts["pairs"]), directions(counts["pairs"])
    return write_case(
        case_dir,
        model,
        theta.astype(dtype),
        x.astype(dtype),
        y,
        v1=v1,
        v2=v2,
        V=directions(counts["kd"]),
        hvp_v=directions(counts["hvp"]),
        hessian=hessian,
        name=name,
    )


def make_onnx_case(
    case_dir,
    onnx_path,
    *,
    input_shape=None,
    constants=(),
    batch=4,
    pairs=2,
    kd=3,
    hvp=2,
    hessian=False,
    seed=0,
    dtype="float64",
    name="",
):
    """A random case for the ONNX model in ``onnx_path``: the file is copied into the case.

    θ is the graph's initializers as stored (not perturbed: the case checks the exported
    model as it is), inputs are standard normal, labels uniform, directions standard normal;
    all from ``seed``. A model whose tensors live in external data files is stored with its
    data inline (its SHA-256 is then that of the self-contained copy).

    Returns
    -------
    format.Case
    """
    case_dir, onnx_path = Path(case_dir), Path(onnx_path)
    proto, _ = load_model(onnx_path)  # checks the file; inlines external data
    case_dir.mkdir(parents=True, exist_ok=True)
    target = case_dir / ONNX_FILE
    if _has_external_data(onnx_path):
        data = proto.SerializeToString()
        atomic_write(target, lambda fh: fh.write(data))
    elif onnx_path.resolve() != target.resolve():
        shutil.copyfile(onnx_path, target)
    description = describe_onnx(target, input_shape, constants)
    output_shape, layout = validate_onnx_description(description, case_dir)
    model = load_onnx_model(description, case_dir)
    rng = np.random.default_rng(seed)
    D = sum(math.prod(s) for _, s in layout)
    dtype = np.dtype(dtype)
    theta = to_numpy(model.init_params(dtype=np.float64))
    if theta.shape != (D,):
        raise ValueError(f"{onnx_path}: {theta.shape[0]} parameters, the layout says {D}")
    x = rng.standard_normal((batch, *description["input_shape"]))
    y = rng.integers(0, output_shape[0], size=batch)
    counts = dict(pairs=pairs, kd=kd, hvp=hvp)
    return _write_random_case(
        case_dir, description, theta, x, y, rng, dtype, counts, hessian, name or onnx_path.stem
    )


def _has_external_data(path):
    """Whether the ONNX file at ``path`` keeps any tensor in a side file."""
    import onnx  # the optional extra [onnx]: only ONNX cases need it

    stored = onnx.load_model(path, load_external_data=False)
    return any(t.data_location == onnx.TensorProto.EXTERNAL for t in all_tensors(stored))
