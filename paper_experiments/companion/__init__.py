"""Experiments of the three companion papers, each one command with a CPU budget.

::

    python -m paper_experiments.companion mlp        # (a) Newton family vs SGD
    python -m paper_experiments.companion partition  # (c) partition Newton vs SGD, same benchmark
    python -m paper_experiments.companion lenet      # (b) complex-step Newton-Krylov vs Adam
    python -m paper_experiments.companion fd         # (b) supplement: finite differences vs CS
    python -m paper_experiments.companion heatmaps   # (c) H̄ and H̄⁻¹ of LeNet-5 (Figure 1)
    python -m paper_experiments.companion all        # all five

Options: ``--data-dir`` (MNIST files; default the library's data directory), ``--out``
(default ``results/companion``), ``--budget`` (wall-clock seconds per method, overriding the
defaults below), ``--epochs``, ``--seed``, ``--global-subset`` (Newton-Krylov's global
gradient: a number of fixed training images, or ``all``, the paper's full training set),
``--quick`` (a smoke test on 2,000 examples with tiny budgets). Each experiment writes
``results.json``, ``results.md`` (the table) and its figures into ``<out>/<experiment>/``.

(a) **Two-layer ReLU network on MNIST** (``second-order-made-practical...``): Dense 784→16,
    ReLU, Dense 16→10, log-softmax cross-entropy (``layers.models.mlp``, 12,730 parameters);
    batch 64, up to 7 epochs on the 60,000 training images; test accuracy on the 10,000 test
    images. Methods with the paper's settings: SGD (lr 0.1), Newton (λ = 0) and damped Newton
    (λ = 32) with the full Hessian (lr 0.5), Hessian-free Newton-CG (λ = 32, lr 0.5) and
    Hessian-free Gauss-Newton-CG (λ = 4, lr 0.5), at most 10 CG products per step. Each method
    stops after 7 epochs or its wall-clock budget (180 s; Newton and damped Newton: 300 s,
    each of their steps takes 15-45 s on an idle 2-core machine, many minutes on a loaded
    one), whichever comes first; the table says which.
    Two extra rows use less damping than the paper (Hessian-free Newton λ = 1, Gauss-Newton
    λ = 0.5), where CG does more than one product per step.
(b) **LeNet-5 (sigmoid) on MNIST** (``complex-step...``): complex-step Newton-Krylov
    (η̃ = 0.05, at most 20 Krylov iterations, batch 128) against Adam (batch 128, learning
    rate the best of 1e-2, 1e-3, 1e-4 in a one-minute sweep),
    training-loss curves against steps and wall time. The global gradient of Algorithm 1 is
    taken on a fixed random subset of ``GLOBAL_SUBSET`` training images by default;
    ``--global-subset all`` takes it, as the paper does, on the whole training set after
    every update (90 % of the paper's run time on a GPU; about a minute per step of LeNet-5
    on one CPU core). The table says which.
(b') **Finite differences vs the complex step**: relative error of ``Hp`` from forward
    differences ``(∇f(θ + h p) − ∇f(θ))/h`` for h = 1e-2 … 1e-16 and from the complex step,
    against the hyper-dual value (back-propagation on dual numbers), on LeNet-5 at its
    initial and at an Adam-trained point; then a short Newton-Krylov run per h (the
    paper's supplementary Figure 1, with LeNet-5 in place of VGG-11).
(c) **Partition Newton** (``partition-pseudo-hessian...``) on benchmark (a): the canonical
    partition (S = 4: two weight tensors, two biases) with the paper's step (lr 1) and with
    lr 0.2, and the trivial one (S = 1, Cauchy) (``partition``);
    and the heat maps of H̄ and H̄⁻¹ (weight-weight, bias-bias, weight-bias blocks) of
    LeNet-5 after 1 and 3 epochs of Adam (the paper: SGD, on which our sigmoid LeNet-5 does
    not leave its initial plateau), like the paper's Figure 1.

Modules: :mod:`.runs` (one method's run, the tables and loss plots), :mod:`.experiments`
((a), (b), (c)), :mod:`.fd` ((b')), :mod:`.heatmaps` ((c), Figure 1), :mod:`.cli`.
"""

from .cli import global_subset_arg, main
from .experiments import experiment_lenet, experiment_mlp, mlp_specs
from .fd import experiment_fd
from .heatmaps import experiment_heatmaps, plot_pseudo_hessian
from .runs import GLOBAL_SUBSET, MethodSpec, markdown_table, run_method

__all__ = [
    "MethodSpec",
    "run_method",
    "mlp_specs",
    "experiment_mlp",
    "experiment_lenet",
    "experiment_fd",
    "experiment_heatmaps",
    "plot_pseudo_hessian",
    "markdown_table",
    "main",
    "global_subset_arg",
    "GLOBAL_SUBSET",
]
