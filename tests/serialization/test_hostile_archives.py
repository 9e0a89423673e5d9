"""Hand-built hostile archives (hostile.py): each attack ends in one precise FormatError at load,
so nothing of it runs — through the API, any executor, or the CLI."""

from __future__ import annotations

import io

import pytest

import graphtorch as gt
from graphtorch.archive import load, strict_json
from graphtorch.errors import FormatError, GraphError
from graphtorch.ir.parser import parse_graph
from graphtorch.runtime.cpu_codegen import run_graph_codegen
from graphtorch.runtime.interpreter import Interpreter

from .hostile import corpus, pack, victim_members

CORPUS = corpus()


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_hostile_archive_is_refused_at_load(name):
    data, fragments = CORPUS[name]
    with pytest.raises(FormatError) as info:
        load(io.BytesIO(data))
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert "Error:" not in message.split(": ", 1)[-1][:40], message   # no wrapped crash


def test_the_victim_itself_loads_and_computes_its_graph():
    x = gt.randn(2, 4)
    model = load(io.BytesIO(pack(victim_members())))
    want = (model.lin(x) * 2.0 + model.offset + 1.0).detach().numpy()
    assert abs(model(x).detach().numpy() - want).max() < 1e-6


def test_exec_payload_is_refused_before_any_executor_sees_it(capfd):
    """The original exploit: GetAttr forward.__func__.__globals__, DictIndex __builtins__/exec,
    CallMethod __call__. Refused at load; nothing is printed."""
    data, _ = CORPUS["ir:exec_through_globals"]
    with pytest.raises(FormatError):
        load(io.BytesIO(data))
    assert "gt_hostile_marker" not in capfd.readouterr().out


def test_manifest_with_more_objects_than_the_cap_is_refused(monkeypatch):

    data = pack(victim_members())
    monkeypatch.setattr(strict_json, "MAX_OBJECTS", 5)
    with pytest.raises(FormatError, match="graphtorch.json: JSON holds more than 5 objects"):
        load(io.BytesIO(data))


def _parsed(text: str):

    return parse_graph(text)


def test_interpreter_refuses_dunders_and_undeclared_members_at_run_time():
    """Defence in depth: a graph that never went through the load checks (built here) still
    cannot read a dunder, a method or a Python attribute of a module, nor call a dunder."""

    model = load(io.BytesIO(pack(victim_members())))
    cls = model._gt_type
    for name in ("__class__", "__dict__", "forward", "_parameters", "state_dict"):
        g = _parsed(f'graph(%self : {cls}):\n  %0 : Any = prim::GetAttr[name="{name}"](%self)\n'
                    f'  return (%0)\n')
        with pytest.raises(GraphError, match="prim::GetAttr"):
            Interpreter().run(g, [model])
    g = _parsed(f'graph(%self : {cls}):\n  %0 : Any = prim::CallMethod[name="__init__"](%self)\n'
                f'  return (%0)\n')
    with pytest.raises(GraphError, match="prim::CallMethod"):
        Interpreter().run(g, [model])
    g = _parsed('graph(%x : Tensor):\n  %0 : Any = prim::CallMethod[name="__call__"](%x)\n'
                '  return (%0)\n')
    with pytest.raises(GraphError, match="only methods of modules"):
        Interpreter().run(g, [gt.ones(2)])


@pytest.mark.parametrize("executor", ["interpreter", "codegen"])
def test_tuple_unpack_of_a_tensor_is_one_error_in_every_executor(executor):

    g = _parsed("graph(%x : Tensor):\n  %a : Tensor, %b : Tensor = prim::TupleUnpack(%x)\n"
                "  return (%a)\n")
    run = Interpreter().run if executor == "interpreter" else run_graph_codegen
    with pytest.raises(GraphError, match="prim::TupleUnpack: expected a tuple or list, got "
                                         "Tensor"):
        run(g, [gt.ones(2)])


def test_format_cannot_reach_into_arguments_at_run_time():

    g = _parsed('graph(%x : Tensor):\n'
                '  %t : str = prim::Constant[value="{0.__class__.__init__.__globals__}"]()\n'
                '  %s : str = prim::format(%t, %x)\n  return (%s)\n')
    with pytest.raises(GraphError, match="reaches into an argument"):
        Interpreter().run(g, [gt.ones(2)])
