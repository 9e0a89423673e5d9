"""optim.LBFGS: trajectories equal to PyTorch's (float64) on Rosenbrock and a small regression,
with and without the strong-Wolfe line search, short histories and the termination options.

Evaluation and iteration counts must be identical at every step. Values agree to float64
rounding: PyTorch's BLAS dot products use fused multiply-adds, numpy's differ in the last bit,
and Rosenbrock's ill-conditioning grows such a difference about 1000x per 20 iterations; three
steps of Rosenbrock and two of the regression (up to 60 iterations) keep the comparison within
1e-5 relative, far below any algorithmic difference (a different step or history rule changes
the counts or the values at once)."""

from __future__ import annotations

import io

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import ArgumentError

CONFIGS = [
    {},
    {"line_search_fn": "strong_wolfe"},
    {"history_size": 3, "max_iter": 7},
    {"line_search_fn": "strong_wolfe", "history_size": 2, "max_iter": 30, "max_eval": 40},
    {"lr": 0.5, "tolerance_grad": 1e-3, "tolerance_change": 1e-4},
    {"line_search_fn": "strong_wolfe", "tolerance_change": 1e-5, "max_iter": 50},
]


def _rosenbrock_run(torch, options: dict, steps: int = 3):
    x = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([x], **options)

    def closure():
        opt.zero_grad()
        loss = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
        loss.backward()
        return loss

    trajectory = []
    for _ in range(steps):
        loss = opt.step(closure)
        state = opt.state[x]
        trajectory.append((float(loss), x.detach().numpy().copy(), state["func_evals"],
                           state["n_iter"]))
    return trajectory


def _regression_run(torch, options: dict, steps: int = 2):
    rng = np.random.default_rng(0)
    xs = torch.tensor(rng.standard_normal((32, 5)))
    ys = torch.tensor(np.sin(rng.standard_normal((32, 2))))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    model = model.double()
    with torch.no_grad():  # the same starting weights in both frameworks
        for i, p in enumerate(model.parameters()):
            p.copy_(torch.tensor(np.random.default_rng(i).standard_normal(tuple(p.shape)) * 0.5))
    opt = torch.optim.LBFGS(model.parameters(), **options)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(xs), ys)
        loss.backward()
        return loss

    trajectory = []
    for _ in range(steps):
        loss = opt.step(closure)
        state = opt.state[next(iter(model.parameters()))]
        flat = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
        trajectory.append((float(loss), flat, state["func_evals"], state["n_iter"]))
    return trajectory


def _assert_same(expected, actual):
    assert len(expected) == len(actual)
    for i, ((le, pe, fe, ne), (la, pa, fa, na)) in enumerate(zip(expected, actual)):
        assert (fe, ne) == (fa, na), f"step {i}: evaluations/iterations {(fe, ne)} != {(fa, na)}"
        np.testing.assert_allclose(la, le, rtol=1e-5, atol=1e-12, err_msg=f"step {i} loss")
        np.testing.assert_allclose(pa, pe, rtol=1e-5, atol=1e-10, err_msg=f"step {i} params")


@pytest.mark.torch
@pytest.mark.parametrize("options", CONFIGS,
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "defaults")
def test_rosenbrock_trajectory_matches_pytorch(options):
    torch = pytest.importorskip("torch")
    _assert_same(_rosenbrock_run(torch, options), _rosenbrock_run(gt, options))


@pytest.mark.torch
@pytest.mark.parametrize("options", CONFIGS[:4], ids=["defaults", "wolfe", "history3",
                                                       "wolfe-history2"])
def test_regression_trajectory_matches_pytorch(options):
    torch = pytest.importorskip("torch")
    _assert_same(_regression_run(torch, options), _regression_run(gt, options))


def test_rosenbrock_converges_to_the_minimum():
    trajectory = _rosenbrock_run(gt, {"line_search_fn": "strong_wolfe", "max_iter": 100,
                                      "tolerance_change": 1e-14}, 2)
    np.testing.assert_allclose(trajectory[-1][1], [1.0, 1.0], atol=1e-7)


def test_quadratic_is_solved_in_one_step_with_the_line_search():
    a = gt.tensor([[3.0, 1.0], [1.0, 2.0]], dtype=gt.float64)
    b = gt.tensor([1.0, -1.0], dtype=gt.float64)
    x = gt.zeros(2, dtype=gt.float64, requires_grad=True)
    opt = gt.optim.LBFGS([x], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = 0.5 * (x @ (a @ x)) - b @ x
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(x.detach().numpy(), np.linalg.solve(a.numpy(), b.numpy()),
                               atol=1e-7)


def test_options_and_errors():
    x = gt.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        gt.optim.LBFGS([x], lr=-1)
    with pytest.raises(ValueError, match="parameter groups"):
        gt.optim.LBFGS([{"params": [x]}, {"params": [gt.zeros(1, requires_grad=True)]}])
    opt = gt.optim.LBFGS([x], max_iter=8)
    assert opt.param_groups[0]["max_eval"] == 10  # max_iter * 5 // 4, as in PyTorch
    with pytest.raises(ArgumentError, match="requires a closure"):
        opt.step()
    bad = gt.optim.LBFGS([x], line_search_fn="backtracking")
    x.grad = None

    def closure():
        bad.zero_grad()
        loss = ((x - 1) ** 2).sum()
        loss.backward()
        return loss

    with pytest.raises(ValueError, match="only 'strong_wolfe' is supported"):
        bad.step(closure)


def test_state_dict_round_trip_resumes_identically():

    def make():
        x = gt.tensor([-1.5, 2.0], dtype=gt.float64, requires_grad=True)
        return x, gt.optim.LBFGS([x], history_size=4, max_iter=3)

    def closure_for(x, opt):
        def closure():
            opt.zero_grad()
            loss = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
            loss.backward()
            return loss
        return closure

    x1, opt1 = make()
    opt1.step(closure_for(x1, opt1))
    buf = io.BytesIO()
    gt.save({"x": x1.detach(), "opt": opt1.state_dict()}, buf)
    buf.seek(0)
    saved = gt.load(buf)
    x2, opt2 = make()
    with gt.no_grad():
        x2.copy_(saved["x"])
    opt2.load_state_dict(saved["opt"])
    opt1.step(closure_for(x1, opt1))
    opt2.step(closure_for(x2, opt2))
    np.testing.assert_array_equal(x1.detach().numpy(), x2.detach().numpy())
