"""The guarded call (runtime/call_guard.py): a compiled function's hot path once its plan exists,
checked against the general path and the interpreter."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.runtime.caches import FORWARD_CALLS, invalidate
from graphtorch.runtime.cpu_codegen import set_executor
from graphtorch.runtime.executor import plans_of


def _fresh():
    @gt.jit.script
    def f(x, s: float):
        y = x * s + 1.0
        return y * y

    return f


def _warm(fn, *args):
    """Call until the signature's guarded call is installed; returns the last result."""
    out = None
    for _ in range(3):
        out = fn(*args)
    return out


def _reference(fn, *args):
    set_executor("interpreter")
    try:
        return fn(*args)
    finally:
        set_executor(None)


def test_installed_after_the_plan_and_equal_to_the_interpreter():
    f = _fresh()
    x = gt.randn(5)
    with gt.no_grad():
        f(x, 2.0)
        assert f._fast_call is None  # the profiling run: no plan yet
        _warm(f, x, 2.0)
        assert f._fast_call is not None
        plan = next(iter(plans_of(f).plans.values()))
        before = plan.calls
        got = f(x, 3.0)
        assert plan.calls == before + 1  # the guarded call ran the plan
        assert "_state.enabled is False" in f._fast_call.source
        assert ".ndim == 1" in f._fast_call.source
        want = _reference(f, x, 3.0)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


@pytest.mark.parametrize("other", [
    lambda x: (x.double(), 2.0),            # dtype
    lambda x: (x.reshape(5, 1), 2.0),        # rank
    lambda x: (x, 2),                        # scalar type
    lambda x: (x.clone().requires_grad_(), 2.0),  # requires grad (grad mode off)
])
def test_another_signature_misses_and_runs_its_own_plan(other):
    f = _fresh()
    x = gt.randn(5)
    with gt.no_grad():
        _warm(f, x, 2.0)
        first = f._fast_call
        args = other(x)
        assert first(args) is first.__globals__["MISS"]
        got = _warm(f, *args)
        want = _reference(f, *args)
        assert f._fast_call is not first
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)
    assert got.dtype is want.dtype and tuple(got.shape) == tuple(want.shape)


def test_grad_mode_is_part_of_the_guard():
    f = _fresh()
    x = gt.randn(5, requires_grad=True)
    with gt.no_grad():
        _warm(f, x, 2.0)
        assert f(x, 2.0).grad_fn is None
    out = _warm(f, x, 2.0)  # grad mode on: another signature, the result records gradients
    assert out.grad_fn is not None
    out.sum().backward()
    want = 2 * (x.detach() * 2.0 + 1.0) * 2.0
    np.testing.assert_allclose(x.grad.numpy(), want.numpy(), rtol=1e-6)


def test_sizes_stay_symbolic():
    f = _fresh()
    with gt.no_grad():
        _warm(f, gt.randn(5), 2.0)
        guard = f._fast_call
        x = gt.randn(17)
        got = f(x, 2.0)
        assert f._fast_call is guard
    np.testing.assert_allclose(got.numpy(), ((x * 2.0 + 1.0) ** 2).numpy(), rtol=1e-6)


def test_keywords_take_the_general_path():
    f = _fresh()
    x = gt.randn(5)
    with gt.no_grad():
        _warm(f, x, 2.0)
        got = f(x, s=4.0)
    np.testing.assert_allclose(got.numpy(), ((x * 4.0 + 1.0) ** 2).numpy(), rtol=1e-6)


def test_selecting_an_executor_drops_it():
    f = _fresh()
    x = gt.randn(5)
    with gt.no_grad():
        _warm(f, x, 2.0)
        set_executor("interpreter")
        assert f._fast_call is None
        f(x, 2.0)
        assert f._fast_call is None  # the interpreter installs none
        set_executor(None)
        _warm(f, x, 2.0)
        assert f._fast_call is not None


def test_calls_that_record_gradients_keep_the_general_path():
    f = _fresh()
    x = gt.randn(5, requires_grad=True)
    out = _warm(f, x, 2.0)
    assert f._fast_call is None
    assert out.grad_fn is not None


def test_replacing_the_graph_drops_it():
    f = _fresh()
    g = _fresh()
    x = gt.randn(5)
    with gt.no_grad():
        _warm(f, x, 2.0)
        f.graph = g.graph
        assert f._fast_call is None
        assert f(x, 2.0).shape == (5,)


def test_errors_propagate_and_restore_grad_mode():
    @gt.jit.script
    def f(x, i: int):
        with gt.no_grad():
            y = x * 2.0
            if i > 3:
                raise ValueError("too big")
        return y

    x = gt.randn(5)
    _warm(f, x, 1)
    assert f._fast_call is not None
    with pytest.raises(Exception, match="too big"):
        f(x, 7)
    assert gt.is_grad_enabled()


class Pair(NamedTuple):
    a: gt.Tensor
    b: gt.Tensor


def test_rebuilt_results_keep_the_general_path():
    @gt.jit.script
    def f(x) -> Pair:
        return Pair(x + 1.0, x * 2.0)

    x = gt.randn(3)
    with gt.no_grad():
        out = _warm(f, x)
    assert f._fast_call is None
    assert isinstance(out, Pair)


def test_several_outputs_come_back_as_a_tuple():
    @gt.jit.script
    def f(x):
        return x + 1.0, x - 1.0

    x = gt.randn(3)
    with gt.no_grad():
        out = _warm(f, x)
    assert f._fast_call is not None
    assert isinstance(out, tuple) and len(out) == 2
    np.testing.assert_allclose(out[1].numpy(), (x - 1.0).numpy())


# --- a compiled module's forward ------------------------------------------------------------------
def _module():
    gt.manual_seed(0)
    return gt.jit.script(gt.nn.Sequential(gt.nn.Linear(4, 8), gt.nn.Tanh(),
                                          gt.nn.Linear(8, 3)).eval())


def test_module_forward_is_guarded_and_reads_parameters_each_call():

    m = _module()
    x = gt.randn(5, 4)
    with gt.no_grad():
        _warm(m, x)
        guard = FORWARD_CALLS.get(m)
        assert guard is not None and "_resolve(m, _path" in guard.source
        plan = next(iter(plans_of(m).plans.values()))
        before = plan.calls
        got = m(x)
        assert plan.calls == before + 1
        want = _reference(m, x)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
        # a parameter replaced in place: the guard reads it again on the next call
        getattr(m, "0").weight.copy_(gt.zeros(8, 4))
        got = m(x)
        np.testing.assert_allclose(got.numpy(), _reference(m, x).numpy(), rtol=1e-5, atol=1e-6)


def test_module_forward_misses_on_another_parameter_dtype():

    m = _module()
    x = gt.randn(5, 4)
    with gt.no_grad():
        _warm(m, x)
        guard = FORWARD_CALLS.get(m)
        m.double()
        assert guard(m, (x.double(),)) is MISS_OF(guard)
        got = _warm(m, x.double())
        assert got.dtype is gt.float64
        np.testing.assert_allclose(got.numpy(), _reference(m, x.double()).numpy(), rtol=1e-12)


def MISS_OF(guard):  # noqa: N802 - the sentinel a guard answers
    return guard.__globals__["MISS"]


def test_module_training_calls_take_the_general_path():

    m = _module()
    x = gt.randn(5, 4)
    for _ in range(3):
        m.zero_grad()
        out = m(x)
        out.sum().backward()
    assert FORWARD_CALLS.get(m) is None
    assert out.grad_fn is not None and getattr(m, "0").weight.grad is not None


def test_module_changes_drop_the_guarded_forward():

    m = _module()
    x = gt.randn(5, 4)
    with gt.no_grad():
        _warm(m, x)
        assert FORWARD_CALLS.get(m) is not None
        invalidate(m)
        assert FORWARD_CALLS.get(m) is None
        _warm(m, x)
        set_executor("interpreter")
        assert FORWARD_CALLS.get(m) is None
        set_executor(None)
