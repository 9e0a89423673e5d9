"""graphtorch.jit.fork / wait / Future: values, errors, real concurrency (a barrier that only
two simultaneously running tasks pass), grad mode, and fork/wait inside scripted code."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import List  # noqa: UP035 - the tutorial spells it typing.List

import numpy as np
import pytest

import graphtorch
from graphtorch import nn
from graphtorch.errors import ScriptError


def test_fork_runs_on_the_interop_pool_and_wait_returns_the_value():
    def where(x):
        return threading.current_thread().name, x * 3

    fut = graphtorch.jit.fork(where, graphtorch.tensor([1.0, 2.0]))
    assert isinstance(fut, graphtorch.jit.Future)
    name, value = graphtorch.jit.wait(fut)
    assert name.startswith("graphtorch-interop")
    np.testing.assert_array_equal(value.numpy(), [3.0, 6.0])
    assert fut.done() and fut.value()[0] == name


def test_two_forked_tasks_run_at_the_same_time():
    barrier = threading.Barrier(2, timeout=20)

    def meet(k):
        barrier.wait()      # raises BrokenBarrierError unless the other task runs concurrently
        return k

    futs = [graphtorch.jit.fork(meet, k) for k in range(2)]
    assert [graphtorch.jit.wait(f) for f in futs] == [0, 1]


def test_wait_reraises_the_task_exception_and_kwargs_pass():
    def boom(x, *, msg):
        raise ValueError(msg)

    fut = graphtorch.jit.fork(boom, 1, msg="bad input")
    with pytest.raises(ValueError, match="bad input"):
        graphtorch.jit.wait(fut)
    with pytest.raises(TypeError, match="wait expects a Future"):
        graphtorch.jit.wait(3)


def test_forked_task_inherits_grad_mode_and_records_gradients():
    w = graphtorch.tensor([1.0, 2.0], requires_grad=True)
    with graphtorch.no_grad():
        assert not graphtorch.jit.wait(graphtorch.jit.fork(lambda: (w * 2).requires_grad))
    y = graphtorch.jit.wait(graphtorch.jit.fork(lambda: (w * w).sum()))
    y.backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 4.0])


def test_future_then_and_futures_namespace():
    fut = graphtorch.futures.Future()
    chained = fut.then(lambda f: f.value() + 1)
    fut.set_result(41)
    assert chained.wait() == 42
    all_done = graphtorch.futures.collect_all([graphtorch.jit.fork(lambda k=k: k) for k in
                                                range(3)])
    assert [f.value() for f in all_done.wait()] == [0, 1, 2]
    assert graphtorch.futures.wait_all([graphtorch.jit.fork(lambda: "a")]) == ["a"]


class Ensemble(nn.Module):
    def __init__(self, n: int = 3):
        super().__init__()
        self.models = nn.ModuleList([nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2))
                                     for _ in range(n)])

    def forward(self, x):
        futures = [graphtorch.jit.fork(m, x) for m in self.models]
        results = [graphtorch.jit.wait(f) for f in futures]
        return graphtorch.stack(results).mean(0)


def _triple(x):
    return x * 3.0


class ForkFunction(nn.Module):
    def forward(self, x):
        fut = graphtorch.jit.fork(_triple, x)
        y = x.relu()
        return graphtorch.jit.wait(fut) - y


def test_scripted_ensemble_forks_and_equals_eager():
    graphtorch.manual_seed(0)
    m = Ensemble()
    x = graphtorch.randn(5, 6)
    s = graphtorch.jit.script(m)
    assert s.code.count("graphtorch.jit.fork") == 3
    np.testing.assert_allclose(s(x).detach().numpy(), m(x).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    # gradients flow through the forked calls
    s(x).sum().backward()
    g_script = [p.grad.numpy().copy() for p in m.parameters()]
    m.zero_grad()
    m(x).sum().backward()
    for a, b in zip(g_script, (p.grad.numpy() for p in m.parameters())):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_scripted_fork_of_a_function():
    x = graphtorch.randn(4, 3)
    out = graphtorch.jit.script(ForkFunction())(x)
    np.testing.assert_allclose(out.numpy(), (x * 3.0 - x.relu()).numpy(), rtol=1e-6)


def test_fork_of_something_script_cannot_run_is_a_script_error():
    class Bad(nn.Module):
        def forward(self, x):
            return graphtorch.jit.wait(graphtorch.jit.fork(x, x))

    with pytest.raises(ScriptError, match="fork"):
        graphtorch.jit.script(Bad())


def _add(a, b: int):
    return a + b


def test_script_fork_with_keywords_and_a_list_of_annotated_futures():
    def bar(a):
        fut = graphtorch.jit.fork(_add, a, b=2)
        return graphtorch.jit.wait(fut)

    x = graphtorch.randn(3)
    np.testing.assert_allclose(graphtorch.jit.script(bar)(x).numpy(), (x + 2).numpy())

    class Annotated(nn.Module):
        def __init__(self):
            super().__init__()
            self.models = nn.ModuleList([nn.Linear(3, 2) for _ in range(2)])

        def forward(self, x):
            futures: List[graphtorch.jit.Future[graphtorch.Tensor]] = []  # noqa: UP006
            for model in self.models:
                futures.append(graphtorch.jit.fork(model, x))
            results = []
            for fut in futures:
                results.append(graphtorch.jit.wait(fut))
            return graphtorch.stack(results).sum(dim=0)

    m = Annotated()
    x = graphtorch.randn(4, 3)
    np.testing.assert_allclose(graphtorch.jit.script(m)(x).detach().numpy(),
                               m(x).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_saving_a_forking_model_is_refused_by_name(tmp_path):
    with pytest.raises(graphtorch.errors.UnsupportedError, match="graphtorch.jit.fork"):
        graphtorch.jit.save(graphtorch.jit.script(Ensemble()), str(tmp_path / "e.gt"))


_NESTED = """
import graphtorch as gt
from graphtorch.runtime import futures

futures.set_num_interop_threads(2)


def leaf(x, k):
    return x * k


def member(x, k):
    inner = [gt.jit.fork(leaf, x, k + j) for j in range(3)]
    return sum(gt.jit.wait(f) for f in inner)


x = gt.ones(3)
outer = [gt.jit.fork(member, x, k) for k in range(6)]
total = sum(float(gt.jit.wait(f).sum()) for f in outer)
want = sum(3 * (3 * k + 3) for k in range(6))
assert total == want, (total, want)
with gt.no_grad():
    f = gt.jit.fork(lambda: gt.is_grad_enabled())
    assert gt.jit.wait(f) is False and not gt.is_grad_enabled()
print("ok", total)
"""


def test_nested_forks_on_a_small_pool_do_not_deadlock():
    # 6 forked tasks each fork 3 more and wait: with 2 workers, every worker would block in wait
    # while the inner tasks queue behind them; a wait runs a task that has not started inline.
    proc = subprocess.run([sys.executable, "-c", _NESTED], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("ok ")
