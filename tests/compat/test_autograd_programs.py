"""Autograd programs: custom Functions, higher-order gradients, hooks, in-place RNN loops."""

from __future__ import annotations

import numpy as np
import pytest

from tests.compat.harness import initial_state, load_state, run_both

pytestmark = pytest.mark.torch


def custom_function_program(torch, x_np):
    class ClampedExp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, limit):
            y = x.clamp(max=limit).exp()
            ctx.save_for_backward(x, y)
            ctx.limit = limit
            return y

        @staticmethod
        def backward(ctx, grad_output):
            x, y = ctx.saved_tensors
            return grad_output * y * (x <= ctx.limit).float(), None

    class StraightThroughSign(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return torch.sign(x)

        @staticmethod
        def backward(ctx, g):
            return g.clamp(-1.0, 1.0)

    x = torch.tensor(x_np, requires_grad=True)
    y = ClampedExp.apply(x, 0.5)
    z = StraightThroughSign.apply(x * 3)
    (y.sum() + (z * torch.arange(6.0).reshape(2, 3)).sum()).backward()
    return {"y": y, "z": z, "grad": x.grad, "fn_name": y.grad_fn.name()}


def test_custom_autograd_function():
    x = np.array([[-1.0, 0.2, 0.7], [0.5, 1.5, -0.3]], np.float32)
    expected, actual = run_both(custom_function_program, x)
    assert actual["fn_name"] == "ClampedExpBackward"


def _critic(torch):
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))


def gradient_penalty_program(torch, state, data):
    real_np, fake_np, alpha_np = data
    critic = load_state(torch, _critic(torch), state)
    optimizer = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    real, fake, alpha = torch.tensor(real_np), torch.tensor(fake_np), torch.tensor(alpha_np)
    out = {"loss": [], "penalty": []}
    for _step in range(4):
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        score = critic(mixed)
        grads, = torch.autograd.grad(score, mixed, grad_outputs=torch.ones_like(score),
                                     create_graph=True, retain_graph=True)
        penalty = ((grads.norm(2, dim=1) - 1) ** 2).mean()
        loss = critic(fake).mean() - critic(real).mean() + 10 * penalty
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        out["loss"].append(loss.item())
        out["penalty"].append(penalty.item())
    # Second derivative of a scalar function, twice through autograd.grad.
    x = torch.tensor([0.3, -1.2, 2.0], requires_grad=True)
    y = (x.sin() * x**2).sum()
    g, = torch.autograd.grad(y, x, create_graph=True)
    h, = torch.autograd.grad(g.sum(), x)
    out["second"] = h
    out["state"] = critic.state_dict()
    return out


def test_gradient_penalty_double_backward():
    rng = np.random.default_rng(8)
    data = tuple(rng.standard_normal(s).astype(np.float32) for s in [(10, 4), (10, 4)]) + (
        rng.random((10, 1)).astype(np.float32),)
    run_both(gradient_penalty_program, initial_state(_critic), data)


def hooks_program(torch, x_np):
    seen = {}
    x = torch.tensor(x_np, requires_grad=True)
    h = x * 2
    h.retain_grad()
    handle = h.register_hook(lambda g: seen.setdefault("h", g.clone()))
    x.register_hook(lambda g: g * 10)  # a hook's return value replaces the gradient
    y = (h**2).sum()
    y.backward(retain_graph=True)
    first = x.grad.clone()
    handle.remove()
    x.grad.zero_()
    y.backward()
    model = torch.nn.Linear(3, 2)
    with torch.no_grad():
        model.weight.copy_(torch.arange(6.0).reshape(2, 3) / 10)
        model.bias.fill_(0.5)
    acts = []
    fwd = model.register_forward_hook(lambda m, inp, out: acts.append(out.detach() * 1))
    pre = model.register_forward_pre_hook(lambda m, inp: (inp[0] + 1,))
    model(x.detach()).sum().backward()
    fwd.remove()
    pre.remove()
    model(x.detach())
    return {"h.grad": h.grad, "hook saw": seen["h"], "x.grad first": first,
            "x.grad second": x.grad, "is_leaf": [x.is_leaf, h.is_leaf],
            "activations": acts, "weight grad": model.weight.grad}


def test_hooks_and_retain_grad():
    run_both(hooks_program, np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]], np.float32))


def _cell(torch):
    return torch.nn.RNNCell(3, 5)


def rnn_loop_program(torch, state, x_np):
    cell = load_state(torch, _cell(torch), state)
    x = torch.tensor(x_np)
    batch, steps = x.shape[0], x.shape[1]
    out = torch.zeros(batch, steps, 5)
    h = torch.zeros(batch, 5)
    for t in range(steps):
        h = cell(x[:, t], h)
        out[:, t] = h  # the in-place write an RNN unrolled by hand does
    out[:, 0] = out[:, 0] - 0.5
    out[..., -1] = out[..., -1] + 1.0
    out[:, 0] *= 0.5  # in place on a view of a tensor that requires grad (CopySlices)
    out[:, 1:3] += out[:, 0:2] * 0.25
    loss = out.pow(2).mean()
    loss.backward()
    return {"out": out, "loss": loss, "grads": [p.grad for p in cell.parameters()],
            "version_bumped": out._version > 0}


def test_rnn_loop_with_inplace_slice_assignment():
    rng = np.random.default_rng(9)
    run_both(rnn_loop_program, initial_state(_cell), rng.standard_normal((4, 6, 3)).astype(
        np.float32))


def hand_rnn_with_view_updates_program(torch, state, x_np):
    """An RNN unrolled by hand into a preallocated state buffer, updated through views."""
    cell = load_state(torch, _cell(torch), state)
    x = torch.tensor(x_np)
    batch, steps = x.shape[0], x.shape[1]
    hs = torch.zeros(batch, steps + 1, 5)
    for t in range(steps):
        hs[:, t + 1] += cell(x[:, t], hs[:, t].clone())
        hs[:, t + 1].mul_(0.9)
    hs.transpose(0, 1)[0].fill_(1.0)
    hs.select(2, 4).zero_()
    loss = (hs * hs).sum()
    loss.backward()
    names = [type(hs.grad_fn).__name__, type(hs[:, 1].grad_fn).__name__,
             type(torch.nn.functional.cross_entropy(hs[:, -1], torch.tensor([0, 1, 2, 3]))
                  .grad_fn).__name__]
    return {"hs": hs, "loss": loss, "grads": [p.grad for p in cell.parameters()],
            "names": names}


def test_hand_rnn_with_in_place_view_updates():
    rng = np.random.default_rng(10)
    expected, _ = run_both(hand_rnn_with_view_updates_program, initial_state(_cell),
                           rng.standard_normal((4, 5, 3)).astype(np.float32))
    assert expected["names"] == ["CopySlices", "SelectBackward0", "NllLossBackward0"]


def inplace_program(torch, x_np):
    x = torch.tensor(x_np)
    a = x.clone()
    a.add_(1).mul_(2).sub_(torch.ones(3), alpha=0.5).div_(4)
    a.clamp_(min=0.2, max=1.5)
    b = x.clone()
    b[b > 0] = 0.0
    b[0, 1] = 7.0
    b[:, [0, 2]] = torch.tensor([[1.0, 2.0]])
    c = torch.zeros(5)
    c.index_add_(0, torch.tensor([0, 2, 2]), torch.tensor([1.0, 2.0, 3.0]))
    d = torch.zeros(2, 4).scatter_(1, torch.tensor([[1], [3]]), 1.0)
    e = x.clone()
    e.masked_fill_(e < 0, -1.0)
    f = torch.empty(2, 3).fill_(3.0)
    f.zero_()
    w = torch.tensor(x_np, requires_grad=True)
    y = w * 1
    y[0] = y[0] + 3
    y.exp_()
    y.sum().backward()
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f, "w.grad": w.grad,
            "version_error": _version_error(torch)}


def _version_error(torch):
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    y = w.exp()
    y.add_(1)
    try:
        y.sum().backward()
    except RuntimeError as e:
        return "modified by an inplace operation" in str(e)
    return False


def test_inplace_ops_and_index_assignment():
    x = np.array([[0.5, -1.0, 2.0], [-0.2, 0.3, -3.0]], np.float32)
    run_both(inplace_program, x)
