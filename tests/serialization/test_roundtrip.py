"""save/load round trips: same outputs, parameters, graphs, training; byte-identical saves."""

from __future__ import annotations

import io

import numpy as np
import pytest

import graphtorch as gt
import graphtorch.optim
from graphtorch.archive import archive_members, load, save
from graphtorch.archive.source_paths import portable_graph
from graphtorch.errors import UnsupportedError
from graphtorch.frontend.script_module import RecursiveScriptModule, TracedModule

from .models import scale, scripted_cell, scripted_with_python_op, traced_mlp


def _bytes(m) -> bytes:
    buf = io.BytesIO()
    save(m, buf)
    return buf.getvalue()


def _reload(m):
    return load(io.BytesIO(_bytes(m)))


@pytest.mark.parametrize("make", [traced_mlp, scripted_cell])
def test_outputs_parameters_and_graphs_survive(make):
    m = make()
    m2 = _reload(m)
    assert type(m2) is type(m)
    assert isinstance(m2, (TracedModule, RecursiveScriptModule))
    assert str(m2.graph) == str(portable_graph(m.graph))   # source paths made portable
    assert m2.code == m.code
    assert m2.original_name == m.original_name and m2._gt_type == m._gt_type
    assert [n for n, _ in m2.named_modules()] == [n for n, _ in m.named_modules()]
    for (n1, p1), (n2, p2) in zip(m.named_parameters(), m2.named_parameters(), strict=True):
        assert n1 == n2 and p2.requires_grad == p1.requires_grad
        np.testing.assert_array_equal(p2.detach().numpy(), p1.detach().numpy())
    for (n1, b1), (n2, b2) in zip(m.named_buffers(), m2.named_buffers(), strict=True):
        assert n1 == n2
        np.testing.assert_array_equal(b2.numpy(), b1.numpy())
    gt.manual_seed(1)
    args = [gt.randn(3, 4)] if isinstance(m, TracedModule) else [gt.randn(3, 4), gt.randn(3, 4)]
    np.testing.assert_array_equal(m2(*args).detach().numpy(), m(*args).detach().numpy())


@pytest.mark.parametrize("make", [traced_mlp, scripted_cell])
def test_deterministic_bytes(make):
    m = make()
    first = _bytes(m)
    assert _bytes(m) == first
    assert _bytes(load(io.BytesIO(first))) == first
    assert _bytes(make()) == first  # a fresh but identical model


def test_training_after_load_matches_eager_training():
    m = traced_mlp()
    ref = _reload(m)
    m2 = _reload(m)
    x = gt.randn(3, 4)
    for model in (ref, m2):
        opt = graphtorch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            model(x).pow(2).sum().backward()
            opt.step()
    for p, q in zip(ref.parameters(), m2.parameters()):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-6)
    assert not np.array_equal(m2.l1.weight.detach().numpy(), m.l1.weight.detach().numpy())


def test_path_load_is_memory_mapped_and_survives_overwrite(tmp_path):
    path = tmp_path / "m.gt"
    m = traced_mlp()
    save(m, path)
    m2 = load(path)
    w = m2.l1.weight
    base = w._data
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    assert not isinstance(base, (bytes, np.ndarray))   # a view of the file mapping
    assert w._data.flags.writeable                      # copy-on-write: trainable in place
    expected = m(gt.ones(3, 4)).detach().numpy()
    save(traced_mlp(seed=5), path)                      # replace the file under the mapping
    np.testing.assert_array_equal(m2(gt.ones(3, 4)).detach().numpy(), expected)
    with gt.no_grad():
        m2.l1.weight.mul_(0)
    np.testing.assert_array_equal(load(path).l1.weight.detach().numpy(),
                                  traced_mlp(seed=5).l1.weight.detach().numpy())


def test_functions_called_by_the_module_are_saved():
    members = archive_members(scripted_cell())
    assert "functions/" + scale.qualified_name + ".gtir" in members


def test_script_function_archive():
    fn2 = _reload(scale)
    x = gt.randn(5)
    np.testing.assert_allclose(fn2(x, 3.0).numpy(), (x * 3.0).numpy())
    assert str(fn2.graph) == str(portable_graph(scale.graph))


def test_constant_attributes_round_trip():
    m = traced_mlp()
    values = {"depth": 3, "alpha": 0.25, "inf": float("inf"), "flag": True, "name": "cell",
              "nothing": None, "sizes": [1, 2, 3], "pair": (1, "a"), "table": {"k": [0.5]},
              "dt": gt.float16, "dev": gt.device("cpu"), "table_t": gt.arange(3)}
    for k, v in values.items():
        m._set_constant(k, v)
    m2 = _reload(m)
    for k, v in values.items():
        got = getattr(m2, k)
        if isinstance(v, gt.Tensor):
            np.testing.assert_array_equal(got.numpy(), v.numpy())
            assert got.dtype is v.dtype
        else:
            assert got == v and type(got) is type(v), k


def test_tied_weights_stay_tied():
    m = traced_mlp(n_in=8, hidden=8, n_out=8)
    m.l2.weight = m.l1.weight
    m2 = _reload(m)
    assert m2.l2.weight is m2.l1.weight
    assert len(list(m2.parameters())) == 3


def test_python_op_refuses_to_save_naming_the_function():
    m = scripted_with_python_op()
    with pytest.raises(UnsupportedError, match=r"models\.python_helper.*prim::PythonOp"):
        _bytes(m)


def test_eager_submodule_refuses_to_save():
    m = traced_mlp()
    m._modules["eager"] = gt.nn.Linear(2, 2)
    with pytest.raises(UnsupportedError, match=r"submodule 'eager' \(Linear\) runs eagerly"):
        _bytes(m)


def test_jit_entry_points(tmp_path):
    m = traced_mlp()
    gt.jit.save(m, tmp_path / "a.gt")
    m.save(tmp_path / "b.gt")
    assert (tmp_path / "a.gt").read_bytes() == (tmp_path / "b.gt").read_bytes()
    m2 = gt.jit.load(tmp_path / "a.gt", map_location="cpu")
    assert m2.l1.weight.device == gt.device("cpu")


def test_tensor_constants_round_trip():
    from .models import traced_with_constant

    fn = traced_with_constant()
    fn2 = _reload(fn)
    assert "<tensor:c0>" in str(fn2.graph)
    np.testing.assert_array_equal(fn2.graph.tensor_constants["c0"].numpy(),
                                  fn.graph.tensor_constants["c0"].numpy())
    x = gt.randn(2, 4)
    np.testing.assert_array_equal(fn2(x).numpy(), fn(x).numpy())


def test_graph_that_does_not_verify_refuses_to_save():
    """Load verifies every graph, so save refuses to write an archive load would refuse."""
    from graphtorch.ir import types as T

    m = traced_mlp()
    graph = m._gt_methods["forward"].graph
    tanh = next(n for n in graph.walk() if n.kind == "op::tanh")
    tanh.add_output(T.TENSOR)                 # op::tanh has one output in its schema
    with pytest.raises(UnsupportedError, match=r"cannot save MLP\.forward: its graph does not "
                                               r"verify.*op::tanh has 1 output"):
        _bytes(m)
