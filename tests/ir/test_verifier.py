import pytest

import graphtorch as gt
from graphtorch import dtypes
from graphtorch.errors import GraphError
from graphtorch.ir import (
    BOOL,
    INT,
    Graph,
    Prim,
    SourceLoc,
    TensorType,
    TupleType,
    Use,
    op_kind,
    parse_graph,
    verify,
)

from .test_graph import build_cell
from .test_parser import EVERYTHING, LOOP

BT = TensorType(dtypes.float32, ("B", 4))


def check_rejects(g: Graph, *fragments: str) -> str:
    with pytest.raises(GraphError) as info:
        verify(g)
    msg = str(info.value)
    for f in fragments:
        assert f in msg, f"{f!r} not in:\n{msg}"
    return msg


def test_valid_graphs_pass():
    verify(build_cell())
    verify(parse_graph(LOOP))
    verify(parse_graph(EVERYTHING), check_tensor_constants=False)


def test_error_shows_node_context_and_source():
    g = parse_graph("""\
graph(%x : Tensor(float32, [2, 4])):
  %a : Tensor(float32, [2, 4]) = op::neg(%x)
  %b : Tensor(float64, [2, 4]) = op::exp(%a)  # model.py:7:9
  %c : Tensor(float32, [2, 4]) = op::tanh(%a)
  return (%b, %c)
""")
    msg = check_rejects(g, "output 0 of op::exp has type Tensor(float64, [2, 4]): dtype float64, "
                           "but the op's meta rule gives float32")
    assert msg.splitlines()[1:] == [
        "    graph(%x : Tensor(float32, [2, 4])):",
        "      %a : Tensor(float32, [2, 4]) = op::neg(%x)",
        "  >   %b : Tensor(float64, [2, 4]) = op::exp(%a)  # model.py:7:9",
        "      %c : Tensor(float32, [2, 4]) = op::tanh(%a)",
        "      return (%b, %c)",
        "  source: model.py:7:9",
    ]


def test_use_before_definition():
    g = Graph()
    x = g.add_input("x", BT)
    a = g.emit(op_kind("neg"), [x], [BT])
    b = g.emit(op_kind("exp"), [a.output], [BT])
    b.move_before(a)
    g.set_outputs([b.output])
    check_rejects(g, "input 0 %1 is used before it is defined", "> ", "op::exp(%1)")


def test_value_escaping_its_block():
    g = parse_graph("""\
graph(%c : bool, %x : Tensor):
  %y : Tensor = prim::If(%c)
    block0():
      %inner : Tensor = op::neg(%x)
      -> (%inner)
    block1():
      -> (%x)
  %z : Tensor = op::exp(%inner)
  return (%z)
""")
    check_rejects(g, "input 0 %inner is used outside the block that defines it",
                  "> ", "%z : Tensor = op::exp(%inner)")


def test_destroyed_producer_is_detected():
    g = Graph()
    x = g.add_input("x", BT)
    a = g.emit(op_kind("neg"), [x], [BT])
    b = g.emit(op_kind("exp"), [a.output], [BT])
    g.set_outputs([b.output])
    a.output.uses.clear()     # break the invariant on purpose
    a.destroy()
    check_rejects(g, "used before it is defined (or its producer is not in the graph)")


def test_ssa_violation():
    g = Graph()
    x = g.add_input("x", BT)
    a = g.emit(op_kind("neg"), [x], [BT])
    b = g.emit(op_kind("exp"), [x], [BT])
    b.outputs[0] = a.output   # two nodes claim one value
    g.set_outputs([a.output])
    check_rejects(g, "output 0", "stale producer")


def test_inconsistent_use_lists():
    g = Graph()
    x = g.add_input("x", BT)
    a = g.emit(op_kind("neg"), [x], [BT])
    g.set_outputs([a.output])
    x.uses.append(Use(a, 0))
    check_rejects(g, "use list of %x does not record input 0 of this node exactly once")
    x.uses.pop()
    x.uses.append(Use(a, 3))
    check_rejects(g, "use list of %x names input 3 of this node, which is another value")


def test_if_arity_and_condition():
    g = parse_graph("""\
graph(%c : bool, %x : Tensor):
  %y : Tensor = prim::If(%c)
    block0():
      -> (%x, %x)
    block1():
      -> (%x)
  return (%y)
""")
    check_rejects(g, "prim::If block0 returns 2 value(s) but the node has 1 output(s)")
    g = parse_graph("""\
graph(%c : int, %x : Tensor):
  %y : Tensor = prim::If(%c)
    block0():
      -> (%x)
    block1():
      -> (%x)
  return (%y)
""")
    check_rejects(g, "the condition %c must be a bool, but its type is int")
    g = parse_graph("""\
graph(%c : bool, %x : Tensor, %n : int):
  %y : Tensor = prim::If(%c)
    block0():
      -> (%x)
    block1():
      -> (%n)
  return (%y)
""")
    check_rejects(g, "prim::If block1 return 0: %n of type int does not fit the type Tensor")
    g = parse_graph("graph(%c : bool):\n  = prim::If(%c)\n    block0():\n      -> ()\n"
                    "  return ()\n")
    check_rejects(g, "prim::If has 2 block(s), got 1")


def test_loop_arities():
    bad_params = LOOP.replace("block0(%i : int, %acc : Tensor(float32, [B, 4])):",
                              "block0(%acc : Tensor(float32, [B, 4])):").replace("tanh(%acc)",
                                                                                 "tanh(%x)")
    check_rejects(parse_graph(bad_params),
                  "prim::Loop body takes (iteration, carried...) = 2 parameter(s), got 1")
    bad_returns = LOOP.replace("-> (%1, %0)", "-> (%0)")
    check_rejects(parse_graph(bad_returns),
                  "prim::Loop body returns (condition, carried...) = 2 value(s), got 1")
    bad_outputs = LOOP.replace("%y : Tensor(float32, [B, 4]) = prim::Loop",
                               "%y : Tensor(float32, [B, 4]), %z : int = prim::Loop")
    check_rejects(parse_graph(bad_outputs), "prim::Loop has 1 output(s), got 2")


def test_op_nodes_checked_against_registry():
    g = Graph()
    x = g.add_input("x", BT)
    g.set_outputs([g.emit("op::no_such_op", [x], [BT]).output])
    check_rejects(g, "unknown op 'no_such_op': no registry entry has that name")

    g = Graph()
    x = g.add_input("x", BT)
    g.set_outputs([g.emit(op_kind("neg"), [x, x], [BT]).output])
    check_rejects(g, "op::neg takes 1 input(s)", "got 2")

    g = Graph()
    x = g.add_input("x", BT)
    g.set_outputs([g.emit(op_kind("add"), [x], [BT]).output])
    check_rejects(g, "op::add takes 2 to 3 input(s)")

    g = Graph()
    x = g.add_input("x", TensorType(dtypes.float32, (2, 3)))
    y = g.add_input("y", TensorType(dtypes.float32, (4, 3)))
    g.set_outputs([g.emit(op_kind("add"), [x, y], [BT]).output])
    check_rejects(g, "op::add rejects its input types", "cannot be broadcast")


def test_op_meta_is_lenient_with_symbols_and_unknowns():
    g = Graph()
    x = g.add_input("x", TensorType(dtypes.float32, ("B", 4)))
    y = g.add_input("y", TensorType(dtypes.float32, (1, 4)))
    u = g.add_input("u", TensorType())
    s = g.emit(op_kind("add"), [x, y], [TensorType(dtypes.float32, ("B", 4))]).output
    t = g.emit(op_kind("mul"), [s, u], [TensorType(dtypes.int64, (1,))]).output
    one = g.constant(1)
    size = g.emit(Prim.ListConstruct, [one, one], [INT]).output
    v = g.emit(op_kind("view"), [t, size], [TensorType(None, (1, 1))]).output
    g.set_outputs([v])
    verify(g)


def test_op_meta_rank_and_size_mismatch():
    g = Graph()
    x = g.add_input("x", TensorType(dtypes.float32, (2, 3)))
    g.set_outputs([g.emit(op_kind("neg"), [x], [TensorType(dtypes.float32, (2,))]).output])
    check_rejects(g, "rank 1, but the op's meta rule gives shape [2, 3]")
    g = Graph()
    x = g.add_input("x", TensorType(dtypes.float32, (2, 3)))
    d = g.constant([1])
    k = g.constant(True)
    out = TensorType(dtypes.float32, (2, 5))
    g.set_outputs([g.emit(op_kind("sum"), [x, d, k], [out]).output])
    check_rejects(g, "size 5 at dim 1, but the op's meta rule gives shape [2, 1]")


def test_constants():
    g = Graph()
    g.set_outputs([g.emit(Prim.Constant, [], [INT], {"value": "a"}).output])
    check_rejects(g, "constant value of type str does not fit the output type int")
    g = Graph()
    g.set_outputs([g.emit(Prim.Constant, [], [INT]).output])
    check_rejects(g, "prim::Constant needs the attribute 'value'")
    g = Graph()
    c = g.constant(gt.ones(2))
    g.set_outputs([c])
    verify(g)
    g.tensor_constants.clear()
    check_rejects(g, "tensor constant 'c0' is missing from graph.tensor_constants")
    verify(g, check_tensor_constants=False)
    g = Graph()
    g.set_outputs([g.constant([], TensorType())])
    check_rejects(g, "constant value of type Any[] does not fit the output type Tensor")


def test_prim_attribute_and_tuple_rules():
    g = Graph()
    m = g.add_input("self", INT)
    g.set_outputs([g.emit(Prim.GetAttr, [m], [INT]).output])
    check_rejects(g, "prim::GetAttr needs the attribute 'name'")
    g = Graph()
    x = g.add_input("x", INT)
    g.set_outputs([g.emit(Prim.TupleConstruct, [x], [TupleType((INT, INT))]).output])
    check_rejects(g, "prim::TupleConstruct of 1 value(s) cannot have type (int, int)")
    g = Graph()
    t = g.add_input("t", TupleType((INT, BOOL)))
    g.set_outputs(g.emit(Prim.TupleUnpack, [t], [INT]).outputs)
    check_rejects(g, "prim::TupleUnpack of a (int, bool) must have 2 output(s), got 1")


def test_fusion_group_subgraph_is_verified():
    sub = Graph()
    a = sub.add_input("a", BT)
    sub.set_outputs([sub.emit(op_kind("neg"), [a, a], [BT]).output])
    g = Graph()
    x = g.add_input("x", BT)
    with g.source(SourceLoc("f.py", 1, 1)):
        n = g.emit(Prim.FusionGroup, [x], [BT], {"subgraph": sub})
    g.set_outputs([n.output])
    check_rejects(g, "prim::FusionGroup subgraph is invalid: op::neg takes 1 input(s)",
                  "source: f.py:1:1")
    g2 = Graph()
    x = g2.add_input("x", BT)
    g2.set_outputs(g2.emit(Prim.FusionGroup, [x, x], [BT], {"subgraph": sub.copy()}).outputs)
    check_rejects(g2, "prim::FusionGroup has 2 input(s) and 1 output(s) but its subgraph has 1 "
                      "and 1")
