"""Optimizers vs PyTorch on what training scripts do beyond the basic loop."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn, optim

pytestmark = pytest.mark.torch


def _models(dtype=np.float32):
    import torch

    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    if dtype == np.float64:
        theirs.double()
        ours.double()
    ours.load_state_dict({k: gt.tensor(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})
    return ours, theirs


def _loss_backward(ours, theirs, step: int, dtype=np.float32):
    import torch

    x = np.random.default_rng(step).standard_normal((5, 3)).astype(dtype)
    ours(gt.tensor(x)).pow(2).mean().backward()
    theirs(torch.tensor(x)).pow(2).mean().backward()


def _assert_params(ours, theirs, tol=1e-5):
    for (n, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=tol, atol=tol,
                                   err_msg=n)


def _train(ours, theirs, opt, topt, steps, set_to_none=True, dtype=np.float32, tol=1e-5):
    for step in range(steps):
        opt.zero_grad(set_to_none=set_to_none)
        topt.zero_grad(set_to_none=set_to_none)
        _loss_backward(ours, theirs, step, dtype)
        opt.step()
        topt.step()
        _assert_params(ours, theirs, tol)


def _groups(lib_model, first: dict, second: dict):
    return [dict(params=list(lib_model[0].parameters()), **first),
            dict(params=list(lib_model[2].parameters()), **second)]


CASES = {
    "sgd_nesterov_wd": ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "sgd_dampening_maximize": ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.3,
                                           maximize=True)),
    "adam_amsgrad_wd": ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
    "adam_maximize": ("Adam", dict(lr=0.01, maximize=True, betas=(0.8, 0.9))),
    "adamw_amsgrad": ("AdamW", dict(lr=0.05, amsgrad=True, weight_decay=0.5)),
    "rmsprop_centered_momentum": ("RMSprop", dict(lr=0.01, centered=True, momentum=0.9,
                                                  weight_decay=0.1)),
    "rmsprop_maximize": ("RMSprop", dict(lr=0.01, maximize=True, alpha=0.9)),
    "adagrad_decay": ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1,
                                      initial_accumulator_value=0.2)),
    "adagrad_maximize": ("Adagrad", dict(lr=0.1, maximize=True, eps=1e-6)),
    "adamax": ("Adamax", dict(lr=0.05, weight_decay=0.1)),
    "adamax_maximize": ("Adamax", dict(lr=0.02, maximize=True, betas=(0.8, 0.99))),
    "nadam": ("NAdam", dict(lr=0.05, weight_decay=0.1, momentum_decay=0.01)),
    "nadam_decoupled": ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    "radam": ("RAdam", dict(lr=0.05, weight_decay=0.1)),
    "radam_rectified": ("RAdam", dict(lr=0.05, betas=(0.9, 0.6), maximize=True)),
    "radam_decoupled": ("RAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    "adadelta": ("Adadelta", dict(lr=1.0, rho=0.8, weight_decay=0.1)),
    "adadelta_maximize": ("Adadelta", dict(lr=0.5, maximize=True, eps=1e-4)),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_optimizer_options_trajectory(case, dtype):
    import torch

    name, kw = CASES[case]
    ours, theirs = _models(dtype)
    opt = getattr(optim, name)(ours.parameters(), **kw)
    topt = getattr(torch.optim, name)(theirs.parameters(), **kw)
    _train(ours, theirs, opt, topt, 8, dtype=dtype, tol=1e-5 if dtype == np.float32 else 1e-10)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_param_groups_with_their_own_lr_and_weight_decay(name):
    import torch

    ours, theirs = _models()
    first, second = dict(lr=0.05, weight_decay=0.1), dict(lr=0.01)
    extra = dict(momentum=0.9) if name in ("SGD", "RMSprop") else {}
    opt = getattr(optim, name)(_groups(ours, first, second), lr=0.2, **extra)
    topt = getattr(torch.optim, name)(_groups(theirs, first, second), lr=0.2, **extra)
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in topt.param_groups]
    assert sorted(opt.param_groups[1]) == sorted(topt.param_groups[1])
    _train(ours, theirs, opt, topt, 5)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_add_param_group_mid_training(name):
    import torch

    ours, theirs = _models()
    opt = getattr(optim, name)(ours[0].parameters(), lr=0.05)
    topt = getattr(torch.optim, name)(theirs[0].parameters(), lr=0.05)
    _train(ours, theirs, opt, topt, 3)
    opt.add_param_group({"params": ours[2].parameters(), "lr": 0.01})
    topt.add_param_group({"params": theirs[2].parameters(), "lr": 0.01})
    assert sorted(opt.param_groups[1]) == sorted(topt.param_groups[1])
    assert opt.param_groups[1]["lr"] == topt.param_groups[1]["lr"]
    _train(ours, theirs, opt, topt, 3)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": ours[2].parameters()})


def test_zero_grad_set_to_none_false_trajectory():
    import torch

    ours, theirs = _models()
    opt = optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    _train(ours, theirs, opt, topt, 4, set_to_none=False)


def test_params_without_grad_are_skipped_and_get_no_state():
    import torch

    ours, theirs = _models()
    opt = optim.Adam(ours.parameters(), lr=0.1)
    topt = torch.optim.Adam(theirs.parameters(), lr=0.1)
    for step in range(3):
        opt.zero_grad()
        topt.zero_grad()
        x = np.random.default_rng(step).standard_normal((5, 3)).astype(np.float32)
        # only the first layer's weight gets a gradient
        ours[0](gt.tensor(x)).sum().backward()
        theirs[0](torch.tensor(x)).sum().backward()
        ours[0].bias.grad = None
        theirs[0].bias.grad = None
        opt.step()
        topt.step()
    _assert_params(ours, theirs)
    assert len(opt.state) == len(topt.state) == 1
    assert list(opt.state_dict()["state"]) == list(topt.state_dict()["state"])


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                     ("Adam", dict(lr=0.05, amsgrad=True)),
                                     ("AdamW", dict(lr=0.05)),
                                     ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
                                     ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
                                     ("NAdam", dict(lr=0.05)), ("RAdam", dict(lr=0.05)),
                                     ("Adamax", dict(lr=0.05)), ("Adadelta", dict(lr=0.5))])
def test_state_dict_into_fresh_optimizer_then_step(name, kw):
    import torch

    ours, theirs = _models()
    groups = _groups(ours, {}, dict(lr=kw["lr"] / 2))
    tgroups = _groups(theirs, {}, dict(lr=kw["lr"] / 2))
    opt = getattr(optim, name)(groups, **kw)
    topt = getattr(torch.optim, name)(tgroups, **kw)
    _train(ours, theirs, opt, topt, 3)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"] == tsd["param_groups"]
    assert list(sd["state"]) == list(tsd["state"])
    for i, s in sd["state"].items():
        assert sorted(s) == sorted(tsd["state"][i])
        for k, v in s.items():
            tv = tsd["state"][i][k]
            np.testing.assert_allclose(np.asarray(v.numpy() if hasattr(v, "numpy") else v),
                                       tv.numpy() if hasattr(tv, "numpy") else tv, rtol=1e-4,
                                       atol=1e-5, err_msg=f"{i}.{k}")
    # a fresh optimizer built with other hyper-parameters takes everything from the state dict
    fresh = getattr(optim, name)(_groups(ours, {}, {}), lr=123.0)
    fresh.load_state_dict(sd)
    tfresh = getattr(torch.optim, name)(_groups(theirs, {}, {}), lr=123.0)
    tfresh.load_state_dict(tsd)
    assert [g["lr"] for g in fresh.param_groups] == [g["lr"] for g in tfresh.param_groups]
    _train(ours, theirs, fresh, tfresh, 3)
    # a torch state dict, converted, loads into ours too
    other = getattr(optim, name)(_groups(ours, {}, {}), lr=1.0)
    converted = {"state": {i: {k: gt.tensor(v.numpy()) if hasattr(v, "numpy") else v
                               for k, v in s.items()} for i, s in tfresh.state_dict()["state"]
                           .items()},
                 "param_groups": tfresh.state_dict()["param_groups"]}
    other.load_state_dict(converted)
    _train(ours, theirs, other, tfresh, 2)


def test_load_state_dict_mismatch_errors_like_pytorch():
    import torch

    ours, theirs = _models()
    opt = optim.SGD(_groups(ours, {}, {}), lr=0.1)
    topt = torch.optim.SGD(_groups(theirs, {}, {}), lr=0.1)
    for bad in (lambda sd: sd["param_groups"].pop(),
                lambda sd: sd["param_groups"][0]["params"].pop()):
        sd, tsd = opt.state_dict(), topt.state_dict()
        sd = {"state": sd["state"], "param_groups": [dict(g, params=list(g["params"]))
                                                     for g in sd["param_groups"]]}
        tsd = {"state": tsd["state"], "param_groups": [dict(g, params=list(g["params"]))
                                                       for g in tsd["param_groups"]]}
        bad(sd)
        bad(tsd)
        with pytest.raises(ValueError) as t_err:
            topt.load_state_dict(tsd)
        with pytest.raises(ValueError) as g_err:
            opt.load_state_dict(sd)
        assert str(g_err.value) == str(t_err.value)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax",
                                  "NAdam", "RAdam", "Adadelta"])
def test_implementation_switches_accepted_and_kept(name):
    import torch

    kw = dict(foreach=False)
    if name in ("SGD", "Adam", "AdamW", "Adagrad"):
        kw["fused"] = None
    ours = getattr(optim, name)([gt.zeros(1, requires_grad=True)], lr=0.1, **kw)
    theirs = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], lr=0.1, **kw)
    assert ours.defaults == theirs.defaults
    assert repr(ours) == repr(theirs)
    with pytest.raises(NotImplementedError, match="differentiable"):
        getattr(optim, name)([gt.zeros(1, requires_grad=True)], lr=0.1, differentiable=True)


def test_optimizer_constructor_errors_like_pytorch():
    import torch

    cases = [("SGD", dict(lr=0.1, nesterov=True)), ("SGD", dict(lr=-1.0)),
             ("Adam", dict(betas=(1.0, 0.9))), ("Adam", dict(eps=-1.0)),
             ("RMSprop", dict(alpha=-0.1)), ("Adagrad", dict(lr_decay=-1.0)),
             ("AdamW", dict(weight_decay=-0.1))]
    for name, kw in cases:
        with pytest.raises(ValueError) as t_err:
            getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], **kw)
        with pytest.raises(ValueError) as g_err:
            getattr(optim, name)([gt.zeros(1, requires_grad=True)], **kw)
        assert str(g_err.value) == str(t_err.value), (name, kw)


def test_custom_optimizer_subclass_like_pytorch():
    """A PyTorch-style optimizer subclass (own step, own state) runs unchanged, and a scheduler
    on it does not warn about the step order."""
    import warnings

    import torch

    def run(lib):
        class MySGD(lib.optim.Optimizer):
            def __init__(self, params, lr=0.1, decay=0.0):
                super().__init__(params, dict(lr=lr, decay=decay))

            @lib.no_grad()
            def step(self, closure=None):
                for group in self.param_groups:
                    for p in group["params"]:
                        if p.grad is None:
                            continue
                        state = self.state[p]
                        state["n"] = state.get("n", 0) + 1
                        p.mul_(1 - group["decay"]).add_(p.grad, alpha=-group["lr"])

        w = lib.nn.Parameter(lib.ones(3))
        opt = MySGD([w], lr=0.5, decay=0.1)
        sched = lib.optim.lr_scheduler.StepLR(opt, 1, 0.5)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):
                opt.zero_grad()
                (w * w).sum().backward()
                opt.step()
                sched.step()
        return w.tolist(), opt.state_dict()["state"], len(caught), repr(opt)

    assert run(gt) == run(torch)
