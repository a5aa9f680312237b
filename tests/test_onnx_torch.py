"""Real PyTorch modules exported with ``torch.onnx.export``, evaluated by ``layers.from_onnx``,
against PyTorch itself in float64 (skipped without PyTorch).

Modules: self-attention with batch norm, LayerNorm and GELU (``scaled_dot_product_attention``),
PyTorch's own ``nn.TransformerEncoderLayer``, and a CNN with batch norm, padding, max and
average pooling and the tanh GELU. Every parameter *and buffer* is randomised before export
(the exporter merges initializers with equal values, which would tie parameters), and the
normalisation epsilons are float32-exact (ONNX stores float attributes in float32, so
``eps=1e-5`` would become 9.99999974738e-06 and change the function by ~1e-12).

With ``do_constant_folding=False`` the initializers keep PyTorch's names, so θ (the module's
parameters; the batch-norm buffers held constant with ``parameters=``, as PyTorch cannot
differentiate with respect to them) maps onto the module: the loss, the gradient
(forward-mode Dual numbers vs autograd) and the K×K projected Hessian (hyper-dual numbers vs
double backward through PyTorch's math attention kernel) must agree to 1e-12 relative. With
constant folding (weights pre-transposed under new names) the outputs and the loss are
compared.
"""

import io
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from backend_helpers import host, on_backend

import hyperdual as hd
from hyperdual.testing import relative_error
from layers import from_onnx

nn, F = torch.nn, torch.nn.functional
EPS = 2.0**-10
STRICT = 1e-12


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny tensors: PyTorch's thread pool only adds overhead on a shared 2-core machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class Attention(nn.Module):
    """Batch norm over features, 2-head self-attention, residual + LayerNorm, GELU MLP,
    residual + LayerNorm, mean pooling, classifier."""

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


class Encoder(nn.Module):
    """PyTorch's TransformerEncoderLayer (GELU, no dropout) and a classifier."""

    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(
            4, 2, 8, dropout=0.0, activation="gelu", batch_first=True, layer_norm_eps=EPS
        )
        self.cls = nn.Linear(4, 3)

    def forward(self, x):
        return self.cls(self.layer(x).mean(dim=1))


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn = nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3, eps=EPS)
        self.conv2 = nn.Conv2d(3, 4, 2, padding=1)
        self.fc = nn.Linear(16, 3)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.bn(self.conv1(x))), 2)
        h = F.gelu(self.conv2(h), approximate="tanh")
        h = F.avg_pool2d(h, 3, stride=2, padding=1, count_include_pad=False)
        return self.fc(h.flatten(1))


MODULES = {
    "attention": (Attention, (3, 4)),
    "encoder": (Encoder, (3, 4)),
    "convnet": (ConvNet, (2, 6, 6)),
}


def export(module, x, fold):
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (x,),
            buffer,
            dynamo=False,
            do_constant_folding=fold,
            opset_version=17,
            input_names=["x"],
            output_names=["logits"],
            dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
        )
    import onnx

    return onnx.load_model_from_string(buffer.getvalue())


@pytest.fixture(scope="module", params=sorted(MODULES))
def exported(request):
    cls, sample = MODULES[request.param]
    torch.manual_seed(0)
    module = cls().double().eval()
    with torch.no_grad():
        for name, t in list(module.named_parameters()) + list(module.named_buffers()):
            if t.dtype.is_floating_point:
                t.copy_(
                    0.5 + torch.rand_like(t) if "running_var" in name else 0.5 * torch.randn_like(t)
                )
    rng = np.random.default_rng(1)
    X = rng.normal(size=(5,) + sample)
    y = rng.integers(0, 3, size=5)
    return request.param, module, X, y


def torch_loss_of_theta(module, layout, X, y):
    """``θ ↦ cross-entropy`` in PyTorch, θ cut by the ONNX layout onto parameters and buffers."""
    x_t, y_t = torch.tensor(X), torch.tensor(y)

    def loss(theta):
        tensors, start = {}, 0
        for name, shape in layout:
            size = int(np.prod(shape))
            tensors[name] = theta[start : start + size].reshape(shape)
            start += size
        return F.cross_entropy(torch.func.functional_call(module, tensors, (x_t,)), y_t)

    return loss


def test_loss_gradient_and_projected_hessian_match_double_backward(exported):
    name, module, X, y = exported
    proto = export(module, torch.tensor(X[:2]), fold=False)
    known = dict(module.named_parameters())
    buffers = dict(module.named_buffers())
    names = [t.name for t in proto.graph.initializer]
    assert all(n in known or n in buffers for n in names), "initializers keep PyTorch's names"
    model = from_onnx(proto, parameters=[n for n in names if n in known])
    layout = model.param_shapes()
    assert [n for n, _ in layout] == [n for n in names if n in known]
    theta = model.init_params()
    flat = torch.cat([known[n].detach().reshape(-1) for n, _ in layout]).numpy()
    np.testing.assert_array_equal(host(theta), flat)
    X_b, y_b = on_backend(X), on_backend(y)  # ours on the backend under test, torch's on the host

    def f(t):
        return model.loss(t, X_b, y_b)

    V = np.random.default_rng(2).normal(size=(3, theta.size))
    value, g_k, H_k = hd.projected_hessian(f, theta, on_backend(V))
    grad = hd.gradient(f, theta)

    loss_t = torch_loss_of_theta(module, layout, X, y)
    theta_t = torch.tensor(host(theta), requires_grad=True)
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with sdpa_kernel(SDPBackend.MATH):  # the fused CPU kernel has no double backward
        L = loss_t(theta_t)
        (g_t,) = torch.autograd.grad(L, theta_t, create_graph=True)
        V_t = torch.tensor(V)
        HV = torch.stack(
            [torch.autograd.grad(g_t @ V_t[k], theta_t, retain_graph=True)[0] for k in range(3)]
        )
    H_t = (V_t @ HV.T).detach().numpy()
    errors = {
        "loss": relative_error(value, L.item()),
        "gradient": relative_error(grad, g_t.detach().numpy()),
        "V g": relative_error(g_k, V @ g_t.detach().numpy()),
        "K×K Hessian": relative_error(H_k, H_t),
    }
    print(
        f"{name}: D = {theta.size}, nodes {len(model.graph.nodes)}, relative errors vs "
        "PyTorch double backward: " + ", ".join(f"{k} {v:.1e}" for k, v in errors.items())
    )
    assert all(e <= STRICT for e in errors.values()), errors


def test_constant_folded_export_gives_the_same_outputs_and_loss(exported):
    name, module, X, y = exported
    model = from_onnx(export(module, torch.tensor(X[:2]), fold=True))
    theta = model.init_params()
    with torch.no_grad():
        logits = module(torch.tensor(X))
        loss = F.cross_entropy(logits, torch.tensor(y)).item()
    assert relative_error(model.forward(theta, on_backend(X)), logits.numpy()) <= STRICT
    assert relative_error(model.loss(theta, on_backend(X), on_backend(y)), loss) <= STRICT


def test_float32_export_evaluated_in_float64_and_float32(exported):
    """A float32 model: θ is float32; the oracle may evaluate it in float64."""
    name, module, X, y = exported
    module32 = module.float()
    try:
        model = from_onnx(export(module32, torch.tensor(X[:2], dtype=torch.float32), fold=False))
        theta32 = model.init_params()
        assert theta32.dtype == np.float32
        with torch.no_grad():
            logits32 = module32(torch.tensor(X, dtype=torch.float32)).numpy()
        out64 = model.forward(theta32.astype(np.float64), on_backend(X))
        out32 = model.forward(theta32, on_backend(X))
        assert out32.dtype == np.float32 and out64.dtype == np.float64
        assert relative_error(out32, logits32) <= 2e-6
        assert relative_error(out64, logits32) <= 2e-6
    finally:
        module.double()
