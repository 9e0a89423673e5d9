import math

import pytest

from graphtorch import dtypes
from graphtorch.device import device
from graphtorch.errors import IRParseError
from graphtorch.ir import (
    INT,
    Graph,
    ListType,
    OptionalType,
    SourceLoc,
    TensorRef,
    TensorType,
    graphs_equal,
    parse_graph,
    parse_type,
)

from .test_graph import CELL, build_cell

LOOP = """\
graph(%n : int, %x : Tensor(float32, [B, 4])):
  %cond : bool = prim::Constant[value=True]()
  %y : Tensor(float32, [B, 4]) = prim::Loop(%n, %cond, %x)  # loop.py:3:4
    block0(%i : int, %acc : Tensor(float32, [B, 4])):
      %0 : Tensor(float32, [B, 4]) = op::tanh(%acc)
      %1 : bool = prim::Constant[value=True]()
      -> (%1, %0)
  return (%y)
"""

EVERYTHING = """\
graph(%x : Tensor(float32, [B, 4, ?], cuda:0), %n : int[]?, %d : Dict(str, Tensor?[]), \
%f : Function(a.b), %u : (int,), %e : (), %s : Tensor([]), %m : __torch__.a.M):
  %0 : Tensor = prim::FusionGroup[subgraph=graph(%a : Tensor):
      %b : Tensor = op::neg(%a)
      return (%b)
    ](%x)
  %k : Any = prim::Constant[value=(1, (2,), [], [1.5, -inf, nan, inf, 1e-05], "a\\"b\\n", None, \
True, float32, cpu, cuda:1, type(Tensor?), slice(None, 2, None), ..., ())]()
  %w : Tensor(float32, [2]) = prim::Constant[value=<tensor:w>]()
  = prim::Print(%k)  # dir/a:b.py:3:4
  %p : Tensor = prim::PythonOp[name="my_fn"](%x)
  return (%0, %k, %w)
"""


@pytest.mark.parametrize("text", [CELL, LOOP, EVERYTHING])
def test_round_trip_is_exact(text):
    g = parse_graph(text)
    assert str(g) == text
    assert graphs_equal(parse_graph(str(g)), g, check_names=True, check_source=True)


def test_parsed_cell_equals_built_cell():
    assert graphs_equal(parse_graph(CELL), build_cell(), check_names=True, check_source=True)


def test_parsed_structure():
    g = parse_graph(LOOP)
    loop = g.nodes()[1]
    assert loop.kind == "prim::Loop" and loop.source == SourceLoc("loop.py", 3, 4)
    body = loop.blocks[0]
    assert [p.name for p in body.inputs] == ["i", "acc"]
    assert body.inputs[0].type == INT
    tanh = body.nodes[0]
    assert tanh.output.name is None and tanh.inputs == [body.inputs[1]]
    assert body.outputs == [body.nodes[1].output, tanh.output]
    assert g.outputs == [loop.output]


def test_parsed_attribute_values():
    g = parse_graph(EVERYTHING)
    fusion, const, tensor_const, printer, pyop = g.nodes()
    sub = fusion.attrs["subgraph"]
    assert isinstance(sub, Graph) and [n.kind for n in sub.nodes()] == ["op::neg"]
    v = const.attrs["value"]
    assert v[:3] == (1, (2,), [])
    assert v[3][:2] == [1.5, -math.inf] and math.isnan(v[3][2]) and v[3][3:] == [math.inf, 1e-5]
    assert v[4:8] == ('a"b\n', None, True, dtypes.float32)
    assert str(v[8]) == "cpu" and v[9] == device("cuda:1")
    assert v[10] == OptionalType(TensorType())
    assert v[11] == slice(None, 2, None) and v[12] is Ellipsis and v[13] == ()
    assert tensor_const.attrs["value"] == TensorRef("w")
    assert printer.outputs == [] and printer.source == SourceLoc("dir/a:b.py", 3, 4)
    assert pyop.attrs == {"name": "my_fn"}


def test_unnamed_values_are_renumbered_in_print_order():
    text = ("graph(%7 : int):\n"
            "  %42 : int = prim::add_int(%7, %7)\n"
            "  return (%42)\n")
    assert str(parse_graph(text)) == ("graph(%0 : int):\n"
                                      "  %1 : int = prim::add_int(%0, %0)\n"
                                      "  return (%1)\n")


def test_whitespace_is_insignificant():
    text = "graph(%x:Tensor)  :  %y : Tensor=op::neg(%x) return(%y)"
    assert str(parse_graph(text)) == ("graph(%x : Tensor):\n"
                                      "  %y : Tensor = op::neg(%x)\n"
                                      "  return (%y)\n")


@pytest.mark.parametrize("text", ["Tensor(float32, [B, 4])?", "Tensor?[]", "int[]?",
                                  "(int, (float, str))", "Dict(str, Tensor)", "__torch__.M",
                                  "Function(f)", "Scalar", "ScalarType", "Device", "Generator?",
                                  "NoneType", "Tensor(cpu)", "Tensor([])", "(Tensor,)"])
def test_type_round_trip(text):
    assert str(parse_type(text)) == text


def test_parse_type_values():
    assert parse_type("int[]?") == OptionalType(ListType(INT))
    assert parse_type("Tensor(int64, [?, 2], cuda:0)") == \
        TensorType(dtypes.int64, (None, 2), device("cuda:0"))


@pytest.mark.parametrize("text, message, line, column", [
    ("graph(%x : Tensor):\n  %y : Tensor = op::neg(%z)\n  return (%y)",
     "value %z is used but not defined before", 2, 25),
    ("graph(%x : Tensor):\n  %y : Tensor = op::neg(%x\n  return (%y)",
     "unexpected 'return'; expected ')', ','", 3, 3),
    ("graph(%x : Tensor(float99)):\n  return (%x)",
     "unknown dtype 'float99' in Tensor type", 1, 19),
    ("graph(%x : Tensor):\n  %y : Tensor = neg(%x)\n  return (%y)",
     "unexpected 'neg'; expected a node kind like op::add or prim::If", 2, 17),
    ("graph(%x : Tensor):\n  %x : Tensor = op::neg(%x)\n  return (%x)",
     "value %x is defined twice", 2, 3),
    ("graph(%x : Tensor):\n  %y : Tensor = op::neg(%x)  # nowhere\n  return (%y)",
     "invalid source location comment '# nowhere'", 2, 30),
    ("graph(%x : Tensor):\n  %y : Tensor = op::neg(%x) $\n  return (%y)",
     "unexpected character '$'", 2, 29),
    ("graph(%x : Tensor):\n  %y : int = prim::Constant[value=foo]()\n  return (%y)",
     "unknown attribute value 'foo'", 2, 35),
    ("graph(%x : Tensor([2], float32)):\n  return (%x)",
     "Tensor type parts must be (dtype, [shape], device) in this order", 1, 24),
    ("graph(%x : Tensor):\n  %y : int = prim::Constant[value=2, value=3]()\n  return (%y)",
     "attribute 'value' is given twice", 2, 38),
    ("graph(%x : Tensor(cuda:x)):\n  return (%x)", "unexpected ':'; expected ')', ','", 1, 23),
    ("graph(%x : int??):\n  return (%x)", "a type cannot be optional twice", 1, 12),
    ("graph(%x : Tensor):\n  %y : Tensor = op::neg(%x)\n", "unexpected end of input", 2, 28),
])
def test_parse_errors_have_line_and_column(text, message, line, column):
    with pytest.raises(IRParseError) as info:
        parse_graph(text)
    err = info.value
    assert message in str(err)
    assert (err.line, err.column) == (line, column)
    assert f"(line {line}, column {column})" in str(err)
    # the offending line and a caret under the column
    src_line = text.splitlines()[line - 1]
    assert f"\n    {src_line}\n    {' ' * (column - 1)}^" in str(err)
