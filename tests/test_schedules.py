"""Learning-rate schedules: the milestone cut, the one-off rise cut, and the paper's
released schedules reproduced against PyTorch's own ``MultiStepLR`` (skipped without torch)."""

from __future__ import annotations

import json

import pytest

from hyperlab.train import ConfigError, RunConfig, build_schedule
from optimizers.schedules import MilestoneDecay, ReduceOnRise, StepDecay


class _Opt:
    def __init__(self, lr=1.0):
        self.lr = lr


def _rates(schedule, opt, epochs, losses=None):
    """The rate used in each of ``epochs`` epochs (the schedule steps after each)."""
    rates = []
    for e in range(epochs):
        rates.append(opt.lr)
        schedule.step(None if losses is None else losses[e])
    return rates


def test_milestone_cuts_once_after_its_epoch():
    opt = _Opt(0.5)
    rates = _rates(MilestoneDecay(opt, gamma=0.1, milestone=3), opt, 8)
    assert rates == pytest.approx([0.5, 0.5, 0.5, 0.05, 0.05, 0.05, 0.05, 0.05], rel=1e-15)


def test_milestone_state_round_trip_resumes_exactly():
    a_opt, b_opt = _Opt(), _Opt()
    a = MilestoneDecay(a_opt, gamma=0.8, milestone=4)
    _rates(a, a_opt, 3)
    b = MilestoneDecay(b_opt, gamma=0.8, milestone=4)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    b_opt.lr = a_opt.lr
    assert _rates(a, a_opt, 4) == _rates(b, b_opt, 4) == pytest.approx([1, 0.8, 0.8, 0.8])
    with pytest.raises(ValueError):
        b.load_state_dict({"schedule": "StepDecay", "count": 1})
    for bad in (dict(gamma=0.0), dict(gamma=1.5), dict(milestone=0), dict(milestone=2.5)):
        with pytest.raises(ValueError):
            MilestoneDecay(_Opt(), **bad)


def test_first_rise_cuts_only_once():
    losses = [1.0, 0.9, 0.95, 0.8, 0.85, 0.7, 0.9]
    opt = _Opt()
    every = ReduceOnRise(opt, factor=0.1)
    assert sum(every.step(v) for v in losses) == 3
    opt = _Opt()
    once = ReduceOnRise(opt, factor=0.1, max_reductions=1)
    assert [once.step(v) for v in losses] == [False, False, True, False, False, False, False]
    assert opt.lr == pytest.approx(0.1)
    # resumable, and states written before max_reductions existed still load
    again = ReduceOnRise(_Opt(), factor=0.1, max_reductions=1)
    again.load_state_dict(json.loads(json.dumps(once.state_dict())))
    assert again.reductions == 1 and again.step(5.0) is False
    old = {"schedule": "ReduceOnRise", "last": 0.9, "bad": 0, "cooling": 0}
    fresh = ReduceOnRise(_Opt(), max_reductions=1)
    fresh.load_state_dict(old)
    assert fresh.reductions == 0 and fresh.step(1.0) is True
    with pytest.raises(ValueError):
        ReduceOnRise(_Opt(), max_reductions=0)


@pytest.mark.parametrize(
    "name, cls, extra",
    [
        ("step", StepDecay, {}),
        ("milestone", MilestoneDecay, {}),
        ("plateau", ReduceOnRise, {"max_reductions": None}),
        ("first-rise", ReduceOnRise, {"max_reductions": 1}),
        ("none", type(None), {}),
    ],
)
def test_run_config_builds_each_schedule(name, cls, extra):
    config = RunConfig(schedule=name, milestone=7, every=3).validate()
    schedule = build_schedule(config, _Opt())
    assert isinstance(schedule, cls)
    for key, value in extra.items():
        assert getattr(schedule, key) == value
    if name == "milestone":
        assert schedule.milestone == 7
    with pytest.raises(ConfigError):
        RunConfig(schedule="cosine").validate()
    with pytest.raises(ConfigError):
        RunConfig(schedule="milestone", milestone=0).validate()


# ------------------------------------------------------------------ the paper's released code


def _torch_rates(milestones, gamma, epochs, lr=1.0):
    """Rates of torch.optim.lr_scheduler.MultiStepLR stepped once per epoch (as the paper's
    scripts/train_functions.py does for FGD, FoMoH, FoMoH-BP and back-propagation)."""
    torch = pytest.importorskip("torch")
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=gamma)
    rates = []
    for _ in range(epochs):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return rates


@pytest.mark.parametrize("milestone, gamma, epochs", [(3, 0.1, 10), (4, 0.8, 9), (7, 0.1, 7)])
def test_milestone_equals_torch_multisteplr_with_one_milestone(milestone, gamma, epochs):
    opt = _Opt()
    ours = _rates(MilestoneDecay(opt, gamma=gamma, milestone=milestone), opt, epochs)
    assert ours == pytest.approx(_torch_rates([milestone], gamma, epochs), rel=1e-12)


@pytest.mark.parametrize("m, gamma, epochs", [(3, 0.1, 10), (5, 0.1, 12), (4, 0.5, 9)])
def test_the_scripts_repeated_milestone_is_one_cut_by_a_power_of_gamma(m, gamma, epochs):
    """scripts/train_functions.py: MultiStepLR(milestones=[m] * int(epochs / m)) cuts once,
    at m, by gamma ** int(epochs / m) (the CNN's FoMoH LR-sch.: x0.001 at epoch 1,000)."""
    torch_rates = _torch_rates([m] * int(epochs / m), gamma, epochs)
    opt = _Opt()
    ours = _rates(MilestoneDecay(opt, gamma=gamma ** int(epochs / m), milestone=m), opt, epochs)
    assert ours == pytest.approx(torch_rates, rel=1e-12)
    assert len(set(torch_rates)) == 2  # one cut, not one every m epochs


def test_the_scripts_fomoh_kd_loop_is_a_step_decay():
    """FoMoH_Kd_gradient_descent: ``if i % milestones == 0: lr *= gamma`` after epoch i."""
    m, gamma, epochs, lr = 3, 0.8, 10, 1.0
    scripts = []
    for i in range(1, epochs + 1):
        scripts.append(lr)
        if i > 0 and i % m == 0:
            lr *= gamma
    opt = _Opt()
    assert _rates(StepDecay(opt, gamma=gamma, every=m), opt, epochs) == pytest.approx(
        scripts, rel=1e-15
    )
