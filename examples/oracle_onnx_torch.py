"""Check PyTorch's derivatives of *its own* model against the hyper-dual reference, via ONNX.

A worked example: a PyTorch model with attention, LayerNorm, GELU and batch norm
(nothing the layer-list format of ``docs/oracle-format.md`` could describe) is exported with
``torch.onnx.export``; the ONNX file becomes an oracle case; the reference results come from
``layers.from_onnx`` (hyper-dual numbers on the ONNX graph, cross-checked by the bicomplex
step); PyTorch computes the same quantities with ``torch.func`` on the original module; and
``compare`` says, quantity by quantity, whether they agree::

    python examples/oracle_onnx_torch.py OUT_DIR [--dtype float64|float32] [--no-hessian]

which amounts to::

    torch.onnx.export(model, ..., "OUT_DIR/model.onnx", do_constant_folding=False)
    fomoh oracle make-case OUT_DIR/case --onnx OUT_DIR/model.onnx \\
        --constant bn.running_mean --constant bn.running_var --hessian
    fomoh oracle reference OUT_DIR/case
    (torch.func results)  ->  OUT_DIR/case/torch-float64
    fomoh oracle compare OUT_DIR/case OUT_DIR/case/torch-float64

Two details make the comparison exact:

* ``do_constant_folding=False`` keeps PyTorch's parameter names as the ONNX initializer
  names, so the case's ``parameters`` table maps θ onto ``module.named_parameters()``. The
  batch-norm running statistics are held constant (``--constant``): PyTorch cannot
  differentiate with respect to them.
* ONNX stores float attributes in float32, so the normalisation epsilons are chosen
  float32-exact (2⁻¹⁰); ``eps=1e-5`` would turn into 9.99999974738e-06 in the ONNX graph and
  the two functions would differ by ~1e-12.

**What the oracle found.** The natural way to get ``v1ᵀ H v2`` in ``torch.func`` is forward
over forward, ``jvp(jvp(f))`` (``examples/oracle_torch.py`` does that). On this model it is
wrong: with PyTorch 2.13.0 the nested JVP of ``F.layer_norm`` drops a second-order term
(pytorch/pytorch#196700; reverse-over-reverse and forward-over-reverse are right, and so is a
LayerNorm composed of elementary ops). ``--nested-jvp`` reproduces the disagreement
(``dir_d12`` and ``kd_H`` fail, exit status 1); by default the mixed second derivatives are
taken forward-over-reverse, ``v1 · jvp(grad(f), v2)``, and every quantity agrees.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, grad_and_value, jacrev, jvp
from torch.nn.attention import SDPBackend, sdpa_kernel

EPS = 2.0**-10


class AttentionClassifier(nn.Module):
    """Batch norm over the features, 2-head self-attention (``scaled_dot_product_attention``),
    residual + LayerNorm, a GELU feed-forward layer, residual + LayerNorm, mean pooling over the
    sequence and a linear classifier. Input (N, T, d), output logits (N, classes)."""

    def __init__(self, d=4, heads=2, hidden=8, classes=3):
        super().__init__()
        self.heads = heads
        self.bn = nn.BatchNorm1d(d, eps=EPS)
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ln1, self.ln2 = nn.LayerNorm(d, eps=EPS), nn.LayerNorm(d, eps=EPS)
        self.ff1, self.ff2 = nn.Linear(d, hidden), nn.Linear(hidden, d)
        self.cls = nn.Linear(d, classes)

    def forward(self, x):
        N, T, d = x.shape
        x = self.bn(x.transpose(1, 2)).transpose(1, 2)
        q, k, v = (
            t.reshape(N, T, self.heads, -1).transpose(1, 2) for t in self.qkv(x).chunk(3, dim=-1)
        )
        a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(N, T, d)
        x = self.ln1(x + self.out(a))
        x = self.ln2(x + self.ff2(F.gelu(self.ff1(x))))
        return self.cls(x.mean(dim=1))


def build_model(seed=0):
    """The model in float64 with random parameters *and* statistics (the exporter merges
    initializers with equal values, which would tie, e.g., a LayerNorm's ones to a batch norm's)."""
    torch.manual_seed(seed)
    model = AttentionClassifier().double().eval()
    with torch.no_grad():
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            if t.dtype.is_floating_point:
                t.copy_(
                    0.5 + torch.rand_like(t) if "running_var" in name else 0.5 * torch.randn_like(t)
                )
    return model


def export(model, path, sample_shape=(3, 4)):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter is deprecated
        torch.onnx.export(
            model,
            (torch.zeros((2,) + sample_shape, dtype=torch.float64),),
            str(path),
            dynamo=False,
            do_constant_folding=False,
            opset_version=17,
            input_names=["x"],
            output_names=["logits"],
            dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
        )


def torch_results(model, case, dtype="float64", nested_jvp=False):
    """Every quantity the case asks for, by ``torch.func`` on the PyTorch module itself:
    ``grad_and_value``, ``jvp`` for directional derivatives, ``jvp(grad(f))`` for
    Hessian-vector products and (default) for the mixed second derivatives of the direction
    and FoMoH-KD pairs, or jvp over jvp with ``nested_jvp``; ``jacrev(grad(f))`` for the
    Hessian."""
    dt = {"float32": torch.float32, "float64": torch.float64}[dtype]
    module = model.to(dt)
    a = {k: torch.as_tensor(v) for k, v in case.arrays.items()}
    x, y = a["x"].to(dt), a["y"]
    layout = case.meta["parameters"]

    def f(theta):
        tensors = {
            p["name"]: theta[p["offset"] : p["offset"] + p["size"]].reshape(p["shape"])
            for p in layout
        }
        return F.cross_entropy(functional_call(module, tensors, (x,)), y)

    theta = a["theta"].to(dt)

    def d1(v):
        return jvp(f, (theta,), (v,))[1]

    def hvp(v):
        return jvp(grad(f), (theta,), (v,))[1]

    def nested(v1, v2):  # wrong through F.layer_norm in PyTorch 2.13 (see above)
        return jvp(lambda t: jvp(f, (t,), (v1,))[1], (theta,), (v2,))[1]

    out, quantities = {}, case.quantities
    with sdpa_kernel(SDPBackend.MATH):  # fused CPU attention has no higher derivatives
        g, value = grad_and_value(f)(theta)
        out["loss"], out["grad"] = value, g
        if "directional" in quantities:
            v1, v2 = a["v1"].to(dt), a["v2"].to(dt)
            out["dir_d1"] = torch.stack([d1(v) for v in v1])
            out["dir_d2"] = torch.stack([d1(v) for v in v2])
            out["dir_d12"] = torch.stack(
                [nested(p, q) if nested_jvp else p @ hvp(q) for p, q in zip(v1, v2)]
            )
        if "projected_hessian" in quantities:
            V = a["V"].to(dt)
            out["kd_g"] = torch.stack([d1(v) for v in V])
            if nested_jvp:
                out["kd_H"] = torch.stack([torch.stack([nested(p, q) for q in V]) for p in V])
            else:  # V H Vᵀ from K products H V[j]
                out["kd_H"] = V @ torch.stack([hvp(v) for v in V]).T
        if "hvp" in quantities:
            out["hvp"] = torch.stack([hvp(v.to(dt)) for v in a["hvp_v"]])
        if "hessian" in quantities:
            out["hessian"] = jacrev(grad(f))(theta)
    model.double()
    return {k: v.detach().numpy() for k, v in out.items()}


def main(argv=None):
    from hyperlab import oracle
    from hyperlab.oracle import make_onnx_case

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        default="float64",
        help="precision of the PyTorch computation (the reference is float64)",
    )
    parser.add_argument(
        "--no-hessian",
        action="store_true",
        help="leave out the full Hessian (the slowest quantity on both sides)",
    )
    parser.add_argument(
        "--nested-jvp",
        action="store_true",
        help="mixed second derivatives by jvp over jvp (shows PyTorch's LayerNorm bug)",
    )
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)

    model = build_model()
    onnx_path = args.out_dir / "model.onnx"
    export(model, onnx_path)
    case = make_onnx_case(
        args.out_dir / "case",
        onnx_path,
        batch=5,
        pairs=2,
        kd=3,
        hvp=2,
        hessian=not args.no_hessian,
        constants=["bn.running_mean", "bn.running_var"],
    )
    print(f"case {case.path}: D = {case.num_parameters}, quantities {', '.join(case.quantities)}")
    reference = oracle.compute_reference(case, case.path / "reference")
    checks = reference.meta["cross_check"]
    print(
        f"reference: {len(checks['checks'])} cross-checks against the bicomplex step and "
        f"for consistency, all agree: {checks['all_agree']}"
    )

    results = torch_results(model, case, args.dtype, args.nested_jvp)
    backend = (
        f"torch {torch.__version__} (torch.func on the original module, "
        f"{'jvp over jvp' if args.nested_jvp else 'forward over reverse'})"
    )
    path = oracle.write_results(
        case.path / f"torch-{args.dtype}", case, results, backend=backend, dtype=args.dtype
    )
    comparison = oracle.compare_results(case, oracle.read_results(path, case), reference)
    print(comparison.table())
    return 0 if comparison.ok else 1


if __name__ == "__main__":
    sys.exit(main())
