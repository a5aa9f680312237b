# %% [markdown]
# # 4d. From $K$ hyper-dual pairs to one $K$-jet
#
# Notebook 3 computed the projected Hessian $\tilde H = VHV^\top$ of $K$ directions (the rows
# $v_1, \dots, v_K$ of $V$) from the $P = K(K+1)/2$ hyper-dual **pairs** $(v_i, v_j)$,
# $i \le j$: pair $(i, j)$ evaluates $f$ at $\theta + v_i\varepsilon_1 + v_j\varepsilon_2$
# and returns $v_i^\top H v_j$ in its $\varepsilon_1\varepsilon_2$ part. Look at what the
# pairs carry: pair $(i, j)$'s $\varepsilon_1$ part is the *tangent* along $v_i$, its
# $\varepsilon_2$ part the tangent along $v_j$. The tangent along $v_k$ is therefore computed
# again in every pair that contains $k$, twice in the pair $(k, k)$: $K + 1$ times.
#
# The library does something else (`hd.projected_hessian`, `hyperdual.Jet`): it evaluates
# $f$ **once** on a second-order **$K$-jet**, a number with $K$ units $\varepsilon_k$ that
# carries each tangent once and all $P$ second derivatives next to them. This notebook:
#
# 1. writes out the jet's algebra — the chain rule and the product rule — by hand, and
#    checks it against `hyperdual.Jet` and the bicomplex step;
# 2. shows rule by rule why the jet computes the same numbers as the pairs;
# 3. counts the work: the arrays each activation carries and the matrix products of each
#    layer, counted while the library runs;
# 4. looks at *structural zeros*: parts known to be zero that are never computed;
# 5. checks on a small network that the jet and the pairs give the same $K\times K$ Hessian,
#    and that both match the bicomplex step.
#
# Notation (the course's table): $\theta\in\mathbb R^D$, the directions $V\in\mathbb
# R^{K\times D}$ with rows $v_k$, $\tilde g = Vg$, $\tilde H = VHV^\top$, $P = K(K+1)/2$ the
# number of pairs; $\varepsilon_1, \varepsilon_2$ the units of a hyper-dual number,
# $\varepsilon_k$ ($k = 1..K$) those of a jet. In code the directions are numbered from 0.

# %%
import contextlib
import inspect
import time

import numpy as np

import hyperdual as hd
from hyperdual import HyperDual, Jet, bilinear
from hyperdual.testing import assert_close, relative_error
from layers import Dense, ReLU, Sequential, Tanh

rng = np.random.default_rng(0)  # the seed for every random number in this notebook

# %% [markdown]
# ## 1. The algebra of a second-order $K$-jet
#
# Take $K$ units $\varepsilon_1, \dots, \varepsilon_K$ that commute and whose products of
# **three** vanish, $\varepsilon_i\varepsilon_j\varepsilon_k = 0$, while the products of two
# do not — not even $\varepsilon_k^2$. (A dual number has $\varepsilon^2 = 0$; here the
# square survives, so one unit per direction is enough for the second derivative along it.)
# A jet is then a truncated polynomial
#
# $$x = a + \sum_k b_k\,\varepsilon_k + \sum_{i \le j} c_{ij}\,[\varepsilon_i\varepsilon_j],
#   \qquad [\varepsilon_i\varepsilon_j] = \begin{cases} \varepsilon_i\varepsilon_j & i < j\\
#   \tfrac12\varepsilon_k^2 & i = j = k, \end{cases}$$
#
# in **Hessian form**: the coefficient of $\varepsilon_k^2$ is stored doubled, as $c_{kk}$.
# Why: Taylor's series of $f$ at $\theta + \sum_k v_k\varepsilon_k$ stops after the second
# order,
#
# $$f\Big(\theta + \sum_k v_k\varepsilon_k\Big) = f(\theta) + \sum_k (g\cdot v_k)\,\varepsilon_k
#   + \tfrac12\sum_{k,l} v_k^\top H v_l\;\varepsilon_k\varepsilon_l
#   = f(\theta) + \sum_k \tilde g_k\,\varepsilon_k + \sum_{i\le j}\tilde H_{ij}\,
#   [\varepsilon_i\varepsilon_j],$$
#
# so in Hessian form $b_k = \tilde g_k$ and $c_{ij} = \tilde H_{ij}$ on and off the
# diagonal alike.
#
# **The chain rule.** Write $x = a + \delta$ with $\delta = \sum b_k\varepsilon_k + \sum
# c_{ij}[\varepsilon_i\varepsilon_j]$. Then $\delta^3 = 0$ and $\delta^2 = \sum_{k,l} b_k
# b_l\,\varepsilon_k\varepsilon_l = 2\sum_{i\le j} b_i b_j\,[\varepsilon_i\varepsilon_j]$, so
#
# $$f(x) = f(a) + f'(a)\,\delta + \tfrac12 f''(a)\,\delta^2:\qquad
#   a \to f(a),\quad b_k \to f'(a)\,b_k,\quad c_{ij} \to f'(a)\,c_{ij} + f''(a)\,b_i b_j .$$
#
# **The product rule.** Multiply $x$ by $y = p + \sum q_k\varepsilon_k + \sum
# r_{ij}[\varepsilon_i\varepsilon_j]$ and keep the terms of order at most two:
#
# $$a \to ap,\quad b_k \to a\,q_k + b_k\,p,\quad c_{ij} \to a\,r_{ij} + c_{ij}\,p + b_i q_j
#   + b_j q_i .$$
#
# (For $i = j = k$ the cross term $b_k q_k\,\varepsilon_k^2 = 2 b_k q_k\,[\varepsilon_k^2]$
# is $b_i q_j + b_j q_i$: the same formula on the diagonal, which is the point of the Hessian
# form.) Every other operation is linear (sums, slices, reshapes: applied to each part) or a
# composition of these two. The same $(f, f', f'')$ table as for hyper-dual numbers
# (`hyperdual.RULES`) serves every type.
#
# Written out on the parts $(a, b, c)$ — `a` of shape $S$, `b` of shape $(K, *S)$, `c` of
# shape $(P, *S)$ with the pairs $i \le j$ in the order of `np.triu_indices(K)`:


# %%
def pair_indices(K):
    """(I, J): the P = K(K+1)/2 pairs i ≤ j, in np.triu_indices order."""
    return np.triu_indices(K)


def jet_chain(x, f, df, d2f):
    """f(x) for a jet x = (a, b, c): (f(a), f'(a) b, f'(a) c + f''(a) b_i b_j)."""
    a, b, c = x
    I, J = pair_indices(b.shape[0])
    return f(a), df(a) * b, df(a) * c + d2f(a) * b[I] * b[J]


def jet_mul(x, y):
    """Elementwise x·y: (ap, aq + bp, ar + cp + b_i q_j + b_j q_i)."""
    (a, b, c), (p, q, r) = x, y
    I, J = pair_indices(b.shape[0])
    return a * p, a * q + b * p, a * r + c * p + b[I] * q[J] + b[J] * q[I]


def jet_linear(x, op):
    """A linear op (slice, sum, ...) acts on every part alike."""
    return tuple(op(part, lead) for part, lead in zip(x, (0, 1, 1)))


def seed(theta, V):
    """θ + Σ_k V[k] ε_k: no second-order part (zeros here; section 4 says more)."""
    K = V.shape[0]
    return theta, V, np.zeros((K * (K + 1) // 2,) + theta.shape)


# %% [markdown]
# A test function with a product of neighbours inside a sine, $f(\theta) = \sum_i
# \sin(\theta_i\theta_{i+1}) + \tfrac12\sum_i \theta_i^2$, written once on our hand-made
# jets and once with NumPy operations (for the library's `Jet` and for the bicomplex step,
# which shares no code with either: notebook 2).


# %%
def f_by_hand(x):
    left = jet_linear(x, lambda part, lead: part[..., :-1])
    right = jet_linear(x, lambda part, lead: part[..., 1:])
    s = jet_chain(jet_mul(left, right), np.sin, np.cos, lambda a: -np.sin(a))
    square = jet_mul(x, x)
    total = tuple(
        u + 0.5 * w
        for u, w in zip(
            jet_linear(s, lambda p, lead: p.sum(axis=-1)),
            jet_linear(square, lambda p, lead: p.sum(axis=-1)),
        )
    )
    return total


def f(theta):
    return np.sum(np.sin(theta[:-1] * theta[1:])) + 0.5 * np.sum(theta * theta)


D, K = 5, 3
theta, V = rng.normal(size=D), rng.normal(size=(K, D))
I, J = pair_indices(K)

value, g_K, c = f_by_hand(seed(theta, V))
H_K = np.zeros((K, K))
H_K[I, J] = H_K[J, I] = c  # Hessian form -> matrix

library = f(Jet(theta, V))  # the library's K-jet
_, b1, b12 = hd.bicomplex_directional(f, theta, V[I], V[J])  # P bicomplex evaluations
print("g̃ = V g:      by hand", g_K, "\n               library", library.first)
print("H̃ = V H Vᵀ by hand:\n", H_K, "\nlibrary:\n", library.hessian())
assert_close(g_K, library.first, np.float64, "exact", "g̃: by hand vs hyperdual.Jet")
assert_close(H_K, library.hessian(), np.float64, "exact", "H̃: by hand vs hyperdual.Jet")
assert_close(g_K, b1[I == J], np.float64, "exact", "g̃ vs bicomplex step")
assert_close(c, b12, np.float64, "exact", "H̃ (pairs i ≤ j) vs bicomplex step")
print(f"relative error of H̃ against the bicomplex step: {relative_error(c, b12):.1e}")

# %% [markdown]
# The library's `Jet` stores the same three parts (`real`, `first`, `second`) and its two
# rules are the same few lines as ours:

# %%
print(inspect.getsource(Jet.chain))

# %% [markdown]
# ## 2. Why the jet and the pairs compute the same numbers
#
# Put the rules side by side. The hyper-dual number of pair $(i, j)$ has parts
# $(a, b, c, d)$ = (real, tangent along $v_i$, tangent along $v_j$, $\varepsilon_1
# \varepsilon_2$ part):
#
# | | hyper-dual pair $(i, j)$, $\varepsilon_1\varepsilon_2$ part | jet, part $c_{ij}$ |
# |---|---|---|
# | chain rule | $f'(a)\,d + f''(a)\,b\,c$ | $f'(a)\,c_{ij} + f''(a)\,b_i\,b_j$ |
# | product rule | $a\,s + b\,r + c\,q + d\,p$ | $a\,r_{ij} + b_i\,q_j + b_j\,q_i + c_{ij}\,p$ |
#
# With $b = b_i$ and $c = b_j$ (the pair's two tangents) the formulas are *identical*, term
# by term. The pairs hold $b_i$ and $b_j$ as private copies — pair $(i,j)$ stores the tangent
# along $v_i$ in its $\varepsilon_1$ part — while the jet holds each $b_k$ once and indexes it
# with $I, J$. So both give the same numbers up to the order of floating-point additions.
#
# How often is each tangent computed by the pairs? The tangent along $v_k$ sits in
# $\varepsilon_1$ of the pairs $(k, j)$, $j \ge k$, and in $\varepsilon_2$ of the pairs
# $(i, k)$, $i \le k$: $(K - k) + (k + 1) = K + 1$ times (numbering from 0). Counted from the
# pair lists:

# %%
K = 8
I, J = pair_indices(K)
copies = [int(np.sum(I == k) + np.sum(J == k)) for k in range(K)]
print(f"K = {K}: P = {len(I)} pairs; copies of each tangent in the pairs' ε1, ε2 parts: {copies}")
assert copies == [K + 1] * K

# %% [markdown]
# ## 3. The work count
#
# **Arrays carried.** Every intermediate value of shape $S$ (an activation) carries its real
# part and some $\varepsilon$-parts of shape $S$:
#
# | | $\varepsilon$-arrays per value | $K = 1$ | $K = 2$ | $K = 4$ | $K = 8$ | $K = 16$ |
# |---|---|---|---|---|---|---|
# | $P$ hyper-dual pairs | $3P = \tfrac32 K(K+1)$ | 3 | 9 | 30 | 108 | 408 |
# | one $K$-jet | $K + P = \tfrac12 K(K+3)$ | 2 | 5 | 14 | 44 | 152 |
#
# The ratio $3(K+1)/(K+3)$ grows from 1.5 to 3: the pairs' first-order parts are $2P =
# K(K+1)$ arrays where $K$ would do.
#
# **Matrix products.** Most of a network's time goes into its matrix products. Count them for
# a `Dense` layer $y = hW^\top + b$, in units of one product of the layer's size ($N\times
# n_\text{in}$ by $n_\text{in}\times n_\text{out}$). The weight $W$ is a slice of $\theta +
# \sum_k v_k\varepsilon_k$: real part and $K$ first-order parts, **no second-order part**.
#
# * **first layer**, $h$ = the data (a plain array): $h\,W^\top$ is linear in $W$, one
#   product per part of $W$. Jet: $1 + K$. Pairs: $1 + 2P$, plus one product with the pairs'
#   $\varepsilon_1\varepsilon_2$ part of $\theta$, which is stored as a single row of zeros
#   shared by all pairs (broadcast): $2P + 2$.
# * **a hidden layer**, $h$ a jet (or pairs) from the layer below: the product rule.
#   Jet: $ap$ (1), $aq_k + b_kp$ ($2K$), $c_{ij}p$ ($P$), and the cross terms $b_iq_j +
#   b_jq_i$, all $K^2$ products $b_iq_j$ in one stacked matrix product — $1 + 2K + P + K^2
#   = 1 + K + 3P$; the term $a\,r_{ij}$ is skipped, since $W$ has no second-order part.
#   Pairs: $\varepsilon_1$ and $\varepsilon_2$ need $2P$ each, $\varepsilon_1\varepsilon_2$
#   needs $br, cq, dp$ ($3P$) and $as$ (the shared zero row, 1): $7P + 2$.
#
# To count the products the library *actually* performs, we wrap the one function through
# which every matrix product of its number types goes (`hyperdual.bilinear._matmul_parts`, a
# private name: this is instrumentation, not an interface) and add up how many
# layer-sized products each call computed — its output's size over the size of one output
# matrix. A stacked call counts as the products it stacks.


# %%
@contextlib.contextmanager
def counting_matmuls():
    """Count the matrix products made by hyper-dual and jet arithmetic inside the block.

    Yields a dict whose "products" entry is the number of 2-D matrix products computed
    (a call whose output has shape (..., n, m) counts size / (n·m)).
    """
    original = bilinear._matmul_parts
    tally = {"products": 0}

    def count(out):
        tally["products"] += out.size // (out.shape[-2] * out.shape[-1])
        return out

    def counted(p, lead_p, q, lead_q):
        return count(original(p, lead_p, q, lead_q))

    counted.cross = lambda b, q: count(original.cross(b, q))  # the jet's K² cross terms
    counted.stack_right = original.stack_right
    bilinear._matmul_parts = counted
    try:
        yield tally
    finally:
        bilinear._matmul_parts = original


def layer_by_layer(model, x_theta, X):
    """Run the model's layers one at a time on θ's number type; per layer:
    (name, matrix products, leading sizes of the ε-parts of its output, None = absent)."""
    tensors = dict(model.unflatten(x_theta))
    h, rows = X, []
    for name, layer in model.layers:
        params = tuple(tensors[f"{name}.{p}"] for p, _ in layer.param_shapes())
        with counting_matmuls() as tally:
            h = layer.forward(params, h)
        rows.append(
            (
                name,
                tally["products"],
                [None if part is None else part.shape[0] for part in h.parts[1:]],
            )
        )
    return rows


def pairs_seed(theta, V):
    """The P pairs (V[i], V[j]), i ≤ j, as hd.directional builds them: ε1ε2 of θ is one
    shared row of zeros."""
    I, J = pair_indices(V.shape[0])
    return HyperDual.from_parts((theta, V[I], V[J], np.zeros((1,) + theta.shape)))


# %% [markdown]
# A small network: 20 inputs, two hidden `Tanh` layers of 16 units, 5 classes, a batch of
# 32; $K = 8$ random directions.

# %%
n_in, width, C, N = 20, 16, 5, 32
model = Sequential(
    [Dense(n_in, width), Tanh(), Dense(width, width), Tanh(), Dense(width, C)], input_shape=(n_in,)
)
theta = model.init_params(seed=0) + 0.1 * rng.normal(size=model.num_params)  # no zero bias
X, y = rng.normal(size=(N, n_in)), rng.integers(0, C, size=N)
D, K = model.num_params, 8
V = rng.normal(size=(K, D))
P = K * (K + 1) // 2

jet_rows = layer_by_layer(model, Jet(theta, V), X)
pair_rows = layer_by_layer(model, pairs_seed(theta, V), X)

print(f"D = {D}, K = {K}, P = {P}")
print(
    f"{'layer':8s} {'jet: products':>14s} {'parts (first, second)':>22s}   "
    f"{'pairs: products':>15s} {'parts (ε1, ε2, ε1ε2)':>21s}"
)
for (name, jet_products, jet_parts), (_, pair_products, pair_parts) in zip(jet_rows, pair_rows):
    print(
        f"{name:8s} {jet_products:14d} {str(jet_parts):>22s}   {pair_products:15d} "
        f"{str(pair_parts):>21s}"
    )

# %% [markdown]
# The counted products are the formulas exactly, and a `Tanh` makes no matrix products at
# all:

# %%
expected_jet = {"dense1": 1 + K, "dense2": 1 + K + 3 * P, "dense3": 1 + K + 3 * P}
expected_pairs = {"dense1": 2 * P + 2, "dense2": 7 * P + 2, "dense3": 7 * P + 2}
for (name, jet_products, _), (_, pair_products, _) in zip(jet_rows, pair_rows):
    assert jet_products == expected_jet.get(name, 0), name
    assert pair_products == expected_pairs.get(name, 0), name
total_jet = sum(row[1] for row in jet_rows)
total_pairs = sum(row[1] for row in pair_rows)
print(
    f"whole network: {total_pairs} products for the pairs, {total_jet} for the jet "
    f"({total_pairs / total_jet:.1f}x); per hidden layer {7 * P + 2} vs {1 + K + 3 * P} "
    f"(→ 7/3 for large K)"
)
print(f"ε-arrays carried by a hidden activation: pairs {3 * P}, jet {K + P}")
assert [p for p in jet_rows[-1][2]] == [K, P] and pair_rows[-1][2] == [P, P, P]

# %% [markdown]
# What the counts mean in time, measured here (no assertion: times depend on the machine and
# its load). `hd.projected_hessian` evaluates the jet; `hd.directional` with the pairs
# $(V[I], V[J])$ evaluates the pairs in one call (the pair axis, notebook 3). On a larger
# batch, so that the matrix products dominate:


# %%
def best_time(fn, repeat=5):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, min(times)


X_big, y_big = rng.normal(size=(512, n_in)), rng.integers(0, C, size=512)


def loss(t):
    return model.loss(t, X_big, y_big)


print(f"{'K':>3s} {'P':>4s} {'pairs':>10s} {'jet':>10s}")
for K_t in (2, 4, 8, 16):
    V_t = rng.normal(size=(K_t, D))
    I_t, J_t = pair_indices(K_t)
    _, t_pairs = best_time(lambda: hd.directional(loss, theta, V_t[I_t], V_t[J_t]))  # noqa: B023
    _, t_jet = best_time(lambda: hd.projected_hessian(loss, theta, V_t))  # noqa: B023
    print(f"{K_t:3d} {len(I_t):4d} {1e3 * t_pairs:8.1f} ms {1e3 * t_jet:8.1f} ms")

# %% [markdown]
# ## 4. Structural zeros
#
# Some parts are *known* to be zero before anything is computed:
#
# * the data $X$ has no $\varepsilon$-parts at all (we differentiate with respect to
#   $\theta$ only);
# * $\theta + \sum_k v_k\varepsilon_k$ has no second-order part.
#
# A `Jet` stores such a part as `None` (a **structural zero**) and every rule skips the
# terms that contain it: a `None` times anything is not computed, and a sum of `None`s stays
# `None`. The hand-made jet of section 1 stored an array of zeros instead — and multiplied
# by it.

# %%
x_theta = Jet(theta, V)
print(
    "θ's parts:", "real", x_theta.real.shape, "first", x_theta.first.shape, "second", x_theta.second
)
assert x_theta.second is None

# %% [markdown]
# What it saves in the **first layer**: $XW^\top + b$ with $X$ plain and $W$ without a
# second-order part has no second-order part either. Only $1 + K = 9$ matrix products, no
# second-order arrays (the table above: `dense1` → `[8, None]`); the pairs compute
# $2P + 2 = 74$ products there, $2P$ of them repeating the $K$ tangents. The second-order
# part is born at the first nonlinearity, as $f''(a)\,b_ib_j$ (`tanh1` → `[8, 36]`): an
# elementwise product, no matrix product. And in every later layer the term $a\,r_{ij}$
# (activation times the weight's second-order part) is skipped: $P$ products per layer that
# a version storing zeros would compute (our hand-made `jet_mul` of section 1 does). The
# library's pairs avoid most of that by storing $\theta$'s $\varepsilon_1\varepsilon_2$ part
# as *one* row of zeros shared by all pairs, and still compute that one product per layer.
#
# The first layer by hand, on the library's `Jet`: slice the first weight out of
# $\theta + \sum_k v_k\varepsilon_k$ and multiply.

# %%
W1 = x_theta[: n_in * width].reshape(width, n_in)  # the first weight: a Jet slice
first_layer = X @ W1.T
print("first layer's output: first", first_layer.first.shape, "second", first_layer.second)
after_tanh = np.tanh(first_layer)
print("after tanh:            first", after_tanh.first.shape, "second", after_tanh.second.shape)
assert first_layer.second is None and after_tanh.second.shape == (P, N, width)

# %% [markdown]
# ## 5. The same $K\times K$ Hessian three ways
#
# On the network above: the jet (`hd.projected_hessian`), the $P$ pairs (`hd.directional`),
# and the bicomplex step (`hd.bicomplex_directional`: one bicomplex evaluation per pair,
# separate closed forms for every function, no rule table).


# %%
def f_net(t):
    return model.loss(t, X, y)


value, g_jet, H_jet = hd.projected_hessian(f_net, theta, V)

I, J = pair_indices(K)
_, d1, _, d12 = hd.directional(f_net, theta, V[I], V[J])
H_pairs = np.zeros((K, K))
H_pairs[I, J] = H_pairs[J, I] = d12

_, b1, b12 = hd.bicomplex_directional(f_net, theta, V[I], V[J])
H_bicomplex = np.zeros((K, K))
H_bicomplex[I, J] = H_bicomplex[J, I] = b12

print(f"f(θ) = {float(value):.12f}")
print("H̃ (jet), first three rows:\n", np.array2string(H_jet[:3], precision=3))
print(
    f"relative error of H̃: jet vs pairs {relative_error(H_jet, H_pairs):.1e}, "
    f"jet vs bicomplex {relative_error(H_jet, H_bicomplex):.1e}, "
    f"pairs vs bicomplex {relative_error(H_pairs, H_bicomplex):.1e}"
)
print(
    f"relative error of g̃: jet vs pairs {relative_error(g_jet, d1[I == J]):.1e}, "
    f"jet vs bicomplex {relative_error(g_jet, b1[I == J]):.1e}"
)
assert_close(H_jet, H_pairs, np.float64, "exact", "H̃: jet vs pairs")
assert_close(H_jet, H_bicomplex, np.float64, "exact", "H̃: jet vs bicomplex step")
assert_close(H_pairs, H_bicomplex, np.float64, "exact", "H̃: pairs vs bicomplex step")
assert_close(g_jet, b1[I == J], np.float64, "exact", "g̃: jet vs bicomplex step")
assert np.array_equal(H_jet, H_jet.T)

# %% [markdown]
# The jet and the pairs agree to a few units in the last place (the same products, summed in
# a different order), and both agree with the bicomplex step to rounding.
#
# ## Summary
#
# * A second-order $K$-jet $a + \sum_k b_k\varepsilon_k + \sum_{i\le j}c_{ij}
#   [\varepsilon_i\varepsilon_j]$ evaluated at $\theta + \sum_k v_k\varepsilon_k$ gives
#   $f(\theta)$, $\tilde g = Vg$ and $\tilde H = VHV^\top$ in one pass.
# * Its rules are the hyper-dual rules with the two tangents of a pair replaced by $b_i,
#   b_j$: chain $c_{ij} \to f'(a)\,c_{ij} + f''(a)\,b_ib_j$, product $c_{ij} \to
#   a\,r_{ij} + c_{ij}\,p + b_iq_j + b_jq_i$.
# * It carries $K + P$ arrays where the pairs carry $3P$, and each tangent once where the
#   pairs compute it $K + 1$ times; per hidden `Dense` layer $1 + K + 3P$ matrix products
#   against $7P + 2$, in the first layer $1 + K$ against $2P + 2$.
# * Structural zeros (`None`: the data's tangents, $\theta$'s second-order part) are never
#   computed.
#
# ## Exercises
#
# **Try it 1:** for $K = 1$ the jet is the line search's pair $(v, v)$ without the
# duplicate. Evaluate `f_net` on `Jet(theta, v[None])` and on the hyper-dual pair
# `HyperDual(theta, v, v)`; check that the value, the slope $g\cdot v$ and the curvature
# $v^\top Hv$ agree, and count the $\varepsilon$-arrays of the logits in each.
#
# *Worked solution below (collapsed).*

# %% tags=["solution"]
v = rng.normal(size=D)
line_jet = f_net(Jet(theta, v[None]))
line_pair = f_net(HyperDual(theta, v, v))
print(
    f"jet:  {float(line_jet.real):.15f} {line_jet.first.item():.15f} {line_jet.second.item():.15f}"
)
print(
    f"pair: {float(line_pair.real):.15f} {line_pair.eps1.item():.15f} {line_pair.eps12.item():.15f}"
)
logits_jet = model.forward(Jet(theta, v[None]), X)
logits_pair = model.forward(HyperDual(theta, v, v), X)
arrays_jet = sum(part.shape[0] for part in logits_jet.parts[1:])
arrays_pair = sum(part.shape[0] for part in logits_pair.parts[1:])
print(f"ε-arrays of the logits: jet {arrays_jet}, pair {arrays_pair} (ε1 and ε2 are equal)")
assert np.allclose(
    [line_jet.first.item(), line_jet.second.item()],
    [line_pair.eps1.item(), line_pair.eps12.item()],
    rtol=1e-14,
) and (arrays_jet, arrays_pair) == (2, 3)

# %% [markdown]
# **Try it 2:** replace both `Tanh` layers by `ReLU`. ReLU is piecewise linear: its rule has
# $f'' = 0$, which the library passes on as a structural zero. Predict, then count with
# `layer_by_layer`, which outputs have a second-order part and how many matrix products the
# second `Dense` layer makes (for $K = 8$).
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** nothing creates a second-order part before the second `Dense` layer: the
# first layer and the ReLU after it (a mask: $f'(a) b_k$, and $f'' b_ib_j$ skipped) keep
# `None`. In the second `Dense` layer only the cross terms $b_iq_j + b_jq_i$ create it: $1 +
# 2K + K^2 = 81$ products instead of $1 + K + 3P$ — the $c_{ij}p$ term is skipped too, as
# $c$ is still `None`. From then on it is a hidden layer like before.

# %% tags=["solution"]
relu_model = Sequential(
    [Dense(n_in, width), ReLU(), Dense(width, width), ReLU(), Dense(width, C)], input_shape=(n_in,)
)
relu_rows = layer_by_layer(relu_model, Jet(theta, V), X)
for name, products, parts in relu_rows:
    print(f"{name:8s} {products:4d} products, parts {parts}")
seconds = [parts[1] for _, _, parts in relu_rows]
assert (
    seconds == [None, None, P, P, P]
    and relu_rows[2][1] == 1 + 2 * K + K * K
    and relu_rows[4][1] == 1 + K + 3 * P
)

# %% [markdown]
# **Try it 3:** the chain rule composes. Applying `jet_chain` for $g = \sin$ and then for
# $h = \exp$ must give the same jet as applying it once for $h \circ g$ with
# $(h\circ g)' = h'(g)\,g'$ and $(h\circ g)'' = h''(g)\,g'^2 + h'(g)\,g''$ (the second-order
# Faà di Bruno formula). Check it on a random jet with $K = 3$ and non-zero second-order
# parts, and against the library's `Jet`.
#
# *Worked solution below (collapsed).*

# %% tags=["solution"]
K3 = 3
x = (rng.normal(size=4), rng.normal(size=(K3, 4)), rng.normal(size=(K3 * (K3 + 1) // 2, 4)))
twice = jet_chain(jet_chain(x, np.sin, np.cos, lambda a: -np.sin(a)), np.exp, np.exp, np.exp)
once = jet_chain(
    x,
    lambda a: np.exp(np.sin(a)),
    lambda a: np.exp(np.sin(a)) * np.cos(a),
    lambda a: np.exp(np.sin(a)) * (np.cos(a) ** 2 - np.sin(a)),
)
library = np.exp(np.sin(Jet(*x)))
for part_twice, part_once, part_library in zip(twice, once, library.parts):
    print(np.max(np.abs(part_twice - part_once)), np.max(np.abs(part_twice - part_library)))
assert all(
    np.allclose(u, w, rtol=1e-14, atol=1e-15) and np.allclose(u, z, rtol=1e-14, atol=1e-15)
    for u, w, z in zip(twice, once, library.parts)
)

# %% [markdown]
# Next: [5. FoMoH, FoMoH-BP and FGD on Rosenbrock](05_fomoh_on_rosenbrock.ipynb), where
# FoMoH-KD takes its $K\times K$ Hessian from this jet.
