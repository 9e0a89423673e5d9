"""The typed graph IR (Graph, Block, Node, Value, types, printer, parser, verifier).

Build a graph::

    g = Graph()
    x = g.add_input("x", TensorType(float32, ("B", 4)))
    one = g.constant(1)
    y = g.emit(op_kind("add"), [x, x, one], [x.type]).output
    g.set_outputs([y])
    print(g)

See docs/ir.md for the text format, the node kinds and the types.
"""

from graphtorch.ir.clone import copy_graph, insert_graph
from graphtorch.ir.codeprinter import python_code
from graphtorch.ir.equality import graphs_equal
from graphtorch.ir.graph import Block, Graph, Node, TensorRef, Use, Value
from graphtorch.ir.kinds import (
    SIDE_EFFECT_KINDS,
    Namespace,
    Prim,
    check_kind,
    op_kind,
    register_prim_kind,
    split_kind,
)
from graphtorch.ir.parser import parse_graph, parse_type
from graphtorch.ir.printer import node_context, node_line, print_graph
from graphtorch.ir.source import SourceLoc
from graphtorch.ir.types import (
    ANY,
    BOOL,
    DEVICE,
    DTYPE,
    FLOAT,
    GENERATOR,
    INT,
    NONE,
    NUMBER,
    STR,
    TENSOR,
    AnyType,
    BoolType,
    ClassType,
    DeviceType,
    DictType,
    DTypeType,
    FloatType,
    FunctionType,
    GeneratorType,
    IntType,
    ListType,
    NoneType,
    NumberType,
    OptionalType,
    StrType,
    TensorType,
    TupleType,
    Type,
    is_subtype,
    optional,
    schema_type,
    type_of_value,
    unify,
)
from graphtorch.ir.verifier import verify

__all__ = [
    "ANY", "BOOL", "DEVICE", "DTYPE", "FLOAT", "GENERATOR", "INT", "NONE", "NUMBER", "STR",
    "TENSOR", "SIDE_EFFECT_KINDS", "AnyType", "Block", "BoolType", "ClassType", "DTypeType",
    "DeviceType", "DictType", "FloatType", "FunctionType", "GeneratorType", "Graph", "IntType",
    "ListType", "Namespace", "Node", "NoneType", "NumberType", "OptionalType", "Prim",
    "SourceLoc", "StrType", "TensorRef", "TensorType", "TupleType", "Type", "Use", "Value",
    "check_kind", "copy_graph", "graphs_equal", "insert_graph", "is_subtype", "node_context",
    "node_line", "op_kind", "optional", "parse_graph", "parse_type", "print_graph", "python_code",
    "register_prim_kind", "schema_type", "split_kind", "type_of_value", "unify", "verify",
]
