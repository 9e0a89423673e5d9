"""The runtime's caches (runtime/caches.py): what it builds from graphs and modules, kept beside
them by identity and weakly, never as attributes on the IR or on the compiled module."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn
from graphtorch.runtime.autodiff_exec import explain_autodiff, set_autodiff
from graphtorch.runtime.caches import AUTODIFF, CODEGEN, PREPARED, RuntimeCache
from graphtorch.runtime.cpu_codegen import get_executor, set_executor
from graphtorch.runtime.executor import prepared_graph


class _Key:
    """Equal to every other _Key: the cache must still tell two of them apart."""

    def __eq__(self, other):
        return isinstance(other, _Key)

    __hash__ = None


def test_entries_are_by_identity_and_unhashable_keys_work():
    cache = RuntimeCache("test")
    a, b = _Key(), _Key()
    cache.put(a, 1)
    assert cache.get(a) == 1 and a in cache
    assert cache.get(b) is None and b not in cache
    cache.put(b, 2)
    assert (cache.get(a), cache.get(b)) == (1, 2)
    cache.put(a, 3)     # replaces
    assert cache.get(a) == 3 and len(cache) == 2


def test_an_entry_goes_with_its_object():
    cache = RuntimeCache("test")
    a = _Key()
    cache.put(a, [1])
    del a
    gc.collect()
    assert len(cache) == 0


def test_invalidate_forgets_one_object():
    cache = RuntimeCache("test")
    a, b = _Key(), _Key()
    cache.put(a, 1)
    cache.put(b, 2)
    cache.invalidate(a)
    cache.invalidate(_Key())    # never cached: nothing happens
    assert a not in cache and cache.get(b) == 2


class Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 4)

    def forward(self, x):
        return gt.tanh(self.lin(x)) * 2.0


def test_prepared_graph_is_kept_by_the_runtime_until_the_module_changes():
    m = gt.jit.script(Scaled())
    x = gt.randn(2, 3)
    m(x)
    first = prepared_graph(m, "forward")
    assert prepared_graph(m, "forward") is first
    assert not any(k.startswith("_gt_cache") for k in vars(m))
    m._set_constant("k", 1)
    second = prepared_graph(m, "forward")
    assert second is not first
    m.k = 2             # a plain value: read by prim::GetAttr at each call, nothing to redo
    assert prepared_graph(m, "forward") is second
    m.k = gt.ones(1)    # a tensor may change what preparing lifts
    third = prepared_graph(m, "forward")
    assert third is not second
    assert prepared_graph(m, "forward") is third
    m._add_method("forward", m._method("forward").graph)
    assert prepared_graph(m, "forward") is not third


def test_a_collected_module_leaves_the_cache():
    m = gt.jit.script(Scaled())
    m(gt.randn(2, 3))
    assert m in PREPARED
    gc.collect()    # modules of earlier tests leave first
    before = len(PREPARED)
    del m
    gc.collect()
    assert len(PREPARED) == before - 1


@pytest.fixture
def restore_executor():
    prev = get_executor()
    yield
    set_executor(prev)
    set_autodiff(False)


def test_codegen_and_autodiff_leave_the_graph_untouched(restore_executor):
    eager = Scaled()
    m = gt.jit.trace(eager, (gt.randn(2, 3),))
    graph = prepared_graph(m, "forward").graph
    attrs = set(vars(graph))
    set_executor("codegen")
    x = gt.randn(2, 3)
    with gt.no_grad():
        out = m(x)
    assert graph in CODEGEN
    np.testing.assert_allclose(out.numpy(), eager(x).detach().numpy(), rtol=1e-6)
    set_autodiff(True)
    m(gt.randn(2, 3, requires_grad=True)).sum().backward()
    assert graph in AUTODIFF
    assert "backward" in explain_autodiff(graph)
    assert set(vars(graph)) == attrs
