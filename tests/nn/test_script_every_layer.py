"""Every nn.Module class graphtorch.nn exports scripts and traces, and computes what eager does.

The table of constructions and inputs is tests/nn/layer_table.py; a class missing from it fails
``test_every_exported_layer_is_in_the_table``. Layers run in eval mode (dropout is the identity).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import graphtorch
from graphtorch import nn
from tests.nn.layer_table import GRADIENT_LAYERS, LAYERS


def exported_module_classes() -> list[str]:
    return sorted(n for n in dir(nn) if not n.startswith("_")
                  and inspect.isclass(getattr(nn, n)) and issubclass(getattr(nn, n), nn.Module))


def flat(value) -> list:
    """Tensors (and numbers) of a nested output, in order, as numpy arrays."""
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in flat(v)]
    if value is None:
        return []
    if hasattr(value, "detach"):
        return [np.array(value.detach().numpy())]
    return [np.array(value)]


def build(name: str, seed: int = 0):
    ctor, inputs = LAYERS[name]
    graphtorch.manual_seed(seed)
    m = ctor(graphtorch).eval()
    xs = tuple(graphtorch.tensor(a) for a in inputs(np.random.default_rng(seed)))
    return m, xs


def assert_outputs_equal(expected, actual, what: str) -> None:
    e, a = flat(expected), flat(actual)
    assert len(e) == len(a), f"{what}: {len(a)} outputs, eager gives {len(e)}"
    for i, (x, y) in enumerate(zip(e, a)):
        assert x.shape == y.shape, f"{what}: output {i} shape {y.shape} != {x.shape}"
        assert x.dtype == y.dtype, f"{what}: output {i} dtype {y.dtype} != {x.dtype}"
        np.testing.assert_allclose(y, x, rtol=1e-5, atol=1e-6, err_msg=f"{what}: output {i}")


def test_every_exported_layer_is_in_the_table():
    missing = [n for n in exported_module_classes() if n not in LAYERS]
    assert not missing, f"add these graphtorch.nn classes to tests/nn/layer_table.py: {missing}"
    stale = [n for n in LAYERS if n not in exported_module_classes()]
    assert not stale, f"tests/nn/layer_table.py names classes graphtorch.nn lacks: {stale}"


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_script_equals_eager(name):
    m, xs = build(name)
    expected = m(*xs)
    scripted = graphtorch.jit.script(m)
    assert_outputs_equal(expected, scripted(*xs), f"jit.script({name})")


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_trace_equals_eager(name):
    m, xs = build(name)
    expected = m(*xs)
    traced = graphtorch.jit.trace(m, xs)
    assert_outputs_equal(expected, traced(*xs), f"jit.trace({name})")
    # a second input of the same shapes: the trace is not a constant of the first
    _, ys = build(name, seed=1)
    assert_outputs_equal(m(*ys), traced(*ys), f"jit.trace({name}) on new inputs")


def _grads(m, xs, out) -> list[np.ndarray]:
    total = sum((o.float() * (i + 1.0)).sum() for i, o in enumerate(flat_tensors(out)))
    params = [p for p in m.parameters()]
    leaves = [x for x in xs if x.requires_grad] + params
    grads = graphtorch.autograd.grad(total, leaves, allow_unused=True)
    return [np.zeros(1) if g is None else g.numpy() for g in grads]


def flat_tensors(value) -> list:
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in flat_tensors(v)]
    return [value] if hasattr(value, "detach") else []


@pytest.mark.parametrize("name", GRADIENT_LAYERS)
@pytest.mark.parametrize("mode", ["script", "trace"])
def test_gradients_equal_eager(name, mode):
    m, xs = build(name)
    xs = tuple(x.requires_grad_() if x.dtype.is_floating_point and i == 0 else x
               for i, x in enumerate(xs))
    expected = _grads(m, xs, m(*xs))
    compiled = graphtorch.jit.script(m) if mode == "script" else graphtorch.jit.trace(m, xs)
    actual = _grads(m, xs, compiled(*xs))
    assert len(expected) == len(actual)
    for i, (e, a) in enumerate(zip(expected, actual)):
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-5,
                                   err_msg=f"{mode}({name}) gradient {i}")


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_scripted_equals_pytorch(name):
    """The same construction, PyTorch's weights copied in: the scripted layer gives PyTorch's
    numbers."""
    torch = pytest.importorskip("torch")
    ctor, inputs = LAYERS[name]
    torch.manual_seed(0)
    ref = ctor(torch).eval()
    arrays = inputs(np.random.default_rng(0))
    with torch.no_grad():
        expected = ref(*(torch.from_numpy(a) for a in arrays))
    m = ctor(graphtorch).eval()
    state = {k: graphtorch.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()}
    m.load_state_dict(state)
    out = graphtorch.jit.script(m)(*(graphtorch.tensor(a) for a in arrays))
    assert_outputs_equal(expected, out, f"jit.script({name}) vs PyTorch")
