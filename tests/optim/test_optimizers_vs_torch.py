"""20-step training trajectories of every optimizer equal PyTorch's from the same weights."""

import numpy as np
import pytest

import graphtorch as gt
import graphtorch.optim as optim

torch = pytest.importorskip("torch")

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, maximize=True, weight_decay=0.05)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.005, alpha=0.9, momentum=0.5)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.02, initial_accumulator_value=0.1)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
]


def _data(dtype):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((5, 3)).astype(dtype)
    b = rng.standard_normal(3).astype(dtype)
    x = rng.standard_normal((8, 5)).astype(dtype)
    y = rng.standard_normal((8, 3)).astype(dtype)
    return w, b, x, y


def _trajectory(lib, opt_cls, kwargs, dtype, steps=20):
    w0, b0, x0, y0 = _data(dtype)
    w = lib.tensor(w0.copy(), requires_grad=True)
    b = lib.tensor(b0.copy(), requires_grad=True)
    x, y = lib.tensor(x0), lib.tensor(y0)
    opt = opt_cls([w, b], **kwargs)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((lib.tanh(x @ w + b) - y) ** 2).mean()
        loss.backward()
        opt.step()
        out.append((w.detach().numpy().copy(), b.detach().numpy().copy()))
    return out


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,kwargs", CASES)
def test_trajectory_matches_torch(name, kwargs, dtype):
    ours = _trajectory(gt, getattr(optim, name), kwargs, dtype)
    ref = _trajectory(torch, getattr(torch.optim, name), kwargs, dtype)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    for step, ((w, b), (tw, tb)) in enumerate(zip(ours, ref)):
        np.testing.assert_allclose(w, tw, **tol, err_msg=f"{name} weight at step {step}")
        np.testing.assert_allclose(b, tb, **tol, err_msg=f"{name} bias at step {step}")


@pytest.mark.torch
@pytest.mark.parametrize("name,kwargs", [CASES[1], CASES[7], CASES[12], CASES[15]])
def test_state_matches_torch(name, kwargs):
    """After some steps the state tensors and their names equal PyTorch's."""
    ours, ref = [], []
    for lib, cls, store in ((gt, getattr(optim, name), ours),
                            (torch, getattr(torch.optim, name), ref)):
        w0, b0, x0, y0 = _data(np.float64)
        w = lib.tensor(w0, requires_grad=True)
        opt = cls([w], **kwargs)
        for _ in range(3):
            opt.zero_grad()
            (lib.tensor(x0) @ w).sin().sum().backward() if lib is torch else \
                (gt.sin(gt.tensor(x0) @ w)).sum().backward()
            opt.step()
        store.append(opt.state_dict()["state"][0])
    ours, ref = ours[0], ref[0]
    assert sorted(ours) == sorted(ref)
    for key in ref:
        np.testing.assert_allclose(np.asarray(ours[key].numpy()), ref[key].numpy(), rtol=1e-12)
        assert ours[key].dtype.name == str(ref[key].dtype).removeprefix("torch.")


@pytest.mark.torch
def test_param_groups_with_own_options_match_torch():
    results = []
    for lib, cls in ((gt, optim.SGD), (torch, torch.optim.SGD)):
        w0, b0, x0, y0 = _data(np.float64)
        w = lib.tensor(w0, requires_grad=True)
        b = lib.tensor(b0, requires_grad=True)
        opt = cls([{"params": [w]}, {"params": [b], "lr": 0.5, "momentum": 0.0}], lr=0.1,
                  momentum=0.9)
        for _ in range(5):
            opt.zero_grad()
            (lib.tanh(lib.tensor(x0) @ w + b) ** 2).sum().backward()
            opt.step()
        results.append((w.detach().numpy(), b.detach().numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)
