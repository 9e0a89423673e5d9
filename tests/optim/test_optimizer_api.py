"""Optimizer base behaviour: groups, zero_grad, closure, state_dict round trip, errors."""

import numpy as np
import pytest

import graphtorch as gt
import graphtorch.optim as optim

ALL = [(optim.SGD, dict(lr=0.1, momentum=0.9)), (optim.Adam, dict(lr=0.01, amsgrad=True)),
       (optim.AdamW, dict(lr=0.01)), (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
       (optim.Adagrad, dict(lr=0.1))]


def _params(seed=0):
    rng = np.random.default_rng(seed)
    return [gt.tensor(rng.standard_normal((4, 3)), requires_grad=True),
            gt.tensor(rng.standard_normal(3), requires_grad=True)]


def _loss(params, x):
    w, b = params
    return (gt.tanh(x @ w + b) ** 2).sum()


def _run(opt, params, steps, x):
    for _ in range(steps):
        opt.zero_grad()
        _loss(params, x).backward()
        opt.step()


@pytest.mark.parametrize("cls,kwargs", ALL)
def test_state_dict_round_trip_continues_identically(cls, kwargs):
    x = gt.tensor(np.random.default_rng(1).standard_normal((6, 4)))
    a = _params()
    opt_a = cls(a, **kwargs)
    _run(opt_a, a, 3, x)
    b = [p.detach().clone().requires_grad_() for p in a]
    opt_b = cls(b, lr=123.0)
    opt_b.load_state_dict(opt_a.state_dict())
    assert opt_b.param_groups[0]["lr"] == kwargs["lr"]
    _run(opt_a, a, 4, x)
    _run(opt_b, b, 4, x)
    for pa, pb in zip(a, b):
        np.testing.assert_array_equal(pa.detach().numpy(), pb.detach().numpy())


def test_state_dict_layout_is_pytorchs():
    p = _params()
    opt = optim.SGD([{"params": [p[0]]}, {"params": [p[1]], "lr": 0.5}], lr=0.1, momentum=0.9)
    sd = opt.state_dict()
    assert sd["state"] == {}
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["param_groups"][0]["momentum"] == 0.9
    _run(opt, p, 1, gt.ones(2, 4, dtype=gt.float64))
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1]
    assert sd["state"][0]["momentum_buffer"] is opt.state[p[0]]["momentum_buffer"]


def test_load_state_dict_does_not_alias_the_source():
    p = _params()
    opt = optim.Adam(p)
    _run(opt, p, 1, gt.ones(2, 4, dtype=gt.float64))
    sd = opt.state_dict()
    opt2 = optim.Adam(_params())
    opt2.load_state_dict(sd)
    opt2.state[opt2.param_groups[0]["params"][0]]["exp_avg"]._data[...] = 7
    assert not np.any(sd["state"][0]["exp_avg"].numpy() == 7)


def test_load_state_dict_casts_state_to_parameter_dtype():
    p32 = [gt.zeros(3, requires_grad=True)]
    opt = optim.Adam(p32)
    p32[0].grad = gt.ones(3)
    opt.step()
    p64 = [gt.zeros(3, dtype=gt.float64, requires_grad=True)]
    opt64 = optim.Adam(p64)
    opt64.load_state_dict(opt.state_dict())
    state = opt64.state[p64[0]]
    assert state["exp_avg"].dtype is gt.float64 and state["step"].dtype is gt.float32


def test_load_state_dict_mismatch_errors():
    opt = optim.SGD(_params(), lr=0.1)
    one_group = optim.SGD(_params()[:1], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict(one_group)
    p = _params()
    two = optim.SGD([{"params": [p[0]]}, {"params": [p[1]]}], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(two)


def test_zero_grad_set_to_none_and_zero():
    p = _params()
    opt = optim.SGD(p, lr=0.1)
    _loss(p, gt.ones(2, 4, dtype=gt.float64)).backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p[0].grad.numpy(), np.zeros((4, 3)))
    opt.zero_grad()
    assert p[0].grad is None and p[1].grad is None


def test_step_skips_params_without_grad_and_bumps_version():
    p = _params()
    before = p[1].detach().numpy().copy()
    opt = optim.SGD(p, lr=0.1)
    p[0].grad = gt.ones(4, 3, dtype=gt.float64)
    v0 = p[0]._version
    opt.step()
    assert p[0]._version == v0 + 1
    np.testing.assert_array_equal(p[1].detach().numpy(), before)
    assert opt.state[p[1]] == {}


def test_closure_is_evaluated_with_grad_enabled():
    p = _params()
    opt = optim.SGD(p, lr=0.1)
    x = gt.ones(2, 4, dtype=gt.float64)

    def closure():
        opt.zero_grad()
        loss = _loss(p, x)
        loss.backward()
        return loss

    with gt.no_grad():
        loss = opt.step(closure)
    np.testing.assert_allclose(loss.item(), _loss(_params(), x).item())
    assert _loss(p, x).item() < loss.item()


def test_add_param_group_and_errors():
    p = _params()
    opt = optim.SGD([p[0]], lr=0.1)
    opt.add_param_group({"params": p[1], "momentum": 0.5})
    assert opt.param_groups[1]["lr"] == 0.1 and opt.param_groups[1]["momentum"] == 0.5
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p[0]]})
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.Adam(p[0])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.Adam([p[0] * 2])
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.SGD(p, lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        optim.Adam(p, betas=(0.9, 1.0))


def test_named_parameters_are_accepted():
    p = _params()
    opt = optim.Adam([("w", p[0]), ("b", p[1])])
    assert opt.param_groups[0]["param_names"] == ["w", "b"]
    assert opt.param_groups[0]["params"][0] is p[0]


def test_repr_lists_group_options():
    opt = optim.SGD(_params(), lr=0.1, momentum=0.9)
    text = repr(opt)
    # PyTorch's repr, implementation switches (differentiable, foreach, fused) included
    assert text.startswith("SGD (\nParameter Group 0\n    dampening: 0\n    differentiable: False\n"
                           "    foreach: None\n    fused: None\n    lr: 0.1\n")
    assert text.endswith("    weight_decay: 0\n)")


def test_step_hooks_run_around_step():
    p = _params()
    opt = optim.SGD(p, lr=0.1)
    calls = []
    h = opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    opt.step()
    h.remove()
    opt.step()
    assert calls == ["pre", "post", "post"]
