import pytest

import graphtorch as gt
from graphtorch import dtypes
from graphtorch.errors import GraphError
from graphtorch.ir import (
    BOOL,
    INT,
    TENSOR,
    ClassType,
    Graph,
    Prim,
    SourceLoc,
    TensorRef,
    TensorType,
    TupleType,
    Use,
    check_kind,
    insert_graph,
    op_kind,
    register_prim_kind,
    split_kind,
)
from graphtorch.ir.kinds import Namespace

F32 = dtypes.float32
BT = TensorType(F32, ("B", 4))

CELL = """\
graph(%self : __torch__.MyCell, %x.1 : Tensor(float32, [B, 4]), %h : Tensor(float32, [B, 4])):
  %linear : __torch__.nn.Linear = prim::GetAttr[name="linear"](%self)
  %0 : Tensor(float32, [B, 4]) = prim::CallMethod[name="forward"](%linear, %x.1)
  %1 : Tensor(float32, [B, 4]) = op::add(%0, %h)  # model.py:12:18
  %c : int = prim::Constant[value=1]()
  %cond : bool = prim::Constant[value=True]()
  %y : Tensor = prim::If(%cond)
    block0():
      -> (%1)
    block1():
      -> (%0)
  %2 : (Tensor, Tensor) = prim::TupleConstruct(%1, %y)
  return (%2)
"""


def build_cell() -> Graph:
    g = Graph()
    s = g.add_input("self", ClassType("__torch__.MyCell"))
    x = g.add_input("x.1", BT)
    h = g.add_input("h", BT)
    lin = g.emit(Prim.GetAttr, [s], [ClassType("__torch__.nn.Linear")], {"name": "linear"})
    lin.output.name = "linear"
    a = g.emit(Prim.CallMethod, [lin.output, x], [BT], {"name": "forward"}).output
    with g.source(SourceLoc("model.py", 12, 18)):
        b = g.emit(op_kind("add"), [a, h], [BT]).output
    g.constant(1, name="c")
    cond = g.constant(True, name="cond")
    n = g.emit(Prim.If, [cond], [TENSOR])
    n.output.name = "y"
    n.add_block().set_outputs([b])
    n.add_block().set_outputs([a])
    t = g.emit(Prim.TupleConstruct, [b, n.output], [TupleType((TENSOR, TENSOR))]).output
    g.set_outputs([t])
    return g


def test_build_and_print_golden():
    assert str(build_cell()) == CELL


def test_values_uses_and_producers():
    g = build_cell()
    x = g.inputs[1]
    assert x.node is None and x.block is g.block and x.is_param
    call = g.nodes()[1]
    assert call.kind == Prim.CallMethod == "prim::CallMethod"
    assert x.uses == [Use(call, 1)]
    add = g.nodes()[2]
    assert add.source == SourceLoc("model.py", 12, 18)
    assert add.is_op and add.op_name == "add"
    # %1 is used by the If's block0 return and by the tuple
    users = {u.node.kind for u in add.output.uses}
    assert users == {Prim.Return.value, Prim.TupleConstruct.value}


def test_names_are_unique():
    g = Graph()
    a = g.add_input("x", TENSOR)
    b = g.add_input("x", TENSOR)
    c = g.add_input("x", TENSOR)
    d = g.add_input("x.1", TENSOR)
    assert [a.name, b.name, c.name, d.name] == ["x", "x.1", "x.2", "x.3"]
    e = g.add_input("12", TENSOR)
    assert e.name is None
    f = g.add_input("a b-c", TENSOR)
    assert f.name == "a_b_c"
    b.name = None
    assert g.add_input("x.1").name == "x.1"


def test_replace_all_uses_with_and_destroy():
    g = Graph()
    x = g.add_input("x", BT)
    y = g.add_input("y", BT)
    n1 = g.emit(op_kind("neg"), [x], [BT])
    n2 = g.emit(op_kind("add"), [n1.output, n1.output], [BT])
    g.set_outputs([n2.output, n1.output])
    with pytest.raises(GraphError, match=r"cannot destroy `%0 : .* = op::neg\(%x\)`: output "
                                         r"%0 still has 3 use\(s\)"):
        n1.destroy()
    n1.output.replace_all_uses_with(y)
    assert n1.output.uses == []
    assert n2.inputs == [y, y] and g.outputs == [n2.output, y]
    assert [u.index for u in y.uses] == [0, 1, 1]
    n1.destroy()
    assert g.nodes() == [n2]
    assert x.uses == []


def test_input_editing_keeps_use_indices():
    g = Graph()
    a, b, c = (g.add_input(n, INT) for n in "abc")
    n = g.emit("prim::ListConstruct", [a, b], [TENSOR])
    n.insert_input(0, c)
    assert n.inputs == [c, a, b]
    assert a.uses == [Use(n, 1)] and b.uses == [Use(n, 2)] and c.uses == [Use(n, 0)]
    n.remove_input(1)
    assert n.inputs == [c, b] and a.uses == [] and b.uses == [Use(n, 1)]
    n.set_input(0, a)
    assert c.uses == [] and a.uses == [Use(n, 0)]


def test_insert_point_and_move():
    g = Graph()
    x = g.add_input("x", BT)
    last = g.emit(op_kind("neg"), [x], [BT])
    with g.insert_point(last):
        first = g.emit(op_kind("abs"), [x], [BT])
    with g.insert_point(last, after=True):
        after = g.emit(op_kind("exp"), [x], [BT])
    tail = g.emit(op_kind("sin"), [x], [BT])
    assert g.nodes() == [first, last, after, tail]
    tail.move_before(first)
    assert g.nodes() == [tail, first, last, after]
    first.move_after(after)
    assert g.nodes() == [tail, last, after, first]
    assert tail.is_before(first) and not first.is_before(tail)
    assert tail.next is last and last.prev is tail and first.next is None


def test_blocks_and_walk():
    g = Graph()
    n_iter = g.add_input("n", INT)
    x = g.add_input("x", BT)
    cond = g.constant(True)
    loop = g.emit(Prim.Loop, [n_iter, cond, x], [BT])
    body = loop.add_block()
    body.add_input("i", INT)
    xc = body.add_input("xc", BT)
    with g.insert_point(body):
        y = g.emit(op_kind("neg"), [xc], [BT])
        t = g.constant(True)
    body.set_outputs([t, y.output])
    g.set_outputs([loop.output])
    assert [n.kind for n in g.walk()] == ["prim::Constant", "prim::Loop", "op::neg",
                                          "prim::Constant"]
    assert y.owning_node is loop and loop.is_before(y) and y.is_before(t.node)
    assert str(g).splitlines()[3:7] == [
        "    block0(%i : int, %xc : Tensor(float32, [B, 4])):",
        "      %2 : Tensor(float32, [B, 4]) = op::neg(%xc)",
        "      %3 : bool = prim::Constant[value=True]()",
        "      -> (%3, %2)",
    ]
    # destroying the loop frees its body, including uses of outer values
    g.set_outputs([x])
    loop.destroy()
    assert cond.uses == [] and n_iter.uses == []
    assert [u.node for u in x.uses] == [g.block.return_node]


def test_constants_and_tensor_table():
    g = Graph()
    t = gt.ones(2, 2)
    v = g.constant(t)
    assert v.type == TensorType(F32, (2, 2), gt.device("cpu"))
    ref = v.node.attrs["value"]
    assert isinstance(ref, TensorRef) and g.tensor_constants[ref.name] is t
    assert g.constant_value(v) is t
    w = g.constant(gt.zeros(1))
    assert w.node.attrs["value"] != ref
    assert g.constant_value(g.constant([1, 2])) == [1, 2]
    assert "prim::Constant[value=<tensor:c0>]()" in str(g)
    with pytest.raises(GraphError, match="is a block parameter, not a constant"):
        g.constant_value(g.add_input("p", INT))


def test_copy_is_deep_and_equal_in_text():
    g = build_cell()
    g2 = g.copy()
    assert str(g2) == str(g)
    assert all(a is not b for a, b in zip(g.walk(), g2.walk()))
    g2.inputs[2].name = "hidden"
    assert str(g) == CELL


def test_copy_keeps_argument_defaults_as_its_own_dict():
    g = build_cell()
    g.defaults = {"h": 2.0}
    g2 = g.copy()
    assert g2.defaults == {"h": 2.0}
    g2.defaults["h"] = 3.0
    assert g.defaults == {"h": 2.0}
    assert Graph().defaults == {}


def test_insert_graph_maps_inputs_and_constants():
    callee = Graph()
    a = callee.add_input("a", BT)
    w = callee.constant(gt.ones(4))
    out = callee.emit(op_kind("mul"), [a, w], [BT]).output
    callee.set_outputs([out])

    g = Graph()
    x = g.add_input("x", BT)
    g.constant(gt.zeros(1))                       # takes the name c0 in the caller
    (r,) = insert_graph(g, callee, [x])
    g.set_outputs([r])
    mul = r.node
    assert mul.inputs[0] is x
    ref = mul.inputs[1].node.attrs["value"]
    assert g.tensor_constants[ref.name] is callee.tensor_constants["c0"]
    assert ref.name != "c0"
    with pytest.raises(GraphError, match="takes 1 input"):
        insert_graph(g, callee, [])


def test_kinds():
    assert check_kind(Prim.If) == "prim::If"
    assert split_kind("op::add") == (Namespace.OP, "add")
    assert split_kind("py::len") == (Namespace.PY, "len")
    assert register_prim_kind("add_int", "int + int") == "prim::add_int"
    with pytest.raises(GraphError, match="invalid node kind 'add'"):
        Graph().create("add")


def test_node_errors():
    g, other = Graph(), Graph()
    x = other.add_input("x", BT)
    with pytest.raises(GraphError, match="belongs to another graph"):
        g.create(op_kind("neg"), [x], [BT])
    with pytest.raises(GraphError, match="wrap constants"):
        g.create(op_kind("neg"), [3], [BT])
    n = g.emit(Prim.Constant, [], [INT, BOOL], {"value": 1})
    with pytest.raises(GraphError, match="has 2 outputs, expected exactly 1"):
        _ = n.output
