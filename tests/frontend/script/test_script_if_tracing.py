"""``graphtorch.jit.script_if_tracing``: Python in eager mode; while tracing, one
``prim::CallFunction`` of the scripted function, so its control flow holds for inputs that take
another path than the example. Compared with Python and with torch.jit."""

import numpy as np
import pytest

import graphtorch as gt


def _make(lib):
    @lib.jit.script_if_tracing
    def shift(x, k: int = 1):
        if bool(x.sum() > 0):
            return x + k
        return x - k

    def model(x):
        return shift(x) * 2

    return shift, model


@gt.jit.script_if_tracing
def _which(x):
    if gt.jit.is_scripting():   # True only in the scripted form
        return x + 100
    return x


def test_eager_runs_the_python_function_and_a_trace_the_scripted_one():
    np.testing.assert_allclose(_which(gt.tensor([1.0])).numpy(), [1.0])
    traced = gt.jit.trace(lambda x: _which(x) * 1, (gt.tensor([1.0]),))
    np.testing.assert_allclose(traced(gt.tensor([2.0])).numpy(), [102.0])


def test_the_trace_keeps_the_control_flow():
    shift, model = _make(gt)
    traced = gt.jit.trace(model, (gt.ones(2),))
    kinds = [n.kind for n in traced.graph.nodes()]
    assert "prim::CallFunction" in kinds
    for x in ([1.0, 2.0], [-1.0, -5.0]):
        got = traced(gt.tensor(x))
        np.testing.assert_allclose(got.numpy(), model(gt.tensor(x)).numpy())


def test_matches_torch_jit_trace():
    torch = pytest.importorskip("torch")
    _, ours = _make(gt)
    _, theirs = _make(torch)
    t_ours = gt.jit.trace(ours, (gt.ones(3),))
    t_theirs = torch.jit.trace(theirs, (torch.ones(3),))
    for x in ([1.0, 2.0, 3.0], [-4.0, 0.5, 1.0]):
        np.testing.assert_allclose(t_ours(gt.tensor(x)).numpy(),
                                   t_theirs(torch.tensor(x)).numpy())


def test_script_compiles_the_function_itself():
    shift, _ = _make(gt)
    scripted = gt.jit.script(shift)
    np.testing.assert_allclose(scripted(gt.tensor([-1.0]), 3).numpy(), [-4.0])

    @gt.jit.script
    def caller(x):
        return shift(x, k=5)

    np.testing.assert_allclose(caller(gt.tensor([2.0])).numpy(), [7.0])


def test_defaults_and_keywords_of_a_scripted_caller():
    @gt.jit.script_if_tracing
    def fee(x: int = 2):
        return x + 1

    @gt.jit.script
    def hum():
        return fee(x=3)

    assert gt.jit.script(fee)() == fee() == 3
    assert hum() == 4


def test_a_saved_trace_keeps_the_call(tmp_path):
    _, model = _make(gt)
    traced = gt.jit.trace(model, (gt.ones(2),))
    path = tmp_path / "traced.gt"
    traced.save(str(path))
    loaded = gt.jit.load(str(path))
    np.testing.assert_allclose(loaded(gt.tensor([-1.0, -2.0])).numpy(), [-4.0, -6.0])
