"""Builtins, container methods, isinstance and TorchScript's typing helpers: each program runs
eagerly (plain Python, the reference) and scripted on the same inputs; refusals are ScriptErrors
with a caret and a hint."""

from __future__ import annotations

import importlib.util

import pytest

import graphtorch
from graphtorch.errors import ScriptError
from tests.frontend.script import builtin_programs as P

CASES = [
    (P.signature_comment, (3,)),
    (P.signature_comment, (3, 4)),
    (P.signature_comment_same_line, ([2, 5], 1.5)),
    (P.per_argument_comments, (3, "ab")),
    (P.make_enclosed(), ({"a": 4, "b": 5}, "b")),
    (P.dict_keywords, (5,)),
    (P.dict_from_pairs, (["x", "y"], [1, 2])),
    (P.isinstance_any, (3,)),
    (P.isinstance_any, (2.5,)),
    (P.isinstance_any, ("s",)),
    (P.isinstance_any, (graphtorch.ones(2),)),
    (P.isinstance_scalar, (graphtorch.tensor(2.5),)),
    (P.isinstance_scalar, (graphtorch.tensor(7),)),
    (P.isinstance_branch, (1,)),
    (P.isinstance_branch, (graphtorch.zeros(1),)),
    (P.isinstance_branch, ("other",)),
    (P.jit_helpers, (21,)),
    (P.number_builtins, (7, 2.46)),
    (P.number_builtins, (-3, 2.5)),
    (P.divmod_and_bases, (17, -5, 4.0)),
    (P.divmod_and_bases, (-17, 5, -4.5)),
    (P.list_builtins, ([3, 1, 4, 1, 5],)),
    (P.list_builtins, ([],)),
    (P.zip_enumerate_tuple, ([1, 2, 3], ["a", "b"])),
    (P.list_methods, ([5, 2, 9, 2, 5],)),
    (P.list_sort_reverse, ([0.5, -1.0, 3.25],)),
    (P.dict_methods, ({"a": 1, "b": 2},)),
    (P.str_methods, ("a,b,ca",)),
    (P.dict_update, ({"a": 1}, {"a": 2, "b": 3})),
    (P.percent_format, (26, "ab", 3.14159)),
    (P.str_format_specs, (7, 2.345, "q")),
    (P.string_indexing, ("graphs", 2)),
    (P.string_indexing, ("graphs", -6)),
    (P.slice_builtin, ([1, 2, 3, 4], graphtorch.arange(8).reshape(4, 2), 2)),
    (P.tuple_by_variable, ((4, 5, 6),)),
    (P.long_sum, (3,)),
    (P.isinstance_any_container, ([1, 2],)),
    (P.isinstance_any_container, (["a"],)),
    (P.isinstance_any_container, ({"k": (1, "v")},)),
    (P.isinstance_any_container, ({"k": (1, 2)},)),
    (P.isinstance_any_container, ((3, "x"),)),
    (P.annotate_tolist, (graphtorch.tensor([[1.0, 2.0], [3.0, 4.5]]),)),
    (P.where_method, (graphtorch.tensor([[1.5, -1.0], [-2.0, 0.5]]), graphtorch.ones(2, 2))),
    (P.tuple_slices, ((1, "b", 2.5),)),
    (P.comment_without_return, (True, [graphtorch.ones(2), graphtorch.zeros(2)])),
    (P.comment_without_return, (False, [graphtorch.ones(2), graphtorch.zeros(2)])),
    (P.list_and_ellipsis_index, (graphtorch.arange(12).reshape(3, 2, 2),)),
    (P.tuple_concat, ((1, 2.0), graphtorch.ones(1))),
    (P.string_iteration, ("graphtorch",)),
    (P.string_iteration, ("",)),
    (P.tensor_attributes, (graphtorch.ones(2),)),
    (P.complex_scalars, (3, -1.5, True, 2 - 3j, [1j, 2 + 0j], {2 - 3j: 5j})),
    (P.complex_scalars, (0, 0.0, False, -1j, [3j], {-1j: 0j})),
    (P.complex_from_tensor, (graphtorch.tensor([1.5]), 2.0)),
    (P.jit_isinstance_refines, (4,)),
    (P.jit_isinstance_refines, (None,)),
]


def _name(case) -> str:
    return f"{case[0].__name__}{case[1]!r}"[:60]


def _copy(v):
    if isinstance(v, graphtorch.Tensor):
        return v.clone()
    if isinstance(v, (list, tuple)):
        return type(v)(_copy(x) for x in v)
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    return v


def _plain(v):
    if isinstance(v, graphtorch.Tensor):
        return ("tensor", v.tolist())
    if isinstance(v, (list, tuple)):
        return type(v)(_plain(x) for x in v)
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


@pytest.mark.parametrize("fn,args", CASES, ids=[_name(c) for c in CASES])
def test_scripted_equals_eager(fn, args):
    eager_args, script_args = _copy(args), _copy(args)
    expected = fn(*eager_args)
    got = graphtorch.jit.script(fn)(*script_args)
    assert _plain(got) == _plain(expected)
    assert type(got) is type(expected)
    # in-place methods change the caller's containers the same way
    assert _plain(script_args) == _plain(eager_args)


def test_signature_comment_types_the_parameters():
    g = graphtorch.jit.script(P.signature_comment).graph
    assert [v.type.__str__() for v in g.block.inputs] == ["int", "int?"]
    assert str(g.outputs[0].type) == "int"


@pytest.mark.parametrize("fn,args,exc", [
    (P.remove_missing, ([1, 2],), ValueError),
    (P.unwrap_none, (None,), AssertionError),
    (P.chr_out_of_range, (-1,), ValueError),
], ids=["list.remove", "_unwrap_optional", "chr"])
def test_runtime_errors_match_eager(fn, args, exc):
    with pytest.raises(exc) as eager:
        fn(*_copy(args))
    with pytest.raises(exc) as scripted:
        graphtorch.jit.script(fn)(*_copy(args))
    assert str(scripted.value) == str(eager.value)


def test_annotate_checks_any_values_when_run():
    with pytest.raises(TypeError, match="expected a value of type list\\[int\\]"):
        graphtorch.jit.script(P.annotate_tolist_wrong)(graphtorch.ones(2))


def test_device_keywords_are_a_spec():
    got = graphtorch.jit.script(P.device_keywords)()
    assert got == (graphtorch.device("cpu"), graphtorch.device("cuda:1"))


def test_string_index_out_of_range_raises_index_error():
    with pytest.raises(IndexError):
        P.string_index_out_of_range("abc")
    with pytest.raises(IndexError):
        graphtorch.jit.script(P.string_index_out_of_range)("abc")


def _chain_program(tmp_path, n: int, op: str = "+"):
    """A module with ``def f(x: int) -> int: return x + x + ...`` (``n`` terms); CPython
    compiles 1000 terms, so script must too (or refuse with a ScriptError)."""

    path = tmp_path / f"chain_{n}.py"
    path.write_text("def f(x: int) -> int:\n    return " + f" {op} ".join(["x"] * n) + "\n")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.f


@pytest.mark.parametrize("n", [400, 1000])
def test_long_expression_chain_compiles(tmp_path, n):
    f = _chain_program(tmp_path, n)
    assert graphtorch.jit.script(f)(3) == f(3) == 3 * n


def test_deep_nesting_is_a_script_error_with_caret(tmp_path):

    path = tmp_path / "nested.py"
    path.write_text("def f(x: int) -> int:\n    return " + "-(" * 150 + "x" + ")" * 150 + "\n")
    spec = importlib.util.spec_from_file_location("nested", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.f(2) == 2
    with pytest.raises(ScriptError) as info:
        graphtorch.jit.script(mod.f)
    assert "nested more than" in info.value.msg and info.value.hint
    assert info.value.line == 2 and info.value.column > 1


def test_jit_isinstance_eager_checks_items():
    assert graphtorch.jit.isinstance([1, 2], list[int])
    assert not graphtorch.jit.isinstance([1, "a"], list[int])
    assert graphtorch.jit.isinstance({"a": (1, 2.0)}, dict[str, tuple[int, float]])
    assert graphtorch.jit.isinstance(None, int | None)
    assert not graphtorch.jit.isinstance(1.5, int | None)
    assert graphtorch.jit.annotate(list[int], []) == []


REFUSED = [
    (P.abs_no_args, "abs() takes 1 positional argument(s), 0 given", "abs()"),
    (P.sum_no_args, "sum() takes 1 to 2 positional argument(s), 0 given", "sum()"),
    (P.sorted_key, "sorted() got an unexpected keyword argument 'key'", "sorted("),
    (P.tuple_of_list, "tuple() of a int[] is not supported", "tuple("),
    (P.signature_comment_wrong_count, "has 1 types for 2 parameters", "def "),
    (P.signature_comment_unknown_type, "unknown type 'NoSuchType'", "def "),
    (P.tuple_mixed_by_variable, "a tuple whose items have different types", "t[i]"),
    (P.device_bad_keyword, "graphtorch.device(): ", "graphtorch.device("),
    (P.complex_ordering, "unsupported operand types for //: complex and complex", "// b"),
]


@pytest.mark.parametrize("fn,message,at", REFUSED, ids=[c[0].__name__ for c in REFUSED])
def test_refused_with_caret_and_hint(fn, message, at):
    with pytest.raises(ScriptError) as info:
        graphtorch.jit.script(fn)
    err = info.value
    assert message in err.msg
    assert err.hint
    assert err.filename.endswith("builtin_programs.py")
    line = err.source_line
    assert line[err.column - 1:].startswith(at), (line, err.column)


SAVED = [(P.complex_scalars, (3, -1.5, True, 2 - 3j, [1j], {2 - 3j: 5j})),
         (P.dict_methods, ({"a": 1, "b": 2},)), (P.str_methods, ("a,b,ca",)),
         (P.isinstance_any_container, ({"k": (1, "v")},)), (P.list_methods, ([5, 2, 9, 2, 5],))]


@pytest.mark.parametrize("fn,args", SAVED, ids=[c[0].__name__ for c in SAVED])
def test_save_load_round_trip(tmp_path, fn, args):
    path = tmp_path / "f.gt"
    graphtorch.jit.save(graphtorch.jit.script(fn), str(path))
    loaded = graphtorch.jit.load(str(path))
    assert _plain(loaded(*_copy(args))) == _plain(fn(*_copy(args)))
