"""Learning-rate sequences of every scheduler equal PyTorch's."""

import math

import numpy as np
import pytest

import graphtorch as gt
import graphtorch.optim as optim
from graphtorch.optim import lr_scheduler as sched

torch = pytest.importorskip("torch")

CASES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),
    ("LambdaLR", dict(lr_lambda=lambda e: 1.0 / (e + 1))),
    ("LinearLR", dict(start_factor=0.25, end_factor=0.9, total_iters=6)),
    ("ConstantLR", dict(factor=0.5, total_iters=4)),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=25)),
    ("OneCycleLR", dict(max_lr=[1.0, 0.5], total_steps=25, anneal_strategy="linear",
                        pct_start=0.4)),
    ("OneCycleLR", dict(max_lr=0.8, epochs=5, steps_per_epoch=5, three_phase=True,
                        div_factor=10.0, final_div_factor=100.0)),
]


def _sequence(lib, opt_name, opt_kwargs, name, kwargs, steps=24):
    a = lib.zeros(2, requires_grad=True)
    b = lib.zeros(2, requires_grad=True)
    opt_mod = optim if lib is gt else torch.optim
    opt = getattr(opt_mod, opt_name)([{"params": [a]}, {"params": [b], "lr": 0.05}],
                                     **opt_kwargs)
    s = getattr(sched if lib is gt else torch.optim.lr_scheduler, name)(opt, **kwargs)
    lrs, moms = [s.get_last_lr()], []
    for _ in range(steps):
        opt.step()
        s.step()
        lrs.append(s.get_last_lr())
        g = opt.param_groups[0]
        moms.append(g["betas"][0] if "betas" in g else g.get("momentum"))
    return lrs, moms


@pytest.mark.torch
@pytest.mark.parametrize("opt_name,opt_kwargs", [("SGD", dict(lr=0.1, momentum=0.9)),
                                                 ("Adam", dict(lr=0.1))])
@pytest.mark.parametrize("name,kwargs", CASES)
def test_lr_sequence_matches_torch(name, kwargs, opt_name, opt_kwargs):
    ours = _sequence(gt, opt_name, opt_kwargs, name, kwargs)
    ref = _sequence(torch, opt_name, opt_kwargs, name, kwargs)
    np.testing.assert_allclose(np.array(ours[0]), np.array(ref[0]), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(np.array(ours[1], dtype=float), np.array(ref[1], dtype=float),
                               rtol=1e-13)


@pytest.mark.torch
def test_sequential_lr_matches_torch():
    out = []
    for lib, mod, omod in ((gt, sched, optim), (torch, torch.optim.lr_scheduler, torch.optim)):
        opt = omod.SGD([lib.zeros(2, requires_grad=True)], lr=0.1)
        warm = mod.LinearLR(opt, start_factor=0.1, total_iters=3)
        decay = mod.ExponentialLR(opt, gamma=0.8)
        s = mod.SequentialLR(opt, [warm, decay], milestones=[4])
        lrs = [s.get_last_lr()[0]]
        for _ in range(10):
            opt.step()
            s.step()
            lrs.append(s.get_last_lr()[0])
        out.append(lrs)
    np.testing.assert_allclose(out[0], out[1], rtol=1e-13)


@pytest.mark.torch
def test_reduce_lr_on_plateau_matches_torch():
    metrics = [1.0, 0.9, 0.9, 0.95, 0.91, 0.92, 0.5, 0.6, 0.7, 0.7, 0.8, 0.8, 0.9, 0.9, 0.9]
    out = []
    for lib, mod, omod in ((gt, sched, optim), (torch, torch.optim.lr_scheduler, torch.optim)):
        opt = omod.SGD([lib.zeros(2, requires_grad=True)], lr=0.1)
        s = mod.ReduceLROnPlateau(opt, patience=1, factor=0.5, cooldown=1, min_lr=0.01)
        lrs = []
        for m in metrics:
            s.step(m)
            lrs.append(opt.param_groups[0]["lr"])
        out.append(lrs)
    assert out[0] == out[1]


def test_chained_schedulers_compose():
    opt = optim.SGD([gt.zeros(1, requires_grad=True)], lr=1.0)
    a = sched.StepLR(opt, step_size=2, gamma=0.5)
    b = sched.ExponentialLR(opt, gamma=0.9)
    for _ in range(4):
        opt.step()
        a.step()
        b.step()
    assert math.isclose(opt.param_groups[0]["lr"], 0.5**2 * 0.9**4)


def test_scheduler_state_dict_resumes():
    opt = optim.SGD([gt.zeros(1, requires_grad=True)], lr=1.0)
    s = sched.CosineAnnealingLR(opt, T_max=10)
    for _ in range(3):
        s.step()
    state = s.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 3
    opt2 = optim.SGD([gt.zeros(1, requires_grad=True)], lr=1.0)
    opt2.load_state_dict(opt.state_dict())
    s2 = sched.CosineAnnealingLR(opt2, T_max=10)
    s2.load_state_dict(state)
    s.step()
    s2.step()
    assert s.get_last_lr() == s2.get_last_lr()


def test_resuming_without_initial_lr_is_an_error():
    opt = optim.SGD([gt.zeros(1, requires_grad=True)], lr=1.0)
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups"):
        sched.StepLR(opt, step_size=2, last_epoch=3)


def test_one_cycle_errors():
    opt = optim.SGD([gt.zeros(1, requires_grad=True)], lr=1.0)
    with pytest.raises(ValueError, match="either total_steps OR"):
        sched.OneCycleLR(opt, max_lr=1.0)
    s = sched.OneCycleLR(opt, max_lr=1.0, total_steps=2)
    s.step()
    s.step()
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        s.step()
    plain = optim.Adagrad([gt.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="must support momentum or beta1"):
        sched.OneCycleLR(plain, max_lr=1.0, total_steps=5)
