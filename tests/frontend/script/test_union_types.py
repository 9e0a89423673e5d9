"""Union types in script: annotations, subtyping, branch joins, isinstance refinement, the IR
text round trip, and ``del``; each scripted function is compared with the same eager Python."""

from typing import Any, Dict, List, Optional, Union  # noqa: UP035 - the typing forms

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import GraphError, ScriptError
from graphtorch.ir import types as T
from graphtorch.ir.fast_parser import FastPathMiss, parse_graph_fast
from graphtorch.ir.parser import parse_graph


def same(fn, *cases):
    """``fn`` scripted gives what ``fn`` gives in Python, for each tuple of arguments."""
    sfn = gt.jit.script(fn)
    for args in cases:
        want, got = fn(*args), sfn(*args)
        if isinstance(want, gt.Tensor):
            np.testing.assert_allclose(got.numpy(), want.numpy())
        else:
            assert got == want and type(got) is type(want), (args, got, want)
    return sfn


# -- the IR type ------------------------------------------------------------------------------

def test_union_flattens_sorts_and_drops_covered_members():
    u = T.union(T.STR, T.INT)
    assert isinstance(u, T.UnionType) and str(u) == "Union(int, str)"
    assert T.union(T.INT, T.union(T.STR, T.INT)) == u
    assert T.union(T.INT, T.NONE, T.STR) == T.OptionalType(u)
    assert T.union(T.optional(T.INT), T.STR) == T.OptionalType(u)
    assert T.union(T.INT, T.INT) == T.INT
    assert T.union(T.INT, T.ANY) == T.ANY
    assert T.union(T.TensorType(gt.float32), T.TENSOR) == T.TENSOR


def test_union_subtyping():
    u = T.union(T.INT, T.STR)
    assert T.is_subtype(T.INT, u) and T.is_subtype(T.STR, u)
    assert not T.is_subtype(T.FLOAT, u)
    assert T.is_subtype(u, T.union(T.INT, T.STR, T.FLOAT))
    assert not T.is_subtype(u, T.INT)
    assert T.is_subtype(u, T.optional(u)) and T.is_subtype(u, T.ANY)
    assert T.unify(u, T.STR) == u


def test_union_rejects_malformed_members():
    for members in [(T.INT,), (T.INT, T.INT), (T.INT, T.NONE), (T.INT, T.optional(T.STR))]:
        with pytest.raises(GraphError):
            T.UnionType(members)


def test_union_round_trips_through_the_ir_text():
    text = ("graph(%x : Union(int, str), %y : Union(Tensor, int[])?[], "
            "%z : Dict(str, Union(float, str))):\n  return (%x)\n")
    g = parse_graph(text)
    types = [v.type for v in g.inputs]
    assert types[0] == T.union(T.INT, T.STR)
    assert types[1] == T.ListType(T.optional(T.union(T.TENSOR, T.ListType(T.INT))))
    assert types[2] == T.DictType(T.STR, T.union(T.FLOAT, T.STR))
    assert str(parse_graph(str(g))) == str(g)


def test_the_fast_reader_reads_unions_itself_and_leaves_bad_ones_to_lark():
    text = "graph(%x : Union(str, Tensor(float32, [2])), %y : Union(int, str)?):\n  return (%x)\n"
    g = parse_graph_fast(text)
    assert [str(v.type) for v in g.inputs] == ["Union(Tensor(float32, [2]), str)",
                                               "Union(int, str)?"]
    with pytest.raises(FastPathMiss):
        parse_graph_fast("graph(%x : Union(int, int)):\n  return (%x)\n")


@pytest.mark.parametrize("bad", ["Union(int)", "Union(int, int)", "Union(int, NoneType)",
                                 "Union(int, str?)", "Union(int, Union(str, float))",
                                 "Union()", "Union(int str)"])
def test_the_parser_refuses_malformed_unions(bad):
    with pytest.raises(GraphError):
        parse_graph(f"graph(%x : {bad}):\n  return (%x)\n")


# -- annotations and values -------------------------------------------------------------------

def describe(x: Union[int, str]) -> str:  # noqa: UP007 - typing.Union itself
    if isinstance(x, int):
        return "int " + str(x + 1)
    return "str " + x.upper()


def test_union_parameter_refined_by_isinstance():
    same(describe, (3,), ("ab",))
    with pytest.raises(Exception, match="float"):
        gt.jit.script(describe)(1.5)


def pep604(x: int | str) -> int:
    if isinstance(x, str):
        return len(x)
    return x * 2


def test_pep604_union():
    same(pep604, (4,), ("hello",))


def tensor_or_list(x: Union[gt.Tensor, List[int]]) -> gt.Tensor:  # noqa: UP006, UP007
    if isinstance(x, gt.Tensor):
        return x * 2
    return gt.ones(len(x)) * float(x[0])


def test_tensor_or_list():
    sfn = gt.jit.script(tensor_or_list)
    np.testing.assert_allclose(sfn(gt.ones(3)).numpy(), [2.0, 2.0, 2.0])
    np.testing.assert_allclose(sfn([3, 2]).numpy(), [3.0, 3.0])


def optional_union(x: Optional[Union[int, str]]) -> str:  # noqa: UP007, UP045
    if x is None:
        return "none"
    if isinstance(x, int):
        return "int"
    return "str " + x


def test_optional_union():
    same(optional_union, (None,), (1,), ("a",))


def early_return(x: int | str | float) -> float:
    if isinstance(x, str):
        return float(len(x))
    if not isinstance(x, int):
        return x + 0.5
    return float(x * 10)


def test_guards_with_not_and_early_return():
    same(early_return, ("abc",), (2.0,), (3,))


def and_guard(x: int | str, y: int) -> bool:
    return isinstance(x, int) and x > y


def test_and_guard():
    same(and_guard, (3, 1), (0, 1), ("s", 1))


def branches_join(flag: bool) -> int | str:
    if flag:
        out: int | str = 1
    else:
        out = "no"
    return out


def local_annotated(flag: bool) -> str:
    v: int | str = 7
    if flag:
        v = "seven"
    if isinstance(v, int):
        return str(v + 1)
    return v


def test_branches_with_different_members_join_into_the_union():
    same(branches_join, (True,), (False,))
    same(local_annotated, (True,), (False,))


def returns_union(k: int) -> int | str:
    if k > 0:
        return k
    return "neg"


def test_union_return():
    same(returns_union, (3,), (-1,))


def list_of_unions(n: int) -> int:
    items: List[Union[int, str]] = [1, "ab", n]  # noqa: UP006, UP007
    total = 0
    for it in items:
        if isinstance(it, int):
            total += it
        else:
            total += len(it)
    return total


def dict_of_unions(k: str) -> str:
    d: Dict[str, Union[int, str]] = {"a": 1, "b": "x"}  # noqa: UP006, UP007
    v = d[k]
    if isinstance(v, str):
        return v
    return str(v)


def test_list_and_dict_members():
    same(list_of_unions, (5,))
    same(dict_of_unions, ("a",), ("b",))


def tuple_member(x: tuple[int, int] | int) -> int:
    if isinstance(x, int):
        return x
    return x[0] + x[1]


def test_tuple_member():
    same(tuple_member, (4,), ((2, 3),))


def test_union_in_the_graph_signature_and_save_load(tmp_path):
    sfn = gt.jit.script(describe)
    assert "Union(int, str)" in str(sfn.graph)
    path = tmp_path / "u.gt"
    gt.jit.save(sfn, str(path))
    loaded = gt.jit.load(str(path))
    assert loaded(3) == "int 4" and loaded("ab") == "str AB"


def no_refinement(x: int | str) -> int:
    return x + 1


def test_an_unrefined_union_is_refused_with_a_pointer():
    with pytest.raises(ScriptError):
        gt.jit.script(no_refinement)


def any_narrowed(x: Any) -> int:
    if isinstance(x, int):
        return x + 1
    return 0


def test_isinstance_narrows_any():
    same(any_narrowed, (1,), ("s",))


# -- del --------------------------------------------------------------------------------------

def del_elements(n: int) -> tuple[list[int], dict[str, int]]:
    lst = [0, 1, 2, 3, n]
    del lst[1]
    del lst[-1]
    d = {"a": 1, "b": 2, "c": 3}
    del d["b"], lst[0]
    return lst, d


def test_del_list_and_dict_elements():
    same(del_elements, (9,))


def del_missing_key(k: str) -> int:
    d = {"a": 1}
    del d[k]
    return len(d)


def test_del_of_a_missing_key_raises_like_python():
    sfn = same(del_missing_key, ("a",))
    with pytest.raises(Exception, match="KeyError|b"):
        sfn("b")


def del_then_rebind(x: int) -> int:
    y = x + 1
    del y
    y = x * 3
    return y


def test_del_name_then_rebind():
    same(del_then_rebind, (2,))


def use_after_del(x: int) -> int:
    y = x
    del y
    return y  # noqa: F821 - the point: y is unbound here


def del_on_one_branch(x: int) -> int:
    y = x
    if x > 0:
        del y
    return y


@pytest.mark.parametrize("fn", [use_after_del, del_on_one_branch])
def test_a_deleted_name_is_undefined(fn):
    with pytest.raises(ScriptError, match="deleted"):
        gt.jit.script(fn)


def del_slice(x: int) -> int:
    lst = [1, 2, 3]
    del lst[0:2]
    return len(lst)


def del_of_a_tensor_element(x: gt.Tensor) -> gt.Tensor:
    del x[0]
    return x


@pytest.mark.parametrize("fn,message", [(del_slice, "del takes names"),
                                        (del_of_a_tensor_element, "needs a list or a dict")])
def test_unsupported_del_forms_are_refused(fn, message):
    with pytest.raises(ScriptError, match=message):
        gt.jit.script(fn)


def unused_branch_types(flag: bool) -> int:
    if flag:
        y = "foo"
    else:
        y = 1  # noqa: F841 - the point: never read
    return 3


def test_branch_types_that_do_not_join_are_an_error_only_when_used():
    same(unused_branch_types, (True,), (False,))


def any_number(x: Any) -> float:
    if isinstance(x, (int, float)):
        return x * 2.0
    return -1.0


def test_isinstance_of_numbers_narrows_any_to_a_scalar():
    same(any_number, (2,), (1.5,), ("s",))
