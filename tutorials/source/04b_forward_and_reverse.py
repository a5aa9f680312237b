# %% [markdown]
# # 4b. Forward and reverse mode, and what each costs
#
# Everything so far was **forward mode**: derivatives travel *with* the values, from the
# inputs to the output. Notebook 4 also used **back-propagation** (`value_and_grad`, `hvp`)
# as a black box. This notebook opens the box:
#
# 1. the vocabulary — Jacobian-vector products (JVP) and vector-Jacobian products (VJP) — and
#    the **shape argument**: for $f:\mathbb R^n\to\mathbb R^m$, forward mode needs one pass
#    per *input* direction, reverse mode one per *output* direction;
# 2. an **evaluation trace** (the example of Baydin et al.'s survey): the primal and tangent
#    columns of forward mode and the adjoint column of reverse mode, from one recorded tape;
# 3. reverse mode at scale: the project's back-propagation of one `Dense` layer written out
#    and checked, then a whole network;
# 4. measured costs of the gradient, a Hessian-vector product and a $K\times K$ projected
#    Hessian by forward mode, reverse mode and forward-over-reverse.
#
# Notation (the course's table): $f:\mathbb R^n \to \mathbb R^m$, $J = \partial f/\partial x
# \in \mathbb R^{m\times n}$; a **tangent** $v \in \mathbb R^n$ (an input direction) and a
# **cotangent** $u \in \mathbb R^m$ (an output direction); $\varepsilon$ the dual unit.

# %%
import inspect
import time

import numpy as np

import hyperdual as hd
from hyperdual import Dual
from hyperdual.testing import assert_close
from hyperlab.data import load_dataset
from layers import Dense, Sequential, Tanh, models

rng = np.random.default_rng(0)  # the seed for every random number in this notebook

# %% [markdown]
# ## 1. JVP and VJP: two ways to multiply out the chain rule
#
# A program is a composition $f = f_L \circ \dots \circ f_2 \circ f_1$, so by the chain rule
# its Jacobian is a product of the Jacobians of the steps:
#
# $$J = J_L \cdots J_2\,J_1 .$$
#
# * **Forward mode** multiplies from the right: a tangent $v$ goes in with the input and
#   $J v = J_L(\cdots(J_2(J_1 v)))$ comes out with the output. That is the
#   **Jacobian-vector product** (JVP); a dual number $x + v\,\varepsilon$ computes exactly
#   this (notebook 1).
# * **Reverse mode** multiplies from the left: a cotangent $u$ starts at the output and
#   $u^\top J = ((u^\top J_L)\cdots J_2)\,J_1$ arrives at the input. That is the
#   **vector-Jacobian product** (VJP). It needs the intermediate values of the forward
#   computation in reverse order, so they must be stored first (the "tape").
#
# One JVP gives one *column combination* of $J$, one VJP one *row combination*, each for a
# small constant times the cost of $f$. The **shape argument** follows:
#
# | what | forward mode | reverse mode |
# |---|---|---|
# | one pass gives | $J v$ (a column of $J$ for $v = e_i$) | $u^\top J$ (a row of $J$ for $u = e_j$) |  # noqa: E501
# | all of $J$ ($m\times n$) | $n$ passes | $m$ passes |
# | gradient of a loss, $m = 1$ | $n$ passes | **1 pass** |
# | $f:\mathbb R \to \mathbb R^m$ (one input, e.g. a trajectory) | **1 pass** | $m$ passes |
# | memory | no tape | the tape: every intermediate value |
#
# Training a network is the case $m = 1$, $n = D$ large: reverse mode (back-propagation) wins
# by a factor $\sim D$. That is why FoMoH-type methods (notebooks 5–7) ask for only a few
# *directions* $K \ll D$ per step, where forward mode is competitive and needs no tape.
#
# ## 2. An evaluation trace, forward and reverse
#
# The example of Baydin et al. (2018, Tables 2 and 3):
# $f(x_1, x_2) = \ln x_1 + x_1 x_2 - \sin x_2$ at $(x_1, x_2) = (2, 5)$. We write $f$ once,
# with NumPy operations, and run it on a small `Traced` number that records every elementary
# step on a tape: its value $v_i$ and the local partial derivatives $\partial v_i/\partial
# v_j$ with respect to its arguments. The two sweeps then use the *same* local partials:
#
# * forward (tangents): $\dot v_i = \sum_j \frac{\partial v_i}{\partial v_j}\,\dot v_j$,
#   from the inputs down;
# * reverse (adjoints): $\bar v_j \mathrel{+}= \bar v_i\,\frac{\partial v_i}{\partial v_j}$,
#   from the output up, starting at $\bar y = 1$.


# %%
def f(x1, x2):
    return np.log(x1) + x1 * x2 - np.sin(x2)


class Tape:
    """The recorded trace: one entry (name, expression, value, [(parent, partial)]) per step."""

    def __init__(self):
        self.entries = []

    def record(self, expression, value, parents):
        index = len(self.entries)
        self.entries.append((expression, value, parents))
        return Traced(self, index, value)

    def input(self, name, value):
        return self.record(name, value, [])

    def forward_sweep(self, seeds):
        """Tangents v̇_i for input tangents ``seeds`` (one per input, in order)."""
        seeds, tangents = iter(seeds), []
        for _, _, parents in self.entries:
            tangents.append(
                next(seeds) if not parents else sum(partial * tangents[j] for j, partial in parents)
            )
        return tangents

    def reverse_sweep(self, output_adjoint=1.0):
        """Adjoints v̄_i of every step for the adjoint ȳ of the last one."""
        adjoints = [0.0] * len(self.entries)
        adjoints[-1] = output_adjoint
        for i in reversed(range(len(self.entries))):
            for j, partial in self.entries[i][2]:
                adjoints[j] += adjoints[i] * partial
        return adjoints

    def edges(self):
        """Number of local partials: the multiply-adds of one sweep, forward or reverse."""
        return sum(len(parents) for _, _, parents in self.entries)


class Traced:
    """A scalar that records each operation on its tape (value, local partials)."""

    UFUNCS = {
        np.log: ("ln", lambda a: 1 / a),
        np.sin: ("sin", np.cos),
        np.cos: ("cos", lambda a: -np.sin(a)),
        np.exp: ("exp", np.exp),
    }

    def __init__(self, tape, index, value):
        self.tape, self.index, self.value = tape, index, value

    def _lift(self, other):
        return other if isinstance(other, Traced) else self.tape.record(repr(other), other, [])

    def __add__(self, other):
        other = self._lift(other)
        return self.tape.record(
            f"v{self.index} + v{other.index}",
            self.value + other.value,
            [(self.index, 1.0), (other.index, 1.0)],
        )

    def __sub__(self, other):
        other = self._lift(other)
        return self.tape.record(
            f"v{self.index} − v{other.index}",
            self.value - other.value,
            [(self.index, 1.0), (other.index, -1.0)],
        )

    def __mul__(self, other):
        other = self._lift(other)
        return self.tape.record(
            f"v{self.index} × v{other.index}",
            self.value * other.value,
            [(self.index, other.value), (other.index, self.value)],
        )

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name, derivative = self.UFUNCS[ufunc]
        return self.tape.record(
            f"{name} v{self.index}", ufunc(self.value), [(self.index, derivative(self.value))]
        )


tape = Tape()
y = f(tape.input("x₁", 2.0), tape.input("x₂", 5.0))
tangents = tape.forward_sweep([1.0, 0.0])  # ẋ = (1, 0): the derivative along x₁
adjoints = tape.reverse_sweep(1.0)  # ȳ = 1

print(f"{'primal trace':18s} {'value vᵢ':>9s}   {'tangent v̇ᵢ':>10s}   {'adjoint v̄ᵢ':>10s}")
for i, (expression, value, _) in enumerate(tape.entries):
    print(f"{f'v{i} = {expression}':18s} {value:9.4f}   {tangents[i]:10.4f}   {adjoints[i]:10.4f}")

# %% [markdown]
# Read the table top to bottom for forward mode: $\dot v_3 = \dot v_0\,v_1 + v_0\,\dot v_1
# = 1\cdot 5 + 2\cdot 0 = 5$, and the last tangent is $\partial f/\partial x_1 = 1/x_1 + x_2
# = 5.5$. Read the adjoint
# column bottom to top for reverse mode: one sweep fills $\bar x_1 = \partial f/\partial x_1
# = 5.5$ **and** $\bar x_2 = \partial f/\partial x_2 = x_1 - \cos x_2 \approx 1.7163$. Forward
# mode would need a second sweep, with $\dot x = (0, 1)$, for the second partial derivative.
#
# The checks: the tangent against the library's `Dual`, both adjoints against the closed form
# — and the operation count of the shape argument: a sweep costs one multiply-add per local
# partial (an *edge* of the trace), so the gradient costs $n$ forward sweeps but one reverse
# sweep.

# %%
x1, x2 = 2.0, 5.0
library = f(Dual(x1, 1.0), Dual(x2, 0.0))
assert_close(tangents[-1], library.eps[0], np.float64, "exact", "tangent vs library Dual")
assert_close(adjoints[:2], [1 / x1 + x2, x1 - np.cos(x2)], np.float64, "exact", "adjoints")
assert np.isclose(y.value, f(x1, x2), rtol=1e-15)

n, m, E = 2, 1, tape.edges()
print(
    f"{len(tape.entries)} steps, {E} local partials: gradient by forward mode {n} sweeps × "
    f"{E} = {n * E} multiply-adds, by reverse mode {m} sweep × {E} = {m * E}"
)
gradient_forward = [tape.forward_sweep(seed)[-1] for seed in ([1.0, 0.0], [0.0, 1.0])]
assert_close(gradient_forward, adjoints[:2], np.float64, "exact", "n forward sweeps = 1 reverse")

# %% [markdown]
# ## 3. The shape argument, measured on $f:\mathbb R^n \to \mathbb R^m$
#
# Take $f(x) = \tanh(Ax)$ with $A \in \mathbb R^{m\times n}$, and compute its whole Jacobian
# $J = \operatorname{diag}(1 - \tanh^2(Ax))\,A$ both ways:
#
# * **forward**: $n$ JVPs $J e_i$ — the library's `Dual` with the $n$ basis vectors on the
#   pair axis (notebook 3), one vectorised pass;
# * **reverse**: $m$ VJPs $e_j^\top J = ((e_j \odot (1 - \tanh^2(Ax)))^\top A$ — the backward
#   pass of $\tanh$ and of the matrix product, written by hand, also vectorised over the $m$
#   cotangents.
#
# The arithmetic is $n$ tangent passes against $m$ cotangent passes; we print the counts and
# the measured times (no assertion on the times: they depend on the machine).


# %%
def jacobian_forward(A, x):
    """J (m, n) from n JVPs: x + e_i ε for all i on the pair axis."""
    out = np.tanh(A @ Dual(x, np.eye(len(x))))  # eps: (n, m), one JVP per row
    return out.eps.T


def jacobian_reverse(A, x):
    """J (m, n) from m VJPs: cotangents e_j for all j, back through tanh and A."""
    t = np.tanh(A @ x)  # forward pass, stored
    U = np.eye(len(t))  # cotangents u = e_j, rows
    return (U * (1 - t * t)) @ A  # uᵀ diag(1 − t²) A, row by row


def best_time(fn, min_total=0.05, max_repeat=50):
    """The fastest of several runs (at least 3, or one if a single run takes over 1 s)."""
    times = []
    while len(times) < max_repeat and (len(times) < 3 or sum(times) < min_total):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        if times[0] > 1.0:
            break
    return result, min(times)


print(f"{'n':>5s} {'m':>5s} {'forward: n JVPs':>18s} {'reverse: m VJPs':>18s}")
for n_in, m_out in [(1000, 1), (1000, 10), (10, 1000), (1, 1000)]:
    A, x = rng.normal(size=(m_out, n_in)) / np.sqrt(n_in), rng.normal(size=n_in)
    J_fwd, t_fwd = best_time(lambda: jacobian_forward(A, x))  # noqa: B023
    J_rev, t_rev = best_time(lambda: jacobian_reverse(A, x))  # noqa: B023
    assert_close(J_fwd, J_rev, np.float64, "exact", "Jacobian: forward vs reverse")
    assert J_fwd.shape == (m_out, n_in)
    print(
        f"{n_in:5d} {m_out:5d} {n_in:6d} pass(es) {1e3 * t_fwd:6.2f} ms "
        f"{m_out:6d} pass(es) {1e3 * t_rev:6.2f} ms"
    )

# %% [markdown]
# Both give the same Jacobian to rounding. For a **tall** Jacobian (few inputs, many
# outputs) forward mode does less work, for a **wide** one (many inputs, one or a few
# outputs — a loss) reverse mode does. Vectorisation blurs the constant factors at these
# small sizes; the pass counts do not change.
#
# ## 4. Reverse mode in the project: back-propagation through one `Dense` layer
#
# `Dense` computes $y = xW^\top + b$ for a batch $x \in \mathbb R^{N\times n_\text{in}}$,
# $W \in \mathbb R^{n_\text{out}\times n_\text{in}}$. Its backward pass receives the adjoint
# of its output, $\bar y = \partial L/\partial y \in \mathbb R^{N\times n_\text{out}}$, and
# returns the VJPs with respect to its inputs. From
# $y_{ko} = \sum_i x_{ki} W_{oi} + b_o$ and $\bar z = \sum_{k,o} \bar y_{ko}\,
# \partial y_{ko}/\partial z$:
#
# $$\bar W_{oi} = \sum_k \bar y_{ko}\, x_{ki} \;\;(\bar W = \bar y^\top x), \qquad
#   \bar b_o = \sum_k \bar y_{ko}, \qquad
#   \bar x_{ki} = \sum_o \bar y_{ko}\, W_{oi} \;\;(\bar x = \bar y\, W).$$
#
# Three matrix products or sums, each the transpose of a piece of the forward map. The
# library's version is exactly that:

# %%
print(inspect.getsource(Dense.backward))

# %% [markdown]
# Written out by hand, and checked two ways: against the library's `Dense.backward`, and by
# the **dot-product test** that defines a VJP — for any tangent $(\dot W, \dot b, \dot x)$,
#
# $$\langle \bar y,\; J(\dot W, \dot b, \dot x)\rangle
#   = \langle \bar W, \dot W\rangle + \langle \bar b, \dot b\rangle + \langle \bar x, \dot x\rangle ,$$  # noqa: E501
#
# where $J(\dot W, \dot b, \dot x)$, the JVP, comes from one forward pass on dual numbers.


# %%
def dense_backward(W, x, y_bar):
    """VJPs of y = x Wᵀ + b: (W̄ (out, in), b̄ (out,), x̄ (N, in)) for ȳ (N, out)."""
    return y_bar.T @ x, y_bar.sum(axis=0), y_bar @ W


N, n_in, n_out = 16, 7, 5
dense = Dense(n_in, n_out)
W, b = dense.init_params(rng)
x = rng.normal(size=(N, n_in))
y_bar = rng.normal(size=(N, n_out))

W_bar, b_bar, x_bar = dense_backward(W, x, y_bar)
x_bar_lib, (W_bar_lib, b_bar_lib) = dense.backward((W, b), x, dense.forward((W, b), x), y_bar)
for mine, theirs, what in [
    (W_bar, W_bar_lib, "W̄"),
    (b_bar, b_bar_lib, "b̄"),
    (x_bar, x_bar_lib, "x̄"),
]:
    assert_close(mine, theirs, np.float64, "exact", what)

W_dot, b_dot, x_dot = rng.normal(size=W.shape), rng.normal(size=b.shape), rng.normal(size=x.shape)
jvp = dense.forward((Dual(W, W_dot), Dual(b, b_dot)), Dual(x, x_dot)).eps[0]  # J(Ẇ, ḃ, ẋ)
lhs = np.sum(y_bar * jvp)
rhs = np.sum(W_bar * W_dot) + np.sum(b_bar * b_dot) + np.sum(x_bar * x_dot)
print(f"⟨ȳ, J·tangent⟩ = {lhs:.12f}\n⟨VJP, tangent⟩ = {rhs:.12f}")
assert_close(lhs, rhs, np.float64, "exact", "dot-product test")

# %% [markdown]
# ### A whole network
#
# `Sequential.value_and_grad` runs the layers forward **storing every activation** (the tape),
# starts from the loss's adjoint $\bar z = \partial L/\partial z = (p - \text{onehot}(y))/N$
# at the logits, and calls each layer's `backward` in reverse order, collecting the
# parameter adjoints into one vector $\nabla L \in \mathbb R^D$:

# %%
print(inspect.getsource(Sequential._backward))

# %% [markdown]
# One reverse pass against $D$ forward-mode directions, for a small network on the digits:

# %%
data = load_dataset("digits", flatten=True, dtype=np.float64)
X, labels = data.X_train[:128], data.y_train[:128]
net = Sequential([Dense(64, 16), Tanh(), Dense(16, 10)], input_shape=(64,), name="tiny")
theta = net.init_params(seed=0)
_, grad_reverse = net.value_and_grad(theta, X, labels)
grad_forward = hd.gradient(lambda t: net.loss(t, X, labels), theta)
assert_close(grad_reverse, grad_forward, np.float64, "exact", "gradient: reverse vs forward")
print(f"D = {net.num_params}: one reverse pass and {net.num_params} forward directions agree")

# %% [markdown]
# ## 5. Second order: forward-over-reverse
#
# Back-propagation is written with the same NumPy operations as the forward pass, so it runs
# on dual numbers too. Feed it $\theta + v\,\varepsilon$: every stored activation and every
# adjoint carries an $\varepsilon$-part, and the gradient comes out as
# $\nabla L(\theta) + (\nabla^2 L(\theta)\,v)\,\varepsilon$ — a Hessian-vector product for the
# price of about two passes on dual numbers (`Sequential.hvp`). A forward-mode
# perturbation *around* a reverse-mode computation: notebook 4c looks at such nesting.
#
# Now the measured costs, on a one-hidden-layer network (`models.mlp`, 32 hidden units,
# $D = 2{,}410$) and a batch of 128 digits. "Pairs" are hyper-dual (or dual) directions
# evaluated by forward mode; a "pass" of reverse mode is one forward pass that stores the
# activations plus one backward pass.
#
# | quantity | forward mode | reverse / forward-over-reverse |
# |---|---|---|
# | gradient $\nabla L$ | $D$ dual directions (`hd.gradient`) | 1 reverse pass (`value_and_grad`) |
# | $\nabla^2 L\,v$ | $D$ hyper-dual pairs $(v, e_i)$ (`hd.hvp`) | 1 pass on $\theta + v\varepsilon$ (`hvp`) |  # noqa: E501
# | $V\nabla^2 L\,V^\top$, $K = 8$ | $K(K+1)/2 = 36$ pairs (`hd.projected_hessian`) | 1 pass with $K$ duals on the pair axis, then $V(\cdot)^\top$ |  # noqa: E501
#
# Reverse mode alone gives first derivatives only; it has no entry for the two second-order
# rows.

# %%
model = models.mlp(hidden=32, n_features=64)
theta = model.init_params(seed=0)
D = model.num_params
v, K = rng.normal(size=D), 8
V = rng.normal(size=(K, D))


def loss(t):
    return model.loss(t, X, labels)


class Counted:
    """Wrap a function of θ; count its calls and the directions (pairs) it was given."""

    def __init__(self, fn):
        self.fn, self.calls, self.directions = fn, 0, 0

    def __call__(self, t):
        self.calls += 1
        self.directions += t.npairs
        return self.fn(t)


class CountedPasses:
    """Count a model's reverse passes (calls of ``value_and_grad``, which ``hvp`` makes too)
    and the dual directions they carry. Use as ``with CountedPasses(model) as counter: ...``."""

    def __init__(self, model):
        self.model, self.calls, self.directions = model, 0, 0

    def __enter__(self):
        inner = self.model.value_and_grad

        def value_and_grad(t, X, y):
            self.calls += 1
            self.directions += t.npairs if isinstance(t, Dual) else 1
            return inner(t, X, y)

        self.model.value_and_grad = value_and_grad  # an instance attribute shadows the method
        return self

    def __exit__(self, *exc):
        del self.model.value_and_grad


def forward_runs(f):
    return {
        "gradient": lambda: hd.gradient(f, theta),
        "Hv": lambda: hd.hvp(f, theta, v),
        f"{K}×{K} Hessian": lambda: hd.projected_hessian(f, theta, V)[2],
    }


def reverse_runs(model):
    return {
        "gradient": lambda: model.value_and_grad(theta, X, labels)[1],
        "Hv": lambda: model.hvp(theta, X, labels, v),
        f"{K}×{K} Hessian": lambda: V @ model.hvp(theta, X, labels, V).T,
    }


table = []
for quantity in forward_runs(loss):
    counted = Counted(loss)  # one counted run ...
    result_fwd = forward_runs(counted)[quantity]()
    with CountedPasses(model) as passes:
        result_rev = reverse_runs(model)[quantity]()
    assert_close(result_fwd, result_rev, np.float64, "exact", f"{quantity}: forward vs reverse")
    _, t_fwd = best_time(forward_runs(loss)[quantity])  # ... then the timed runs
    _, t_rev = best_time(reverse_runs(model)[quantity])
    table.append(
        (quantity, counted.calls, counted.directions, t_fwd, passes.calls, passes.directions, t_rev)
    )

print(f"D = {D}, batch of {len(X)}")
print(f"{'':14s}{'forward mode':>40s}   {'reverse / forward-over-reverse':>40s}   ratio")
for quantity, calls, directions, t_fwd, passes_, dirs, t_rev in table:
    print(
        f"{quantity:14s}{calls:5d} call(s), {directions:5d} directions {1e3 * t_fwd:8.1f} ms"
        f"   {passes_:3d} pass, {dirs:2d} direction(s) {1e3 * t_rev:13.1f} ms"
        f"   {t_fwd / t_rev:6.0f}x"
    )

# %% [markdown]
# The counts are the cost model, exactly; the times are what this machine measured (yours
# will differ). Per direction a hyper-dual pair costs a few times a plain forward pass (9
# array products per multiplication instead of 1), so:
#
# * the **gradient** by forward mode needs $D$ directions against one reverse pass — the
#   factor $\sim D$ of the shape argument, and the reason networks are trained by
#   back-propagation;
# * a full **Hessian-vector product** by forward mode needs $D$ pairs; forward-over-reverse
#   needs one pass on dual numbers;
# * a **$K\times K$ projected Hessian** needs $K(K+1)/2$ forward pairs, a number independent
#   of $D$, against one forward-over-reverse pass carrying $K$ dual directions. The gap is
#   far smaller than in the first two rows (the last column; in this NumPy implementation
#   forward mode is still the slower one), and forward mode needs no tape (notebook 4:
#   memory against depth). This is the regime FoMoH-KD works in (notebooks 5–7).
#
# The counts, checked:

# %%
counts = {row[0]: row[1:3] + row[4:6] for row in table}
assert counts["gradient"] == (int(np.ceil(D / hd.DEFAULT_CHUNK_SIZE)), D, 1, 1)
assert counts["Hv"] == (int(np.ceil(D / hd.DEFAULT_CHUNK_SIZE)), D, 1, 1)
assert counts[f"{K}×{K} Hessian"] == (1, K * (K + 1) // 2, 1, K)

# %% [markdown]
# ## Summary
#
# * A JVP $Jv$ (forward mode, a dual number) and a VJP $u^\top J$ (reverse mode, a backward
#   sweep over a stored tape) are the two orders of multiplying out the chain rule.
# * For $f:\mathbb R^n\to\mathbb R^m$ the whole Jacobian costs $n$ forward or $m$ reverse
#   passes: reverse mode for a loss ($m = 1$), forward mode for few inputs — or for a few
#   chosen directions.
# * The evaluation trace shows both sweeps using the same local partial derivatives; the
#   project's back-propagation is that reverse sweep, one `backward` per layer
#   ($\bar W = \bar y^\top x$, $\bar b = \sum_k \bar y_k$, $\bar x = \bar y W$ for `Dense`),
#   checked by the dot-product test.
# * Forward-over-reverse (back-propagation on dual numbers) gives $Hv$ in one pass; forward
#   mode gives $K\times K$ curvature in $K(K+1)/2$ pairs without a tape.
#
# ## Exercises
#
# **Try it 1:** record the trace of $f(x_1, x_2, x_3) = x_1x_2x_3 + \exp(x_1) - \cos(x_3)$ at
# $(0.5, -1.2, 2.0)$ with `Tape`. How many multiply-adds does the gradient cost by forward
# and by reverse sweeps? Check the gradient against `hd.gradient`.
#
# *Worked solution below (collapsed).*


# %% tags=["solution"]
def f3(x1, x2, x3):
    return x1 * x2 * x3 + np.exp(x1) - np.cos(x3)


point = np.array([0.5, -1.2, 2.0])
tape3 = Tape()
f3(*(tape3.input(f"x{k + 1}", value) for k, value in enumerate(point)))
reverse = tape3.reverse_sweep()[:3]  # one sweep: all three partials
forward = [tape3.forward_sweep(np.eye(3)[k])[-1] for k in range(3)]  # three sweeps
E3 = tape3.edges()
print(f"{E3} local partials: forward 3 × {E3} = {3 * E3} multiply-adds, reverse {E3}")
print("gradient:", np.array(reverse))
reference = hd.gradient(lambda t: f3(t[0], t[1], t[2]), point)
assert np.allclose(reverse, reference, rtol=1e-13) and np.allclose(forward, reference, rtol=1e-13)

# %% [markdown]
# **Try it 2:** write the backward pass of `Tanh` — $y = \tanh x$ elementwise, so
# $\bar x = \bar y \odot (1 - y^2)$ — and check it with the dot-product test against a
# forward pass on dual numbers, and against `Tanh.backward`.
#
# *Worked solution below (collapsed).*


# %% tags=["solution"]
def tanh_backward(y, y_bar):
    """x̄ for y = tanh(x): ȳ ⊙ (1 − y²)."""
    return y_bar * (1.0 - y * y)


x = rng.normal(size=(4, 6))
y_bar, x_dot = rng.normal(size=x.shape), rng.normal(size=x.shape)
y = np.tanh(x)
x_bar = tanh_backward(y, y_bar)
jvp = np.tanh(Dual(x, x_dot)).eps[0]
library_bar, _ = Tanh().backward((), x, y, y_bar)
print(f"⟨ȳ, J ẋ⟩ = {np.sum(y_bar * jvp):.14f},  ⟨x̄, ẋ⟩ = {np.sum(x_bar * x_dot):.14f}")
assert np.isclose(np.sum(y_bar * jvp), np.sum(x_bar * x_dot), rtol=1e-13) and np.allclose(
    x_bar, library_bar, rtol=1e-15
)

# %% [markdown]
# **Try it 3:** when is forward mode the better choice for a *whole* Jacobian? Time
# `jacobian_forward` and `jacobian_reverse` for $f(x) = \tanh(Ax)$ with $n = 5$ inputs and
# $m = 2000$ outputs, and count the passes.
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** forward mode needs $n = 5$ passes, reverse mode $m = 2000$; both give the
# same Jacobian. (The times depend on the machine; the counts do not.)

# %% tags=["solution"]
A, x = rng.normal(size=(2000, 5)), rng.normal(size=5)
J_fwd, t_fwd = best_time(lambda: jacobian_forward(A, x))
J_rev, t_rev = best_time(lambda: jacobian_reverse(A, x))
print(f"forward: 5 passes, {1e3 * t_fwd:.2f} ms;  reverse: 2000 passes, {1e3 * t_rev:.2f} ms")
assert np.allclose(J_fwd, J_rev, rtol=1e-12, atol=1e-14) and J_fwd.shape == (2000, 5)

# %% [markdown]
# Next: [4c. Nesting and perturbation confusion](04c_nesting_and_perturbation_confusion.ipynb).
