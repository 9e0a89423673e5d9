import pytest

import graphtorch as gt
from graphtorch import dtypes
from graphtorch.device import device
from graphtorch.errors import GraphError
from graphtorch.ir import (
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
    ClassType,
    DictType,
    FunctionType,
    ListType,
    OptionalType,
    TensorType,
    TupleType,
    is_subtype,
    schema_type,
    type_of_value,
    unify,
)
from graphtorch.ir.types import type_mismatch

F32 = dtypes.float32


def test_types_are_values():
    assert TensorType(F32, (2, 3)) == TensorType(F32, [2, 3])
    assert hash(TensorType(F32, (2, 3))) == hash(TensorType(F32, (2, 3)))
    assert ListType(INT) == ListType(INT)
    assert INT != FLOAT
    assert len({INT, FLOAT, INT, ListType(INT), ListType(INT)}) == 3
    assert TensorType(device=device("cuda")) != TensorType(device=device("cuda:0"))


@pytest.mark.parametrize("t, text", [
    (TENSOR, "Tensor"),
    (TensorType(F32), "Tensor(float32)"),
    (TensorType(F32, ("B", 4, None)), "Tensor(float32, [B, 4, ?])"),
    (TensorType(shape=()), "Tensor([])"),
    (TensorType(dtypes.int64, (2,), device("cuda:1")), "Tensor(int64, [2], cuda:1)"),
    (TensorType(device=device("cpu")), "Tensor(cpu)"),
    (ListType(OptionalType(TENSOR)), "Tensor?[]"),
    (OptionalType(ListType(INT)), "int[]?"),
    (TupleType((INT, TENSOR)), "(int, Tensor)"),
    (TupleType((INT,)), "(int,)"),
    (TupleType(()), "()"),
    (DictType(STR, TENSOR), "Dict(str, Tensor)"),
    (ClassType("__torch__.MyCell"), "__torch__.MyCell"),
    (FunctionType("__torch__.helper"), "Function(__torch__.helper)"),
    (NONE, "NoneType"), (NUMBER, "Scalar"), (DTYPE, "ScalarType"), (DEVICE, "Device"),
    (GENERATOR, "Generator"), (ANY, "Any"), (BOOL, "bool"), (STR, "str"),
])
def test_type_text(t, text):
    assert str(t) == text


def test_bad_dim_rejected():
    with pytest.raises(GraphError, match="invalid tensor dim -1"):
        TensorType(F32, (-1,))


@pytest.mark.parametrize("s, t", [
    ("Tensor", TENSOR), ("Tensor?", OptionalType(TENSOR)), ("Tensor[]", ListType(TENSOR)),
    ("Tensor?[]", ListType(OptionalType(TENSOR))), ("int", INT), ("int[]", ListType(INT)),
    ("int?", OptionalType(INT)), ("int[]?", OptionalType(ListType(INT))),
    ("int[2]", ListType(INT)), ("float", FLOAT), ("float?", OptionalType(FLOAT)),
    ("bool", BOOL), ("Scalar", NUMBER), ("Scalar?", OptionalType(NUMBER)), ("ScalarType", DTYPE),
    ("ScalarType?", OptionalType(DTYPE)), ("Device", DEVICE), ("Device?", OptionalType(DEVICE)),
    ("str", STR), ("str?", OptionalType(STR)), ("Any", ANY),
    ("Generator?", OptionalType(GENERATOR)),
])
def test_schema_type(s, t):
    assert schema_type(s) == t


def test_schema_type_unknown():
    with pytest.raises(GraphError, match="unknown schema type 'Blob'"):
        schema_type("Blob")


def test_every_registry_schema_type_maps():
    from graphtorch.ops.registry import REGISTRY

    for op in REGISTRY.values():
        for a in op.schema.args:
            schema_type(a.type)
        for r in op.schema.returns:
            schema_type(r)


def test_type_of_value():
    assert type_of_value(True) == BOOL
    assert type_of_value(3) == INT
    assert type_of_value(2.5) == FLOAT
    assert type_of_value("a") == STR
    assert type_of_value(None) == NONE
    assert type_of_value(F32) == DTYPE
    assert type_of_value(device("cpu")) == DEVICE
    assert type_of_value([1, 2]) == ListType(INT)
    assert type_of_value([1, 2.0]) == ListType(NUMBER)
    assert type_of_value([]) == ListType(ANY)
    assert type_of_value((1, "a", None)) == TupleType((INT, STR, NONE))
    t = gt.zeros(2, 3)
    assert type_of_value(t) == TensorType(F32, (2, 3), device("cpu"))


def test_subtype_tensor():
    full = TensorType(F32, (2, 3), device("cpu"))
    assert is_subtype(full, TENSOR)
    assert is_subtype(full, TensorType(F32, (2, None)))
    assert is_subtype(full, TensorType(F32, ("B", 3)))
    assert not is_subtype(full, TensorType(F32, ("B", "B")))
    assert is_subtype(TensorType(F32, (3, 3)), TensorType(F32, ("B", "B")))
    assert not is_subtype(TensorType(F32, ("B", 3)), TensorType(F32, (2, 3)))
    assert not is_subtype(TensorType(F32, (None, 3)), TensorType(F32, ("B", 3)))
    assert not is_subtype(full, TensorType(dtypes.float64))
    assert not is_subtype(full, TensorType(shape=(2, 3, 1)))
    assert not is_subtype(TENSOR, full)


def test_subtype_containers_and_scalars():
    assert is_subtype(INT, OptionalType(INT))
    assert is_subtype(NONE, OptionalType(TENSOR))
    assert is_subtype(OptionalType(TensorType(F32)), OptionalType(TENSOR))
    assert not is_subtype(OptionalType(INT), INT)
    assert is_subtype(INT, NUMBER) and is_subtype(FLOAT, NUMBER)
    assert not is_subtype(NUMBER, INT)
    assert not is_subtype(INT, FLOAT)
    assert is_subtype(ListType(TensorType(F32)), ListType(TENSOR))
    assert is_subtype(TupleType((INT, TensorType(F32))), TupleType((NUMBER, TENSOR)))
    assert not is_subtype(TupleType((INT,)), TupleType((INT, INT)))
    assert is_subtype(DictType(STR, TensorType(F32)), DictType(STR, TENSOR))
    assert is_subtype(ClassType("__torch__.A"), ANY)
    assert not is_subtype(ClassType("__torch__.A"), ClassType("__torch__.B"))


def test_unify():
    a, b = TensorType(F32, (2, 3)), TensorType(F32, (4, 3))
    assert unify(a, b) == TensorType(F32, (None, 3))
    assert unify(a, TensorType(dtypes.float64, (2, 3))) == TensorType(None, (2, 3))
    assert unify(a, TensorType(F32, (2,))) == TensorType(F32)
    assert unify(a, TensorType(F32, ("B", 3))) == TensorType(F32, ("B", 3))
    assert unify(NONE, a) == OptionalType(a)
    assert unify(OptionalType(a), b) == OptionalType(TensorType(F32, (None, 3)))
    assert unify(INT, FLOAT) == NUMBER
    assert unify(INT, INT) == INT
    assert unify(ListType(a), ListType(b)) == ListType(TensorType(F32, (None, 3)))
    assert unify(TupleType((INT, a)), TupleType((INT, b))) == \
        TupleType((INT, TensorType(F32, (None, 3))))
    assert unify(INT, STR) is None
    assert unify(TupleType((INT,)), TupleType((INT, INT))) is None
    assert unify(INT, ANY) == ANY


def test_type_mismatch_says_why_a_value_does_not_fit():
    x = gt.zeros(2, 3)
    assert type_mismatch(x, TensorType(dtypes.float32, (2, None))) is None
    assert type_mismatch(x, TensorType(dtypes.int64)) == "got a tensor of dtype float32"
    assert type_mismatch(x, TensorType(None, (1, 2, 3))) == \
        "got a tensor with 2 dimension(s) [2, 3]"
    assert type_mismatch(True, INT) == "instead found type 'bool'"
    assert type_mismatch(3, FLOAT) is None
    assert type_mismatch(None, OptionalType(TENSOR)) is None
    assert type_mismatch((1, x), TupleType((INT, BOOL))) == "instead found type 'Tensor'"
    assert type_mismatch([1], ListType(INT)) is None
