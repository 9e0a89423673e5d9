"""Adversarial programs (adversarial_programs.py, adversarial_modules.py) scripted and compared
with eager Python: outputs on several inputs, gradients of float tensor arguments, a verified
graph, and a save/load round trip for a sample."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest

import graphtorch as torch
from graphtorch.errors import ScriptError
from graphtorch.frontend.script import script_function
from graphtorch.ir.verifier import verify
from tests.frontend.script.adversarial_modules import MODULES
from tests.frontend.script.adversarial_programs import PROGRAMS


def same(got, want) -> None:
    """Scripted output equals eager output: same structure, Python types and values."""
    if isinstance(want, (tuple, list)):
        assert type(got) is type(want) and len(got) == len(want), (got, want)
        for a, b in zip(got, want):
            same(a, b)
    elif isinstance(want, dict):
        assert isinstance(got, dict) and list(got.keys()) == list(want.keys()), (got, want)
        for k in want:
            same(got[k], want[k])
    elif isinstance(want, torch.Tensor):
        assert isinstance(got, torch.Tensor), type(got)
        assert got.shape == want.shape and got.dtype == want.dtype, (got, want)
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
    elif isinstance(want, float) and want != want:
        assert isinstance(got, float) and got != got, (got, want)
    else:
        assert type(got) is type(want) and got == want, (got, want)


def fresh(args, grad: bool):
    """Copies of the arguments; float tensors require grad when ``grad``."""
    out = []
    for a in args:
        if isinstance(a, torch.Tensor):
            a = a.detach().clone()
            if grad and a.dtype.is_floating_point:
                a.requires_grad_(True)
        else:
            a = copy.deepcopy(a)
        out.append(a)
    return out


def tensors_of(value) -> list:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in tensors_of(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in tensors_of(v)]
    return []


def grads_of(fn, args) -> list:
    """Gradients of sum(outputs * fixed weights) w.r.t. the float tensor arguments."""
    outs = [t for t in tensors_of(fn(*args)) if t.requires_grad]
    if not outs:
        return []
    loss = sum(((t * (k + 1.5)).sum() for k, t in enumerate(outs)), torch.zeros(()))
    loss.backward()
    return [a.grad for a in args if isinstance(a, torch.Tensor) and a.requires_grad]


def check_matches_eager(fn, scripted, cases) -> None:
    for args in cases:
        torch.manual_seed(0)
        want = fn(*fresh(args, False))
        torch.manual_seed(0)
        got = scripted(*fresh(args, False))
        same(got, want)
        want_args, got_args = fresh(args, True), None
        got_args = fresh([a.detach() if isinstance(a, torch.Tensor) else a for a in want_args],
                         True)
        want_g, got_g = grads_of(fn, want_args), grads_of(scripted, got_args)
        assert len(want_g) == len(got_g)
        for a, b in zip(got_g, want_g):
            if b is None:
                assert a is None or not a.detach().numpy().any()
            else:
                same(a, b)


@pytest.mark.parametrize("fn,cases", PROGRAMS, ids=[p[0].__name__ for p in PROGRAMS])
def test_adversarial_program_matches_eager(fn, cases):
    scripted = script_function(fn)
    verify(scripted.graph)
    check_matches_eager(fn, scripted, cases())


def module_grads(model, out, args) -> list:
    outs = [t for t in tensors_of(out) if t.requires_grad]
    if not outs:
        return []
    loss = sum(((t * (k + 1.5)).sum() for k, t in enumerate(outs)), torch.zeros(()))
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    grads += [a.grad for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
    return grads


@pytest.mark.parametrize("make,cases", MODULES, ids=[m[0].__name__ for m in MODULES])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_adversarial_module_matches_eager(make, cases, training):
    torch.manual_seed(0)
    model = make()
    scripted = torch.jit.script(model)
    for m in scripted.modules():
        for meth in getattr(m, "_gt_methods", {}).values():
            verify(meth.graph)
    # NOTE: switched after scripting: the compiled code must read the live flag
    model.train(training)
    scripted.train(training)
    for args in cases():
        torch.manual_seed(1)
        want = model(*fresh(args, False))
        torch.manual_seed(1)
        got = scripted(*fresh(args, False))
        same(got, want)
        for p in model.parameters():
            p.grad = None
        eager_args = fresh(args, True)
        torch.manual_seed(2)
        want_g = [g.clone() if g is not None else None
                  for g in module_grads(model, model(*eager_args), eager_args)]
        for p in model.parameters():
            p.grad = None
        script_args = fresh(args, True)
        torch.manual_seed(2)
        got_g = module_grads(model, scripted(*script_args), script_args)
        assert len(got_g) == len(want_g)
        for a, b in zip(got_g, want_g):
            if b is None:
                assert a is None or not a.detach().numpy().any()
            else:
                same(a, b)


# (program in adversarial_bad_programs.py, first line of the message, where the caret points,
#  part of the hint or None)
REFUSED = [
    ("or_returns_operand", "an operand of 'and'/'or' whose result is used as a value must be a "
     "bool in script, not int", "a or b", "bool(...)"),
    ("and_with_tensor_operand", "an operand of 'and'/'or' whose result is used as a value must "
     "be a bool in script, not Tensor", "x.sum()", "bool(...)"),
    ("tuple_arity_differs", "tuple_arity_differs() returns (Tensor, Tensor) on one path and "
     "(Tensor, Tensor, Tensor) on another (the paths split here)", "if c:", "same type"),
    ("tuple_arity_differs_in_loop", "tuple_arity_differs_in_loop() returns (Tensor, int) on one "
     "path and (Tensor, int, int) on another (the paths split here)", "for i", "same type"),
    ("ternary_types_differ", "this expression is int on one path and str on the other",
     "1 if c", "same type"),
    ("defined_in_branch_inside_loop", "'y' may be undefined here: it is first assigned inside a "
     "loop, which may run zero times", "y", "assign it before"),
    ("defined_in_one_branch_of_elif", "'y' may be undefined here: it is not assigned in the "
     "false branch of the if at line 46", "y", "assign it before"),
    ("defined_in_while_body", "'z' may be undefined here: it is first assigned inside a loop, "
     "which may run zero times", "z", "assign it before"),
    ("mutual_recursion", "recursive call of _ping is not supported in script", "_ping(x, n)",
     None),
    ("map_builtin", "builtin 'map' is not supported in script", "map(abs", "comprehension"),
    ("str_encode_method", "'str' object has no method 'encode' in script", '",".encode',
     "f-strings"),
    ("tensor_from_runtime_list", "graphtorch.tensor() in script takes literal data or a single "
     "Python number (got float[])", "xs", "pass it in"),
    ("bound_method_as_value", "a value of type Tensor has no attribute 'relu' in script (if it "
     "is a method, call it)", "f", None),
    ("optional_used_unrefined", "add(): argument 'other' must be Tensor, not Tensor?", "+ y",
     "test it first"),
    ("isinstance_arity", "isinstance() takes exactly 2 arguments", "isinstance(x)", None),
    ("enumerate_bad_keyword", "enumerate() takes an iterable and an optional start",
     "enumerate(", None),
    ("list_sort_order_type", "sorted() got an unexpected keyword argument 'key' in script",
     "sorted(", "key= is not supported"),
    ("tuple_indexed_by_variable", "a tuple whose items have different types can only be "
     "indexed by an integer literal", "t[i]", "use a list"),
]


@pytest.mark.parametrize("name,message,at,hint", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_program_error_is_golden(name, message, at, hint):
    import inspect

    from tests.frontend.script import adversarial_bad_programs

    fn = getattr(adversarial_bad_programs, name)
    with pytest.raises(ScriptError) as info:
        script_function(fn)
    err = info.value
    text = str(err)
    assert text.splitlines()[0] == message
    assert err.filename == inspect.getsourcefile(adversarial_bad_programs)
    lines, first = inspect.getsourcelines(fn)
    if name != "mutual_recursion":      # the caret is in _pong, the function that recurses
        assert first <= err.line < first + len(lines)
    assert err.source_line[err.column - 1:].startswith(at), (err.source_line, err.column)
    assert f'File "{err.filename}", line {err.line}' in text
    caret = text.splitlines()[text.splitlines().index("    " + err.source_line) + 1]
    assert caret == "    " + " " * (err.column - 1) + "^"
    assert (hint is None) == (err.hint is None) or hint is None
    if hint is not None:
        assert hint in err.hint
    assert "Traceback" not in text and "lark" not in text.lower()


def _without_locations(graph) -> str:
    return re.sub(r"  # .*$", "", str(graph), flags=re.MULTILINE)


SAVED_PROGRAMS = ["loop_carried_tuple", "dict_iteration_order", "return_from_nested_loops",
                  "three_level_loops", "index_assign_in_loop", "optional_assert_refines",
                  "fstring_specs", "chained_compare_short_circuits", "tensor_literal",
                  "named_tuple_fields", "shape_compared_with_tuple", "list_of_lists"]


@pytest.mark.parametrize("name", SAVED_PROGRAMS)
def test_program_round_trips_through_save_and_load(name, tmp_path):
    fn, cases = next(p for p in PROGRAMS if p[0].__name__ == name)
    scripted = script_function(fn)
    path = tmp_path / f"{name}.gt"
    torch.jit.save(scripted, str(path))
    loaded = torch.jit.load(str(path))
    verify(loaded.graph)
    # NOTE: the archive keeps source locations relative to the working directory
    assert _without_locations(loaded.graph) == _without_locations(scripted.graph)
    for args in cases():
        same(loaded(*fresh(args, False)), fn(*fresh(args, False)))


SAVED_MODULES = ["EveryConstantKind", "ListEnumerateZip", "DictIteration", "MethodsCallMethods",
                 "BreakOutOfModuleLoop", "ReturnFromModuleLoop", "NestedTupleOutputs",
                 "OptionalState"]


@pytest.mark.parametrize("name", SAVED_MODULES)
def test_module_round_trips_through_save_and_load(name, tmp_path):
    make, cases = next(m for m in MODULES if m[0].__name__ == name)
    torch.manual_seed(0)
    model = make().eval()
    path = tmp_path / f"{name}.gt"
    torch.jit.save(torch.jit.script(model), str(path))
    loaded = torch.jit.load(str(path))
    for args in cases():
        same(loaded(*fresh(args, False)), model(*fresh(args, False)))


def test_training_flag_is_read_when_the_scripted_module_runs():
    from tests.frontend.script.adversarial_modules import TrainingInSubmodule

    model = TrainingInSubmodule()
    scripted = torch.jit.script(model)
    x = torch.randn(4, 3)
    for training in (True, False, True, False):
        scripted.train(training)
        model.train(training)
        _, inner_flag, outer_flag = scripted(x)
        assert inner_flag is training and outer_flag is training
        same(scripted(x), model(x))
    scripted.train()
    scripted.inner.eval()      # a submodule switched on its own
    assert scripted(x)[1:] == (False, True)


# NOTE: globals are read while compiling: the scripted function keeps the value they had then
CAPTURED = 2


def _reads_global(x):
    return x * CAPTURED


def test_globals_are_captured_at_compile_time():
    global CAPTURED
    scripted = script_function(_reads_global)
    x = torch.ones(2)
    try:
        CAPTURED = 5
        same(_reads_global(x), x * 5)
        same(scripted(x), x * 2)
    finally:
        CAPTURED = 2


def _neg_step(x):
    return x[::-1]


def _neg_step_runtime(x, s: int):
    return x[::s]


def _dict_missing(x, key: str):
    d = {"a": 1}
    return x + d[key]


def _list_out_of_range(x, i: int):
    xs = [1, 2, 3]
    return x + xs[i]


@pytest.mark.parametrize("fn,args,exc,message", [
    (_neg_step, (torch.ones(3),), ValueError, "step must be greater than zero"),
    (_neg_step_runtime, (torch.ones(3), -1), ValueError, "step must be greater than zero"),
    (_dict_missing, (torch.ones(1), "b"), KeyError, "b"),
    (_list_out_of_range, (torch.ones(1), 5), IndexError, "out of range"),
], ids=["negative_step", "negative_step_runtime", "dict_missing_key", "list_index"])
def test_runtime_errors_match_eager(fn, args, exc, message):
    with pytest.raises(exc, match=message):
        fn(*args)
    with pytest.raises(Exception, match=message) as info:
        script_function(fn)(*args)
    assert isinstance(info.value, (exc, RuntimeError))


def test_raise_inside_loop_reports_the_message():
    from tests.frontend.script.adversarial_programs import defined_in_both_after_exit

    with pytest.raises(ValueError, match="too big"):
        defined_in_both_after_exit(torch.ones(1), 9)
    with pytest.raises(RuntimeError, match="ValueError: too big"):
        script_function(defined_in_both_after_exit)(torch.ones(1), 9)
