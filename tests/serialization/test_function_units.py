"""Functions belong to their compilation unit: a loaded archive resolves its calls among its own
functions, a jit.script call tree among its own; loading never changes what another object
computes, and re-scripting does not grow any table without bound."""

from __future__ import annotations

import gc
import io

import numpy as np

import graphtorch as gt
from graphtorch.archive import archive_members, load
from graphtorch.frontend.script_module import FUNCTIONS

from .hostile import pack, victim_members
from .hostile_models import common_scale, scripted_victim

SCALE = "functions/__torch__.tests.serialization.hostile_models.common_scale.gtir"


def _with_scale(factor: str) -> bytes:
    """The victim archive with common_scale multiplying by ``factor`` instead of 2.0."""
    ms = victim_members()
    text = ms[SCALE].decode()
    assert "value=2.0" in text
    ms[SCALE] = text.replace("value=2.0", f"value={factor}").encode()
    return pack(ms)


def _hostile_function() -> bytes:
    """An archive of one function under the trusted function's qualified name, x * 1000."""
    ms = archive_members(common_scale)
    ms[SCALE] = ms[SCALE].decode().replace("value=2.0", "value=1000.0").encode()
    return pack(ms)


def _expected(model, x) -> np.ndarray:
    return (model.lin(x) * 2.0 + model.offset + 1.0).detach().numpy()


def test_hostile_function_of_the_same_name_does_not_hijack_a_loaded_model():
    x = gt.randn(3, 4)
    trusted = load(io.BytesIO(pack(victim_members())))
    hostile = load(io.BytesIO(_hostile_function()))
    assert hostile.qualified_name == common_scale.qualified_name
    np.testing.assert_allclose(hostile(x).numpy(), x.numpy() * 1000.0, rtol=1e-6)
    # first call after the hostile load: resolved within the trusted archive
    np.testing.assert_allclose(trusted(x).detach().numpy(), _expected(trusted, x), rtol=1e-6)
    late = load(io.BytesIO(pack(victim_members())))   # loaded after the hostile one, too
    np.testing.assert_allclose(late(x).detach().numpy(), _expected(late, x), rtol=1e-6)


def test_loading_does_not_change_in_process_compiled_code():
    x = gt.randn(3, 4)
    compiled = scripted_victim()
    before = compiled(x).detach().numpy()
    load(io.BytesIO(_hostile_function()))
    fresh = scripted_victim()       # compiled after the load: still its own common_scale
    np.testing.assert_allclose(compiled(x).detach().numpy(), before, rtol=1e-6)
    np.testing.assert_allclose(fresh(x).detach().numpy(), before, rtol=1e-6)
    np.testing.assert_allclose(common_scale(x).numpy(), x.numpy() * 2.0, rtol=1e-6)


def test_loading_registers_nothing_process_wide():
    before = dict(FUNCTIONS)
    load(io.BytesIO(_hostile_function()))
    load(io.BytesIO(pack(victim_members())))
    assert dict(FUNCTIONS) == before


def test_two_versions_of_one_model_coexist():
    x = gt.randn(3, 4)
    v2 = load(io.BytesIO(_with_scale("2.0")))
    v3 = load(io.BytesIO(_with_scale("3.0")))
    lin = v2.lin(x).detach().numpy()
    np.testing.assert_allclose(v3.lin(x).detach().numpy(), lin, rtol=1e-6)
    offset = v2.offset.numpy()
    np.testing.assert_allclose(v2(x).detach().numpy(), lin * 2.0 + offset + 1.0, rtol=1e-6)
    np.testing.assert_allclose(v3(x).detach().numpy(), lin * 3.0 + offset + 1.0, rtol=1e-6)
    # and in the other order of first calls
    w3 = load(io.BytesIO(_with_scale("3.0")))
    w2 = load(io.BytesIO(_with_scale("2.0")))
    np.testing.assert_allclose(w3(x).detach().numpy(), lin * 3.0 + offset + 1.0, rtol=1e-6)
    np.testing.assert_allclose(w2(x).detach().numpy(), lin * 2.0 + offset + 1.0, rtol=1e-6)


def _make_closure(k: float):
    def scaled(x: gt.Tensor) -> gt.Tensor:
        return x * k
    return scaled


def _make_caller(k: float):
    inner = gt.jit.script(_make_closure(k))

    def outer(x: gt.Tensor) -> gt.Tensor:
        return inner(x) + 1.0
    return outer


def test_rescripting_closures_does_not_grow_the_name_table():
    gc.collect()
    before = len(FUNCTIONS)
    for i in range(150):
        f = gt.jit.script(_make_closure(float(i)))
        assert float(f(gt.ones(1)).numpy()[0]) == float(i)
    del f
    gc.collect()
    assert len(FUNCTIONS) - before <= 2


def test_each_script_call_tree_resolves_its_own_closures():
    """Two scripted callers of two closures that share one qualified name each call their own
    closure, also after the first closure is gone."""
    a = gt.jit.script(_make_caller(2.0))
    b = gt.jit.script(_make_caller(5.0))
    x = gt.ones(2)
    np.testing.assert_allclose(a(x).numpy(), [3.0, 3.0])
    np.testing.assert_allclose(b(x).numpy(), [6.0, 6.0])
    gc.collect()
    buf = io.BytesIO()
    gt.jit.save(b, buf)
    buf.seek(0)
    np.testing.assert_allclose(load(buf)(x).numpy(), [6.0, 6.0])
