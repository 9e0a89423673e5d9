"""LR schedulers vs PyTorch: composition, several groups, resuming from state dicts."""

from __future__ import annotations

import warnings

import pytest

import graphtorch as gt
from graphtorch import optim

pytestmark = pytest.mark.torch


def _opts(lrs=(0.1, 0.02)):
    import torch

    ours = optim.SGD([{"params": [gt.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs],
                     lr=1.0, momentum=0.9)
    theirs = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr}
                              for lr in lrs], lr=1.0, momentum=0.9)
    return ours, theirs


def _walk(ours_scheds, theirs_scheds, ours_opt, theirs_opt, steps):
    """Step both (optimizer first, as PyTorch wants); compare lrs and get_last_lr each time."""
    for _ in range(steps):
        ours_opt.step()
        theirs_opt.step()
        for s in ours_scheds:
            s.step()
        for s in theirs_scheds:
            s.step()
        assert [g["lr"] for g in ours_opt.param_groups] == pytest.approx(
            [g["lr"] for g in theirs_opt.param_groups], rel=1e-12, abs=1e-15)
        assert [g["momentum"] for g in ours_opt.param_groups] == pytest.approx(
            [g["momentum"] for g in theirs_opt.param_groups], rel=1e-12)
        for s, t in zip(ours_scheds, theirs_scheds):
            assert s.get_last_lr() == pytest.approx(t.get_last_lr(), rel=1e-12, abs=1e-15)


def _build(lib, opt, kind):
    sch = lib.optim.lr_scheduler
    if kind == "sequential_warmup_cosine":
        return [sch.SequentialLR(opt, [sch.LinearLR(opt, 0.1, total_iters=3),
                                       sch.CosineAnnealingLR(opt, T_max=6, eta_min=0.001)],
                                 milestones=[3])]
    if kind == "sequential_three":
        return [sch.SequentialLR(opt, [sch.ConstantLR(opt, 0.5, total_iters=2),
                                       sch.ExponentialLR(opt, 0.9),
                                       sch.StepLR(opt, 2, 0.5)], milestones=[2, 5])]
    if kind == "two_chainable":
        return [sch.StepLR(opt, 3, 0.5), sch.ExponentialLR(opt, 0.95)]
    if kind == "chained_scheduler":
        return [sch.ChainedScheduler([sch.ConstantLR(opt, 0.25, total_iters=4),
                                      sch.ExponentialLR(opt, 0.9)])]
    if kind == "lambda_per_group":
        return [sch.LambdaLR(opt, [lambda e: 0.9 ** e, lambda e: 1.0 / (e + 1)])]
    if kind == "multiplicative":
        return [sch.MultiplicativeLR(opt, lambda e: 0.95)]
    if kind == "polynomial":
        return [sch.PolynomialLR(opt, total_iters=6, power=2.0)]
    if kind == "multistep_cosine_restart":
        return [sch.MultiStepLR(opt, [2, 2, 5], 0.5)]
    if kind == "warm_restarts":
        return [sch.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=0.001)]
    if kind == "cyclic_triangular2":
        return [sch.CyclicLR(opt, [0.01, 0.001], [0.1, 0.05], step_size_up=2, step_size_down=3,
                             mode="triangular2")]
    if kind == "cyclic_exp_range":
        return [sch.CyclicLR(opt, 0.01, 0.1, step_size_up=3, mode="exp_range", gamma=0.9,
                             base_momentum=0.5, max_momentum=0.95)]
    if kind == "onecycle":
        return [sch.OneCycleLR(opt, max_lr=[0.5, 0.1], total_steps=12, pct_start=0.25,
                               anneal_strategy="linear", three_phase=True)]
    raise KeyError(kind)


KINDS = ["sequential_warmup_cosine", "sequential_three", "two_chainable", "chained_scheduler",
         "lambda_per_group", "multiplicative", "polynomial", "multistep_cosine_restart",
         "onecycle", "warm_restarts", "cyclic_triangular2", "cyclic_exp_range"]


@pytest.mark.parametrize("kind", KINDS)
def test_schedules_match(kind):
    import torch

    ours_opt, theirs_opt = _opts()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = _build(gt, ours_opt, kind)
        theirs = _build(torch, theirs_opt, kind)
    for s, t in zip(ours, theirs):
        assert s.get_last_lr() == pytest.approx(t.get_last_lr(), rel=1e-12)
    _walk(ours, theirs, ours_opt, theirs_opt, 11)


@pytest.mark.parametrize("kind", KINDS)
def test_resume_from_state_dict(kind):
    """Train 4 steps, save both state dicts, rebuild everything fresh, load, continue."""
    import torch

    ours_opt, theirs_opt = _opts()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = _build(gt, ours_opt, kind)
        theirs = _build(torch, theirs_opt, kind)
        _walk(ours, theirs, ours_opt, theirs_opt, 4)
        o_sd = (ours_opt.state_dict(), [s.state_dict() for s in ours])
        t_sd = (theirs_opt.state_dict(), [s.state_dict() for s in theirs])
        ours_opt2, theirs_opt2 = _opts()
        ours2 = _build(gt, ours_opt2, kind)
        theirs2 = _build(torch, theirs_opt2, kind)
        ours_opt2.load_state_dict(o_sd[0])
        theirs_opt2.load_state_dict(t_sd[0])
        for s, sd in zip(ours2, o_sd[1]):
            s.load_state_dict(sd)
        for s, sd in zip(theirs2, t_sd[1]):
            s.load_state_dict(sd)
    for s, t in zip(ours2, theirs2):
        assert s.get_last_lr() == pytest.approx(t.get_last_lr(), rel=1e-12)
        assert getattr(s, "last_epoch", None) == getattr(t, "last_epoch", None)
    _walk(ours2, theirs2, ours_opt2, theirs_opt2, 6)


def test_state_dict_keys_match_pytorch():
    import torch

    for kind in ["two_chainable", "lambda_per_group", "onecycle", "sequential_three",
                 "warm_restarts", "cyclic_exp_range"]:
        ours_opt, theirs_opt = _opts()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = _build(gt, ours_opt, kind)
            theirs = _build(torch, theirs_opt, kind)
        for s, t in zip(ours, theirs):
            public = {k for k in t.state_dict() if not k.startswith("_")}
            assert public | {"_last_lr"} <= set(s.state_dict()), kind
            if kind == "onecycle":
                assert s.state_dict()["_anneal_func_type"] == t.state_dict()["_anneal_func_type"]


def test_scheduler_before_optimizer_warns_like_pytorch():
    import torch

    ours_opt, theirs_opt = _opts()
    ours = optim.lr_scheduler.StepLR(ours_opt, 1)
    theirs = torch.optim.lr_scheduler.StepLR(theirs_opt, 1)
    with pytest.warns(UserWarning, match="lr_scheduler.step\\(\\)` before `optimizer.step"):
        theirs.step()
    with pytest.warns(UserWarning, match="lr_scheduler.step\\(\\)` before `optimizer.step"):
        ours.step()
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr())


def test_warm_restarts_epoch_jumps_and_adam_cyclic_betas():
    import torch

    ours_opt, theirs_opt = _opts()
    ours = optim.lr_scheduler.CosineAnnealingWarmRestarts(ours_opt, 2, T_mult=3)
    theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(theirs_opt, 2, T_mult=3)
    for epoch in [0.5, 1.75, 2.0, 7.3, 8.0, 30.0, 3.2]:
        ours.step(epoch)
        theirs.step(epoch)
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
        assert (ours.T_i, ours.last_epoch) == (theirs.T_i, theirs.last_epoch)
    ours_adam = optim.Adam([gt.zeros(1, requires_grad=True)], lr=0.1)
    theirs_adam = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=0.1)
    ours = optim.lr_scheduler.CyclicLR(ours_adam, 0.01, 0.1, step_size_up=2)
    theirs = torch.optim.lr_scheduler.CyclicLR(theirs_adam, 0.01, 0.1, step_size_up=2)
    for _ in range(5):
        ours_adam.step()
        theirs_adam.step()
        ours.step()
        theirs.step()
        assert ours_adam.param_groups[0]["betas"] == pytest.approx(
            theirs_adam.param_groups[0]["betas"], rel=1e-12)
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)


def test_scheduler_constructor_errors_like_pytorch():
    import torch

    def build(lib, which):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
        sch = lib.optim.lr_scheduler
        return [lambda: sch.CosineAnnealingWarmRestarts(opt, 0),
                lambda: sch.CosineAnnealingWarmRestarts(opt, 2, T_mult=0),
                lambda: sch.CyclicLR(opt, 0.1, 1.0, mode="zigzag"),
                lambda: sch.CyclicLR(lib.optim.Adagrad([lib.zeros(1, requires_grad=True)]), 0.1,
                                     1.0),
                lambda: sch.StepLR(opt, 2, last_epoch=3)][which]()

    for which in range(5):
        with pytest.raises((ValueError, KeyError)) as t_err:
            build(torch, which)
        with pytest.raises((ValueError, KeyError)) as g_err:
            build(gt, which)
        assert str(g_err.value) == str(t_err.value)
        assert type(g_err.value) is type(t_err.value)


def test_duplicate_parameters_warn_like_pytorch():
    import torch

    p, tp = gt.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    with pytest.warns(UserWarning, match="duplicate parameters") as ours:
        optim.SGD([p, p], lr=0.1)
    with pytest.warns(UserWarning, match="duplicate parameters") as theirs:
        torch.optim.SGD([tp, tp], lr=0.1)
    assert str(ours[0].message) == str(theirs[0].message)
