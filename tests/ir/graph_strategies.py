"""Hypothesis strategies for random valid IR graphs (types, constants, If/Loop blocks)."""

from __future__ import annotations

from hypothesis import strategies as st

from graphtorch import dtypes
from graphtorch.device import device
from graphtorch.ir import (
    ANY,
    BOOL,
    DEVICE,
    DTYPE,
    FLOAT,
    INT,
    NONE,
    NUMBER,
    STR,
    Block,
    ClassType,
    DictType,
    FunctionType,
    Graph,
    ListType,
    OptionalType,
    Prim,
    SourceLoc,
    TensorType,
    TupleType,
    Value,
    type_of_value,
)

SYMBOLS = st.sampled_from(["B", "T", "s0", "N_1"])
DIMS = st.one_of(st.integers(0, 64), SYMBOLS, st.none())
NAMES = st.one_of(st.none(), st.sampled_from(["x", "y", "h", "x.1", "out", "self", "a_b", "7"]))

tensor_types = st.builds(
    TensorType,
    st.one_of(st.none(), st.sampled_from(dtypes.ALL)),
    st.one_of(st.none(), st.lists(DIMS, max_size=4).map(tuple)),
    st.one_of(st.none(), st.sampled_from([device("cpu"), device("cuda"), device("cuda:1")])),
)

simple_types = st.one_of(tensor_types, st.sampled_from([INT, FLOAT, BOOL, STR, NONE, DEVICE,
                                                        DTYPE, NUMBER, ANY]),
                         st.builds(ClassType, st.sampled_from(["__torch__.M", "__torch__.a.B"])),
                         st.builds(FunctionType, st.sampled_from(["__torch__.f", "g"])))

types = st.recursive(simple_types, lambda inner: st.one_of(
    st.builds(ListType, inner),
    st.builds(OptionalType, inner.filter(lambda t: not isinstance(t, OptionalType))),
    st.lists(inner, max_size=3).map(lambda ts: TupleType(tuple(ts))),
    st.builds(DictType, st.sampled_from([STR, INT]), inner),
), max_leaves=6)

scalars = st.one_of(
    st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.text(max_size=8), st.none(), st.sampled_from(dtypes.ALL),
    st.sampled_from([device("cpu"), device("cuda:0")]),
)
constants = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3).map(tuple),
    st.lists(st.integers(-5, 5), max_size=4),
    st.lists(st.floats(allow_nan=False), max_size=3),
), max_leaves=6)
index_keys = st.lists(st.one_of(st.integers(-3, 3), st.none(), st.just(Ellipsis),
                                st.builds(slice, st.none(), st.integers(0, 4), st.none())),
                      max_size=3).map(tuple)
FILES = st.sampled_from(["m.py", "a/b c.py", "x:y.py"])
locations = st.one_of(st.none(),
                      st.builds(SourceLoc, FILES, st.integers(1, 500), st.integers(0, 80)))


@st.composite
def graphs(draw, max_nodes: int = 12) -> Graph:
    g = Graph()
    scope: list[Value] = [g.add_input(draw(NAMES), draw(types))
                          for _ in range(draw(st.integers(0, 3)))]
    _fill(draw, g, g.block, scope, draw(st.integers(0, max_nodes)), depth=0)
    outs = draw(st.lists(st.sampled_from(scope), max_size=3)) if scope else []
    g.set_outputs(outs)
    return g


def _fill(draw, g: Graph, block: Block, scope: list[Value], n_nodes: int, depth: int) -> None:
    with g.insert_point(block):
        for _ in range(n_nodes):
            choice = draw(st.sampled_from(["const", "index", "op", "generic", "if", "loop"]
                                          if depth < 2 else ["const", "index", "op", "generic"]))
            loc = draw(locations)
            with g.source(loc):
                if choice == "const":
                    value = draw(constants)
                    v = g.constant(value, type_of_value(value))
                    v.name = draw(NAMES)
                    scope.append(v)
                elif choice == "index":
                    v = g.constant(draw(index_keys), ANY)
                    scope.append(v)
                elif choice == "op":
                    # NOTE: an input of unknown dtype keeps the verifier's meta check silent.
                    x = g.add_input(draw(NAMES), TensorType(None, ("B", 3)))
                    n = g.emit("op::neg", [x], [TensorType(None, ("B", 3))])
                    scope.append(n.output)
                elif choice == "generic":
                    ins = draw(st.lists(st.sampled_from(scope), max_size=3)) if scope else []
                    outs = draw(st.lists(types, max_size=2))
                    n = g.emit(draw(st.sampled_from(["prim::TupleIndex", "py::len",
                                                     "prim::add_int", Prim.Print.value])),
                               ins, outs, {"name": draw(st.text(max_size=5))}
                               if draw(st.booleans()) else None)
                    for o in n.outputs:
                        o.name = draw(NAMES)
                    scope.extend(n.outputs)
                elif choice == "if":
                    _emit_if(draw, g, scope, depth)
                elif choice == "loop":
                    _emit_loop(draw, g, scope, depth)


def _emit_if(draw, g: Graph, scope: list[Value], depth: int) -> None:
    cond = g.constant(draw(st.booleans()))
    out_types = draw(st.lists(types, max_size=2))
    n = g.emit(Prim.If, [cond], [ANY] * len(out_types))
    for _ in range(2):
        b = n.add_block()
        inner = list(scope)
        _fill(draw, g, b, inner, draw(st.integers(0, 3)), depth + 1)
        b.set_outputs([draw(st.sampled_from(inner)) if inner else cond for _ in out_types])
    for o in n.outputs:
        o.name = draw(NAMES)
    scope.extend(n.outputs)


def _emit_loop(draw, g: Graph, scope: list[Value], depth: int) -> None:
    trip = g.constant(draw(st.integers(0, 5)))
    cond = g.constant(True)
    carried = draw(st.lists(st.sampled_from(scope), max_size=2)) if scope else []
    n = g.emit(Prim.Loop, [trip, cond, *carried], [ANY] * len(carried))
    body = n.add_block()
    inner = list(scope)
    inner.append(body.add_input(draw(NAMES), INT))
    inner.extend(body.add_input(draw(NAMES), ANY) for _ in carried)
    _fill(draw, g, body, inner, draw(st.integers(0, 3)), depth + 1)
    with g.insert_point(body):
        again = g.constant(draw(st.booleans()))
    body.set_outputs([again, *(draw(st.sampled_from(inner)) for _ in carried)])
    for o in n.outputs:
        o.name = draw(NAMES)
    scope.extend(n.outputs)
